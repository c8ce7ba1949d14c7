//! The `/device` page (RFC 8628 §3.3): a person signs in, types the user
//! code their device shows (or arrives with it from
//! `verification_uri_complete`), sees the client, the scopes and the
//! device that asks, and allows or denies.
//!
//! The page signs people in with the browser session of the authorization
//! endpoint (`lk_session_*`): someone already signed in goes straight to
//! the code, and signing in here also signs them in there. Before sign-in
//! the form's CSRF token is bound to the browser's anchor cookie, after it
//! to the session. Wrong user codes are throttled per source
//! ([`TokenService::pending_device`](crate::tokens::TokenService::pending_device)),
//! and a client's `allowed_groups` admit who may decide.

use latchkey_store::UserRecord;

use super::interaction::SignInOption;
use super::{BrowserCookies, LiveSession, PasswordRefused, ScopeLine, SignInService};
use crate::tenants::TenantContext;
use crate::tokens::device::{Decider, PendingDevice, UserCodeError};

const UNAVAILABLE: &str = "The service is temporarily unavailable. Please try again in a moment.";
const UNKNOWN_CODE: &str = "That code is not valid, was already used or has expired. Check the code your device shows.";
const NOT_IN_GROUP: &str = "Your account may not use this application. Ask an administrator to add you to its group.";
const STALE_FORM: &str = "This form is no longer valid. Open the device page again.";
/// The CSRF "transaction" of every device form (the binding is the browser).
pub(super) const DEVICE_TX: &str = "device";

/// What the device page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePage {
    /// Nobody is signed in: sign in first (the code, if given, is kept).
    SignIn {
        status: u16,
        csrf: String,
        user_code: String,
        username: String,
        error: Option<String>,
        retry_after: Option<u32>,
        /// Providers offered as "Sign in with …".
        sign_in_options: Vec<SignInOption>,
    },
    /// Signed in: type the code.
    EnterCode {
        status: u16,
        csrf: String,
        user: String,
        user_code: String,
        error: Option<String>,
        retry_after: Option<u32>,
    },
    /// The request the code names: Allow or Deny.
    Confirm {
        csrf: String,
        user: String,
        user_code: String,
        client_name: String,
        scopes: Vec<ScopeLine>,
        device_ip: Option<String>,
        device_agent: Option<String>,
    },
    /// Decided.
    Done { allowed: bool, client_name: String },
    /// Cannot go on.
    Error { status: u16, message: String },
}

/// One step of the device page, with the cookies to set.
#[derive(Debug, Clone)]
pub struct DeviceStep {
    pub page: DevicePage,
    /// A new session handle (the person signed in here).
    pub set_session: Option<String>,
    /// A new anchor for the sign-in form.
    pub set_anchor: Option<String>,
    /// The session cookie named no live session.
    pub clear_session: bool,
}

impl DeviceStep {
    fn page(page: DevicePage) -> Self {
        Self { page, set_session: None, set_anchor: None, clear_session: false }
    }

    fn error(status: u16, message: &str) -> Self {
        Self::page(DevicePage::Error { status, message: message.to_owned() })
    }
}

/// What the device page's form sends.
#[derive(Clone, Default)]
pub struct DeviceForm {
    /// `sign_in`, `code`, `allow` or `deny`.
    pub action: String,
    pub csrf: String,
    pub user_code: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for DeviceForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceForm").field("action", &self.action).field("username", &self.username).finish()
    }
}

/// Keeps what a person typed displayable, and no longer than a code can be.
pub(super) fn typed_code(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(16).collect()
}

fn display_name(u: &UserRecord) -> String {
    if u.display_name.is_empty() { u.username.clone() } else { u.display_name.clone() }
}

impl SignInService {
    /// `GET /device`, optionally with `user_code` (verification_uri_complete).
    pub async fn device_start(
        &self,
        ctx: &TenantContext,
        cookies: &BrowserCookies,
        user_code: Option<&str>,
        source: Option<&str>,
    ) -> DeviceStep {
        let code = typed_code(user_code.unwrap_or_default());
        match self.device_signed_in(ctx, cookies).await {
            Err(()) => DeviceStep::error(503, UNAVAILABLE),
            Ok(None) => {
                let mut step = self.device_sign_in(ctx, cookies, &code, "", 200, None, None).await;
                step.clear_session = cookies.session.is_some();
                step
            }
            Ok(Some((session, user))) if code.is_empty() => {
                DeviceStep::page(self.enter_code(ctx, &session, &user, "", 200, None, None))
            }
            Ok(Some((session, user))) => self.device_lookup(ctx, &session, &user, &code, source).await,
        }
    }

