//! The decisions of the grants that act for a user: redeeming an
//! authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6) and using a refresh
//! token (RFC 6749 §6, rotation and reuse detection per RFC 9700 §4.14.2);
//! and whether the legacy password grant may be used (RFC 6749 §4.3).
//!
//! Each is a function from the stored state (as loaded), the request and
//! `now` to a decision; the application layer loads, asks, and persists what
//! was decided. Single use itself is the database's to decide (one
//! conditional update): these functions say what a use *may* do, not who
//! wins a race.
//!
//! The checks that only the legitimate client can pass (client binding,
//! redirect URI, PKCE verifier) come before anything that revokes, so a
//! thief replaying a code with bad credentials revokes nothing.

use crate::authorize::is_pkce_value;
use crate::client::Client;
use crate::error::TokenError;
use crate::grant::GrantType;
use crate::scope::ScopeSet;
use crate::time::UnixTime;
use crate::token::narrow_scope;

/// What an authorization code held when it was issued.
#[derive(Debug, Clone, Copy)]
pub struct StoredCode<'a> {
    /// The client the code was issued to.
    pub client_id: &'a str,
    /// The redirect URI of the authorization request.
    pub redirect_uri: &'a str,
    /// Whether that request named `redirect_uri` (then the token request
    /// must name the same one).
    pub redirect_uri_given: bool,
    /// The S256 PKCE challenge, when the request had one.
    pub code_challenge: Option<&'a str>,
    /// When the code stops being redeemable.
    pub expires_at: UnixTime,
    /// Whether it was redeemed already.
    pub used: bool,
    /// The client's `token_epoch` when the code was issued.
    pub client_epoch: i64,
    /// The user's `token_epoch` when the code was issued.
    pub user_epoch: i64,
}

/// A token request redeeming a code, after client authentication.
#[derive(Debug, Clone, Copy)]
pub struct Redemption<'a> {
    /// The authenticated client.
    pub client: &'a Client,
    /// `redirect_uri` of the token request, when given and not empty.
    pub redirect_uri: Option<&'a str>,
    /// `code_verifier`, when given and not empty.
    pub code_verifier: Option<&'a str>,
    /// The S256 transform of `code_verifier` (the caller hashes: the core
    /// does no cryptography).
    pub verifier_s256: Option<&'a str>,
    /// The user's current `token_epoch`; `None` when the user is gone or
    /// not active.
    pub user_epoch: Option<i64>,
    /// The time of the request.
    pub now: UnixTime,
}

/// What a code redemption does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeDecision {
    /// Issue tokens and mark the code used.
    Redeem,
    /// The legitimate client presents a used code: revoke what its first
    /// redemption produced (RFC 6749 §4.1.2) and refuse.
    Replay,
}

fn bad_grant() -> TokenError {
    TokenError::invalid_grant("the grant is invalid, expired, revoked or was issued to another client")
}

/// Decides a code redemption.
///
/// # Errors
/// `invalid_grant` for a code of another client, expired, with another
/// redirect URI or verifier, issued to another incarnation of the client or
/// the user (or before a disable or password reset), or whose user is no
/// longer active; `invalid_request` for a verifier sent for a code issued
/// without PKCE.
pub fn redeem_code(code: &StoredCode<'_>, r: &Redemption<'_>) -> Result<CodeDecision, TokenError> {
    if code.client_id != r.client.client_id.as_str() || code.expires_at <= r.now {
        return Err(bad_grant());
    }
    // RFC 6749 §4.1.3: the same redirect_uri when the request had one.
    if (code.redirect_uri_given || r.redirect_uri.is_some()) && r.redirect_uri != Some(code.redirect_uri) {
        return Err(TokenError::invalid_grant("redirect_uri does not match the authorization request"));
    }
    match (code.code_challenge, r.code_verifier) {
        (Some(_), None) => return Err(TokenError::invalid_grant("code_verifier is required")),
        (Some(challenge), Some(v)) => {
            if !is_pkce_value(v) || r.verifier_s256 != Some(challenge) {
                return Err(TokenError::invalid_grant("code_verifier does not match the code_challenge"));
            }
        }
        (None, Some(_)) => {
            return Err(TokenError::invalid_request("code_verifier sent for a code issued without PKCE"));
        }
        (None, None) => {}
    }
    if code.used {
        return Ok(CodeDecision::Replay);
    }
    if code.client_epoch != r.client.token_epoch || r.user_epoch != Some(code.user_epoch) {
        // Another incarnation of the client or the user, a disable or a
        // password reset since the code was issued, or the user is gone.
        return Err(bad_grant());
    }
    Ok(CodeDecision::Redeem)
}

