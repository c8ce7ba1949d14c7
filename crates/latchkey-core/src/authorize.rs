//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), parsed
//! once into a value that can only hold an acceptable request.
//!
//! Parsing runs in two phases, because errors are delivered differently:
//! 1. [`resolve_redirect`]: the client and its redirect URI. Until both are
//!    known to be good, every error is shown on a page and never redirected
//!    (SECURITY-CHECKLIST item 9).
//! 2. [`AuthorizationRequest::parse`]: everything else. Its errors go back to
//!    the (now trusted) redirect URI with `state` and `iss`.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::grant::GrantType;
use crate::ids::ClientId;
use crate::redirect::{find_match, usable};
use crate::scope::ScopeSet;
use crate::tenant::TenantSettings;

/// Lifetime of an authorization code in seconds (SPEC §4).
pub const CODE_LIFETIME: i64 = 60;
/// Longest `state` or `nonce` echoed back, in bytes.
pub const MAX_STATE: usize = 8 * 1024;

/// `response_type` values (OIDC Core §3; OAuth 2.0 Multiple Response Types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseType {
    /// `code`: an authorization code only (RFC 6749 §4.1).
    Code,
    /// `code id_token`: a code, and an ID token from the front channel
    /// (OIDC Core §3.3).
    CodeIdToken,
    /// `code token`: a code, and an access token from the front channel
    /// (OIDC Core §3.3).
    CodeToken,
    /// `code id_token token`: a code, and both an ID token and an access token
    /// from the front channel (OIDC Core §3.3).
    CodeIdTokenToken,
    /// Legacy implicit flow.
    IdToken,
    /// Legacy implicit flow.
    IdTokenToken,
    /// Legacy implicit flow.
    Token,
}

impl ResponseType {
    /// Every response type Latchkey understands.
    pub const ALL: [Self; 7] = [
        Self::Code,
        Self::CodeIdToken,
        Self::CodeToken,
        Self::CodeIdTokenToken,
        Self::IdToken,
        Self::IdTokenToken,
        Self::Token,
    ];

    /// The `response_type` value on the wire, its parts in the order OIDC Core
    /// writes them.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::CodeIdToken => "code id_token",
            Self::CodeToken => "code token",
            Self::CodeIdTokenToken => "code id_token token",
            Self::IdToken => "id_token",
            Self::IdTokenToken => "id_token token",
            Self::Token => "token",
        }
    }

    /// Parses a space-delimited value; the order of the parts is irrelevant.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts: Vec<&str> = s.split(' ').collect();
        parts.sort_unstable();
        let mut dedup = parts.clone();
        dedup.dedup();
        if dedup.len() != parts.len() {
            return None;
        }
        Self::ALL.into_iter().find(|t| {
            let mut own: Vec<&str> = t.as_str().split(' ').collect();
            own.sort_unstable();
            own == parts
        })
    }

    /// Whether the response carries an authorization `code`.
    #[must_use]
    pub fn has_code(self) -> bool {
        matches!(self, Self::Code | Self::CodeIdToken | Self::CodeToken | Self::CodeIdTokenToken)
    }

    /// Whether an ID token comes from the front channel; the request then needs
    /// the `openid` scope and a `nonce`.
    #[must_use]
    pub fn has_id_token(self) -> bool {
        matches!(self, Self::CodeIdToken | Self::CodeIdTokenToken | Self::IdToken | Self::IdTokenToken)
    }

    /// Whether an access token comes from the front channel.
    #[must_use]
    pub fn has_token(self) -> bool {
        matches!(self, Self::CodeToken | Self::CodeIdTokenToken | Self::IdTokenToken | Self::Token)
    }

    /// The legacy implicit flow (no code at all; RFC 9700 §2.1.2).
    #[must_use]
    pub fn is_implicit(self) -> bool {
        !self.has_code()
    }
}

/// How the response travels back (OAuth 2.0 Multiple Response Types §2,
/// Form Post Response Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    /// `query`: the parameters go in the redirect URI's query; only for
    /// `response_type=code`, so that no token lands in a query string.
    Query,
    /// `fragment`: the parameters go in the redirect URI's fragment, which the
    /// browser does not send to the server.
    Fragment,
    /// `form_post`: the parameters are posted to the redirect URI by a
    /// self-submitting HTML form (Form Post Response Mode).
    FormPost,
}

impl ResponseMode {
    /// Every response mode Latchkey understands.
    pub const ALL: [Self; 3] = [Self::Query, Self::Fragment, Self::FormPost];

    /// The `response_mode` value on the wire.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }

