//! The rules a client configuration must satisfy (SPEC §2.1), evaluated on
//! the complete new state, whatever the write path (create, update, type
//! change, apply). Returns every violation, per field, so a form can show
//! them all at once.

use crate::client::ClientConfig;
use crate::error::FieldError;
use crate::grant::{GrantType, TokenEndpointAuthMethod};
use crate::redirect::{CorsOrigin, RedirectUri, validate_metadata_uri};
use crate::tenant::{MIN_TOKEN_LIFETIME, TenantSettings};

/// Response types a client may register (OIDC Core §3; hybrid and legacy).
pub const RESPONSE_TYPES: [&str; 7] =
    ["code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"];

/// Longest reuse window for a rotated refresh token (racing refreshes).
pub const MAX_REUSE_GRACE_SECONDS: u32 = 300;

fn err(errors: &mut Vec<FieldError>, field: &str, message: &str) {
    errors.push(FieldError::new(field, message));
}

/// Checks name and description.
pub fn check_identity(name: &str, description: &str, errors: &mut Vec<FieldError>) {
    let n = name.trim().chars().count();
    if n == 0 || n > 200 {
        err(errors, "name", "must be 1-200 characters");
    }
    if name.chars().any(char::is_control) {
        err(errors, "name", "must not contain control characters");
    }
    if description.chars().count() > 2000 {
        err(errors, "description", "must be at most 2000 characters");
    }
}

/// Every rule on a client configuration, within the tenant's policy
/// (including that its wildcard redirect URIs are under approved parents).
#[must_use]
pub fn check_config(c: &ClientConfig, settings: &TenantSettings) -> Vec<FieldError> {
    let text = |l: &[RedirectUri]| l.iter().map(|u| u.as_str().to_owned()).collect();
    let lists = UriLists {
        redirect_uris: text(&c.redirect_uris),
        post_logout_redirect_uris: text(&c.post_logout_redirect_uris),
        allowed_cors_origins: c.allowed_cors_origins.iter().map(|o| o.as_str().to_owned()).collect(),
    };
    let mut e = Vec::new();
    check_all(c.clone(), &lists, settings, &mut e);
    e
}

/// The URI lists of a configuration as a caller wrote them, before parsing.
#[derive(Debug, Clone, Default)]
pub(crate) struct UriLists {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) allowed_cors_origins: Vec<String>,
}

/// Every rule, in the order the errors are reported; `c`'s URI lists are
/// replaced by the entries of `lists` that parse.
pub(crate) fn check_all(
    mut c: ClientConfig,
    lists: &UriLists,
    settings: &TenantSettings,
    e: &mut Vec<FieldError>,
) -> ClientConfig {
    check_grants(&c, settings, e);
    check_auth(&c, e);
    check_response_types(&c, e);
    check_uris(&mut c, lists, settings, e);
    check_lifetimes(&c, settings, e);
    check_names(&c, e);
    c
}

fn check_grants(c: &ClientConfig, s: &TenantSettings, e: &mut Vec<FieldError>) {
    if c.grant_types.is_empty() {
        err(e, "grant_types", "choose at least one grant type");
    }
    let mut seen = c.grant_types.clone();
    seen.sort();
    seen.dedup();
    if seen.len() != c.grant_types.len() {
        err(e, "grant_types", "a grant type is listed twice");
    }
    if c.grant_types.contains(&GrantType::TokenExchange) {
        // Offer only what works: the token endpoint has no token exchange.
        err(e, "grant_types", "the token-exchange grant (RFC 8693) is not served by this server");
    }
    if c.grant_types.iter().any(|g| g.is_legacy()) && !s.legacy_grants_enabled {
        err(e, "grant_types", "legacy grants (password, implicit) are disabled in this tenant's settings");
    }
    if c.grant_types.contains(&GrantType::RefreshToken)
        && !c
            .grant_types
            .iter()
            .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::DeviceCode | GrantType::Password))
    {
        err(e, "grant_types", "refresh_token needs a grant that issues refresh tokens (e.g. authorization_code)");
    }
}