/// What a refresh token and its family hold, as loaded.
#[derive(Debug, Clone, Copy)]
pub struct StoredRefresh<'a> {
    /// The client the family was granted to.
    pub client_id: &'a str,
    /// Whether the family was revoked.
    pub family_revoked: bool,
    /// When the token expires.
    pub expires_at: UnixTime,
    /// When the family expires.
    pub family_expires_at: UnixTime,
    /// When the token was issued.
    pub created_at: UnixTime,
    /// When it was used (rotated away), if it was.
    pub used_at: Option<UnixTime>,
    /// The client's `token_epoch` when the family began.
    pub client_epoch: i64,
    /// The user's `token_epoch` when the family began.
    pub user_epoch: i64,
}

/// What a refresh does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Issue tokens; with `rotate` the presented token is used up and a
    /// successor issued, otherwise it stays the family's live token.
    Issue {
        /// Whether the presented token is replaced.
        rotate: bool,
    },
    /// A rotated token presented again inside the client's grace window:
    /// answer with what its rotation gave, if that successor is still
    /// unused (else treat it as reuse).
    ReplaySuccessor,
    /// Reuse of a rotated token: revoke the whole family and refuse.
    RevokeFamily,
}

/// Decides a refresh.
///
/// `user_epoch` is the user's current `token_epoch`, `None` when the user
/// is gone or not active.
///
/// # Errors
/// `invalid_grant` for a token of another client, a revoked family, an
/// expired token or family, another incarnation of the client (or a client
/// disabled since), and — for an unused token — a user who is no longer the
/// one the family was granted to.
pub fn use_refresh(
    stored: &StoredRefresh<'_>,
    client: &Client,
    user_epoch: Option<i64>,
    now: UnixTime,
) -> Result<RefreshDecision, TokenError> {
    if stored.client_id != client.client_id.as_str()
        || stored.family_revoked
        || stored.expires_at <= now
        || stored.family_expires_at <= now
        || !client.honours_token(stored.created_at, stored.client_epoch)
    {
        return Err(bad_grant());
    }
    let policy = client.config.refresh_token_policy;
    if let Some(used) = stored.used_at {
        let in_grace =
            policy.rotate && policy.reuse_grace_seconds > 0 && used >= now - i64::from(policy.reuse_grace_seconds);
        return Ok(if in_grace { RefreshDecision::ReplaySuccessor } else { RefreshDecision::RevokeFamily });
    }
    if user_epoch != Some(stored.user_epoch) {
        return Err(bad_grant());
    }
    Ok(RefreshDecision::Issue { rotate: policy.rotate })
}

/// Decides whether a client may use the resource owner password grant
/// (RFC 6749 §4.3, a legacy grant OAuth 2.1 drops) and with which scopes,
/// before any password is checked.
///
/// # Errors
/// `unsupported_grant_type` where the tenant has legacy grants off;
/// `unauthorized_client` for a client not registered for the grant or a
/// public one (it cannot keep the user's password from others);
/// `invalid_scope` for scopes beyond `allowed`.
pub fn password(
    client: &Client,
    legacy_grants_enabled: bool,
    requested: Option<&ScopeSet>,
    allowed: &ScopeSet,
) -> Result<ScopeSet, TokenError> {
    if !legacy_grants_enabled {
        return Err(TokenError::unsupported_grant_type("legacy grants are disabled in this tenant"));
    }
    if !client.config.grant_types.contains(&GrantType::Password) || client.config.is_public() {
        return Err(TokenError::unauthorized_client("this client may not use the password grant"));
    }
    narrow_scope(Some(requested.unwrap_or(&ScopeSet::default())), allowed)
}

#[cfg(test)]
mod tests;