    /// Parses a `response_mode` value; `None` for an unknown one.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The default for a response type: query for `code`, fragment when
    /// tokens travel in the front channel.
    #[must_use]
    pub fn default_for(t: ResponseType) -> Self {
        if t == ResponseType::Code { Self::Query } else { Self::Fragment }
    }
}

/// Error codes of the authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core
/// §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthorizeErrorCode {
    /// "The request is missing a required parameter, includes an invalid
    /// parameter value, includes a parameter more than once, or is otherwise
    /// malformed."
    InvalidRequest,
    /// "The client is not authorized to request an authorization code using
    /// this method."
    UnauthorizedClient,
    /// "The resource owner or authorization server denied the request."
    AccessDenied,
    /// "The authorization server does not support obtaining an
    /// authorization code using this method."
    UnsupportedResponseType,
    /// "The requested scope is invalid, unknown, or malformed."
    InvalidScope,
    /// The server cannot handle the request now.
    TemporarilyUnavailable,
    /// `prompt=none`, but the user must sign in.
    LoginRequired,
    /// `prompt=none`, but the user must consent.
    ConsentRequired,
    /// The `request` parameter (JAR) is not supported.
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    RequestUriNotSupported,
}

impl AuthorizeErrorCode {
    /// The `error` value sent to the redirect URI.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// An error returned to the client's redirect URI. The description keeps
/// only the characters RFC 6749 §4.1.2.1 allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeError {
    /// The `error` parameter.
    pub code: AuthorizeErrorCode,
    /// The `error_description` parameter; [`AuthorizeError::new`] keeps it to
    /// the characters RFC 6749 §4.1.2.1 allows.
    pub description: String,
}

impl AuthorizeError {
    /// An error with `code` and `description`; each character RFC 6749 §4.1.2.1
    /// forbids in the description becomes a space.
    #[must_use]
    pub fn new(code: AuthorizeErrorCode, description: &str) -> Self {
        let description = description
            .chars()
            .map(|c| match c {
                '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' => c,
                _ => ' ',
            })
            .collect();
        Self { code, description }
    }

    fn invalid(d: &str) -> Self {
        Self::new(AuthorizeErrorCode::InvalidRequest, d)
    }
}

/// The raw parameters of an authorization request, as the web layer read
/// them (empty values already treated as absent).
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    /// `client_id`: the client making the request (RFC 6749 §4.1.1).
    pub client_id: Option<String>,
    /// `redirect_uri`: where to answer; may be left out when the client
    /// registered exactly one (not a wildcard).
    pub redirect_uri: Option<String>,
    /// `response_type`: what the client wants back; see [`ResponseType`].
    pub response_type: Option<String>,
    /// `response_mode`: how the answer travels; see [`ResponseMode`].
    pub response_mode: Option<String>,
    /// `scope`: the scopes asked for, space-delimited (RFC 6749 §3.3).
    pub scope: Option<String>,
    /// `state`: the client's opaque value, returned unchanged with the answer;
    /// at most [`MAX_STATE`] bytes.
    pub state: Option<String>,
    /// `nonce`: the client's value for the ID token (OIDC Core §3.1.2.1);
    /// required when an ID token comes from the front channel.
    pub nonce: Option<String>,
    /// `prompt`: space-delimited `none`, `login`, `consent` or `select_account`
    /// (OIDC Core §3.1.2.1).
    pub prompt: Option<String>,
    /// `max_age`: seconds since the user last signed in after which they must
    /// sign in again (OIDC Core §3.1.2.1).
    pub max_age: Option<String>,
    /// `login_hint`: the user name to prefill on the sign-in page; at most 256
    /// printable characters.
    pub login_hint: Option<String>,
    /// `code_challenge`: the PKCE challenge (RFC 7636 §4.2).
    pub code_challenge: Option<String>,
    /// `code_challenge_method`: must be `S256`; `plain` is refused
    /// (RFC 7636 §4.3).
    pub code_challenge_method: Option<String>,
    /// `request`: a request object (JAR); refused with `request_not_supported`.
    pub request: Option<String>,
    /// `request_uri`: a request object by reference; refused with
    /// `request_uri_not_supported`.
    pub request_uri: Option<String>,
    /// The name of a parameter other than `client_id`/`redirect_uri` that
    /// appeared more than once (RFC 6749 §3.1: an `invalid_request`).
    pub repeated: Option<String>,
}

/// Why a request cannot even be answered at the client: shown on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError(pub String);

