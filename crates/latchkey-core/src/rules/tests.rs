use super::*;
use crate::client::ClientType;

fn uri(s: &str) -> RedirectUri {
    RedirectUri::parse_syntax(s).unwrap()
}

fn cfg(t: ClientType) -> ClientConfig {
    let mut c = t.preset();
    if c.grant_types.contains(&GrantType::AuthorizationCode) {
        c.redirect_uris = vec![uri("https://app.example.com/cb")];
    }
    c
}

fn fields(c: &ClientConfig) -> Vec<String> {
    check_config(c, &TenantSettings::default()).into_iter().map(|e| e.field).collect()
}

#[test]
fn every_preset_is_valid_once_it_has_its_redirect_uri() {
    for t in ClientType::ALL {
        if t == ClientType::Custom {
            continue;
        }
        assert_eq!(fields(&cfg(t)), Vec::<String>::new(), "{t}");
    }
}

#[test]
fn lifetime_bounds_59_60_3600_3601() {
    for (v, ok) in [(59, false), (60, true), (3600, true), (3601, false)] {
        let mut c = cfg(ClientType::M2m);
        c.access_token_lifetime = Some(v);
        assert_eq!(fields(&c).is_empty(), ok, "{v}");
    }
}

#[test]
fn grant_and_auth_combinations() {
    use GrantType::*;
    use TokenEndpointAuthMethod as M;
    let cases: &[(&[GrantType], M, &[&str], bool)] = &[
        (&[ClientCredentials], M::ClientSecretBasic, &[], true),
        (&[ClientCredentials], M::ClientSecretPost, &[], true),
        (&[ClientCredentials], M::None, &[], false),
        (&[AuthorizationCode], M::None, &["code"], true),
        (&[AuthorizationCode, RefreshToken], M::ClientSecretBasic, &["code"], true),
        (&[RefreshToken], M::ClientSecretBasic, &[], false),
        (&[AuthorizationCode], M::ClientSecretBasic, &["code id_token"], true),
        (&[AuthorizationCode], M::ClientSecretBasic, &["token"], false),
        (&[AuthorizationCode], M::ClientSecretBasic, &[], false),
        (&[ClientCredentials], M::ClientSecretBasic, &["code"], false),
        (&[DeviceCode, RefreshToken], M::None, &[], true),
        (&[Password], M::ClientSecretBasic, &[], false),
        (&[Implicit], M::None, &["token"], false),
        (&[], M::ClientSecretBasic, &[], false),
        (&[ClientCredentials, ClientCredentials], M::ClientSecretBasic, &[], false),
        (&[ClientCredentials], M::ClientSecretJwt, &[], false),
    ];
    for (grants, method, rts, ok) in cases {
        let mut c = ClientConfig {
            grant_types: grants.to_vec(),
            token_endpoint_auth_method: *method,
            response_types: rts.iter().map(|s| (*s).to_owned()).collect(),
            ..ClientConfig::default()
        };
        if grants.contains(&AuthorizationCode) || grants.contains(&Implicit) {
            c.redirect_uris = vec![uri("https://app.example.com/cb")];
        }
        assert_eq!(fields(&c).is_empty(), *ok, "{grants:?} {method:?} {rts:?}: {:?}", fields(&c));
    }
}

#[test]
fn legacy_grants_need_the_tenant_switch() {
    let c = ClientConfig {
        grant_types: vec![GrantType::Implicit],
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        response_types: vec!["id_token token".into()],
        redirect_uris: vec![uri("https://app.example.com/cb")],
        ..ClientConfig::default()
    };
    assert!(fields(&c).contains(&"grant_types".to_owned()));
    let on = TenantSettings { legacy_grants_enabled: true, ..TenantSettings::default() };
    assert!(check_config(&c, &on).is_empty());
}

#[test]
fn a_grant_the_server_does_not_serve_is_refused() {
    let c = ClientConfig { grant_types: vec![GrantType::TokenExchange], ..ClientConfig::default() };
    let errors = check_config(&c, &TenantSettings::default());
    assert!(errors.iter().any(|e| e.field == "grant_types" && e.message.contains("not served")), "{errors:?}");
}

#[test]
fn public_clients_always_require_pkce() {
    let mut c = cfg(ClientType::Spa);
    c.require_pkce = false;
    assert_eq!(fields(&c), vec!["require_pkce"]);
}

#[test]
fn wildcard_needs_an_approved_parent() {
    let mut c = cfg(ClientType::Web);
    c.redirect_uris = vec![uri("https://*.preview.example.com/cb")];
    assert_eq!(fields(&c), vec!["redirect_uris"]);
    let s =
        TenantSettings { approved_wildcard_parents: vec!["preview.example.com".into()], ..TenantSettings::default() };
    assert!(check_config(&c, &s).is_empty());
}

#[test]
fn labels_groups_and_identity() {
    let mut c = cfg(ClientType::M2m);
    c.labels.insert("team".into(), "payments".into());
    assert!(fields(&c).is_empty());
    c.labels.insert("bad key".into(), "x".into());
    c.allowed_groups = vec!["ops team".into()];
    assert_eq!(fields(&c), vec!["allowed_groups", "labels"]);
    let mut e = Vec::new();
    check_identity("", &"x".repeat(2001), &mut e);
    check_identity(&"n".repeat(201), "", &mut e);
    check_identity("a\u{7}b", "", &mut e);
    assert_eq!(e.len(), 4);
}
