//! Error enums. Every OAuth error a client sees is a variant of one of these.

use std::fmt;

use serde::Serialize;

/// Error codes of the token, introspection and revocation endpoints
/// (RFC 6749 §5.2, RFC 7009 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenErrorCode {
    /// "The request is missing a required parameter, includes an unsupported
    /// parameter value (other than grant type), repeats a parameter, includes
    /// multiple credentials, utilizes more than one mechanism for
    /// authenticating the client, or is otherwise malformed."
    InvalidRequest,
    /// "Client authentication failed (e.g., unknown client, no client
    /// authentication included, or unsupported authentication method)."
    InvalidClient,
    /// "The provided authorization grant ... or refresh token is invalid,
    /// expired, revoked, does not match the redirection URI used in the
    /// authorization request, or was issued to another client."
    InvalidGrant,
    /// "The authenticated client is not authorized to use this authorization
    /// grant type."
    UnauthorizedClient,
    /// "The authorization grant type is not supported by the authorization
    /// server."
    UnsupportedGrantType,
    /// "The requested scope is invalid, unknown, malformed, or exceeds the
    /// scope granted by the resource owner."
    InvalidScope,
    /// RFC 8707 §2: the requested resource is invalid or not allowed.
    InvalidTarget,
    /// RFC 7009 §2.2.1: "The authorization server does not support the
    /// revocation of the presented token type."
    UnsupportedTokenType,
    /// The server cannot answer now (storage unavailable). Sent with 503 so a
    /// client never mistakes a fault for success (RFC 7009 §2.2.1).
    TemporarilyUnavailable,
    /// RFC 8628 §3.5: "The authorization request is still pending as the end
    /// user hasn't yet completed the user-interaction steps."
    AuthorizationPending,
    /// RFC 8628 §3.5: "A variant of `authorization_pending`, the
    /// authorization request is still pending and polling should continue,
    /// but the interval MUST be increased by 5 seconds for this and all
    /// subsequent requests."
    SlowDown,
    /// RFC 8628 §3.5: "The authorization request was denied."
    AccessDenied,
    /// RFC 8628 §3.5: "The `device_code` has expired, and the device
    /// authorization session has concluded."
    ExpiredToken,
}

impl TokenErrorCode {
    /// The `error` value of the JSON response.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
        }
    }
}

impl fmt::Display for TokenErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token-endpoint error: the RFC code and a human description.
///
/// The description is restricted to the characters RFC 6749 §5.2 allows
/// (%x20-21 / %x23-5B / %x5D-7E); anything else is replaced with a space, so
/// no request input can smuggle quotes, backslashes or line breaks into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The `error` member of the response.
    pub code: TokenErrorCode,
    description: String,
    /// Set when the caller is being slowed down: answered with 429 and
    /// `Retry-After` (SPEC §11).
    pub retry_after: Option<u32>,
}

impl TokenError {
    /// An error with `code` and `description`; each character RFC 6749 §5.2
    /// forbids in the description becomes a space.
    #[must_use]
    pub fn new(code: TokenErrorCode, description: &str) -> Self {
        let description = description
            .chars()
            .map(|c| match c {
                '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' => c,
                _ => ' ',
            })
            .collect();
        Self { code, description, retry_after: None }
    }

    /// The `error_description` member of the response.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// An `invalid_request` error: the request is malformed.
    #[must_use]
    pub fn invalid_request(d: &str) -> Self {
        Self::new(TokenErrorCode::InvalidRequest, d)
    }
    /// An `invalid_client` error: client authentication failed.
    #[must_use]
    pub fn invalid_client(d: &str) -> Self {
        Self::new(TokenErrorCode::InvalidClient, d)
    }
    /// An `invalid_grant` error: the code, refresh token or other grant is
    /// invalid, expired, revoked or another client's.
    #[must_use]
    pub fn invalid_grant(d: &str) -> Self {
        Self::new(TokenErrorCode::InvalidGrant, d)
    }
    /// An `invalid_scope` error: a scope asked for is malformed or not allowed.
    #[must_use]
    pub fn invalid_scope(d: &str) -> Self {
        Self::new(TokenErrorCode::InvalidScope, d)
    }
    /// An `unauthorized_client` error: the client may not use this grant type.
    #[must_use]
    pub fn unauthorized_client(d: &str) -> Self {
        Self::new(TokenErrorCode::UnauthorizedClient, d)
    }
    /// An `unsupported_grant_type` error: the server does not know this grant
    /// type.
    #[must_use]
    pub fn unsupported_grant_type(d: &str) -> Self {
        Self::new(TokenErrorCode::UnsupportedGrantType, d)
    }
    /// Too many failed attempts: try again after `seconds`.
    #[must_use]
    pub fn slowed_down(seconds: u32) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(TokenErrorCode::InvalidClient, "too many failed attempts; retry later")
        }
    }

    /// A `temporarily_unavailable` error (503): the server cannot complete the
    /// request now.
    #[must_use]
    pub fn unavailable() -> Self {
        Self::new(TokenErrorCode::TemporarilyUnavailable, "the server cannot complete the request now; retry later")
    }

    /// Over a rate limit: `temporarily_unavailable` answered with 429 and
    /// `Retry-After: seconds` (RFC 6749 has no code for it; ADR 0016).
    #[must_use]
    pub fn rate_limited(seconds: u32) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(TokenErrorCode::TemporarilyUnavailable, "too many requests; retry later")
        }
    }

    /// Too many password checks at once on this node: `temporarily_unavailable` (503).
    #[must_use]
    pub fn busy() -> Self {
        Self::new(TokenErrorCode::TemporarilyUnavailable, "the server is busy; retry in a moment")
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for TokenError {}

/// A validation failure of one field, for per-field error lists
/// (RFC 9457 problem details on the admin API, inline messages in the console).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The name of the field as the request or form spells it (`redirect_uris`,
    /// `scope`).
    pub field: String,
    /// What is wrong with it, for a person to act on.
    pub message: String,
}

impl FieldError {
    /// An error for `field` with `message`.
    #[must_use]
    pub fn new(field: &str, message: &str) -> Self {
        Self { field: field.to_owned(), message: message.to_owned() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests;