/// Checks the client and picks the URI to answer at (phase 1).
///
/// Returns the redirect URI to use and whether the request carried it. The
/// one matcher is [`find_match`]; the requested string (not the registered
/// one) is used, since a loopback URI may differ in its port.
///
/// # Errors
/// A [`PageError`] for a disabled client, a missing `redirect_uri` when the
/// client has several, or one that matches none of them.
pub fn resolve_redirect(
    client: &Client,
    settings: &TenantSettings,
    requested: Option<&str>,
) -> Result<(String, bool), PageError> {
    if !client.is_active() {
        return Err(PageError("This application is disabled.".into()));
    }
    let parents = &settings.approved_wildcard_parents;
    match requested {
        Some(r) => find_match(&client.config.redirect_uris, r, parents)
            .map(|_| (r.to_owned(), true))
            .ok_or_else(|| PageError("The redirect_uri is not registered for this application.".into())),
        None => match usable(&client.config.redirect_uris, parents).as_slice() {
            [only] if !only.is_wildcard() => Ok((only.as_str().to_owned(), false)),
            [] => Err(PageError("This application has no redirect URI registered.".into())),
            _ => Err(PageError(
                "The request has no redirect_uri, and this application registered several: it must name one.".into(),
            )),
        },
    }
}

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: show no page; fail with `login_required` or `consent_required`
    /// instead. Never combined with the others.
    pub none: bool,
    /// `login`: make the user sign in again even with a live session.
    pub login: bool,
    /// `consent`: ask for consent even when an earlier consent covers the
    /// scopes.
    pub consent: bool,
}

impl Prompt {
    fn parse(s: Option<&str>) -> Result<Self, AuthorizeError> {
        let mut p = Self::default();
        for v in s.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => {}
                _ => return Err(AuthorizeError::invalid("prompt must be none, login, consent or select_account")),
            }
        }
        if p.none && (p.login || p.consent) {
            return Err(AuthorizeError::invalid("prompt=none cannot be combined with other values"));
        }
        Ok(p)
    }
}

