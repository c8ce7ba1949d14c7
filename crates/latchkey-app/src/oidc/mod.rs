//! Signing people in: the authorization endpoint's browser flow (login,
//! consent), browser sessions, RP-initiated logout and userinfo.
//!
//! **The transaction.** An authorization request, once parsed, travels
//! between the pages as a *sealed transaction*: AES-256-GCM under its own
//! subkey of the master key, bound to the tenant, with an id and a creation
//! time (it expires after [`TX_LIFETIME`]). Nodes keep nothing between the
//! steps, and a browser cannot change the request on the way. Client
//! settings are never carried: every step reloads the client.
//!
//! **CSRF.** Every form carries a token that is a MAC over the transaction id
//! and the browser: the `anchor` cookie before sign-in, the session id after.
//! A token of another transaction or another browser is refused.
//!
//! **Sessions.** The cookie holds a `lkss_` handle (256 random bits); the
//! store keeps only its hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::UnixTime;
use latchkey_core::authorize::AuthorizationRequest;
use latchkey_crypto::secret::token_hash;
use latchkey_store::SessionRecord;
use serde::{Deserialize, Serialize};

pub use interaction::{AuthResponse, BrowserCookies, Interaction, Outcome, Page, ScopeLine};

use std::sync::Arc;

use latchkey_crypto::SecretHasher;

use crate::kernel::Kernel;
use crate::remote::RemoteService;
use crate::tenants::TenantContext;
use crate::throttle::Throttle;
use crate::tokens::TokenService;

pub mod authorize;
pub mod device_page;
pub mod federation;
pub mod interaction;
pub mod logout;
pub mod userinfo;

#[cfg(test)]
mod busy_tests;
#[cfg(test)]
mod revocation_tests;
#[cfg(test)]
mod tests;

/// How long a sign-in may take, from the authorization request to the
/// last form, in seconds.
pub const TX_LIFETIME: i64 = 1800;
/// Absolute lifetime of a browser session, in seconds.
pub const SESSION_LIFETIME: i64 = 12 * 3600;
/// Prefix of session handles.
pub const SESSION_PREFIX: &str = "lkss_";

/// What travels between the pages, sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tx {
    pub id: String,
    pub created_at: UnixTime,
    pub req: AuthorizationRequest,
}

/// A live session, with the handle the browser holds.
#[derive(Debug, Clone)]
pub(crate) struct LiveSession {
    pub handle: String,
    pub record: SessionRecord,
}

/// Signing people in: the authorization endpoint's pages, sessions,
/// logout, userinfo, federated sign-in and the console's own sign-in.
pub struct SignInService {
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) throttle: Arc<Throttle>,
    pub(crate) tokens: Arc<TokenService>,
    pub(crate) remote: Arc<RemoteService>,
    /// MACs CSRF tokens.
    pub(crate) csrf: SecretHasher,
}

impl SignInService {
    pub(crate) fn new(
        kernel: Arc<Kernel>,
        throttle: Arc<Throttle>,
        tokens: Arc<TokenService>,
        remote: Arc<RemoteService>,
        csrf: SecretHasher,
    ) -> Self {
        Self { kernel, throttle, tokens, remote, csrf }
    }
}

impl SignInService {
    pub(crate) fn seal_tx(&self, ctx: &TenantContext, tx: &Tx) -> Option<String> {
        self.kernel.seal_json(ctx, "authorize-tx", tx)
    }

    /// The transaction, if it is authentic and not expired.
    pub(crate) fn open_tx(&self, ctx: &TenantContext, s: &str) -> Option<Tx> {
        let tx: Tx = self.kernel.open_json(ctx, "authorize-tx", s)?;
        (self.kernel.now() - tx.created_at < TX_LIFETIME).then_some(tx)
    }

    /// A CSRF token bound to a purpose, a transaction and a browser anchor.
    pub(crate) fn csrf_token(&self, ctx: &TenantContext, purpose: &str, tx_id: &str, anchor: &str) -> String {
        let data = format!("{}\u{0}{purpose}\u{0}{tx_id}\u{0}{anchor}", ctx.id);
        URL_SAFE_NO_PAD.encode(self.csrf.mac(data.as_bytes()))
    }

    pub(crate) fn csrf_ok(&self, ctx: &TenantContext, purpose: &str, tx_id: &str, anchor: &str, token: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else { return false };
        let data = format!("{}\u{0}{purpose}\u{0}{tx_id}\u{0}{anchor}", ctx.id);
        self.csrf.verify_mac(data.as_bytes(), &tag)
    }

