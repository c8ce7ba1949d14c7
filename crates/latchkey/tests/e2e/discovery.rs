//! A tenant's metadata where every kind of client looks for it: OIDC
//! Discovery appends `/.well-known/openid-configuration` to the issuer
//! (`{base}/t/acme`); RFC 8414 §3.1 puts the well-known segment between
//! the host and the issuer's path (`/.well-known/oauth-authorization-server/t/acme`,
//! and §5 the OIDC name the same way). The `openidconnect` crate discovers
//! and checks the issuer; its metadata type reads the RFC 8414 document;
//! the `oauth2` crate gets a token where that document says.

use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use openidconnect::IssuerUrl;
use openidconnect::core::CoreProviderMetadata;
use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn a_tenant_is_discovered_at_the_rfc_8414_address_with_its_own_issuer() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let owner = admin_token(&s, "admin").await;
    let r = http().post(s.url("/api/v1/tenants")).bearer_auth(&owner).json(&json!({"tenant_id": "acme"})).send().await;
    let r = r.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, s.url("/api/v1/tenants/acme"), "the new tenant's address");
    let created: Value = r.json().await.unwrap();
    let issuer = IssuerUrl::new(s.url("/t/acme")).unwrap();

    // OIDC Discovery, as the crate does it (appended); it checks the issuer.
    let oidc =
        CoreProviderMetadata::discover_async(issuer.clone(), &http()).await.expect("openidconnect discovers acme");
    assert_eq!(oidc.issuer(), &issuer);

    // RFC 8414 §3.1 and §5: the inserted forms, the same document.
    for path in ["/.well-known/oauth-authorization-server/t/acme", "/.well-known/openid-configuration/t/acme"] {
        let r = http().get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
        let meta: CoreProviderMetadata = r.json().await.expect("openidconnect reads the RFC 8414 document");
        assert_eq!(meta.issuer(), &issuer, "{path}: the tenant's issuer, not the default's");
        assert_eq!(meta.token_endpoint(), oidc.token_endpoint(), "{path}");
        assert_eq!(meta.jwks_uri(), oidc.jwks_uri(), "{path}");
    }

    // What the document says works: the tenant's admin client gets a token there.
    let meta: Value =
        http().get(s.url("/.well-known/oauth-authorization-server/t/acme")).send().await.unwrap().json().await.unwrap();
    let token_url = meta["token_endpoint"].as_str().unwrap();
    assert_eq!(token_url, s.url("/t/acme/oauth2/token"));
    let client = BasicClient::new(ClientId::new(created["admin_client_id"].as_str().unwrap().into()))
        .set_client_secret(ClientSecret::new(created["admin_client_secret"].as_str().unwrap().into()))
        .set_token_uri(TokenUrl::new(token_url.into()).unwrap());
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("admin".into()))
        .request_async(&http())
        .await
        .expect("a token from the discovered endpoint");
    assert!(!token.access_token().secret().is_empty());

    // Unknown and disabled tenants: 404 in the standard problem format.
    let r = http().post(s.url("/api/v1/tenants/acme/disable")).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    for path in [
        "/.well-known/oauth-authorization-server/t/nobody",
        "/.well-known/openid-configuration/t/nobody",
        "/.well-known/oauth-authorization-server/t/acme",
        "/.well-known/openid-configuration/t/acme",
    ] {
        let r = http().get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{path}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["status"], 404, "{path}: {problem}");
        assert!(problem["title"].is_string() && problem["detail"].is_string(), "{path}: {problem}");
    }
}