/// A valid authorization request for a known client and redirect URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client the request is for.
    pub client_id: ClientId,
    /// Where to answer: the requested URI, or the client's only registered one.
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri`; if it did, the token request
    /// must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    /// What the answer carries.
    pub response_type: ResponseType,
    /// How the answer travels: the requested mode, or the response type's
    /// default.
    pub response_mode: ResponseMode,
    /// The scopes asked for; all within what the client may request.
    pub scope: ScopeSet,
    /// Returned to the client unchanged with the answer.
    pub state: Option<String>,
    /// Put into the ID token unchanged (OIDC Core §3.1.2.1).
    pub nonce: Option<String>,
    /// Which sign-in and consent pages to force or forbid.
    pub prompt: Prompt,
    /// Seconds since the user last signed in after which they must sign in
    /// again.
    pub max_age: Option<u32>,
    /// The user name to prefill on the sign-in page.
    pub login_hint: Option<String>,
    /// The S256 challenge; `plain` is never accepted.
    pub code_challenge: Option<String>,
}

/// RFC 7636 §4.1: 43-128 characters of `[A-Za-z0-9-._~]`.
#[must_use]
pub fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Where an error is sent when phase 2 fails: the mode the request asked
/// for when that part was valid, else the response type's default.
#[must_use]
pub fn error_mode(p: &AuthorizeParams) -> ResponseMode {
    if let Some(m) = p.response_mode.as_deref().and_then(ResponseMode::parse) {
        return m;
    }
    p.response_type.as_deref().and_then(ResponseType::parse).map_or(ResponseMode::Query, ResponseMode::default_for)
}

impl AuthorizationRequest {
    /// Phase 2: every other parameter, against the client and the tenant.
    ///
    /// `allowed_scope` is what the client may request (its scopes and its
    /// security classes' scopes).
    ///
    /// # Errors
    /// An [`AuthorizeError`] to send to the redirect URI.
    pub fn parse(
        p: &AuthorizeParams,
        client: &Client,
        settings: &TenantSettings,
        allowed_scope: &ScopeSet,
        redirect: (String, bool),
    ) -> Result<Self, AuthorizeError> {
        use AuthorizeErrorCode as C;
        if let Some(name) = &p.repeated {
            return Err(AuthorizeError::invalid(&format!("the parameter {name} is repeated")));
        }
        if p.request.is_some() {
            return Err(AuthorizeError::new(C::RequestNotSupported, "request objects are not supported"));
        }
        if p.request_uri.is_some() {
            return Err(AuthorizeError::new(C::RequestUriNotSupported, "request_uri is not supported"));
        }
        let rt = p.response_type.as_deref().ok_or_else(|| AuthorizeError::invalid("response_type is required"))?;
        let response_type = ResponseType::parse(rt)
            .ok_or_else(|| AuthorizeError::new(C::UnsupportedResponseType, "this response_type is not supported"))?;
        check_response_type(response_type, client, settings)?;
        let response_mode = match p.response_mode.as_deref() {
            None => ResponseMode::default_for(response_type),
            Some(m) => ResponseMode::parse(m)
                .ok_or_else(|| AuthorizeError::invalid("response_mode must be query, fragment or form_post"))?,
        };
        if response_mode == ResponseMode::Query && response_type != ResponseType::Code {
            return Err(AuthorizeError::invalid("tokens are never sent in the query: use fragment or form_post"));
        }
        let scope = ScopeSet::parse_param(p.scope.as_deref().unwrap_or_default())
            .map_err(|e| AuthorizeError::new(C::InvalidScope, &e.message))?;
        if !scope.is_subset(allowed_scope) {
            let missing = scope.difference(allowed_scope).join(" ");
            return Err(AuthorizeError::new(C::InvalidScope, &format!("scope not allowed for this client: {missing}")));
        }
        if response_type.has_id_token() && !scope.contains("openid") {
            return Err(AuthorizeError::invalid("an id_token response needs the openid scope"));
        }
        for (name, v) in [("state", &p.state), ("nonce", &p.nonce)] {
            if v.as_ref().is_some_and(|v| v.len() > MAX_STATE) {
                return Err(AuthorizeError::invalid(&format!("{name} is longer than {MAX_STATE} bytes")));
            }
        }
        if response_type.has_id_token() && p.nonce.is_none() {
            return Err(AuthorizeError::invalid("nonce is required when an id_token comes from the front channel"));
        }
        let prompt = Prompt::parse(p.prompt.as_deref())?;
        let max_age = match p.max_age.as_deref() {
            None => None,
            Some(m) => {
                Some(m.parse::<u32>().map_err(|_| AuthorizeError::invalid("max_age must be a number of seconds"))?)
            }
        };
        if p.login_hint.as_ref().is_some_and(|h| h.len() > 256 || h.chars().any(char::is_control)) {
            return Err(AuthorizeError::invalid("login_hint is at most 256 printable characters"));
        }
        let code_challenge = check_pkce(p, client, response_type)?;
        Ok(Self {
            client_id: client.client_id.clone(),
            redirect_uri: redirect.0,
            redirect_uri_given: redirect.1,
            response_type,
            response_mode,
            scope,
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            prompt,
            max_age,
            login_hint: p.login_hint.clone(),
            code_challenge,
        })
    }
}

/// The client must have registered the response type and hold the grant it
/// belongs to; the implicit flow is legacy (tenant switch and client grant).
fn check_response_type(t: ResponseType, client: &Client, settings: &TenantSettings) -> Result<(), AuthorizeError> {
    use AuthorizeErrorCode as C;
    let grants = &client.config.grant_types;
    if t.is_implicit() && (!settings.legacy_grants_enabled || !grants.contains(&GrantType::Implicit)) {
        return Err(AuthorizeError::new(
            C::UnsupportedResponseType,
            "the implicit flow is a legacy grant and is not enabled for this client",
        ));
    }
    let registered = client.config.response_types.iter().any(|r| ResponseType::parse(r) == Some(t));
    if !registered || (t.has_code() && !grants.contains(&GrantType::AuthorizationCode)) {
        return Err(AuthorizeError::new(C::UnauthorizedClient, "this client may not use this response_type"));
    }
    Ok(())
}

/// RFC 7636 with S256 only: required for public clients and for clients
/// that require it (the default); `plain` and unknown methods refused.
fn check_pkce(p: &AuthorizeParams, client: &Client, t: ResponseType) -> Result<Option<String>, AuthorizeError> {
    match p.code_challenge_method.as_deref() {
        None | Some("S256") => {}
        Some(_) => return Err(AuthorizeError::invalid("code_challenge_method must be S256 (plain is not accepted)")),
    }
    let Some(challenge) = p.code_challenge.as_deref() else {
        if p.code_challenge_method.is_some() {
            return Err(AuthorizeError::invalid("code_challenge_method without code_challenge"));
        }
        let required = t.has_code() && (client.config.is_public() || client.config.require_pkce);
        if required {
            return Err(AuthorizeError::invalid(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
        return Ok(None);
    };
    if p.code_challenge_method.is_none() {
        return Err(AuthorizeError::invalid("code_challenge_method=S256 is required (plain is not accepted)"));
    }
    if !is_pkce_value(challenge) {
        return Err(AuthorizeError::invalid("code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~"));
    }
    Ok(Some(challenge.to_owned()))
}

#[cfg(test)]
mod tests;
