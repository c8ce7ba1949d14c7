//! Two `latchkey serve` processes on one PostgreSQL database. These tests
//! run in the PostgreSQL pass only (`pg_only` in their names).

use serde_json::json;

use crate::client_credentials::verify_jwt;
use crate::harness::*;

#[tokio::test]
async fn pg_only_two_nodes_share_tokens_keys_and_revocations() {
    let install = Install::postgres().await;
    // Start both at once: migrations and bootstrap must be race-safe.
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let (a, b) = tokio::join!(Server::start_with(&install, &opts), Server::start_with(&install, &opts));
    assert_ne!(a.base, b.base);

    // A JWT from node A verifies with node B's JWKS and introspects on B.
    let token = admin_token(&a, "admin:read").await;
    let (_, claims) = verify_jwt(&b, &token).await;
    assert_eq!(claims["client_id"], "latchkey-admin");
    assert_eq!(introspect(&b, "latchkey-admin", ADMIN_SECRET, &token).await["active"], true);

    // An opaque token from B introspects on A.
    create_scope(&a, "api:read").await;
    let c = create_client(
        &b,
        json!({"name": "shared", "type": "m2m", "scopes": ["api:read"], "access_token_format": "opaque"}),
    )
    .await;
    let (id, secret) = (c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap());
    let (status, body) = post_basic(&b.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200);
    let opaque = body["access_token"].as_str().unwrap();
    assert_eq!(introspect(&a, id, secret, opaque).await["active"], true);

    // Revocations on one node are seen by the other.
    assert_eq!(revoke(&a, "latchkey-admin", ADMIN_SECRET, &token).await, 200);
    assert_eq!(introspect(&b, "latchkey-admin", ADMIN_SECRET, &token).await, json!({"active": false}));
    assert_eq!(revoke(&a, id, secret, opaque).await, 200);
    assert_eq!(introspect(&b, id, secret, opaque).await, json!({"active": false}));

    // Disabling a client on A: its tokens are inactive on B at once (B reads
    // client state from the database), and B's client cache hears of it
    // through NOTIFY. Bounded by request count, not by sleeping.
    let (_, body) = post_basic(&b.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await;
    let live = body["access_token"].as_str().unwrap().to_owned();
    let admin = admin_token(&a, "admin").await;
    let r = http().post(a.url(&format!("/api/v1/clients/{id}/disable"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(introspect(&b, "latchkey-admin", ADMIN_SECRET, &live).await, json!({"active": false}));
    let mut refused = false;
    for _ in 0..2000 {
        let (status, _) =
            post_basic(&b.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await;
        if status == 401 {
            refused = true;
            break;
        }
    }
    assert!(refused, "node B kept issuing tokens to a client disabled on node A");

    // Both nodes bootstrapped one tenant: exactly one ES256 + one RS256 key.
    let jwks: serde_json::Value = http().get(b.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
}
