//! Authorizations against a real upstream: this App's own token service
//! (a real Latchkey tenant, reached in-process instead of over a socket)
//! acting as the provider, with the ManualClock driving expiry. The HTTP
//! path, discovery and the SSRF guard are covered end to end in
//! `crates/latchkey/tests/e2e/remote.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use latchkey_core::ClientStatus;

use super::http::{UpstreamError, UpstreamHttp, UpstreamRequest, UpstreamResponse};
use crate::admin::Actor;
use crate::test_world::{World, m2m, world};
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;
use crate::{App, AppError};

/// The upstream: the token endpoint of the App's default tenant.
#[derive(Debug)]
struct InProcess {
    app: Weak<App>,
    requests: AtomicUsize,
}

#[async_trait]
impl UpstreamHttp for InProcess {
    async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let app = self.app.upgrade().ok_or_else(|| UpstreamError::Transport("gone".into()))?;
        assert_eq!(req.url, "https://issuer.test/oauth2/token");
        let form = req.form.expect("token requests are POSTs");
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (client_id, secret) = req.basic.expect("the provider uses client_secret_basic");
        let auth = PresentedAuth::Basic { client_id, secret };
        let tr = TokenRequest {
            grant_type: field("grant_type"),
            scope: field("scope"),
            resource: field("resource"),
            ..TokenRequest::default()
        };
        let ctx = app.kernel.tenant(&latchkey_core::TenantId::default_tenant()).await.unwrap();
        let (status, body) = match app.tokens.token(&ctx, &auth, &tr, None).await {
            Ok(r) => (200, serde_json::to_vec(&r).unwrap()),
            Err(e) => {
                let status = if e.code == latchkey_core::TokenErrorCode::InvalidClient { 401 } else { 400 };
                (status, serde_json::to_vec(&serde_json::json!({ "error": e.code.as_str() })).unwrap())
            }
        };
        Ok(UpstreamResponse { status, body })
    }
}

struct Setup {
    w: World,
    upstream: Arc<InProcess>,
    upstream_client: String,
    upstream_secret: String,
}

fn admin() -> Actor {
    Actor { id: "tester".into(), kind: "client", can_write: true, role: None, source_ip: None, request_id: None }
}

