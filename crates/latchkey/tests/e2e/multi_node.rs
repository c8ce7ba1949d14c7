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

async fn admin_call(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let admin = admin_token(s, "admin").await;
    let mut r = http().request(method, s.url(path)).bearer_auth(admin);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// Trust issue, item 4, on two nodes: a client deleted on B and created
/// again with the same id does not revive, on A, the tokens of the one
/// that was deleted (JWT or opaque, access or refresh).
#[tokio::test]
async fn pg_only_a_deleted_clients_tokens_stay_dead_on_every_node() {
    let install = Install::postgres().await;
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let (a, b) = tokio::join!(Server::start_with(&install, &opts), Server::start_with(&install, &opts));
    create_scope(&a, "api:read").await;
    for format in ["jwt", "opaque"] {
        let id = format!("namesake-{format}");
        let body =
            json!({"client_id": id, "name": id, "type": "m2m", "scopes": ["api:read"], "access_token_format": format});
        let c = create_client(&a, body.clone()).await;
        let secret = c["client_secret"].as_str().unwrap().to_owned();
        let (status, t) =
            post_basic(&a.url("/oauth2/token"), &id, &secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, 200);
        let old = t["access_token"].as_str().unwrap().to_owned();
        assert_eq!(introspect(&a, "latchkey-admin", ADMIN_SECRET, &old).await["active"], true);

        let (status, _) = admin_call(&b, reqwest::Method::DELETE, &format!("/api/v1/clients/{id}"), None).await;
        assert_eq!(status, 204);
        let again = create_client(&b, body).await;
        assert_eq!(again["client_id"], id.as_str());
        let new_secret = again["client_secret"].as_str().unwrap().to_owned();
        for node in [&a, &b] {
            assert_eq!(
                introspect(node, "latchkey-admin", ADMIN_SECRET, &old).await,
                json!({"active": false}),
                "{format}"
            );
            assert_eq!(introspect(node, &id, &new_secret, &old).await, json!({"active": false}), "{format}");
        }
    }
}

/// Trust issue, item 8, on two nodes: a user disabled on B, or whose
/// password B resets, holds no live token on A (introspection, userinfo,
/// refresh).
#[tokio::test]
async fn pg_only_a_users_tokens_stop_on_every_node_when_disabled_or_reset() {
    let install = Install::postgres().await;
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let (a, b) = tokio::join!(Server::start_with(&install, &opts), Server::start_with(&install, &opts));
    let c = create_client(
        &a,
        json!({"name": "rp", "type": "web", "redirect_uris": ["https://rp.example/cb"],
               "scopes": ["openid", "profile", "offline_access"]}),
    )
    .await;
    let (id, secret) = (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned());
    let (status, user) = admin_call(
        &a,
        reqwest::Method::POST,
        "/api/v1/users",
        Some(json!({"username": "carol", "password": "a-long-password-1"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_str().unwrap().to_owned();
    for (action, path, body) in [
        ("disable", format!("/api/v1/users/{user_id}/disable"), None),
        ("reset", format!("/api/v1/users/{user_id}/password"), Some(json!({"password": "a-long-password-1"}))),
    ] {
        if action == "reset" {
            let (status, _) =
                admin_call(&b, reqwest::Method::POST, &format!("/api/v1/users/{user_id}/enable"), None).await;
            assert_eq!(status, 200);
        }
        let t = crate::authz_matrix::sign_in(
            &a,
            &id,
            &secret,
            ("carol", "a-long-password-1"),
            "openid profile offline_access",
        )
        .await;
        let access = t["access_token"].as_str().unwrap().to_owned();
        let refresh = t["refresh_token"].as_str().unwrap().to_owned();
        let userinfo = |s: &Server| http().get(s.url("/oauth2/userinfo")).bearer_auth(access.clone()).send();
        assert_eq!(userinfo(&a).await.unwrap().status().as_u16(), 200);
        let (status, _) = admin_call(&b, reqwest::Method::POST, &path, body).await;
        assert_eq!(status, 200, "{action}");
        assert_eq!(introspect(&a, &id, &secret, &access).await, json!({"active": false}), "{action}");
        assert_eq!(introspect(&a, &id, &secret, &refresh).await, json!({"active": false}), "{action}");
        assert_eq!(userinfo(&a).await.unwrap().status().as_u16(), 401, "{action}");
        let (status, body) = post_basic(
            &a.url("/oauth2/token"),
            &id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{action}");
    }
}

/// Waits (bounded) until a node has exchanged its rate-limit counts `n`
/// more times (it does about once a second).
async fn wait_for_syncs(s: &Server, n: u64) {
    let name = "latchkey_rate_limit_syncs_total ";
    let target = metric(s, name).await + n;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while metric(s, name).await < target {
        assert!(tokio::time::Instant::now() < deadline, "node {} stopped syncing its rate limits", s.base);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Issue 15: a client's rate limit holds across the nodes. A noisy client
/// spends its burst on node A; once the nodes have exchanged their counts,
/// node B refuses it too — before B admitted any of its requests — while a
/// calm client within its own limit is served by both.
#[tokio::test]
async fn pg_only_two_nodes_enforce_one_rate_limit() {
    let install = Install::postgres().await;
    let env = vec![
        ("LATCHKEY_RATE_LIMIT_PER_CLIENT".to_owned(), "0.05".to_owned()),
        ("LATCHKEY_RATE_LIMIT_PER_CLIENT_BURST".to_owned(), "20".to_owned()),
    ];
    let opts = Opts { public_url: Some("http://latchkey.test".into()), env, ..Opts::default() };
    let (a, b) = tokio::join!(Server::start_with(&install, &opts), Server::start_with(&install, &opts));
    create_scope(&a, "api:read").await;
    let client = |name: &str| json!({"name": name, "type": "m2m", "scopes": ["api:read"]});
    let noisy = create_client(&a, client("noisy")).await;
    let calm = create_client(&b, client("calm")).await;
    let token = |s: &Server, c: &serde_json::Value| {
        let (url, id, secret) =
            (s.url("/oauth2/token"), c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap());
        let (id, secret) = (id.to_owned(), secret.to_owned());
        async move { post_basic(&url, &id, &secret, &[("grant_type", "client_credentials")]).await }
    };
    for i in 0..20 {
        assert_eq!(token(&a, &noisy).await.0, 200, "request {i} of the burst");
    }
    let (status, body) = token(&a, &noisy).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("temporarily_unavailable")));
    wait_for_syncs(&a, 2).await;
    wait_for_syncs(&b, 2).await;
    let (status, body) = token(&b, &noisy).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("temporarily_unavailable")), "node B knows");
    for s in [&a, &b, &a, &b] {
        assert_eq!(token(s, &calm).await.0, 200, "the calm client is served");
    }
}
