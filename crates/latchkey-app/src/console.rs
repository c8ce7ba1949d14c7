//! Signing administrators in to the console (SPEC §7).
//!
//! The console is an OAuth client of its own server: the public PKCE client
//! `latchkey-console`. [`SignInService::console_begin`](crate::oidc::SignInService::console_begin) starts an authorization request
//! (code + PKCE S256, `state`, `nonce`) whose verifier and expectations travel
//! sealed in a short-lived cookie; [`SignInService::console_callback`](crate::oidc::SignInService::console_callback) redeems the code
//! through the token service exactly as any client would, checks the ID
//! token's nonce, and returns a sealed console session holding the access
//! token. [`SignInService::console_user`](crate::oidc::SignInService::console_user) turns that session back into an [`Actor`] on
//! every request through [`TokenService::admin_actor`](crate::tokens::TokenService::admin_actor), so the user's roles are
//! re-derived each time and a revoked token, a disabled user or a demoted
//! role take effect at once.
//!
//! **CSRF.** Every console form carries a MAC over the session id
//! ([`SignInService::console_csrf`](crate::oidc::SignInService::console_csrf)); a token of another session is refused.

use std::sync::Arc;

use latchkey_core::{AdminRole, TenantId};
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::admin::Actor;
use crate::bootstrap::CONSOLE_CLIENT_ID;
use crate::oidc::SignInService;
use crate::tenants::TenantContext;
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;

/// How long a sign-in round trip may take, in seconds.
pub const CONSOLE_FLOW_LIFETIME: i64 = 600;
/// The scopes the console asks for; the user's role narrows them.
pub const CONSOLE_SCOPE: &str = "openid admin admin:read";

/// A sign-in to start: where to send the browser, and the sealed flow
/// state for a cookie.
#[derive(Debug, Clone)]
pub struct ConsoleStart {
    pub authorize_url: String,
    pub flow: String,
}

/// What the flow cookie holds, sealed.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    created_at: i64,
    /// The page to return to after signing in, relative to the console root.
    return_to: String,
}

/// What the session cookie holds, sealed.
#[derive(Serialize, Deserialize)]
struct Session {
    sid: String,
    access_token: String,
    username: String,
}

/// A signed-in console user.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub actor: Actor,
    pub username: String,
    /// The session's id (what CSRF tokens are bound to).
    pub sid: String,
    /// Signed in to the default tenant and acting here as one of its owners:
    /// the default tenant's context (the session's home). `None` for a
    /// session of this tenant itself.
    pub platform: Option<Arc<TenantContext>>,
    access_token: String,
}

/// A completed sign-in: the sealed session and where to go next.
#[derive(Debug, Clone)]
pub struct ConsoleSignedIn {
    pub session: String,
    pub return_to: String,
}

/// The console's own redirect URI.
#[must_use]
pub fn console_redirect_uri(ctx: &TenantContext) -> String {
    format!("{}/console/callback", ctx.issuer)
}

impl SignInService {
    /// Starts a sign-in for the console.
    ///
    /// # Errors
    /// `Internal` when sealing fails.
    pub fn console_begin(&self, ctx: &TenantContext, return_to: &str) -> Result<ConsoleStart, AppError> {
        let flow = Flow {
            state: self.kernel.random_id(24),
            nonce: self.kernel.random_id(24),
            verifier: self.kernel.random_id(32),
            created_at: self.kernel.now(),
            return_to: safe_return(return_to),
        };
        let challenge = latchkey_crypto::jws::pkce_s256(&flow.verifier);
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", CONSOLE_CLIENT_ID)
            .append_pair("redirect_uri", &console_redirect_uri(ctx))
            .append_pair("scope", CONSOLE_SCOPE)
            .append_pair("state", &flow.state)
            .append_pair("nonce", &flow.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let sealed = self
            .kernel
            .seal_json(ctx, "console-flow", &flow)
            .ok_or_else(|| AppError::Internal("could not seal the console sign-in".into()))?;
        Ok(ConsoleStart { authorize_url: format!("{}/oauth2/authorize?{}", ctx.issuer, q.finish()), flow: sealed })
    }

    /// Finishes a sign-in: checks `state` against the flow cookie, redeems
    /// the code with the PKCE verifier, checks the ID token's nonce.
    ///
    /// # Errors
    /// `BadRequest` for a missing, stale or foreign flow, a wrong state, or a
    /// code the token endpoint refuses; `Forbidden` when the user has no
    /// administrative role.
    pub async fn console_callback(
        &self,
        ctx: &TenantContext,
        flow: Option<&str>,
        code: &str,
        state: &str,
        source: Option<&str>,
    ) -> Result<ConsoleSignedIn, AppError> {
        let restart = "the sign-in expired or was started in another browser; open the console again";
        let flow: Flow = flow
            .and_then(|f| self.kernel.open_json(ctx, "console-flow", f))
            .ok_or_else(|| AppError::BadRequest(restart.into()))?;
        if self.kernel.now() - flow.created_at > CONSOLE_FLOW_LIFETIME || !constant_eq(&flow.state, state) {
            return Err(AppError::BadRequest(restart.into()));
        }
        let req = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some(code.to_owned()),
            redirect_uri: Some(console_redirect_uri(ctx)),
            code_verifier: Some(flow.verifier.clone()),
            ..TokenRequest::default()
        };
        let auth = PresentedAuth::None { client_id: CONSOLE_CLIENT_ID.into() };
        let tokens =
            self.tokens.token(ctx, &auth, &req, source).await.map_err(|e| {
                AppError::BadRequest(format!("the sign-in could not be completed: {}", e.description()))
            })?;
        let id_token = tokens.id_token.as_deref().ok_or_else(|| AppError::BadRequest(restart.into()))?;
        let claims =
            self.tokens.read_id_token(ctx, id_token).await.ok_or_else(|| AppError::BadRequest(restart.into()))?;
        if claims.nonce.as_deref() != Some(flow.nonce.as_str()) || claims.aud != CONSOLE_CLIENT_ID {
            return Err(AppError::BadRequest(restart.into()));
        }
        // The role decides here as on every later request.
        self.tokens.admin_actor(ctx, Some(&tokens.access_token), None, None).await?;
        let username = match self.kernel.store.get_user(&ctx.id, &claims.sub).await {
            Ok(Some(u)) => u.username,
            _ => claims.sub,
        };
        let session = Session { sid: self.kernel.random_id(16), access_token: tokens.access_token, username };
        let sealed = self
            .kernel
            .seal_json(ctx, "console-session", &session)
            .ok_or_else(|| AppError::Internal("could not seal the console session".into()))?;
        Ok(ConsoleSignedIn { session: sealed, return_to: flow.return_to })
    }

