//! The device authorization grant (RFC 8628): the user code a person types
//! on a second screen, and the decision of each poll of the token endpoint.
//!
//! A device code lives through these states, each moved by one conditional
//! update in the store (so two pollers cannot both redeem, and a code is
//! approved or denied at most once):
//!
//! ```text
//! Pending ──approve──> Approved ──redeem──> Redeemed
//!    └─────deny─────> Denied
//! ```
//!
//! [`poll`] is a function of the stored code, the polling client, the
//! approving user's current `token_epoch` and `now`; the application layer
//! loads, asks and persists what was decided.

use crate::client::Client;
use crate::error::{TokenError, TokenErrorCode};
use crate::grant::GrantType;
use crate::scope::ScopeSet;
use crate::time::UnixTime;

/// The user-code alphabet: consonants without look-alikes (no 0/O, 1/I,
/// no vowels, so no words), as RFC 8628 §6.1 suggests.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code (20^8 ≈ 2^34.6 codes).
pub const USER_CODE_LEN: usize = 8;
/// Seconds a device code and its user code stay usable.
pub const DEVICE_CODE_LIFETIME: i64 = 600;
/// The polling interval a device starts with, in seconds.
pub const POLL_INTERVAL: i64 = 5;
/// What each `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// A user code in canonical form: eight letters of
/// [`USER_CODE_ALPHABET`], no dash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserCode(String);

impl UserCode {
    /// A user code from random bytes, keeping only bytes below the largest
    /// multiple of 20 (so every letter is equally likely). `None` when the
    /// bytes did not yield eight letters; the caller draws again.
    #[must_use]
    pub fn from_random(bytes: &[u8]) -> Option<Self> {
        let n = USER_CODE_ALPHABET.len();
        let limit = 256 - 256 % n;
        let code: String = bytes
            .iter()
            .map(|&b| usize::from(b))
            .filter(|&b| b < limit)
            .take(USER_CODE_LEN)
            .map(|b| char::from(USER_CODE_ALPHABET[b % n]))
            .collect();
        (code.len() == USER_CODE_LEN).then_some(Self(code))
    }

    /// Parses what a person typed: case, dashes and spaces do not matter.
    /// `None` for anything that cannot be a user code.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() > 32 {
            return None;
        }
        let code: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
        let valid = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        valid.then_some(Self(code))
    }

    /// The canonical form (what is hashed and stored).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form shown to people: `XXXX-XXXX`.
    #[must_use]
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }
}

/// The scope of a device authorization request (RFC 8628 §3.1): the
/// requested scope when the client may have all of it, else everything it
/// may have when none is asked for.
///
/// # Errors
/// `unauthorized_client` for a client not registered for the device grant;
/// `invalid_scope` for scopes beyond `allowed`.
pub fn start(client: &Client, requested: Option<&ScopeSet>, allowed: &ScopeSet) -> Result<ScopeSet, TokenError> {
    if !client.config.grant_types.contains(&GrantType::DeviceCode) {
        return Err(TokenError::unauthorized_client("this client may not use the device authorization grant"));
    }
    match requested {
        Some(r) if !r.is_empty() => {
            if r.is_subset(allowed) {
                Ok(r.clone())
            } else {
                Err(TokenError::invalid_scope(&format!(
                    "the client may not request: {}",
                    r.difference(allowed).join(" ")
                )))
            }
        }
        _ => Ok(allowed.clone()),
    }
}

/// Whether a person may allow a request of this client: its
/// `allowed_groups` admit them, exactly as at the authorization endpoint
/// (a device grant is no way around a group restriction).
#[must_use]
pub fn may_approve(client: &Client, groups: &[String]) -> bool {
    let allowed = &client.config.allowed_groups;
    allowed.is_empty() || groups.iter().any(|g| allowed.contains(g))
}

/// Where a device code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Waiting for the user.
    Pending,
    /// The user allowed it.
    Approved {
        /// The approving user's `token_epoch` at approval.
        user_epoch: i64,
    },
    /// The user denied it.
    Denied,
    /// Tokens were issued for it.
    Redeemed,
}

/// A device code as loaded.
#[derive(Debug, Clone, Copy)]
pub struct StoredDevice<'a> {
    /// The client the code was issued to.
    pub client_id: &'a str,
    /// Its state.
    pub state: DeviceState,
    /// When it was issued.
    pub created_at: UnixTime,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// The interval the device must keep between polls, in seconds.
    pub interval: i64,
    /// When the device last polled, if it did.
    pub last_polled_at: Option<UnixTime>,
    /// The client's `token_epoch` when the code was issued.
    pub client_epoch: i64,
}

/// What a poll does (the terminal answers are the `Err` of [`poll`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollDecision {
    /// Not decided yet: record the poll, answer `authorization_pending`.
    Pending,
    /// Polled inside the interval: record the poll with this raised
    /// interval, answer `slow_down`.
    SlowDown {
        /// The new interval, in seconds.
        interval: i64,
    },
    /// Approved: redeem (one conditional update) and issue tokens.
    Issue,
}

impl PollDecision {
    /// The error a not-yet-issuing poll answers with.
    #[must_use]
    pub fn error(self) -> Option<TokenError> {
        match self {
            Self::Pending => {
                Some(TokenError::new(TokenErrorCode::AuthorizationPending, "the user has not yet approved the request"))
            }
            Self::SlowDown { .. } => Some(TokenError::new(TokenErrorCode::SlowDown, "polling too fast; slow down")),
            Self::Issue => None,
        }
    }
}

fn bad_grant() -> TokenError {
    TokenError::invalid_grant("the grant is invalid, expired, revoked or was issued to another client")
}

/// Decides a poll of the token endpoint with a device code.
///
/// `user_epoch` is the approving user's current `token_epoch`, `None` when
/// the user is gone or not active (only consulted once approved).
///
/// # Errors
/// `invalid_grant` for a code of another client, one already redeemed, or
/// whose client or approving user is no longer the incarnation it was
/// issued under (deleted, disabled, password reset); `expired_token` past
/// its lifetime; `access_denied` when the user denied it.
pub fn poll(
    stored: &StoredDevice<'_>,
    client: &Client,
    user_epoch: Option<i64>,
    now: UnixTime,
) -> Result<PollDecision, TokenError> {
    if stored.client_id != client.client_id.as_str() {
        return Err(bad_grant());
    }
    if !client.honours_token(stored.created_at, stored.client_epoch) {
        return Err(bad_grant());
    }
    if stored.expires_at <= now {
        return Err(TokenError::new(TokenErrorCode::ExpiredToken, "the device code has expired"));
    }
    match stored.state {
        DeviceState::Redeemed => Err(bad_grant()),
        DeviceState::Denied => Err(TokenError::new(TokenErrorCode::AccessDenied, "the user denied the request")),
        DeviceState::Approved { user_epoch: approved } => {
            if user_epoch == Some(approved) {
                Ok(PollDecision::Issue)
            } else {
                Err(bad_grant())
            }
        }
        DeviceState::Pending => match stored.last_polled_at {
            Some(last) if now - last < stored.interval => {
                Ok(PollDecision::SlowDown { interval: stored.interval + SLOW_DOWN_STEP })
            }
            _ => Ok(PollDecision::Pending),
        },
    }
}

#[cfg(test)]
mod tests;
