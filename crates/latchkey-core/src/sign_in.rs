//! The authorization endpoint's next step (OIDC Core §3.1.2): once the
//! request is parsed, what the browser sees next follows from the session,
//! the user, the remembered consent and `now` alone — sign in, consent,
//! refuse, or answer the client.
//!
//! The application loads the session's user (active or not) and, for a
//! client that asks for consent, the remembered consent; this function
//! decides; the application renders the page or issues the response.

use crate::authorize::AuthorizationRequest;
use crate::client::Client;
use crate::scope::ScopeSet;
use crate::time::UnixTime;

/// The signed-in person, as loaded for a decision.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn<'a> {
    /// When the session's user last authenticated.
    pub auth_time: UnixTime,
    /// The user's groups.
    pub groups: &'a [String],
    /// The scopes the user consented to for this client before, when the
    /// client asks for consent and a consent is remembered.
    pub remembered_consent: Option<&'a ScopeSet>,
}

/// What the authorization endpoint does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Show the login page.
    SignIn,
    /// `prompt=none` but nobody (fit) is signed in: `login_required`.
    LoginRequired,
    /// Show the consent page.
    Consent,
    /// `prompt=none` but consent is needed: `consent_required`.
    ConsentRequired,
    /// The user is not in a group the client admits: `access_denied`.
    NotInAllowedGroup,
    /// Answer the client (code, tokens).
    Issue,
}

/// Decides the next step. `signed_in` is `None` without a live session
/// whose user is active.
#[must_use]
pub fn next_step(req: &AuthorizationRequest, client: &Client, signed_in: Option<SignedIn<'_>>, now: UnixTime) -> Step {
    let too_old = |s: &SignedIn<'_>| req.max_age.is_some_and(|m| now - s.auth_time > i64::from(m));
    let Some(user) = signed_in.filter(|s| !req.prompt.login && !too_old(s)) else {
        return if req.prompt.none { Step::LoginRequired } else { Step::SignIn };
    };
    // Asked when the client requires it (or prompt=consent) and the
    // remembered consent does not cover the requested scopes.
    let needs_consent = req.prompt.consent
        || (client.config.require_consent && !user.remembered_consent.is_some_and(|c| req.scope.is_subset(c)));
    if needs_consent {
        return if req.prompt.none { Step::ConsentRequired } else { Step::Consent };
    }
    let groups = &client.config.allowed_groups;
    if !groups.is_empty() && !user.groups.iter().any(|g| groups.contains(g)) {
        return Step::NotInAllowedGroup;
    }
    Step::Issue
}

#[cfg(test)]
mod tests;
