//! Authorization-code authorizations against a real upstream: this App's
//! own default tenant (authorize, login, token and JWKS services, reached
//! in-process instead of over a socket) is the provider, the ManualClock
//! drives expiry. Over real sockets with separate processes:
//! `crates/latchkey/tests/e2e/remote_code.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use latchkey_core::authorize::AuthorizeParams;

use super::code_flow::{CallbackOutcome, CallbackParams};
use super::federation::FederatedStartForm;
use super::http::{UpstreamError, UpstreamHttp, UpstreamRequest, UpstreamResponse};
use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::admin::users::NewUser;
use crate::oidc::authorize::{ConsentForm, LoginForm};
use crate::oidc::{BrowserCookies, Outcome, Page};
use crate::test_world::{World, world};
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;
use crate::{App, AppError};

const ISSUER: &str = "https://issuer.test";
const PASSWORD: &str = "correct horse battery staple";

/// The upstream: the default tenant's token endpoint and JWKS.
#[derive(Debug)]
struct InProcess {
    app: Weak<App>,
    refreshes: AtomicUsize,
}

#[async_trait]
impl UpstreamHttp for InProcess {
    async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        let app = self.app.upgrade().ok_or_else(|| UpstreamError::Transport("gone".into()))?;
        let ctx = app.kernel.tenant(&latchkey_core::TenantId::default_tenant()).await.unwrap();
        if req.url == format!("{ISSUER}/oauth2/jwks") {
            return Ok(UpstreamResponse { status: 200, body: ctx.keys.jwks_json().as_bytes().to_vec() });
        }
        if req.url == format!("{ISSUER}/oauth2/userinfo") {
            let info = app.sign_in.userinfo(&ctx, &req.bearer.expect("a bearer token")).await.unwrap();
            return Ok(UpstreamResponse { status: 200, body: serde_json::to_vec(&info.claims).unwrap() });
        }
        assert_eq!(req.url, format!("{ISSUER}/oauth2/token"));
        let form = req.form.expect("token requests are POSTs");
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if field("grant_type").as_deref() == Some("refresh_token") {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
        }
        let (client_id, secret) = req.basic.expect("the provider uses client_secret_basic");
        let tr = TokenRequest {
            grant_type: field("grant_type"),
            code: field("code"),
            redirect_uri: field("redirect_uri"),
            code_verifier: field("code_verifier"),
            refresh_token: field("refresh_token"),
            ..TokenRequest::default()
        };
        let (status, body) = match app.tokens.token(&ctx, &PresentedAuth::Basic { client_id, secret }, &tr, None).await
        {
            Ok(r) => (200, serde_json::to_vec(&r).unwrap()),
            Err(e) => (400, serde_json::to_vec(&serde_json::json!({ "error": e.code.as_str() })).unwrap()),
        };
        Ok(UpstreamResponse { status, body })
    }
}

struct Setup {
    w: World,
    upstream: Arc<InProcess>,
    client_id: String,
    secret: String,
}

fn admin() -> Actor {
    Actor { id: "tester".into(), kind: "client", can_write: true, role: None, source_ip: None, request_id: None }
}

