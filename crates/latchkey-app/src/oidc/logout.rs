//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! `post_logout_redirect_uri` must match one of the client's registered
//! logout URIs through the one matcher, and the client is known from
//! `id_token_hint` (verified against the tenant's keys) or `client_id`.
//! Anything doubtful shows a page and redirects nowhere (checklist item 12).
//! A signed-in user confirms with a form bound to the session (CSRF).

use latchkey_core::ClientId;
use latchkey_core::redirect::find_match;
use serde::{Deserialize, Serialize};

use super::SignInService;
use super::{BrowserCookies, TX_LIFETIME};
use crate::tenants::TenantContext;

/// The parameters of a logout request.
#[derive(Debug, Clone, Default)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
    /// A parameter that appeared twice.
    pub repeated: Option<String>,
}

/// The logout confirmation form as submitted.
#[derive(Debug, Clone, Default)]
pub struct LogoutForm {
    pub tx: String,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Shown; nothing redirected.
    Error { status: u16, message: String },
    /// "Sign out of Latchkey?" with a form bound to the session.
    Confirm { tx: String, csrf: String, client_name: Option<String> },
    /// "You are signed out."
    SignedOut,
    /// Back to the client's registered logout URI, with `state`.
    Redirect { uri: String, state: Option<String> },
}

/// The result, and whether the session cookie must be cleared.
#[derive(Debug, Clone)]
pub struct LogoutResult {
    pub outcome: LogoutOutcome,
    pub clear_session: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogoutTx {
    id: String,
    created_at: i64,
    redirect: Option<String>,
    state: Option<String>,
    client_name: Option<String>,
}

fn error(status: u16, message: &str) -> LogoutResult {
    LogoutResult { outcome: LogoutOutcome::Error { status, message: message.to_owned() }, clear_session: false }
}

const UNAVAILABLE: &str = "The service is temporarily unavailable. Please try again in a moment.";

impl SignInService {
    /// `GET`/`POST /oauth2/logout`.
    pub async fn logout_request(
        &self,
        ctx: &TenantContext,
        p: &LogoutParams,
        cookies: &BrowserCookies,
    ) -> LogoutResult {
        if let Some(name) = &p.repeated {
            return error(400, &format!("The parameter {name} is repeated."));
        }
        let hinted = match p.id_token_hint.as_deref() {
            None => None,
            Some(h) => match self.tokens.read_id_token(ctx, h).await {
                Some(c) => Some(c.aud),
                None => return error(400, "The id_token_hint is not a valid ID token of this issuer."),
            },
        };
        let client_id = match (p.client_id.as_deref(), hinted.as_deref()) {
            (Some(a), Some(b)) if a != b => {
                return error(400, "client_id and id_token_hint name different applications.");
            }
            (Some(a), _) | (None, Some(a)) => Some(a.to_owned()),
            (None, None) => None,
        };
        let client = match client_id.as_deref().map(ClientId::parse) {
            None => None,
            Some(Err(_)) => return error(400, "The request names no known application."),
            Some(Ok(id)) => match self.kernel.client_for_auth(&ctx.id, &id).await {
                Ok(Some(c)) if c.client.is_active() => Some(c),
                Ok(_) => return error(400, "The request names no known application."),
                Err(e) => {
                    tracing::warn!(error = %e, "storage failed during logout");
                    return error(503, UNAVAILABLE);
                }
            },
        };
        let redirect = match p.post_logout_redirect_uri.as_deref() {
            None => None,
            Some(uri) => {
                let Some(c) = &client else {
                    return error(400, "post_logout_redirect_uri needs client_id or id_token_hint.");
                };
                let registered = &c.client.config.post_logout_redirect_uris;
                if find_match(registered, uri, &ctx.settings.approved_wildcard_parents).is_none() {
                    return error(400, "The post_logout_redirect_uri is not registered for this application.");
                }
                Some(uri.to_owned())
            }
        };
        let state = p.state.clone().filter(|s| s.len() <= latchkey_core::authorize::MAX_STATE);
        let Ok(session) = self
            .live_session(ctx, cookies.session.as_deref())
            .await
            .map_err(|e| tracing::warn!(error = %e, "storage failed during logout"))
        else {
            return error(503, UNAVAILABLE);
        };
        let Some(session) = session else {
            let outcome = match redirect {
                Some(uri) => LogoutOutcome::Redirect { uri, state },
                None => LogoutOutcome::SignedOut,
            };
            return LogoutResult { outcome, clear_session: cookies.session.is_some() };
        };
        let tx = LogoutTx {
            id: self.kernel.random_id(16),
            created_at: self.kernel.now(),
            redirect,
            state,
            client_name: client.map(|c| c.client.name.clone()),
        };
        let Some(sealed) = self.kernel.seal_json(ctx, "logout-tx", &tx) else { return error(503, UNAVAILABLE) };
        LogoutResult {
            outcome: LogoutOutcome::Confirm {
                tx: sealed,
                csrf: self.csrf_token(ctx, "logout", &tx.id, &session.handle),
                client_name: tx.client_name,
            },
            clear_session: false,
        }
    }

    /// `POST /logout`: the user confirmed.
    pub async fn logout_confirm(
        &self,
        ctx: &TenantContext,
        form: &LogoutForm,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> LogoutResult {
        let Some(tx) = self
            .kernel
            .open_json::<LogoutTx>(ctx, "logout-tx", &form.tx)
            .filter(|t| self.kernel.now() - t.created_at < TX_LIFETIME)
        else {
            return error(400, "This sign-out request has expired. Start again from the application.");
        };
        let Ok(session) = self
            .live_session(ctx, cookies.session.as_deref())
            .await
            .map_err(|e| tracing::warn!(error = %e, "storage failed during logout"))
        else {
            return error(503, UNAVAILABLE);
        };
        if let Some(s) = session {
            if !self.csrf_ok(ctx, "logout", &tx.id, &s.handle, &form.csrf) {
                return error(403, "This form is no longer valid. Start again from the application.");
            }
            let audit = self.kernel.flow_audit(&s.record.user_id, "user.logout", "session", &s.record.sid, source);
            if self.kernel.store.delete_session(&ctx.id, &s.record.session_hash, &audit).await.is_err() {
                return error(503, UNAVAILABLE);
            }
        }
        let outcome = match tx.redirect {
            Some(uri) => LogoutOutcome::Redirect { uri, state: tx.state },
            None => LogoutOutcome::SignedOut,
        };
        LogoutResult { outcome, clear_session: true }
    }
}
