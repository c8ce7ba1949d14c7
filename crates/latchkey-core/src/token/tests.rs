use super::*;
use crate::client::{Client, ClientConfig, ClientStatus, ClientType};
use crate::error::TokenErrorCode;
use crate::ids::{ClientId, TenantId};

fn m2m(scopes: &str) -> Client {
    Client {
        tenant: TenantId::default_tenant(),
        client_id: ClientId::parse("svc").unwrap(),
        name: "svc".into(),
        description: String::new(),
        client_type: ClientType::M2m,
        status: ClientStatus::Active,
        protected: false,
        managed_by: None,
        created_at: 0,
        updated_at: 0,
        created_by: "test".into(),
        last_used_at: None,
        revision: 1,
        tokens_valid_after: None,
        token_epoch: 0,
        config: ClientConfig {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::parse_param(scopes).unwrap(),
            ..ClientConfig::default()
        },
    }
}

fn decide(client: &Client, asked: Option<&str>, resource: Option<&str>) -> Result<Issuance, TokenError> {
    let allowed = client.config.scopes.clone();
    let asked = asked.map(|s| ScopeSet::parse_param(s).unwrap());
    client_credentials(ClientCredentialsRequest {
        client,
        allowed_scope: &allowed,
        requested_scope: asked.as_ref(),
        resource,
        issuer: "https://issuer.example",
        settings: &TenantSettings::default(),
        now: 1_000,
        jti: "jti-1".into(),
    })
}

#[test]
fn grants_requested_subset_with_rfc9068_claims() {
    let c = m2m("api:read api:write");
    let i = decide(&c, Some("api:read"), None).unwrap();
    assert_eq!(i.claims.scope, "api:read");
    assert_eq!(i.claims.sub, "svc");
    assert_eq!(i.claims.client_id, "svc");
    assert_eq!(i.claims.aud, "https://issuer.example");
    assert_eq!(i.claims.iat, 1_000);
    assert_eq!(i.claims.exp, 1_000 + 3600);
    assert_eq!(i.expires_in, 3600);
}

#[test]
fn scope_outside_the_allowed_set_is_invalid_scope() {
    let c = m2m("api:read");
    let e = decide(&c, Some("api:read admin"), None).unwrap_err();
    assert_eq!(e.code, crate::error::TokenErrorCode::InvalidScope);
    assert!(e.description().contains("admin"));
}

#[test]
fn no_scope_asked_grants_machine_scopes_only() {
    let c = m2m("api:read openid offline_access");
    let i = decide(&c, None, None).unwrap();
    assert_eq!(i.claims.scope, "api:read");
}

#[test]
fn client_without_the_grant_is_unauthorized() {
    let mut c = m2m("api:read");
    c.config.grant_types = vec![GrantType::AuthorizationCode];
    let e = decide(&c, None, None).unwrap_err();
    assert_eq!(e.code, crate::error::TokenErrorCode::UnauthorizedClient);
}

#[test]
fn resource_must_be_a_registered_audience() {
    let mut c = m2m("api:read");
    c.config.audiences = vec!["https://api.example".into(), "https://other.example".into()];
    assert_eq!(decide(&c, None, None).unwrap().claims.aud, "https://api.example");
    assert_eq!(decide(&c, None, Some("https://other.example")).unwrap().claims.aud, "https://other.example");
    let e = decide(&c, None, Some("https://evil.example")).unwrap_err();
    assert_eq!(e.code, crate::error::TokenErrorCode::InvalidTarget);
}

#[test]
fn lifetime_inherits_and_is_clamped_to_tenant_bounds() {
    let l = Lifetime::effective(None, 3600, 3600);
    assert_eq!((l.seconds, l.source), (3600, LifetimeSource::Tenant));
    let l = Lifetime::effective(Some(600), 3600, 3600);
    assert_eq!((l.seconds, l.source), (600, LifetimeSource::Client));
    assert_eq!(Lifetime::effective(Some(59), 3600, 3600).seconds, 60);
    assert_eq!(Lifetime::effective(Some(7200), 3600, 3600).seconds, 3600);
}

#[test]
fn client_lifetime_reaches_the_token() {
    let mut c = m2m("api:read");
    c.config.access_token_lifetime = Some(120);
    let i = decide(&c, None, None).unwrap();
    assert_eq!(i.expires_in, 120);
    assert_eq!(i.claims.exp - i.claims.iat, 120);
}

#[test]
fn f45_refresh_scope_can_only_shrink() {
    let granted = ScopeSet::parse_param("openid profile offline_access").unwrap();
    let narrower = ScopeSet::parse_param("openid").unwrap();
    assert_eq!(narrow_scope(Some(&narrower), &granted).unwrap(), narrower);
    assert_eq!(narrow_scope(None, &granted).unwrap(), granted);
    let wider = ScopeSet::parse_param("openid email").unwrap();
    assert_eq!(narrow_scope(Some(&wider), &granted).unwrap_err().code, crate::TokenErrorCode::InvalidScope);
}

fn set(s: &str) -> ScopeSet {
    ScopeSet::parse_param(s).unwrap()
}

/// Item 6 of the trust issue: a refresh never returns a scope the client or
/// the user's consent lost after the grant.
#[test]
fn refresh_never_returns_scopes_the_client_or_consent_lost() {
    let granted = set("openid profile api:read api:write");
    // Nothing lost: the grant, or a narrowing of it.
    assert_eq!(refresh_scope(None, &granted, &granted, None).unwrap(), granted);
    let r = set("api:read");
    assert_eq!(refresh_scope(Some(&r), &granted, &granted, None).unwrap(), r);
    // The client lost api:write: it is gone from every refresh.
    let now = set("openid profile api:read");
    assert_eq!(refresh_scope(None, &granted, &now, None).unwrap(), now);
    let ask = set("api:write");
    assert_eq!(refresh_scope(Some(&ask), &granted, &now, None).unwrap_err().code, TokenErrorCode::InvalidScope);
    // The user's consent now covers less: so does the refresh.
    let consent = set("openid api:read");
    assert_eq!(refresh_scope(None, &granted, &granted, Some(&consent)).unwrap(), consent);
    // Never wider than the grant, whatever the client may have today.
    let wider = set("openid profile api:read api:write admin");
    let ask = set("admin");
    assert_eq!(refresh_scope(Some(&ask), &granted, &wider, None).unwrap_err().code, TokenErrorCode::InvalidScope);
    assert_eq!(refresh_scope(None, &granted, &wider, None).unwrap(), granted);
}