fn check_auth(c: &ClientConfig, e: &mut Vec<FieldError>) {
    let method = c.token_endpoint_auth_method;
    if method == TokenEndpointAuthMethod::None {
        if c.grant_types.contains(&GrantType::ClientCredentials) {
            err(e, "grant_types", "public clients (auth method none) cannot use client_credentials");
        }
        if c.grant_types.contains(&GrantType::Password) {
            err(e, "grant_types", "public clients cannot use the password grant");
        }
        if !c.require_pkce {
            err(e, "require_pkce", "PKCE is always required for public clients");
        }
    }
    if method == TokenEndpointAuthMethod::ClientSecretJwt {
        err(
            e,
            "token_endpoint_auth_method",
            "client_secret_jwt is not supported; use private_key_jwt, client_secret_basic or client_secret_post",
        );
    }
    if method == TokenEndpointAuthMethod::PrivateKeyJwt {
        match (&c.jwks, &c.jwks_uri) {
            (None, None) => err(e, "jwks", "private_key_jwt needs the client's public keys: jwks or jwks_uri"),
            (Some(_), Some(_)) => err(e, "jwks_uri", "give jwks or jwks_uri, not both"),
            _ => {}
        }
    } else if c.jwks.is_some() || c.jwks_uri.is_some() {
        err(e, "jwks", "keys are only used with token_endpoint_auth_method private_key_jwt");
    }
    if let Some(u) = &c.jwks_uri
        && !(u.len() <= 2000
            && (u.starts_with("https://") || u.starts_with("http://"))
            && !u.contains('#')
            && !u.chars().any(|ch| ch.is_whitespace() || ch.is_control()))
    {
        err(e, "jwks_uri", "an absolute http(s) URL without fragment, at most 2000 characters");
    }
    if let Some(j) = &c.jwks
        && !j.trim_start().starts_with('{')
    {
        err(e, "jwks", "must be a JWK Set document ({\"keys\": [...]})");
    }
}

fn check_response_types(c: &ClientConfig, e: &mut Vec<FieldError>) {
    let has = |g| c.grant_types.contains(&g);
    for rt in &c.response_types {
        if !RESPONSE_TYPES.contains(&rt.as_str()) {
            err(e, "response_types", &format!("unknown response type {rt:?}"));
            continue;
        }
        let needs_code = rt.split(' ').any(|p| p == "code");
        if needs_code && !has(GrantType::AuthorizationCode) {
            err(e, "response_types", &format!("{rt:?} needs the authorization_code grant"));
        }
        if !needs_code && !has(GrantType::Implicit) {
            err(
                e,
                "response_types",
                &format!("{rt:?} is an implicit-flow response type and needs the legacy implicit grant"),
            );
        }
    }
    if has(GrantType::AuthorizationCode) && !c.response_types.iter().any(|r| r.split(' ').any(|p| p == "code")) {
        err(e, "response_types", "the authorization_code grant needs a response type with code");
    }
}

/// Parses a list of redirect URIs for registration (syntax and the tenant's
/// wildcard policy), reporting each bad or repeated entry.
fn parse_uri_list(list: &[String], field: &str, parents: &[String], e: &mut Vec<FieldError>) -> Vec<RedirectUri> {
    let mut parsed = Vec::with_capacity(list.len());
    for (i, u) in list.iter().enumerate() {
        match RedirectUri::parse(u, parents) {
            Ok(uri) => parsed.push(uri),
            Err(x) => err(e, field, &format!("{u}: {}", x.message)),
        }
        if list[..i].contains(u) {
            err(e, field, &format!("{u} is listed twice"));
        }
    }
    parsed
}