/// alice at the upstream, a web client whose redirect URI is this
/// tenant's callback for the provider `self`, and that provider.
async fn setup() -> Setup {
    let w = world().await;
    let upstream = Arc::new(InProcess { app: Arc::downgrade(&w.app), refreshes: AtomicUsize::new(0) });
    w.app.kernel.set_upstream_http(upstream.clone());
    let web: NewClient = serde_json::from_value(serde_json::json!({
        "name": "Latchkey downstream", "type": "web",
        "redirect_uris": [format!("{ISSUER}/remote/callback/self")],
        "scopes": ["openid", "profile", "email", "offline_access"],
    }))
    .unwrap();
    let c = w.app.clients.create_client(&w.ctx, &Actor::system(), web).await.unwrap();
    let user = NewUser {
        username: "alice".into(),
        password: Some(PASSWORD.into()),
        email: Some("alice@example.com".into()),
        display_name: "Alice".into(),
        ..NewUser::default()
    };
    w.app.users.create_user(&w.ctx, &Actor::system(), user).await.unwrap();
    let p = serde_json::from_value(serde_json::json!({
        "name": "self", "issuer": ISSUER, "authorization_endpoint": format!("{ISSUER}/oauth2/authorize"),
        "token_endpoint": format!("{ISSUER}/oauth2/token"), "jwks_uri": format!("{ISSUER}/oauth2/jwks"),
        "userinfo_endpoint": format!("{ISSUER}/oauth2/userinfo"),
    }))
    .unwrap();
    w.app.remote.create_provider(&w.ctx, &admin(), p).await.unwrap();
    let (client_id, secret) = (c.client.client_id, c.client_secret.unwrap());
    let rc = serde_json::from_value(serde_json::json!({
        "namespace": "billing", "name": "crm", "provider": "self", "client_id": client_id,
        "client_secret": secret, "params": { "scope": "openid offline_access" }
    }))
    .unwrap();
    w.app.remote.create_remote_client(&w.ctx, &admin(), rc).await.unwrap();
    let login = serde_json::from_value(serde_json::json!({
        "namespace": "login", "name": "self", "provider": "self", "client_id": client_id,
        "client_secret": secret, "params": { "scope": "openid email profile" }
    }))
    .unwrap();
    w.app.remote.create_remote_client(&w.ctx, &admin(), login).await.unwrap();
    Setup { w, upstream, client_id, secret }
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

fn get(pairs: &[(String, String)], k: &str) -> Option<String> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// Starts the flow as an administrator and signs in at the upstream as
/// alice: the provider's response (code, state, iss) and the binding cookie.
async fn upstream_response(w: &World) -> (CallbackParams, String) {
    let start = w.app.remote.start_authorization(&w.ctx, &admin(), "billing", "crm").await.unwrap();
    assert_eq!(start.redirect_uri, format!("{ISSUER}/remote/callback/self"));
    let ticket = get(&query(&start.authorization_url), "ticket").unwrap();
    let go = w.app.remote.remote_start(&w.ctx, &ticket).unwrap();
    (sign_in_upstream(w, &go.location).await, go.binder)
}

/// Signs in at the upstream as alice from its authorization URL: the
/// provider's response (code, state, iss).
async fn sign_in_upstream(w: &World, location: &str) -> CallbackParams {
    let q = query(location);
    let prompt_consent = get(&q, "prompt").as_deref() == Some("consent");
    assert_eq!(prompt_consent, get(&q, "scope").unwrap().contains("offline_access"));
    assert_eq!(get(&q, "code_challenge_method").as_deref(), Some("S256"));
    assert!(get(&q, "nonce").is_some() && get(&q, "state").is_some());
    let p = AuthorizeParams {
        client_id: get(&q, "client_id"),
        redirect_uri: get(&q, "redirect_uri"),
        response_type: get(&q, "response_type"),
        scope: get(&q, "scope"),
        state: get(&q, "state"),
        nonce: get(&q, "nonce"),
        code_challenge: get(&q, "code_challenge"),
        code_challenge_method: get(&q, "code_challenge_method"),
        prompt: get(&q, "prompt"),
        ..AuthorizeParams::default()
    };
    let i = w.app.sign_in.authorize(&w.ctx, &p, &BrowserCookies::default()).await;
    let Outcome::Page(Page::Login { tx, csrf, .. }) = &i.outcome else { panic!("expected login: {i:?}") };
    let cookies = BrowserCookies { session: None, anchor: i.set_anchor.clone() };
    let form = LoginForm { tx: tx.clone(), csrf: csrf.clone(), username: "alice".into(), password: PASSWORD.into() };
    let mut i = w.app.sign_in.submit_login(&w.ctx, &form, &cookies, None).await;
    if let Outcome::Page(Page::Consent { tx, csrf, .. }) = &i.outcome {
        // offline_access: the provider is asked to ask for consent (prompt=consent).
        assert!(prompt_consent, "consent only when offline access is requested");
        let cookies = BrowserCookies { session: i.set_session.clone(), anchor: cookies.anchor.clone() };
        let form = ConsentForm { tx: tx.clone(), csrf: csrf.clone(), allow: true };
        i = w.app.sign_in.submit_consent(&w.ctx, &form, &cookies, None).await;
    }
    let Outcome::Respond(r) = &i.outcome else { panic!("expected a response: {i:?}") };
    let param = |k: &str| r.params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    CallbackParams { code: param("code"), state: param("state"), iss: param("iss"), ..Default::default() }
}

async fn authorized(s: &Setup) {
    let w = &s.w;
    let (cb, binder) = upstream_response(w).await;
    let out = w.app.sign_in.remote_callback(&w.ctx, "self", &cb, Some(&binder), &BrowserCookies::default(), None).await;
    assert!(matches!(out, CallbackOutcome::Done { .. }), "{out:?}");
    let v = w.app.remote.get_authorization(&w.ctx, "billing", "crm").await.unwrap();
    assert_eq!((v.grant_type.as_str(), v.status.as_str(), v.has_refresh_token), ("authorization_code", "active", true));
}

async fn stored_refresh_token(w: &World) -> String {
    let rec = w.app.kernel.store.get_authorization(&w.ctx.id, "billing", "crm").await.unwrap().unwrap();
    w.app.remote.open_tokens(&w.ctx, &rec).unwrap().refresh_token.unwrap()
}

/// Concurrent callers of a due authorization cause one refresh at the
/// provider; the rotated refresh token is stored, and the one it replaced
/// no longer works upstream.
#[tokio::test]
async fn twenty_concurrent_fetches_refresh_once_and_the_rotated_token_is_written_back() {
    let s = setup().await;
    let w = &s.w;
    authorized(&s).await;
    let first_rt = stored_refresh_token(w).await;
    let first_at =
        w.app.remote.authorization_token(&w.ctx, &admin().into(), "billing", "crm").await.unwrap().access_token;
    assert_eq!(s.upstream.refreshes.load(Ordering::SeqCst), 0);
    w.clock.advance(3_600);
    let fetches = (0..20).map(|_| {
        let (app, ctx) = (w.app.clone(), w.ctx.clone());
        tokio::spawn(
            async move { app.remote.authorization_token(&ctx, &admin().into(), "billing", "crm").await.unwrap() },
        )
    });
    let tokens: Vec<String> =
        futures_util::future::join_all(fetches).await.into_iter().map(|t| t.unwrap().access_token).collect();
    assert_eq!(s.upstream.refreshes.load(Ordering::SeqCst), 1, "one refresh for all 20");
    assert!(tokens.iter().all(|t| *t == tokens[0] && *t != first_at));
    let second_rt = stored_refresh_token(w).await;
    assert_ne!(second_rt, first_rt, "the rotated refresh token is stored");
    // The renewed access token is live upstream.
    assert!(w.app.tokens.read_access_token(&w.ctx, &tokens[0]).await.unwrap().is_some());
    // The replaced refresh token is retired at the provider.
    let auth = PresentedAuth::Basic { client_id: s.client_id.clone(), secret: s.secret.clone() };
    let old = TokenRequest {
        grant_type: Some("refresh_token".into()),
        refresh_token: Some(first_rt),
        ..TokenRequest::default()
    };
    let err = w.app.tokens.token(&w.ctx, &auth, &old, None).await.unwrap_err();
    assert_eq!(err.code, latchkey_core::TokenErrorCode::InvalidGrant);
}

/// A refresh the provider refuses for good (the user was disabled)
/// marks the authorization; it is not retried until authorized again.
#[tokio::test]
async fn a_refused_refresh_needs_reauthorization() {
    let s = setup().await;
    let w = &s.w;
    authorized(&s).await;
    let (users, _) = w.app.users.list_users(&w.ctx, Some("alice"), None, Some(10)).await.unwrap();
    let alice = users.iter().find(|u| u.username == "alice").unwrap().id.clone();
    w.app.users.set_user_status(&w.ctx, &Actor::system(), &alice, false).await.unwrap();
    w.clock.advance(3_600);
    let err = w.app.remote.authorization_token(&w.ctx, &admin().into(), "billing", "crm").await.unwrap_err();
    assert!(matches!(err, AppError::NeedsReauthorization(_)), "{err:?}");
    let v = w.app.remote.get_authorization(&w.ctx, "billing", "crm").await.unwrap();
    assert_eq!(v.status, "needs_reauthorization");
    assert!(v.last_error.unwrap().starts_with("invalid_grant"));
    let asked = s.upstream.refreshes.load(Ordering::SeqCst);
    assert!(w.app.remote.authorization_token(&w.ctx, &admin().into(), "billing", "crm").await.is_err());
    assert_eq!(s.upstream.refreshes.load(Ordering::SeqCst), asked, "not retried");
}

/// SECURITY-CHECKLIST 63: the response is accepted only at the callback of
/// the provider the flow started with, with that provider's `iss`, in the
/// browser that started it, once.
#[tokio::test]
async fn checklist_63_responses_are_bound_to_provider_issuer_browser_and_used_once() {
    let s = setup().await;
    let w = &s.w;
    let other = serde_json::from_value(serde_json::json!({
        "name": "other", "issuer": "https://other.test", "token_endpoint": "https://other.test/token",
        "authorization_endpoint": "https://other.test/authorize"
    }))
    .unwrap();
    w.app.remote.create_provider(&w.ctx, &admin(), other).await.unwrap();
    let none = BrowserCookies::default();
    let failed = |o: &CallbackOutcome, status: u16, needle: &str| match o {
        CallbackOutcome::Failed { status: s, message } => {
            assert_eq!(*s, status, "{message}");
            assert!(message.contains(needle), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    };
    // At another provider's callback.
    let (cb, binder) = upstream_response(w).await;
    let o = w.app.sign_in.remote_callback(&w.ctx, "other", &cb, Some(&binder), &none, None).await;
    failed(&o, 400, "another provider");
    // Used up, even at the right callback now.
    let o = w.app.sign_in.remote_callback(&w.ctx, "self", &cb, Some(&binder), &none, None).await;
    failed(&o, 400, "expired or was already completed");
    // Another provider's issuer.
    let (mut cb, binder) = upstream_response(w).await;
    cb.iss = Some("https://other.test".into());
    let o = w.app.sign_in.remote_callback(&w.ctx, "self", &cb, Some(&binder), &none, None).await;
    failed(&o, 400, "another issuer");
    // Another browser.
    let (cb, _) = upstream_response(w).await;
    let o = w.app.sign_in.remote_callback(&w.ctx, "self", &cb, Some("someone-else"), &none, None).await;
    failed(&o, 403, "another browser");
    // A code of another flow (or provider) in this flow: the provider refuses it.
    let (mut cb, binder) = upstream_response(w).await;
    cb.code = Some("lkac_not-a-code-of-this-flow".into());
    let o = w.app.sign_in.remote_callback(&w.ctx, "self", &cb, Some(&binder), &none, None).await;
    failed(&o, 400, "did not accept the code");
    assert!(matches!(w.app.remote.get_authorization(&w.ctx, "billing", "crm").await, Err(AppError::NotFound)));
}

/// The application people sign in to, in the same tenant.
async fn rp(w: &World) -> String {
    let new: NewClient = serde_json::from_value(serde_json::json!({
        "name": "RP", "type": "web", "redirect_uris": ["https://rp.example/cb"], "scopes": ["openid", "profile"],
    }))
    .unwrap();
    w.app.clients.create_client(&w.ctx, &Actor::system(), new).await.unwrap().client.client_id
}

async fn offer_sign_in(w: &World, extra: serde_json::Value) {
    let mut si = serde_json::json!({ "display_name": "Self SSO", "namespace": "login", "name": "self" });
    for (k, v) in extra.as_object().unwrap() {
        si[k] = v.clone();
    }
    let patch = serde_json::from_value(serde_json::json!({ "sign_in": si })).unwrap();
    w.app.remote.update_provider(&w.ctx, &admin(), "self", patch).await.unwrap();
}

/// The RP's authorization request, "Sign in with Self SSO", alice's
/// upstream login, and the callback in the RP's browser (`anchor`: `None`
/// keeps the browser's own).
async fn federated(w: &World, rp_id: &str, anchor: Option<&str>) -> CallbackOutcome {
    let p = AuthorizeParams {
        client_id: Some(rp_id.to_owned()),
        redirect_uri: Some("https://rp.example/cb".into()),
        response_type: Some("code".into()),
        scope: Some("openid".into()),
        state: Some("rp-state".into()),
        code_challenge: Some(latchkey_crypto::jws::pkce_s256("a-verifier-of-enough-length-0123456789abcdef")),
        code_challenge_method: Some("S256".into()),
        ..AuthorizeParams::default()
    };
    let i = w.app.sign_in.authorize(&w.ctx, &p, &BrowserCookies::default()).await;
    let Outcome::Page(Page::Login { tx, csrf, sign_in_options, .. }) = &i.outcome else { panic!("{i:?}") };
    assert_eq!(sign_in_options.len(), 1);
    assert_eq!((sign_in_options[0].provider.as_str(), sign_in_options[0].display_name.as_str()), ("self", "Self SSO"));
    let cookies = BrowserCookies { session: None, anchor: i.set_anchor.clone() };
    let form = FederatedStartForm { tx: tx.clone(), csrf: csrf.clone(), provider: "self".into(), device: None };
    let location = w.app.sign_in.start_federated_sign_in(&w.ctx, &form, &cookies).await.unwrap();
    let cb = sign_in_upstream(w, &location).await;
    let cookies = match anchor {
        Some(a) => BrowserCookies { session: None, anchor: Some(a.to_owned()) },
        None => cookies,
    };
    w.app.sign_in.remote_callback(&w.ctx, "self", &cb, None, &cookies, None).await
}

fn refusal(o: &CallbackOutcome) -> (u16, String) {
    match o {
        CallbackOutcome::Failed { status, message } => (*status, message.clone()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Federated sign-in against a Latchkey provider, whose userinfo says
/// `email_verified: false`: the matching email does not link; a username
/// claim the administrator chose does; the link is then reused; a response
/// in another browser is refused.
#[tokio::test]
async fn federated_sign_in_links_only_as_configured_and_continues_the_request() {
    let s = setup().await;
    let w = &s.w;
    let rp_id = rp(w).await;
    offer_sign_in(w, serde_json::json!({ "link_by_email": true })).await;
    let (status, message) = refusal(&federated(w, &rp_id, None).await);
    assert_eq!(status, 403);
    assert!(message.contains("There is no account here"), "{message}");

    offer_sign_in(w, serde_json::json!({ "username_claim": "preferred_username" })).await;
    for _ in 0..2 {
        let CallbackOutcome::SignIn(i) = federated(w, &rp_id, None).await else { panic!("expected a sign-in") };
        assert!(i.set_session.is_some(), "a session starts");
        let Outcome::Respond(r) = &i.outcome else { panic!("expected the RP's response: {i:?}") };
        assert_eq!(r.redirect_uri, "https://rp.example/cb");
        assert!(r.params.iter().any(|(k, _)| *k == "code"));
        assert!(r.params.iter().any(|(k, v)| *k == "state" && v == "rp-state"));
    }
    let events = w.app.kernel.store.list_audit(&w.ctx.id, 500).await.unwrap();
    let links: Vec<_> = events.iter().filter(|e| e.action == "federation.link").collect();
    assert_eq!(links.len(), 1, "linked once, then the link is used");
    assert!(links[0].changes.contains("\"linked_by\":\"username\""), "{}", links[0].changes);
    // The administrator sees and removes the link; the next sign-in links again.
    let alice = links[0].target_id.clone();
    let listed = w.app.users.list_federated_links(&w.ctx, &alice).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].provider, "self");
    let sub = listed[0].subject.clone();
    assert!(matches!(
        w.app.users.unlink_federated(&w.ctx, &admin(), "someone-else", "self", &sub).await,
        Err(AppError::NotFound)
    ));
    w.app.users.unlink_federated(&w.ctx, &admin(), &alice, "self", &sub).await.unwrap();
    assert!(w.app.users.list_federated_links(&w.ctx, &alice).await.unwrap().is_empty());
    assert!(matches!(federated(w, &rp_id, None).await, CallbackOutcome::SignIn(_)));
    assert_eq!(w.app.users.list_federated_links(&w.ctx, &alice).await.unwrap().len(), 1);

    let (status, _) = refusal(&federated(w, &rp_id, Some("another-browser")).await);
    assert_eq!(status, 403);

    // `"sign_in": null` stops offering the provider.
    assert_eq!(w.app.sign_in.sign_in_options(&w.ctx).await.len(), 1);
    let patch = serde_json::from_value(serde_json::json!({ "sign_in": null })).unwrap();
    let view = w.app.remote.update_provider(&w.ctx, &admin(), "self", patch).await.unwrap();
    assert!(view.settings.sign_in.is_none());
    assert!(w.app.sign_in.sign_in_options(&w.ctx).await.is_empty());
}

/// Issue "trust", item 10: linking needs a claim the administrator trusts
/// at this provider (email linking is off unless enabled), and an account
/// holding a writing admin role is never linked automatically, whatever
/// the provider says.
#[tokio::test]
async fn federation_never_auto_links_to_privileged_accounts() {
    let s = setup().await;
    let w = &s.w;
    let rp_id = rp(w).await;
    let (users, _) = w.app.users.list_users(&w.ctx, Some("alice"), None, Some(10)).await.unwrap();
    let alice = users[0].id.clone();
    // Nothing trusted: no link (the default links by nothing).
    offer_sign_in(w, serde_json::json!({})).await;
    let (status, _) = refusal(&federated(w, &rp_id, None).await);
    assert_eq!(status, 403);
    offer_sign_in(w, serde_json::json!({ "username_claim": "preferred_username" })).await;
    for role in ["owner", "tenant-admin"] {
        let patch = crate::admin::users::UserPatch { roles: Some(vec![role.into()]), ..Default::default() };
        w.app.users.update_user(&w.ctx, &Actor::system(), &alice, patch).await.unwrap();
        let (status, message) = refusal(&federated(w, &rp_id, None).await);
        assert_eq!(status, 403, "{role}");
        assert!(message.contains("never linked automatically"), "{message}");
        assert!(w.app.users.list_federated_links(&w.ctx, &alice).await.unwrap().is_empty(), "{role}");
    }
    let events = w.app.kernel.store.list_audit(&w.ctx.id, 500).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "federation.link_refused").count(), 2);
    // The same person without an admin role links.
    let patch = crate::admin::users::UserPatch { roles: Some(vec![]), ..Default::default() };
    w.app.users.update_user(&w.ctx, &Actor::system(), &alice, patch).await.unwrap();
    assert!(matches!(federated(w, &rp_id, None).await, CallbackOutcome::SignIn(_)));
    assert_eq!(w.app.users.list_federated_links(&w.ctx, &alice).await.unwrap().len(), 1);
}

/// Sign-in settings are checked like every other field: 422, never stored.
#[tokio::test]
async fn sign_in_settings_are_validated() {
    let s = setup().await;
    let w = &s.w;
    let bad = |v: serde_json::Value| async move {
        let patch = serde_json::from_value(serde_json::json!({ "sign_in": v })).unwrap();
        w.app.remote.update_provider(&w.ctx, &admin(), "self", patch).await.unwrap_err()
    };
    let base = serde_json::json!({ "display_name": "SSO", "namespace": "login", "name": "self" });
    for (field, value) in [
        ("display_name", serde_json::json!("")),
        ("namespace", serde_json::json!("a/b")),
        ("group_map", serde_json::json!({ "engineering": "not a group" })),
        ("username_claim", serde_json::json!("bad\nclaim")),
    ] {
        let mut v = base.clone();
        v[field] = value;
        assert!(matches!(bad(v).await, AppError::Validation(_)), "{field}");
    }
    // A provider without jwks_uri cannot sign people in.
    let p = serde_json::from_value(serde_json::json!({
        "name": "plain", "token_endpoint": "https://plain.test/token", "sign_in": base,
    }))
    .unwrap();
    assert!(matches!(w.app.remote.create_provider(&w.ctx, &admin(), p).await, Err(AppError::Validation(_))));
    assert!(w.app.sign_in.sign_in_options(&w.ctx).await.is_empty());
}
