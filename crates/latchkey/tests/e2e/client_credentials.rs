//! client_credentials with the `oauth2` crate; JWTs verified against the
//! published JWKS with `jsonwebtoken` (not the code that signed them).

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::{Value, json};

use crate::harness::*;

async fn jwks(s: &Server) -> Value {
    http().get(s.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap()
}

/// Verifies a JWT access token against the server's JWKS; returns header and claims.
pub async fn verify_jwt(s: &Server, token: &str) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks(s).await).unwrap();
    let jwk = set.find(header.kid.as_deref().unwrap()).expect("kid published in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_issuer(&[&s.issuer]);
    v.set_audience(&[&s.issuer]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).expect("JWT verifies against the JWKS");
    (data.header, data.claims)
}

async fn rfc9068_token_via_oauth2_crate(install: Install) {
    let s = Server::start(&install).await;
    let client = BasicClient::new(ClientId::new("latchkey-admin".into()))
        .set_client_secret(ClientSecret::new(ADMIN_SECRET.into()))
        .set_auth_uri(AuthUrl::new(s.url("/oauth2/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(s.url("/oauth2/token")).unwrap());
    let http_client = http();
    let resp = client
        .exchange_client_credentials()
        .add_scope(Scope::new("admin".into()))
        .request_async(&http_client)
        .await
        .expect("token via the oauth2 crate");
    assert_eq!(resp.token_type(), &oauth2::basic::BasicTokenType::Bearer);
    assert_eq!(resp.expires_in().unwrap().as_secs(), 3600);
    assert_eq!(resp.scopes().unwrap()[0].as_str(), "admin");

    let (header, claims) = verify_jwt(&s, resp.access_token().secret()).await;
    // RFC 9068 §2.1: typ at+jwt; §2.2: iss, exp, aud, sub, client_id, iat, jti (+ scope).
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["aud"], s.base.as_str());
    assert_eq!(claims["sub"], "latchkey-admin");
    assert_eq!(claims["client_id"], "latchkey-admin");
    assert_eq!(claims["scope"], "admin");
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    let jti = claims["jti"].as_str().unwrap();
    assert!(jti.len() >= 22, "jti carries at least 128 random bits: {jti}");

    // A second token has a different jti.
    let again = client.exchange_client_credentials().request_async(&http_client).await.unwrap();
    let (_, c2) = verify_jwt(&s, again.access_token().secret()).await;
    assert_ne!(c2["jti"], claims["jti"]);
    assert_eq!(c2["scope"], "admin admin:read", "no scope asked: the client's machine scopes");
}

#[tokio::test]
async fn rfc9068_jwt_verified_against_jwks() {
    rfc9068_token_via_oauth2_crate(Install::new().await).await;
}

#[tokio::test]
async fn client_secret_post_and_response_headers() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let r = http()
        .post(s.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "latchkey-admin"), ("client_secret", ADMIN_SECRET)])
        .send()
        .await
        .unwrap();
    // latchkey-admin is registered for client_secret_basic: the post method is refused.
    assert_eq!(r.status().as_u16(), 401);
    create_scope(&s, "api:read").await;
    let c = create_client(
        &s,
        json!({"name": "poster", "type": "m2m", "token_endpoint_auth_method": "client_secret_post", "scopes": ["api:read"]}),
    )
    .await;
    let id = c["client_id"].as_str().unwrap();
    let secret = c["client_secret"].as_str().unwrap();
    let r = http()
        .post(s.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "api:read");
    // Basic is refused for a client registered for post.
    let (status, body) = post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn jwt_introspection_and_revocation() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let token = admin_token(&s, "admin:read").await;
    let i = introspect(&s, "latchkey-admin", ADMIN_SECRET, &token).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], "latchkey-admin");
    assert_eq!(i["scope"], "admin:read");
    assert_eq!(i["iss"], s.base.as_str());
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(revoke(&s, "latchkey-admin", ADMIN_SECRET, &token).await, 200);
    assert_eq!(introspect(&s, "latchkey-admin", ADMIN_SECRET, &token).await, json!({"active": false}));
    // The revoked token no longer opens the admin API.
    let r = http().get(s.url("/api/v1/clients")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Garbage, tampered and unknown tokens are simply inactive.
    let mut tampered = token.clone();
    tampered.pop();
    for t in ["garbage", "a.b.c", tampered.as_str(), "lkat_notatoken"] {
        assert_eq!(introspect(&s, "latchkey-admin", ADMIN_SECRET, t).await, json!({"active": false}), "{t}");
    }
    // Introspection needs client authentication.
    let r = http().post(s.url("/oauth2/introspect")).form(&[("token", token.as_str())]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn opaque_tokens_introspect_and_revoke_only_by_owner() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    create_scope(&s, "api:read").await;
    let c = create_client(
        &s,
        json!({"name": "opaque svc", "type": "m2m", "access_token_format": "opaque", "scopes": ["api:read"]}),
    )
    .await;
    let (id, secret) = (c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap());
    assert!(secret.starts_with("lks_") && secret.len() == 53, "{secret}");
    let (status, body) = post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("lkat_") && !token.contains('.'), "opaque, not a JWT: {token}");

    let i = introspect(&s, id, secret, token).await;
    assert_eq!(
        (i["active"].clone(), i["client_id"].clone(), i["scope"].clone()),
        (json!(true), json!(id), json!("api:read"))
    );
    // Another client's revocation answers 200 but changes nothing (RFC 7009 §2.1).
    assert_eq!(revoke(&s, "latchkey-admin", ADMIN_SECRET, token).await, 200);
    assert_eq!(introspect(&s, id, secret, token).await["active"], true);
    assert_eq!(revoke(&s, id, secret, token).await, 200);
    assert_eq!(introspect(&s, id, secret, token).await, json!({"active": false}));
}