    /// The signed-in user of a console request, with rights derived now.
    /// `None` when there is no session or it no longer holds (expired or
    /// revoked token, disabled user, no admin role).
    ///
    /// # Errors
    /// `Unavailable` when the database cannot answer.
    pub async fn console_user(
        &self,
        ctx: &TenantContext,
        cookie: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Option<ConsoleUser>, AppError> {
        let Some(session) = cookie.and_then(|c| self.kernel.open_json::<Session>(ctx, "console-session", c)) else {
            return Ok(None);
        };
        match self.tokens.admin_actor(ctx, Some(&session.access_token), source_ip, request_id).await {
            Ok(actor) => Ok(Some(ConsoleUser {
                actor,
                username: session.username,
                sid: session.sid,
                platform: None,
                access_token: session.access_token,
            })),
            Err(AppError::Unavailable) => Err(AppError::Unavailable),
            Err(_) => Ok(None),
        }
    }

    /// An owner of the default tenant, signed in to its console
    /// (`home_cookie`), on the console of another tenant: the platform's
    /// owners manage every tenant from one session, with the owner role
    /// there (what the tenants API already lets them do to whole tenants).
    /// The home session is checked on every request like any session, so a
    /// sign-out, a disabled user or a lost owner role (or a token narrowed
    /// to `admin:read`, which makes them a reader here too) takes effect at
    /// once in every tenant. No one else's session crosses tenants.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be reached.
    pub async fn platform_console_user(
        &self,
        ctx: &TenantContext,
        home_cookie: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Option<ConsoleUser>, AppError> {
        if ctx.id == TenantId::default_tenant() || home_cookie.is_none() {
            return Ok(None);
        }
        let home = match self.kernel.tenant(&TenantId::default_tenant()).await {
            Ok(home) => home,
            Err(AppError::Unavailable) => return Err(AppError::Unavailable),
            Err(_) => return Ok(None),
        };
        let Some(user) = self.console_user(&home, home_cookie, source_ip, request_id).await? else {
            return Ok(None);
        };
        if user.actor.authority() != Some(AdminRole::Owner) {
            return Ok(None);
        }
        Ok(Some(ConsoleUser { platform: Some(home), ..user }))
    }

    /// The CSRF token of a console session.
    #[must_use]
    pub fn console_csrf(&self, ctx: &TenantContext, user: &ConsoleUser) -> String {
        self.csrf_token(ctx, "console", &user.sid, &user.sid)
    }

    /// Whether `token` is the CSRF token of this session.
    #[must_use]
    pub fn console_csrf_ok(&self, ctx: &TenantContext, user: &ConsoleUser, token: &str) -> bool {
        self.csrf_token_ok(ctx, "console", &user.sid, token)
    }

    fn csrf_token_ok(&self, ctx: &TenantContext, purpose: &str, sid: &str, token: &str) -> bool {
        self.csrf_ok(ctx, purpose, sid, sid, token)
    }

    /// Signs out of the console: the session's access token is revoked, so
    /// a copy of the cookie is worthless afterwards.
    ///
    /// # Errors
    /// `Unavailable` when the revocation cannot be stored.
    pub async fn console_signout(&self, ctx: &TenantContext, user: &ConsoleUser) -> Result<(), AppError> {
        let auth = PresentedAuth::None { client_id: CONSOLE_CLIENT_ID.into() };
        // A platform owner's session lives in the default tenant.
        let home = user.platform.as_deref().unwrap_or(ctx);
        self.tokens.revoke(home, &auth, &user.access_token, None).await.map_err(|_| AppError::Unavailable)
    }

    /// Where RP-initiated logout sends the browser after a console sign-out.
    #[must_use]
    pub fn console_logout_url(&self, ctx: &TenantContext) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", CONSOLE_CLIENT_ID)
            .append_pair("post_logout_redirect_uri", &format!("{}/console/", ctx.issuer));
        format!("{}/oauth2/logout?{}", ctx.issuer, q.finish())
    }
}

/// The page to return to, relative to the console root (`clients?q=a`):
/// never a scheme, host or absolute path, so no open redirect.
fn safe_return(p: &str) -> String {
    let ok = !p.starts_with('/')
        && !p.contains("//")
        && !p.contains('\\')
        && !p.split(['/', '?']).next().unwrap_or("").contains(':')
        && p.len() <= 512
        && p.chars().all(|c| c.is_ascii_graphic());
    if ok { p.to_owned() } else { String::new() }
}

fn constant_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(safe_return("clients?q=a"), "clients?q=a");
        assert_eq!(safe_return("https://evil.example/console/"), "");
        assert_eq!(safe_return("//evil.example"), "");
        assert_eq!(safe_return("/login"), "");
        assert_eq!(safe_return("javascript:alert(1)"), "");
    }
}
