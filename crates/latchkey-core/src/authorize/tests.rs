use super::*;
use crate::client::{ClientConfig, ClientStatus, ClientType};
use crate::grant::TokenEndpointAuthMethod;
use crate::ids::TenantId;

fn uri(s: &str) -> crate::redirect::RedirectUri {
    crate::redirect::RedirectUri::parse_syntax(s).unwrap()
}

fn client(public: bool) -> Client {
    let mut config = ClientConfig {
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        response_types: vec!["code".into(), "code id_token".into()],
        redirect_uris: vec![uri("https://app.example/cb")],
        scopes: ScopeSet::parse_param("openid profile").unwrap(),
        ..ClientConfig::default()
    };
    if public {
        config.token_endpoint_auth_method = TokenEndpointAuthMethod::None;
    }
    Client {
        tenant: TenantId::default_tenant(),
        client_id: ClientId::parse("app").unwrap(),
        name: "App".into(),
        description: String::new(),
        client_type: ClientType::Web,
        status: ClientStatus::Active,
        protected: false,
        managed_by: None,
        created_at: 0,
        updated_at: 0,
        created_by: "t".into(),
        last_used_at: None,
        revision: 1,
        tokens_valid_after: None,
        token_epoch: 0,
        config,
    }
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn params() -> AuthorizeParams {
    AuthorizeParams {
        client_id: Some("app".into()),
        response_type: Some("code".into()),
        scope: Some("profile openid".into()),
        state: Some("s".into()),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some("S256".into()),
        ..AuthorizeParams::default()
    }
}

fn parse(p: &AuthorizeParams, c: &Client) -> Result<AuthorizationRequest, AuthorizeError> {
    let s = TenantSettings::default();
    let redirect = resolve_redirect(c, &s, p.redirect_uri.as_deref()).unwrap();
    AuthorizationRequest::parse(p, c, &s, &c.config.scopes, redirect)
}

fn code_of(p: &AuthorizeParams, c: &Client) -> AuthorizeErrorCode {
    parse(p, c).unwrap_err().code
}

#[test]
fn a8_redirect_uri_required_when_several_are_registered() {
    let mut c = client(false);
    let s = TenantSettings::default();
    assert_eq!(resolve_redirect(&c, &s, None).unwrap(), ("https://app.example/cb".into(), false));
    c.config.redirect_uris.push(uri("https://app.example/other"));
    assert!(resolve_redirect(&c, &s, None).is_err());
    assert!(resolve_redirect(&c, &s, Some("https://app.example/other")).is_ok());
    assert!(resolve_redirect(&c, &s, Some("https://app.example/cb/")).is_err());
    c.status = ClientStatus::Disabled;
    assert!(resolve_redirect(&c, &s, Some("https://app.example/other")).is_err(), "a9: disabled client");
}

#[test]
fn b14_repeated_parameters_are_rejected() {
    let mut p = params();
    p.repeated = Some("scope".into());
    assert_eq!(code_of(&p, &client(false)), AuthorizeErrorCode::InvalidRequest);
}

#[test]
fn b13_response_type_missing_unknown_or_unregistered() {
    let c = client(false);
    let mut p = params();
    p.response_type = None;
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest);
    p.response_type = Some("code foo".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::UnsupportedResponseType);
    p.response_type = Some("token".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::UnsupportedResponseType, "implicit is legacy");
    p.response_type = Some("code token".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::UnauthorizedClient, "not registered");
    p.response_type = Some("id_token code".into());
    p.nonce = Some("n".into());
    assert_eq!(parse(&p, &c).unwrap().response_type, ResponseType::CodeIdToken, "order is irrelevant");
    assert_eq!(parse(&p, &c).unwrap().response_mode, ResponseMode::Fragment);
}

#[test]
fn b17_scope_order_irrelevant_and_unknown_scope_refused() {
    let c = client(false);
    let mut p = params();
    assert!(parse(&p, &c).is_ok());
    p.scope = Some("openid email".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidScope);
}

#[test]
fn c26_pkce_required_for_public_and_by_default() {
    let mut p = params();
    p.code_challenge = None;
    p.code_challenge_method = None;
    assert_eq!(code_of(&p, &client(true)), AuthorizeErrorCode::InvalidRequest);
    assert_eq!(code_of(&p, &client(false)), AuthorizeErrorCode::InvalidRequest);
    let mut opted_out = client(false);
    opted_out.config.require_pkce = false;
    assert_eq!(parse(&p, &opted_out).unwrap().code_challenge, None);
}

#[test]
fn c27_only_s256_is_accepted() {
    let mut p = params();
    for m in ["plain", "S512", "s256"] {
        p.code_challenge_method = Some(m.into());
        assert_eq!(code_of(&p, &client(true)), AuthorizeErrorCode::InvalidRequest, "{m}");
    }
    p.code_challenge_method = None;
    assert_eq!(code_of(&p, &client(true)), AuthorizeErrorCode::InvalidRequest, "no method means plain: refused");
}

#[test]
fn c28_challenge_syntax_is_enforced() {
    let mut p = params();
    for bad in ["a".repeat(42), "a".repeat(129), format!("{}+", "a".repeat(42)), format!("{}=", "a".repeat(42))] {
        p.code_challenge = Some(bad.clone());
        assert_eq!(code_of(&p, &client(true)), AuthorizeErrorCode::InvalidRequest, "{bad}");
    }
    p.code_challenge = Some("a".repeat(128));
    assert!(parse(&p, &client(true)).is_ok());
}

#[test]
fn prompt_and_max_age_and_modes() {
    let c = client(false);
    let mut p = params();
    p.prompt = Some("none login".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest);
    p.prompt = Some("login consent".into());
    let r = parse(&p, &c).unwrap();
    assert!(r.prompt.login && r.prompt.consent && !r.prompt.none);
    p.max_age = Some("-1".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest);
    p.max_age = Some("0".into());
    assert_eq!(parse(&p, &c).unwrap().max_age, Some(0));
    p.response_mode = Some("form_post".into());
    assert_eq!(parse(&p, &c).unwrap().response_mode, ResponseMode::FormPost);
    p.response_mode = Some("web_message".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest);
    p.response_mode = Some("query".into());
    p.response_type = Some("code id_token".into());
    p.nonce = Some("n".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest, "no tokens in the query");
}

#[test]
fn b15_long_state_is_kept_and_too_long_refused() {
    let c = client(false);
    let mut p = params();
    p.state = Some("x&#é".repeat(1000));
    assert_eq!(parse(&p, &c).unwrap().state, p.state);
    p.state = Some("x".repeat(MAX_STATE + 1));
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest);
}

#[test]
fn hybrid_needs_nonce_and_openid() {
    let c = client(false);
    let mut p = params();
    p.response_type = Some("code id_token".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest, "nonce missing");
    p.nonce = Some("n".into());
    p.scope = Some("profile".into());
    assert_eq!(code_of(&p, &c), AuthorizeErrorCode::InvalidRequest, "openid missing");
}

#[test]
fn error_descriptions_carry_only_allowed_characters() {
    let e = AuthorizeError::new(AuthorizeErrorCode::InvalidRequest, "a\"b\\c\nd");
    assert_eq!(e.description, "a b c d");
}
