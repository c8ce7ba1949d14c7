//! What providers and remote clients may hold: URLs, token parameters,
//! provider settings, client ids and secrets, and the discovery document
//! (its issuer must match its URL).

use serde::Deserialize;

use super::http::UpstreamError;
use super::{ProviderSettings, RemoteAuthMethod, TokenParams, federation};
use crate::AppError;

/// Form fields an administrator may not set: the ones Latchkey sends itself.
const RESERVED_FIELDS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "refresh_token",
    "code",
    "code_verifier",
    "redirect_uri",
    "scope",
    "audience",
    "resource",
];

pub(super) fn check_url(field: &str, u: Option<&str>) -> Result<(), AppError> {
    let Some(u) = u else { return Ok(()) };
    let ok = url::Url::parse(u).ok().is_some_and(|p| {
        matches!(p.scheme(), "https" | "http")
            && p.host().is_some()
            && p.fragment().is_none()
            && p.username().is_empty()
    });
    if ok && u.len() <= 2000 {
        Ok(())
    } else {
        Err(AppError::field(field, "an absolute http(s) URL without fragment or credentials, at most 2000 characters"))
    }
}

pub(super) fn check_params(p: &TokenParams) -> Result<(), AppError> {
    let text_ok = |s: &Option<String>| s.as_deref().is_none_or(|v| v.len() <= 2000 && !v.chars().any(char::is_control));
    if !text_ok(&p.scope) {
        return Err(AppError::field("params.scope", "at most 2000 characters, no control characters"));
    }
    if let Some(s) = &p.scope
        && latchkey_core::ScopeSet::parse_param(s).is_err()
    {
        return Err(AppError::field("params.scope", "space-separated scope tokens (RFC 6749 §3.3)"));
    }
    if !text_ok(&p.audience) {
        return Err(AppError::field("params.audience", "at most 2000 characters, no control characters"));
    }
    check_url("params.resource", p.resource.as_deref())?;
    if p.extra.len() > 20 {
        return Err(AppError::field("params.extra", "at most 20 fields"));
    }
    for (k, v) in &p.extra {
        let key_ok = !k.is_empty()
            && k.len() <= 64
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
        if !key_ok || RESERVED_FIELDS.contains(&k.as_str()) {
            return Err(AppError::field(
                "params.extra",
                "field names are 1-64 characters of A-Z a-z 0-9 _ - . : and not one Latchkey sends itself",
            ));
        }
        if v.len() > 2000 || v.chars().any(char::is_control) {
            return Err(AppError::field("params.extra", "values are at most 2000 characters, no control characters"));
        }
    }
    Ok(())
}

pub(super) fn check_settings(s: &ProviderSettings) -> Result<(), AppError> {
    check_url("discovery_url", s.discovery_url.as_deref())?;
    check_url("issuer", s.issuer.as_deref())?;
    check_url("authorization_endpoint", s.authorization_endpoint.as_deref())?;
    check_url("token_endpoint", s.token_endpoint.as_deref())?;
    check_url("revocation_endpoint", s.revocation_endpoint.as_deref())?;
    check_url("userinfo_endpoint", s.userinfo_endpoint.as_deref())?;
    check_url("jwks_uri", s.jwks_uri.as_deref())?;
    if s.token_endpoint.is_none() && s.authorization_endpoint.is_none() {
        return Err(AppError::field(
            "token_endpoint",
            "a provider needs a token endpoint (give it, or a discovery_url that names one)",
        ));
    }
    if s.token_endpoint_auth_method == RemoteAuthMethod::PrivateKeyJwt && s.issuer.is_none() {
        return Err(AppError::field(
            "token_endpoint_auth_method",
            "private_key_jwt needs the provider's issuer: client assertions name it as their audience",
        ));
    }
    if s.default_scopes.len() > 50 || s.default_scopes.iter().any(|x| latchkey_core::Scope::parse(x).is_err()) {
        return Err(AppError::field("default_scopes", "at most 50 scope tokens (RFC 6749 §3.3)"));
    }
    if let Some(si) = &s.sign_in {
        federation::check_sign_in(si)?;
        if s.authorization_endpoint.is_none() || s.jwks_uri.is_none() || s.issuer.is_none() {
            return Err(AppError::field(
                "sign_in",
                "signing in needs the provider's issuer, authorization endpoint and jwks_uri (OIDC discovery gives them)",
            ));
        }
    }
    Ok(())
}

/// A discovery URL that cannot be used, for whatever reason, is a bad
/// value of that field (422), not a failure of this server.
pub(super) fn upstream_error(field: &str, e: &UpstreamError) -> AppError {
    match e {
        UpstreamError::Refused(m) => AppError::field(field, m),
        other => AppError::field(field, &format!("the document could not be fetched: {other}")),
    }
}

/// The discovery document's fields Latchkey uses.
#[derive(Debug, Deserialize)]
pub(super) struct Discovered {
    pub(super) issuer: String,
    pub(super) authorization_endpoint: Option<String>,
    pub(super) token_endpoint: Option<String>,
    pub(super) revocation_endpoint: Option<String>,
    pub(super) userinfo_endpoint: Option<String>,
    pub(super) jwks_uri: Option<String>,
    #[serde(default)]
    pub(super) token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub(super) authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub(super) token_endpoint_auth_signing_alg_values_supported: Vec<String>,
}

/// RFC 8414 §3 / OIDC Discovery §4: the document's `issuer` must be the
/// issuer its URL was built from.
pub(super) fn issuer_matches(discovery_url: &str, issuer: &str) -> bool {
    let issuer = issuer.trim_end_matches('/');
    if discovery_url == format!("{issuer}/.well-known/openid-configuration") {
        return true;
    }
    // RFC 8414: the well-known segment goes between host and path.
    let Ok(i) = url::Url::parse(issuer) else { return false };
    let path = i.path().trim_end_matches('/');
    discovery_url == format!("{}/.well-known/oauth-authorization-server{path}", i.origin().ascii_serialization())
}

pub(super) fn check_client_id(id: &str) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 500 || id.chars().any(char::is_control) {
        return Err(AppError::field("client_id", "1-500 characters, no control characters"));
    }
    Ok(())
}

pub(super) fn check_secret(s: &str) -> Result<(), AppError> {
    if s.is_empty() || s.len() > 4096 || s.chars().any(char::is_control) {
        return Err(AppError::field("client_secret", "1-4096 characters, no control characters"));
    }
    Ok(())
}