    /// The live session the cookie names, if any.
    pub(crate) async fn live_session(
        &self,
        ctx: &TenantContext,
        cookie: Option<&str>,
    ) -> Result<Option<LiveSession>, latchkey_store::StoreError> {
        let Some(handle) = cookie.filter(|c| c.starts_with(SESSION_PREFIX) && c.len() < 200) else {
            return Ok(None);
        };
        let record = self.kernel.store.get_session(&ctx.id, &token_hash(handle), self.kernel.now()).await?;
        Ok(record.map(|record| LiveSession { handle: handle.to_owned(), record }))
    }
}

/// What a sign-in page says when every password hashing slot stayed taken.
pub(crate) const BUSY: &str = "The server is busy. Please try again in a moment.";

/// Why a password sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordRefused {
    /// Too many failures for this user or source: retry after this many seconds.
    Throttled(u32),
    /// Unknown user, wrong password, or a user who may not sign in.
    Wrong,
    /// The database cannot answer.
    Unavailable,
    /// Every password hashing slot stayed taken: retry after this many seconds.
    Busy(u32),
}

impl SignInService {
    /// Checks a username and password as every sign-in form does: throttled
    /// per user and source, failures counted, success clearing the user's count.
    pub(crate) async fn password_sign_in(
        &self,
        ctx: &TenantContext,
        username: &str,
        password: &str,
        source: Option<&str>,
    ) -> Result<latchkey_store::UserRecord, PasswordRefused> {
        use crate::throttle;
        let user_key = throttle::password_key(username, source);
        let source_key = throttle::source_key(source);
        let keys = [(user_key.as_str(), throttle::PASSWORD), (source_key.as_str(), throttle::SOURCE)];
        match self.throttle.throttle_wait(&ctx.id, &keys).await {
            Ok(Some(wait)) => return Err(PasswordRefused::Throttled(wait)),
            Ok(None) => {}
            Err(_) => return Err(PasswordRefused::Unavailable),
        }
        let user = self.kernel.verify_password_record(ctx, username, password).await.map_err(|e| match e {
            crate::AppError::Busy(wait) => PasswordRefused::Busy(wait),
            e => {
                tracing::warn!(error = %e, "password check failed");
                PasswordRefused::Unavailable
            }
        })?;
        let Some(user) = user else {
            self.throttle.throttle_fail(&ctx.id, &keys).await.map_err(|_| PasswordRefused::Unavailable)?;
            return Err(PasswordRefused::Wrong);
        };
        self.kernel.store.clear_throttle(&ctx.id, &user_key).await.map_err(|_| PasswordRefused::Unavailable)?;
        Ok(user)
    }

    /// A new session on every sign-in (no fixation): the browser's old
    /// session, if any, ends.
    pub(crate) async fn new_session(
        &self,
        ctx: &TenantContext,
        user_id: &str,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> Result<LiveSession, latchkey_store::StoreError> {
        let now = self.kernel.now();
        if let Ok(Some(old)) = self.live_session(ctx, cookies.session.as_deref()).await {
            let audit = self.kernel.flow_audit(&old.record.user_id, "user.logout", "session", &old.record.sid, source);
            let _ = self.kernel.store.delete_session(&ctx.id, &old.record.session_hash, &audit).await;
        }
        let handle = self
            .kernel
            .new_secret_handle(SESSION_PREFIX)
            .ok_or_else(|| latchkey_store::StoreError::Internal("no randomness for a session".into()))?;
        let record = SessionRecord {
            session_hash: token_hash(&handle),
            sid: self.kernel.random_id(16),
            user_id: user_id.to_owned(),
            auth_time: now,
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
        };
        let audit = self.kernel.flow_audit(user_id, "user.login", "session", &record.sid, source);
        self.kernel.store.insert_session(&ctx.id, &record, &audit).await?;
        Ok(LiveSession { handle, record })
    }

    /// The consent-page lines of a scope set: each scope with its
    /// catalogue description (or its name when it has none).
    pub(crate) async fn scope_lines(&self, ctx: &TenantContext, scope: &latchkey_core::ScopeSet) -> Vec<ScopeLine> {
        let catalogue = self.kernel.store.list_scopes(&ctx.id).await.unwrap_or_default();
        scope
            .iter()
            .map(|s| ScopeLine {
                name: s.to_string(),
                description: catalogue
                    .iter()
                    .find(|c| c.name == s.as_str())
                    .map(|c| c.description.clone())
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| s.to_string()),
            })
            .collect()
    }
}