/// A provider pointing at this tenant, a remote client holding an m2m
/// client's credentials (token lifetime 120 s), and its authorization.
async fn setup() -> Setup {
    let w = world().await;
    let (id, secret) = m2m(&w, "jwt").await;
    let upstream = Arc::new(InProcess { app: Arc::downgrade(&w.app), requests: AtomicUsize::new(0) });
    w.app.kernel.set_upstream_http(upstream.clone());
    let p = serde_json::from_value(serde_json::json!({
        "name": "self", "issuer": "https://issuer.test", "token_endpoint": "https://issuer.test/oauth2/token"
    }))
    .unwrap();
    w.app.remote.create_provider(&w.ctx, &admin(), p).await.unwrap();
    let rc = serde_json::from_value(serde_json::json!({
        "namespace": "billing", "name": "crm", "provider": "self", "client_id": id, "client_secret": secret,
        "params": { "scope": "api:read" }
    }))
    .unwrap();
    let view = w.app.remote.create_remote_client(&w.ctx, &admin(), rc).await.unwrap();
    assert!(view.has_secret);
    let a = w
        .app
        .remote
        .create_authorization(
            &w.ctx,
            &admin(),
            super::authorizations::NewAuthorization {
                namespace: "billing".into(),
                name: "crm".into(),
                grant_type: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(a.status, "active");
    assert_eq!(a.scope.as_deref(), Some("api:read"));
    assert_eq!(a.expires_at, Some(crate::test_world::START + 120));
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);
    Setup { w, upstream, upstream_client: id, upstream_secret: secret }
}

async fn fetch(w: &World) -> Result<String, AppError> {
    w.app.remote.authorization_token(&w.ctx, &admin().into(), "billing", "crm").await.map(|t| t.access_token)
}

#[tokio::test]
async fn a_token_is_reused_until_due_then_renewed_before_expiry() {
    let s = setup().await;
    let w = &s.w;
    let first = fetch(w).await.unwrap();
    w.clock.advance(59);
    assert_eq!(fetch(w).await.unwrap(), first, "not due yet: no upstream request");
    assert_eq!(s.upstream.requests.load(Ordering::SeqCst), 1);
    // Half of the 120 s lifetime has passed: renewed, before it expires.
    w.clock.advance(1);
    let second = fetch(w).await.unwrap();
    assert_ne!(second, first);
    assert_eq!(s.upstream.requests.load(Ordering::SeqCst), 2);
    let view = w.app.remote.get_authorization(&w.ctx, "billing", "crm").await.unwrap();
    assert_eq!(view.expires_at, Some(crate::test_world::START + 60 + 120));
    // The renewed token is a live token of the upstream.
    let auth = PresentedAuth::Basic { client_id: s.upstream_client.clone(), secret: s.upstream_secret.clone() };
    let i = w.app.tokens.introspect(&w.ctx, &auth, &second, None).await.unwrap();
    assert!(i.active);
}

#[tokio::test]
async fn twenty_concurrent_fetches_cause_one_upstream_request() {
    let s = setup().await;
    let w = &s.w;
    w.clock.advance(100);
    let fetches = (0..20).map(|_| {
        let app = w.app.clone();
        let ctx = w.ctx.clone();
        tokio::spawn(async move {
            app.remote.authorization_token(&ctx, &admin().into(), "billing", "crm").await.unwrap().access_token
        })
    });
    let tokens: Vec<String> = futures_util::future::join_all(fetches).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(s.upstream.requests.load(Ordering::SeqCst), 2, "one to obtain, one renewal for all 20");
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    // Every retrieval is audited, and no audit event holds a token or secret.
    let events = w.app.kernel.store().list_audit(&w.ctx.id, 500).await.unwrap();
    let retrievals = events.iter().filter(|e| e.action == "authorization.token").count();
    assert_eq!(retrievals, 20);
    for e in &events {
        assert!(!e.changes.contains(&tokens[0]) && !e.changes.contains(&s.upstream_secret), "{e:?}");
    }
}

#[tokio::test]
async fn a_refusal_for_good_marks_the_authorization() {
    let s = setup().await;
    let w = &s.w;
    // The upstream client is disabled: renewal is refused with invalid_client.
    w.app
        .clients
        .set_client_status(&w.ctx, &Actor::system(), &s.upstream_client, ClientStatus::Disabled, true)
        .await
        .unwrap();
    w.clock.advance(61);
    let err = fetch(w).await.unwrap_err();
    assert!(matches!(err, AppError::NeedsReauthorization(_)), "{err:?}");
    let view = w.app.remote.get_authorization(&w.ctx, "billing", "crm").await.unwrap();
    assert_eq!(view.status, "needs_reauthorization");
    assert!(view.last_error.as_deref().unwrap().starts_with("invalid_client"));
    // It stays so without asking upstream again, until obtained anew.
    let before = s.upstream.requests.load(Ordering::SeqCst);
    assert!(matches!(fetch(w).await, Err(AppError::NeedsReauthorization(_))));
    assert_eq!(s.upstream.requests.load(Ordering::SeqCst), before);
    w.app
        .clients
        .set_client_status(&w.ctx, &Actor::system(), &s.upstream_client, ClientStatus::Active, true)
        .await
        .unwrap();
    let new =
        super::authorizations::NewAuthorization { namespace: "billing".into(), name: "crm".into(), grant_type: None };
    assert_eq!(w.app.remote.create_authorization(&w.ctx, &admin(), new).await.unwrap().status, "active");
    fetch(w).await.unwrap();
}

#[tokio::test]
async fn secrets_are_write_only_and_rotatable() {
    let s = setup().await;
    let w = &s.w;
    let listed = serde_json::to_string(&w.app.remote.list_remote_clients(&w.ctx).await.unwrap()).unwrap();
    assert!(!listed.contains(&s.upstream_secret));
    assert!(listed.contains("\"has_secret\":true"));
    // A wrong secret entered by rotation makes the next renewal fail for good.
    let rotated = super::RemoteSecret { client_secret: "wrong-secret-0123456789".into() };
    let v = w.app.remote.set_remote_secret(&w.ctx, &admin(), "billing", "crm", rotated).await.unwrap();
    assert_eq!(v.secret_hint.as_deref(), Some("6789"));
    w.clock.advance(61);
    assert!(matches!(fetch(w).await, Err(AppError::NeedsReauthorization(_))));
    let events = w.app.kernel.store().list_audit(&w.ctx.id, 500).await.unwrap();
    assert!(events.iter().any(|e| e.action == "remote_client.secret.rotate"));
    assert!(events.iter().all(|e| !e.changes.contains("wrong-secret") && !e.changes.contains(&s.upstream_secret)));
}

#[tokio::test]
async fn names_are_unique_per_tenant_and_providers_in_use_stay() {
    let s = setup().await;
    let w = &s.w;
    let dup = serde_json::from_value(serde_json::json!({
        "namespace": "billing", "name": "crm", "provider": "self", "client_id": "x"
    }))
    .unwrap();
    assert!(matches!(w.app.remote.create_remote_client(&w.ctx, &admin(), dup).await, Err(AppError::Conflict(_))));
    assert!(matches!(w.app.remote.delete_provider(&w.ctx, &admin(), "self").await, Err(AppError::Conflict(_))));
    let bad = serde_json::from_value(serde_json::json!({
        "namespace": "a/b", "name": "crm", "provider": "self", "client_id": "x"
    }))
    .unwrap();
    assert!(matches!(w.app.remote.create_remote_client(&w.ctx, &admin(), bad).await, Err(AppError::Validation(_))));
    let reserved = serde_json::from_value(serde_json::json!({
        "namespace": "n", "name": "c", "provider": "self", "client_id": "x", "params": { "extra": { "grant_type": "password" } }
    }))
    .unwrap();
    assert!(matches!(
        w.app.remote.create_remote_client(&w.ctx, &admin(), reserved).await,
        Err(AppError::Validation(_))
    ));
    w.app.remote.delete_remote_client(&w.ctx, &admin(), "billing", "crm").await.unwrap();
    assert!(matches!(w.app.remote.get_authorization(&w.ctx, "billing", "crm").await, Err(AppError::NotFound)));
    w.app.remote.delete_provider(&w.ctx, &admin(), "self").await.unwrap();
}

#[test]
fn debug_output_hides_secrets_and_tokens() {
    let new: super::NewRemoteClient = serde_json::from_value(serde_json::json!({
        "namespace": "n", "name": "c", "provider": "p", "client_id": "x", "client_secret": "very-secret-value"
    }))
    .unwrap();
    assert!(!format!("{new:?}").contains("very-secret-value"));
    let s = super::RemoteSecret { client_secret: "very-secret-value".into() };
    assert!(!format!("{s:?}").contains("very-secret-value"));
    let t = super::authorizations::AuthorizationToken {
        access_token: "the-token".into(),
        token_type: "Bearer".into(),
        expires_in: None,
        expires_at: None,
        scope: None,
    };
    assert!(!format!("{t:?}").contains("the-token"));
}

/// An upstream token endpoint that records every request and grants a
/// token to any of them: where a client assertion is inspected.
#[derive(Debug, Default)]
struct Recorder {
    requests: std::sync::Mutex<Vec<UpstreamRequest>>,
}

#[async_trait]
impl UpstreamHttp for Recorder {
    async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        let n = {
            let mut seen = self.requests.lock().unwrap();
            seen.push(req);
            seen.len()
        };
        let body = serde_json::json!({"access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": 120});
        Ok(UpstreamResponse { status: 200, body: serde_json::to_vec(&body).unwrap() })
    }
}