    /// `POST /device`: signing in, a typed code, or the decision.
    pub async fn device_submit(
        &self,
        ctx: &TenantContext,
        cookies: &BrowserCookies,
        form: &DeviceForm,
        source: Option<&str>,
    ) -> DeviceStep {
        let code = typed_code(&form.user_code);
        if form.action == "sign_in" {
            return self.device_password(ctx, cookies, form, &code, source).await;
        }
        let (session, user) = match self.device_signed_in(ctx, cookies).await {
            Err(()) => return DeviceStep::error(503, UNAVAILABLE),
            Ok(None) => {
                let error = Some("Your session has ended. Sign in again.");
                let mut step = self.device_sign_in(ctx, cookies, &code, "", 401, error, None).await;
                step.clear_session = cookies.session.is_some();
                return step;
            }
            Ok(Some(s)) => s,
        };
        if !self.csrf_ok(ctx, "device", DEVICE_TX, &session.handle, &form.csrf) {
            return DeviceStep::error(403, STALE_FORM);
        }
        let allow = match form.action.as_str() {
            "code" => return self.device_lookup(ctx, &session, &user, &code, source).await,
            "allow" => true,
            "deny" => false,
            _ => return DeviceStep::error(400, "Choose Allow or Deny."),
        };
        let decider = Decider {
            user_id: &user.user_id,
            auth_time: session.record.auth_time,
            sid: Some(&session.record.sid),
            source,
        };
        let client_name = match self.tokens.pending_device(ctx, &code, source).await {
            Ok((p, _)) => p.client_name,
            Err(e) => return self.code_refused(ctx, &session, &user, &code, &e),
        };
        match self.tokens.decide_device(ctx, &code, &decider, allow).await {
            Ok(true) => DeviceStep::page(DevicePage::Done { allowed: allow, client_name }),
            Ok(false) => self.code_refused(ctx, &session, &user, &code, &UserCodeError::Unknown),
            Err(e) => self.code_refused(ctx, &session, &user, &code, &e),
        }
    }