fn check_uris(c: &mut ClientConfig, lists: &UriLists, s: &TenantSettings, e: &mut Vec<FieldError>) {
    let parents = &s.approved_wildcard_parents;
    c.redirect_uris = parse_uri_list(&lists.redirect_uris, "redirect_uris", parents, e);
    let redirects_needed =
        c.grant_types.iter().any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Implicit));
    if redirects_needed && lists.redirect_uris.is_empty() {
        err(e, "redirect_uris", "add at least one redirect URI for the authorization_code or implicit grant");
    }
    c.post_logout_redirect_uris =
        parse_uri_list(&lists.post_logout_redirect_uris, "post_logout_redirect_uris", parents, e);
    c.allowed_cors_origins.clear();
    for o in &lists.allowed_cors_origins {
        match CorsOrigin::parse(o) {
            Ok(origin) => c.allowed_cors_origins.push(origin),
            Err(x) => err(e, "allowed_cors_origins", &format!("{o}: {}", x.message)),
        }
    }
    let m = &c.metadata;
    for (field, v) in [
        ("client_uri", &m.client_uri),
        ("logo_uri", &m.logo_uri),
        ("policy_uri", &m.policy_uri),
        ("tos_uri", &m.tos_uri),
        ("jwks_uri", &c.jwks_uri),
    ] {
        if let Some(u) = v
            && let Err(x) = validate_metadata_uri(field, u)
        {
            e.push(x);
        }
    }
    if m.contacts.len() > 10
        || m.contacts.iter().any(|x| x.len() > 254 || !x.contains('@') || x.chars().any(char::is_control))
    {
        err(e, "contacts", "at most 10 email addresses");
    }
    if c.audiences.len() > 20 {
        err(e, "audiences", "at most 20 audiences");
    }
    for a in &c.audiences {
        let absolute = a.starts_with("https://") || a.starts_with("http://") || a.starts_with("urn:");
        if !absolute || a.len() > 2000 || a.chars().any(|ch| ch.is_control() || ch == ' ' || ch == '#') {
            err(e, "audiences", &format!("{a}: an audience is an absolute URI without fragment (https://… or urn:…)"));
        }
    }
}

fn check_lifetimes(c: &ClientConfig, s: &TenantSettings, e: &mut Vec<FieldError>) {
    for (field, v, max) in [
        ("access_token_lifetime", c.access_token_lifetime, s.max_access_token_lifetime),
        ("refresh_token_lifetime", c.refresh_token_lifetime, s.max_refresh_token_lifetime),
        ("id_token_lifetime", c.id_token_lifetime, s.max_id_token_lifetime),
    ] {
        if let Some(v) = v
            && !(MIN_TOKEN_LIFETIME..=max).contains(&v)
        {
            err(e, field, &format!("must be between {MIN_TOKEN_LIFETIME} and {max} seconds (the tenant's maximum)"));
        }
    }
    if c.refresh_token_policy.reuse_grace_seconds > MAX_REUSE_GRACE_SECONDS {
        err(e, "refresh_token_policy", &format!("reuse_grace_seconds must be at most {MAX_REUSE_GRACE_SECONDS}"));
    }
}

/// A name of a group, class or label key: short, printable, no spaces.
fn is_token(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@'))
}

fn check_names(c: &ClientConfig, e: &mut Vec<FieldError>) {
    if c.allowed_groups.len() > 100 || !c.allowed_groups.iter().all(|g| is_token(g, 100)) {
        err(e, "allowed_groups", "group names are 1-100 characters of letters, digits and . _ - / : @");
    }
    if !c.security_classes.iter().all(|g| is_token(g, 100)) {
        err(e, "security_classes", "class names are 1-100 characters of letters, digits and . _ - / : @");
    }
    if c.labels.len() > 50 {
        err(e, "labels", "at most 50 labels");
    }
    for (k, v) in &c.labels {
        if !is_token(k, 63) || !(v.is_empty() || is_token(v, 63)) {
            err(e, "labels", &format!("{k}={v}: keys and values are up to 63 letters, digits and . _ - / : @"));
        }
    }
}

#[cfg(test)]
mod tests;