#[tokio::test]
async fn checklist_64_client_assertions_name_the_provider_issuer_as_their_only_audience() {
    let w = world().await;
    let recorder = Arc::new(Recorder::default());
    w.app.kernel.set_upstream_http(recorder.clone());
    // Without an issuer there is nothing to name as the audience.
    let no_issuer = serde_json::from_value(serde_json::json!({
        "name": "anon", "token_endpoint": "https://as.test/token", "token_endpoint_auth_method": "private_key_jwt"
    }))
    .unwrap();
    assert!(matches!(w.app.remote.create_provider(&w.ctx, &admin(), no_issuer).await, Err(AppError::Validation(_))));
    // The token endpoint differs from the issuer: the assertion must name the issuer.
    let p = serde_json::from_value(serde_json::json!({
        "name": "corp", "issuer": "https://as.test/tenant-a",
        "token_endpoint": "https://as.test/tenant-a/oauth2/token", "token_endpoint_auth_method": "private_key_jwt"
    }))
    .unwrap();
    let view = w.app.remote.create_provider(&w.ctx, &admin(), p).await.unwrap();
    assert_eq!(view.client_jwks_uri, Some(format!("{}/oauth2/jwks", w.ctx.issuer)));
    // No secret: the tenant's key stands in for it.
    let rc = serde_json::from_value(serde_json::json!({
        "namespace": "billing", "name": "crm", "provider": "corp", "client_id": "latchkey-at-corp"
    }))
    .unwrap();
    assert!(!w.app.remote.create_remote_client(&w.ctx, &admin(), rc).await.unwrap().has_secret);
    let new =
        super::authorizations::NewAuthorization { namespace: "billing".into(), name: "crm".into(), grant_type: None };
    assert_eq!(w.app.remote.create_authorization(&w.ctx, &admin(), new).await.unwrap().status, "active");
    w.clock.advance(61);
    assert_eq!(fetch(&w).await.unwrap(), "at-2", "renewed with a second assertion");

    let requests = std::mem::take(&mut *recorder.requests.lock().unwrap());
    assert_eq!(requests.len(), 2);
    let mut jtis = Vec::new();
    for (i, req) in requests.iter().enumerate() {
        assert_eq!(req.url, "https://as.test/tenant-a/oauth2/token");
        assert!(req.basic.is_none(), "no Basic credentials with an assertion");
        let form = req.form.as_ref().unwrap();
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(field("client_assertion_type"), Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
        assert_eq!(field("client_secret"), None);
        assert_eq!(field("client_id"), Some("latchkey-at-corp"));
        // Verifiable with the tenant's published JWKS alone, as the provider does.
        let jwks = serde_json::from_str(w.ctx.keys.jwks_json()).unwrap();
        let published = latchkey_crypto::jws::Verifier::from_jwks(&jwks);
        let (typ, payload) = published.verify(field("client_assertion").unwrap()).unwrap();
        assert_eq!(typ.as_deref(), Some("JWT"));
        let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claims["iss"], "latchkey-at-corp");
        assert_eq!(claims["sub"], "latchkey-at-corp");
        // A single string, the issuer identifier: not an array, not the token endpoint.
        assert_eq!(claims["aud"], serde_json::json!("https://as.test/tenant-a"));
        let now = crate::test_world::START + if i == 0 { 0 } else { 61 };
        assert_eq!(claims["iat"], now);
        assert_eq!(claims["exp"], now + 60);
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    assert!(jtis[0].len() >= 22 && jtis[0] != jtis[1], "a fresh jti per assertion: {jtis:?}");
}

/// A client with `scopes` (created by the system, admin role `role`) and a
/// client_credentials token of it carrying every one of them.
async fn client_token(w: &World, scopes: &[&str], role: Option<&str>) -> String {
    let sys = Actor::system();
    for s in scopes {
        let _ = w
            .app
            .scopes
            .create_scope(
                &w.ctx,
                &sys,
                crate::admin::scopes::NewScope { name: (*s).into(), description: String::new() },
            )
            .await;
    }
    let new: crate::admin::clients::NewClient = serde_json::from_value(serde_json::json!({
        "name": format!("caller {} {role:?}", scopes.join(" ")), "type": "m2m", "scopes": scopes, "admin_role": role
    }))
    .unwrap();
    let c = w.app.clients.create_client(&w.ctx, &sys, new).await.unwrap();
    let auth = PresentedAuth::Basic { client_id: c.client.client_id, secret: c.client_secret.unwrap() };
    let tr = TokenRequest {
        grant_type: Some("client_credentials".into()),
        scope: Some(scopes.join(" ")),
        ..TokenRequest::default()
    };
    w.app.tokens.token(&w.ctx, &auth, &tr, None).await.unwrap().access_token
}

async fn take(w: &World, bearer: &str, namespace: &str) -> Result<String, AppError> {
    let caller = w.app.remote.authorization_token_actor(&w.ctx, Some(bearer), None, None).await?;
    w.app.remote.authorization_token(&w.ctx, &caller, namespace, "crm").await.map(|t| t.access_token)
}

/// Item 3 of the trust issue: a live upstream token is not something a
/// read-only administrator may take, and a client limited to a namespace
/// takes tokens of that namespace only.
#[tokio::test]
async fn viewers_cannot_take_vault_tokens() {
    let s = setup().await;
    let w = &s.w;
    let viewer = client_token(w, &["admin"], Some("viewer")).await;
    assert!(matches!(take(w, &viewer, "billing").await, Err(AppError::Forbidden(_))));
    let reader = client_token(w, &["admin:read"], Some("owner")).await;
    assert!(matches!(take(w, &reader, "billing").await, Err(AppError::Forbidden(_))));
    let writer = client_token(w, &["admin"], Some("tenant-admin")).await;
    assert!(take(w, &writer, "billing").await.is_ok());
    let vault = client_token(w, &["authorizations:token"], None).await;
    assert!(take(w, &vault, "billing").await.is_ok());
    let scoped = client_token(w, &["authorizations:token:billing"], None).await;
    assert!(take(w, &scoped, "billing").await.is_ok());
    let elsewhere = client_token(w, &["authorizations:token:payroll"], None).await;
    assert!(matches!(take(w, &elsewhere, "billing").await, Err(AppError::Forbidden(_))));
    let plain = client_token(w, &["api:read"], None).await;
    assert!(matches!(take(w, &plain, "billing").await, Err(AppError::Forbidden(_))));
}
