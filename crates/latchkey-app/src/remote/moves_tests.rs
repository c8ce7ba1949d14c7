//! Checklist 56: a stored secret is sent only where it was registered.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::http::{UpstreamError, UpstreamHttp, UpstreamRequest, UpstreamResponse};
use crate::AppError;
use crate::admin::Actor;
use crate::test_world::{World, world};

/// An upstream that answers every token request and records where each
/// request went and which client secret it carried.
#[derive(Debug, Default)]
struct Recorder {
    seen: Mutex<Vec<(String, Option<String>)>>,
}

#[async_trait]
impl UpstreamHttp for Recorder {
    async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        let secret = req.basic.map(|(_, s)| s);
        self.seen.lock().unwrap().push((req.url, secret));
        let body = serde_json::json!({"access_token": "upstream-at", "token_type": "Bearer", "expires_in": 60});
        Ok(UpstreamResponse { status: 200, body: serde_json::to_vec(&body).unwrap() })
    }
}

const SECRET: &str = "the-remote-secret-registered-at-issuer";

async fn setup() -> (World, Arc<Recorder>) {
    let w = world().await;
    let rec = Arc::new(Recorder::default());
    w.app.kernel.set_upstream_http(rec.clone());
    let sys = Actor::system();
    for (name, host) in [("corp", "issuer.test"), ("other", "other.test")] {
        let p = serde_json::from_value(serde_json::json!({
            "name": name, "issuer": format!("https://{host}"), "token_endpoint": format!("https://{host}/token")
        }))
        .unwrap();
        w.app.remote.create_provider(&w.ctx, &sys, p).await.unwrap();
    }
    let rc = serde_json::from_value(serde_json::json!({
        "namespace": "billing", "name": "crm", "provider": "corp", "client_id": "latchkey", "client_secret": SECRET
    }))
    .unwrap();
    w.app.remote.create_remote_client(&w.ctx, &sys, rc).await.unwrap();
    let new = serde_json::from_value(serde_json::json!({"namespace": "billing", "name": "crm"})).unwrap();
    w.app.remote.create_authorization(&w.ctx, &sys, new).await.unwrap();
    (w, rec)
}

fn patch<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn stored_provider_secrets_never_follow_a_changed_url() {
    let (w, rec) = setup().await;
    let sys = Actor::system();
    // Every address a credential is sent to, and re-discovery, is a move.
    for field in ["token_endpoint", "issuer", "revocation_endpoint", "userinfo_endpoint", "jwks_uri"] {
        let p = patch(serde_json::json!({ field: "https://evil.test/x" }));
        let e = w.app.remote.update_provider(&w.ctx, &sys, "corp", p).await.unwrap_err();
        assert!(matches!(&e, AppError::Conflict(m) if m.contains("billing/crm")), "{field}: {e:?}");
    }
    let p = patch(serde_json::json!({ "discovery_url": "https://evil.test/.well-known/openid-configuration" }));
    assert!(w.app.remote.update_provider(&w.ctx, &sys, "corp", p).await.is_err());
    assert_eq!(
        w.app.remote.get_provider(&w.ctx, "corp").await.unwrap().settings.token_endpoint.as_deref(),
        Some("https://issuer.test/token")
    );
    // Other settings change freely.
    w.app.remote.update_provider(&w.ctx, &sys, "corp", patch(serde_json::json!({ "pkce": false }))).await.unwrap();
    // The secret still goes only to the registered address.
    w.app.remote.refresh_authorization(&w.ctx, &sys, "billing", "crm").await.unwrap();
    // Moving with reset: the secret and tokens are dropped first.
    let p = patch(serde_json::json!({ "token_endpoint": "https://evil.test/token", "reset_credentials": true }));
    w.app.remote.update_provider(&w.ctx, &sys, "corp", p).await.unwrap();
    assert!(!w.app.remote.get_remote_client(&w.ctx, "billing", "crm").await.unwrap().has_secret);
    let a = w.app.remote.get_authorization(&w.ctx, "billing", "crm").await.unwrap();
    assert_eq!(a.status, "needs_reauthorization");
    assert!(matches!(
        w.app.remote.authorization_token(&w.ctx, &sys.clone().into(), "billing", "crm").await,
        Err(AppError::NeedsReauthorization(_))
    ));
    let seen = rec.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|(url, _)| url.starts_with("https://issuer.test/")), "{seen:?}");
    assert!(seen.iter().all(|(_, s)| s.as_deref() != Some("")), "{seen:?}");
    let events = w.app.kernel.store.list_audit(&w.ctx.id, 100).await.unwrap();
    for action in ["remote_client.secret_cleared", "authorization.reset", "provider.update"] {
        assert!(events.iter().any(|e| e.action == action), "{action}");
    }
    assert!(events.iter().all(|e| !e.changes.contains(SECRET)), "no secret in the audit log");
}

#[tokio::test]
async fn a_remote_client_moved_to_another_provider_leaves_its_secret_behind() {
    let (w, rec) = setup().await;
    let sys = Actor::system();
    let p = patch(serde_json::json!({ "provider": "other" }));
    assert!(matches!(
        w.app.remote.update_remote_client(&w.ctx, &sys, "billing", "crm", p).await,
        Err(AppError::Conflict(_))
    ));
    assert_eq!(w.app.remote.get_remote_client(&w.ctx, "billing", "crm").await.unwrap().provider, "corp");
    let p = patch(serde_json::json!({ "provider": "other", "reset_credentials": true }));
    let moved = w.app.remote.update_remote_client(&w.ctx, &sys, "billing", "crm", p).await.unwrap();
    assert_eq!((moved.provider.as_str(), moved.has_secret), ("other", false));
    assert!(w.app.remote.authorization_token(&w.ctx, &sys.clone().into(), "billing", "crm").await.is_err());
    let seen = rec.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|(url, _)| !url.starts_with("https://other.test/")), "{seen:?}");
}