#[tokio::test]
async fn disable_and_delete_take_effect_at_once() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    create_scope(&s, "api:read").await;
    let jwt_client = create_client(&s, json!({"name": "jwt svc", "type": "m2m", "scopes": ["api:read"]})).await;
    let op_client = create_client(
        &s,
        json!({"name": "op svc", "type": "m2m", "scopes": ["api:read"], "access_token_format": "opaque"}),
    )
    .await;
    let mut tokens = Vec::new();
    for c in [&jwt_client, &op_client] {
        let (id, secret) = (c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap());
        let (_, body) = post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await;
        tokens.push((id.to_owned(), secret.to_owned(), body["access_token"].as_str().unwrap().to_owned()));
    }
    let admin = admin_token(&s, "admin").await;
    for (id, secret, token) in &tokens {
        assert_eq!(introspect(&s, "latchkey-admin", ADMIN_SECRET, token).await["active"], true);
        let r = http().post(s.url(&format!("/api/v1/clients/{id}/disable"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(introspect(&s, "latchkey-admin", ADMIN_SECRET, token).await["active"], false, "disabled");
        let (status, body) =
            post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
        let r = http().delete(s.url(&format!("/api/v1/clients/{id}"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 204);
        assert_eq!(introspect(&s, "latchkey-admin", ADMIN_SECRET, token).await["active"], false, "deleted");
    }
    // Protected default clients need force.
    let r = http().delete(s.url("/api/v1/clients/latchkey-cli")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Every mutation left an audit event without any secret in it.
    let r = http().get(s.url("/api/v1/audit-events?limit=100")).bearer_auth(&admin).send().await.unwrap();
    let events: Value = r.json().await.unwrap();
    let text = events.to_string();
    for (_, secret, _) in &tokens {
        assert!(!text.contains(secret.as_str()), "a secret leaked into the audit log");
    }
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["client.create", "client.disable", "client.delete", "scope.create"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn discovery_advertises_only_what_exists() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let a: Value = http().get(s.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    let b: Value =
        http().get(s.url("/.well-known/oauth-authorization-server")).send().await.unwrap().json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a["issuer"], s.base.as_str());
    assert_eq!(
        a["grant_types_supported"],
        json!([
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(a["token_endpoint"], s.url("/oauth2/token").as_str());
    assert_eq!(a["authorization_endpoint"], s.url("/oauth2/authorize").as_str());
    assert_eq!(a["response_types_supported"], json!(["code", "code id_token", "code token", "code id_token token"]));
    assert!(a.get("registration_endpoint").is_none());
    for path in [
        "jwks_uri",
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "authorization_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
        "device_authorization_endpoint",
    ] {
        let url = a[path].as_str().unwrap();
        let r = http().get(url).send().await.unwrap();
        assert_ne!(r.status().as_u16(), 404, "{path} is served");
    }
    let set = jwks(&s).await;
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let kids: std::collections::HashSet<_> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2, "kids are unique");
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none());
        }
    }
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    assert_eq!(http().get(s.url("/healthz")).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(http().get(s.url("/readyz")).send().await.unwrap().status().as_u16(), 200);
    admin_token(&s, "admin").await;
    let m = http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("latchkey_tokens_issued_total{grant_type=\"client_credentials\",format=\"jwt\"} 1"), "{m}");
    assert!(m.contains("latchkey_http_requests_total"));
}