    /// The live session and its active user; `Err` when the database
    /// cannot answer.
    async fn device_signed_in(
        &self,
        ctx: &TenantContext,
        cookies: &BrowserCookies,
    ) -> Result<Option<(LiveSession, UserRecord)>, ()> {
        let session = self.live_session(ctx, cookies.session.as_deref()).await.map_err(|_| ())?;
        let Some(session) = session else { return Ok(None) };
        let user = self.kernel.store.get_user(&ctx.id, &session.record.user_id).await.map_err(|_| ())?;
        Ok(user.filter(|u| u.status.is_active()).map(|u| (session, u)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn device_sign_in(
        &self,
        ctx: &TenantContext,
        cookies: &BrowserCookies,
        code: &str,
        username: &str,
        status: u16,
        error: Option<&str>,
        retry_after: Option<u32>,
    ) -> DeviceStep {
        let (anchor, set_anchor) = match cookies.anchor.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => (a.to_owned(), None),
            None => {
                let a = self.kernel.random_id(24);
                (a.clone(), Some(a))
            }
        };
        let page = DevicePage::SignIn {
            status,
            csrf: self.csrf_token(ctx, "device-sign-in", DEVICE_TX, &anchor),
            user_code: code.to_owned(),
            username: username.to_owned(),
            error: error.map(str::to_owned),
            retry_after,
            sign_in_options: self.sign_in_options(ctx).await,
        };
        DeviceStep { page, set_session: None, set_anchor, clear_session: false }
    }

    #[allow(clippy::too_many_arguments)]
    fn enter_code(
        &self,
        ctx: &TenantContext,
        session: &LiveSession,
        user: &UserRecord,
        code: &str,
        status: u16,
        error: Option<&str>,
        retry_after: Option<u32>,
    ) -> DevicePage {
        DevicePage::EnterCode {
            status,
            csrf: self.csrf_token(ctx, "device", DEVICE_TX, &session.handle),
            user: display_name(user),
            user_code: code.to_owned(),
            error: error.map(str::to_owned),
            retry_after,
        }
    }

    async fn device_password(
        &self,
        ctx: &TenantContext,
        cookies: &BrowserCookies,
        form: &DeviceForm,
        code: &str,
        source: Option<&str>,
    ) -> DeviceStep {
        let anchor = cookies.anchor.as_deref().unwrap_or_default();
        if anchor.is_empty() || !self.csrf_ok(ctx, "device-sign-in", DEVICE_TX, anchor, &form.csrf) {
            return DeviceStep::error(403, STALE_FORM);
        }
        let user = match self.password_sign_in(ctx, &form.username, &form.password, source).await {
            Ok(u) => u,
            Err(PasswordRefused::Throttled(wait)) => {
                let msg = format!("Too many failed sign-in attempts. Try again in {wait} seconds.");
                return self.device_sign_in(ctx, cookies, code, &form.username, 429, Some(&msg), Some(wait)).await;
            }
            Err(PasswordRefused::Wrong) => {
                let msg = "The username or password is not correct.";
                return self.device_sign_in(ctx, cookies, code, &form.username, 401, Some(msg), None).await;
            }
            Err(PasswordRefused::Busy(wait)) => {
                return self
                    .device_sign_in(ctx, cookies, code, &form.username, 503, Some(super::BUSY), Some(wait))
                    .await;
            }
            Err(PasswordRefused::Unavailable) => return DeviceStep::error(503, UNAVAILABLE),
        };
        let session = match self.new_session(ctx, &user.user_id, cookies, source).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "storage failed during device sign-in");
                return DeviceStep::error(503, UNAVAILABLE);
            }
        };
        let mut step = if code.is_empty() {
            DeviceStep::page(self.enter_code(ctx, &session, &user, "", 200, None, None))
        } else {
            self.device_lookup(ctx, &session, &user, code, source).await
        };
        step.set_session = Some(session.handle);
        step
    }

    /// The confirmation page of the request a code names, or the code page
    /// again with why not.
    async fn device_lookup(
        &self,
        ctx: &TenantContext,
        session: &LiveSession,
        user: &UserRecord,
        code: &str,
        source: Option<&str>,
    ) -> DeviceStep {
        match self.tokens.pending_device_for(ctx, code, &user.user_id, source).await {
            Ok(p) => DeviceStep::page(self.confirm_page(ctx, session, user, p).await),
            Err(e) => self.code_refused(ctx, session, user, code, &e),
        }
    }

    async fn confirm_page(
        &self,
        ctx: &TenantContext,
        session: &LiveSession,
        user: &UserRecord,
        p: PendingDevice,
    ) -> DevicePage {
        DevicePage::Confirm {
            csrf: self.csrf_token(ctx, "device", DEVICE_TX, &session.handle),
            user: display_name(user),
            scopes: self.scope_lines(ctx, &p.scope).await,
            user_code: p.user_code,
            client_name: p.client_name,
            device_ip: p.device_ip,
            device_agent: p.device_agent,
        }
    }

    fn code_refused(
        &self,
        ctx: &TenantContext,
        session: &LiveSession,
        user: &UserRecord,
        code: &str,
        e: &UserCodeError,
    ) -> DeviceStep {
        let page = match e {
            UserCodeError::Unknown => self.enter_code(ctx, session, user, code, 400, Some(UNKNOWN_CODE), None),
            UserCodeError::Throttled(wait) => {
                let msg = format!("Too many wrong codes. Try again in {wait} seconds.");
                self.enter_code(ctx, session, user, code, 429, Some(&msg), Some(*wait))
            }
            UserCodeError::NotInAllowedGroup => DevicePage::Error { status: 403, message: NOT_IN_GROUP.into() },
            UserCodeError::Unavailable => DevicePage::Error { status: 503, message: UNAVAILABLE.into() },
        };
        DeviceStep::page(page)
    }
}
