//! Every acknowledged write survives `kill -9`.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn revocation_survives_kill_9() {
    let install = Install::new().await;
    // The issuer stays the same across restarts, as in any real deployment.
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    create_scope(&s, "api:read").await;
    let c = create_client(
        &s,
        json!({"name": "durable", "type": "m2m", "scopes": ["api:read"], "access_token_format": "opaque"}),
    )
    .await;
    let (id, secret) = (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned());
    let issue = |s: &Server| {
        let url = s.url("/oauth2/token");
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            let (status, body) = post_basic(&url, &id, &secret, &[("grant_type", "client_credentials")]).await;
            assert_eq!(status, 200);
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let kept = issue(&s).await;
    let revoked = issue(&s).await;
    let jwt = admin_token(&s, "admin:read").await;
    assert_eq!(revoke(&s, &id, &secret, &revoked).await, 200);
    assert_eq!(revoke(&s, "latchkey-admin", ADMIN_SECRET, &jwt).await, 200);
    // Killed right after the acknowledgements: no graceful shutdown.
    s.kill9().await;

    let s = Server::start_with(&install, &opts).await;
    assert_eq!(introspect(&s, &id, &secret, &revoked).await, json!({"active": false}));
    assert_eq!(introspect(&s, &id, &secret, &jwt).await, json!({"active": false}));
    // The token that was issued (and acknowledged) but not revoked survived too.
    assert_eq!(introspect(&s, &id, &secret, &kept).await["active"], true);
}
