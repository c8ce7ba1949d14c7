//! The authorization endpoint's flow: request → (login) → (consent) →
//! response at the client.
//!
//! Every step ends in [`SignInService::proceed`](crate::oidc::SignInService::proceed), which decides from the request, the
//! session and the stored consent what comes next: a login page, a consent
//! page, an error at the client, or the code and tokens.

use latchkey_core::authorize::{
    self, AuthorizationRequest, AuthorizeError, AuthorizeErrorCode, AuthorizeParams, CODE_LIFETIME, ResponseMode,
};
use latchkey_core::sign_in::{self, SignedIn, Step};
use latchkey_core::{ClientId, ScopeSet};
use latchkey_crypto::secret::token_hash;
use latchkey_store::{CodeRecord, ConsentRecord, SessionRecord, UserRecord};
use serde_json::json;

use super::{AuthResponse, BrowserCookies, Interaction, LiveSession, Outcome, Page, Tx};
use super::{PasswordRefused, SignInService};
use crate::client_cache::CachedClient;
use crate::tenants::TenantContext;
use crate::tokens::user::IdTokenInput;

/// Prefix of authorization codes.
pub const CODE_PREFIX: &str = "lkac_";

const UNAVAILABLE: &str = "The service is temporarily unavailable. Please try again in a moment.";
const EXPIRED: &str = "This sign-in request has expired or is not valid. Go back to the application and start again.";

/// The login form as submitted.
#[derive(Clone, Default)]
pub struct LoginForm {
    pub tx: String,
    pub csrf: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm").field("username", &self.username).finish_non_exhaustive()
    }
}

/// What a login page shows besides the transaction.
#[derive(Clone, Copy)]
struct LoginPageInput<'a> {
    anchor: &'a str,
    username: &'a str,
    status: u16,
    error: Option<&'a str>,
    retry_after: Option<u32>,
    options: &'a [crate::remote::federation::SignInOption],
}

/// The consent form as submitted.
#[derive(Debug, Clone, Default)]
pub struct ConsentForm {
    pub tx: String,
    pub csrf: String,
    pub allow: bool,
}

/// Storage failed mid-flow: logged (never shown), and a 503 page.
fn log_store(e: &dyn std::fmt::Display) {
    tracing::warn!(error = %e, "storage failed during sign-in");
}

fn unavailable(e: &dyn std::fmt::Display) -> Interaction {
    log_store(e);
    Interaction::page(Page::error(503, UNAVAILABLE))
}

fn error_response(
    redirect_uri: &str,
    mode: ResponseMode,
    e: &AuthorizeError,
    state: Option<&str>,
    iss: &str,
) -> Outcome {
    let mut params = vec![("error", e.code.as_str().to_owned())];
    if !e.description.is_empty() {
        params.push(("error_description", e.description.clone()));
    }
    if let Some(s) = state.filter(|s| s.len() <= authorize::MAX_STATE) {
        params.push(("state", s.to_owned()));
    }
    params.push(("iss", iss.to_owned()));
    Outcome::Respond(AuthResponse { redirect_uri: redirect_uri.to_owned(), mode, params })
}

fn req_error(ctx: &TenantContext, req: &AuthorizationRequest, code: AuthorizeErrorCode, d: &str) -> Outcome {
    error_response(
        &req.redirect_uri,
        req.response_mode,
        &AuthorizeError::new(code, d),
        req.state.as_deref(),
        &ctx.issuer,
    )
}

impl SignInService {
    /// `GET`/`POST /oauth2/authorize`.
    pub async fn authorize(&self, ctx: &TenantContext, p: &AuthorizeParams, cookies: &BrowserCookies) -> Interaction {
        let Some(client_id) = p.client_id.as_deref() else {
            return Interaction::page(Page::error(400, "The request names no application (client_id is missing)."));
        };
        let Ok(id) = ClientId::parse(client_id) else {
            return Interaction::page(Page::error(400, "The request names no known application."));
        };
        let client = match self.kernel.client_for_auth(&ctx.id, &id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Interaction::page(Page::error(400, "The request names no known application.")),
            Err(e) => return unavailable(&e),
        };
        let redirect = match authorize::resolve_redirect(&client.client, &ctx.settings, p.redirect_uri.as_deref()) {
            Ok(r) => r,
            Err(e) => return Interaction::page(Page::error(400, &e.0)),
        };
        let req = match AuthorizationRequest::parse(
            p,
            &client.client,
            &ctx.settings,
            &client.allowed_scope,
            redirect.clone(),
        ) {
            Ok(r) => r,
            Err(e) => {
                let mode = authorize::error_mode(p);
                let mode = if mode == ResponseMode::Query
                    && p.response_type
                        .as_deref()
                        .and_then(authorize::ResponseType::parse)
                        .is_some_and(|t| t.has_id_token() || t.has_token())
                {
                    ResponseMode::Fragment
                } else {
                    mode
                };
                let outcome = error_response(&redirect.0, mode, &e, p.state.as_deref(), &ctx.issuer);
                return Interaction { outcome, set_session: None, set_anchor: None, clear_session: false };
            }
        };
        let tx = Tx { id: self.kernel.random_id(16), created_at: self.kernel.now(), req };
        let Ok(session) = self.live_session(ctx, cookies.session.as_deref()).await.map_err(|e| log_store(&e)) else {
            return Interaction::page(Page::error(503, UNAVAILABLE));
        };
        let clear_session = cookies.session.is_some() && session.is_none();
        let mut i = self.proceed(ctx, &client, tx, session.as_ref(), cookies.anchor.as_deref()).await;
        i.clear_session = clear_session;
        i
    }

    /// `POST /login`.
    pub async fn submit_login(
        &self,
        ctx: &TenantContext,
        form: &LoginForm,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> Interaction {
        let Some(tx) = self.open_tx(ctx, &form.tx) else { return Interaction::page(Page::error(400, EXPIRED)) };
        let anchor = cookies.anchor.as_deref().unwrap_or_default();
        if anchor.is_empty() || !self.csrf_ok(ctx, "login", &tx.id, anchor, &form.csrf) {
            return Interaction::page(Page::error(
                403,
                "This form is no longer valid. Go back to the application and start again.",
            ));
        }
        let Some(client) = self.flow_client(ctx, &tx.req).await else {
            return Interaction::page(Page::error(400, "This application is no longer available."));
        };
        let options = self.sign_in_options(ctx).await;
        let login_page = |status: u16, error: &str, retry_after: Option<u32>| {
            let (anchor, username) = (anchor, form.username.as_str());
            self.login_page(
                ctx,
                &client,
                &tx,
                LoginPageInput { anchor, username, status, error: Some(error), retry_after, options: &options },
            )
        };
        let user = match self.password_sign_in(ctx, &form.username, &form.password, source).await {
            Ok(user) => user,
            Err(PasswordRefused::Throttled(wait)) => {
                return Interaction::page(login_page(
                    429,
                    &format!("Too many failed sign-in attempts. Try again in {wait} seconds."),
                    Some(wait),
                ));
            }
            Err(PasswordRefused::Wrong) => {
                return Interaction::page(login_page(401, "The username or password is not correct.", None));
            }
            Err(PasswordRefused::Busy(wait)) => {
                return Interaction::page(login_page(503, super::BUSY, Some(wait)));
            }
            Err(PasswordRefused::Unavailable) => return Interaction::page(Page::error(503, UNAVAILABLE)),
        };
        self.start_session(ctx, &client, tx, &user.user_id, cookies, source).await
    }

    /// A user authenticated elsewhere (federated sign-in) continues the
    /// transaction as after a password sign-in.
    pub(crate) async fn sign_in_user(
        &self,
        ctx: &TenantContext,
        tx: Tx,
        user_id: &str,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> Interaction {
        let Some(client) = self.flow_client(ctx, &tx.req).await else {
            return Interaction::page(Page::error(400, "This application is no longer available."));
        };
        self.start_session(ctx, &client, tx, user_id, cookies, source).await
    }

    /// A new session on every sign-in (no fixation; the old one ends), then
    /// the next step of the transaction.
    async fn start_session(
        &self,
        ctx: &TenantContext,
        client: &CachedClient,
        mut tx: Tx,
        user_id: &str,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> Interaction {
        let session = match self.new_session(ctx, user_id, cookies, source).await {
            Ok(s) => s,
            Err(e) => return unavailable(&e),
        };
        let handle = session.handle.clone();
        // The user just signed in: prompt=login and max_age are satisfied.
        tx.req.prompt.login = false;
        tx.req.max_age = None;
        let mut i = self.proceed(ctx, client, tx, Some(&session), cookies.anchor.as_deref()).await;
        i.set_session = Some(handle);
        i
    }

    /// `POST /consent`.
    pub async fn submit_consent(
        &self,
        ctx: &TenantContext,
        form: &ConsentForm,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> Interaction {
        let Some(mut tx) = self.open_tx(ctx, &form.tx) else { return Interaction::page(Page::error(400, EXPIRED)) };
        let session = match self.live_session(ctx, cookies.session.as_deref()).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Interaction::page(Page::error(
                    403,
                    "Your session has ended. Go back to the application and sign in again.",
                ));
            }
            Err(e) => return unavailable(&e),
        };
        if !self.csrf_ok(ctx, "consent", &tx.id, &session.handle, &form.csrf) {
            return Interaction::page(Page::error(
                403,
                "This form is no longer valid. Go back to the application and start again.",
            ));
        }
        let Some(client) = self.flow_client(ctx, &tx.req).await else {
            return Interaction::page(Page::error(400, "This application is no longer available."));
        };
        if !form.allow {
            let outcome = req_error(ctx, &tx.req, AuthorizeErrorCode::AccessDenied, "the user denied the request");
            return Interaction { outcome, set_session: None, set_anchor: None, clear_session: false };
        }
        let now = self.kernel.now();
        let user_id = &session.record.user_id;
        let client_id = client.client.client_id.as_str();
        let Ok(previous) = self.kernel.store.get_consent(&ctx.id, user_id, client_id).await.map_err(|e| log_store(&e))
        else {
            return Interaction::page(Page::error(503, UNAVAILABLE));
        };
        let before = previous.as_ref().and_then(|c| ScopeSet::parse_param(&c.scope).ok()).unwrap_or_default();
        let scope = before.union(&tx.req.scope);
        let record = ConsentRecord {
            user_id: user_id.clone(),
            client_id: client_id.to_owned(),
            scope: scope.to_string(),
            granted_at: previous.as_ref().map_or(now, |c| c.granted_at),
            updated_at: now,
        };
        let mut audit = self.kernel.flow_audit(user_id, "consent.grant", "client", client_id, source);
        audit.changes = json!({"scope": {"before": before.to_string(), "after": scope.to_string()}}).to_string();
        if let Err(e) = self.kernel.store.upsert_consent(&ctx.id, &record, &audit).await {
            return unavailable(&e);
        }
        tx.req.prompt.consent = false;
        self.proceed(ctx, &client, tx, Some(&session), None).await
    }

    /// The client of a transaction, reloaded (settings never travel in it),
    /// if it is still active and its redirect URI still registered.
    async fn flow_client(&self, ctx: &TenantContext, req: &AuthorizationRequest) -> Option<CachedClient> {
        let client = self.kernel.client_for_auth(&ctx.id, &req.client_id).await.ok()??;
        let given = req.redirect_uri_given.then_some(req.redirect_uri.as_str());
        let (uri, _) = authorize::resolve_redirect(&client.client, &ctx.settings, given).ok()?;
        (uri == req.redirect_uri).then_some(client)
    }

    fn login_page(&self, ctx: &TenantContext, client: &CachedClient, tx: &Tx, p: LoginPageInput<'_>) -> Page {
        let Some(sealed) = self.seal_tx(ctx, tx) else { return Page::error(503, UNAVAILABLE) };
        Page::Login {
            status: p.status,
            csrf: self.csrf_token(ctx, "login", &tx.id, p.anchor),
            tx: sealed,
            client_name: client.client.name.clone(),
            username: p.username.to_owned(),
            error: p.error.map(str::to_owned),
            retry_after: p.retry_after,
            sign_in_options: p.options.to_vec(),
        }
    }

    /// Decides the next step of a transaction.
    async fn proceed(
        &self,
        ctx: &TenantContext,
        client: &CachedClient,
        tx: Tx,
        session: Option<&LiveSession>,
        anchor: Option<&str>,
    ) -> Interaction {
        let req = &tx.req;
        // Load: the session's user, if active, and the remembered consent
        // when the client asks for consent.
        let user = match session {
            Some(s) => match self.kernel.store.get_user(&ctx.id, &s.record.user_id).await {
                Ok(u) => u.filter(|u| u.status.is_active()).map(|u| (u, s)),
                Err(e) => return unavailable(&e),
            },
            None => None,
        };
        let consent = match &user {
            Some((u, _)) if client.client.config.require_consent => {
                match self.kernel.store.get_consent(&ctx.id, &u.user_id, client.client.client_id.as_str()).await {
                    Ok(c) => c.and_then(|c| ScopeSet::parse_param(&c.scope).ok()),
                    Err(e) => return unavailable(&e),
                }
            }
            _ => None,
        };
        // Decide.
        let signed_in = user.as_ref().map(|(u, s)| SignedIn {
            auth_time: s.record.auth_time,
            groups: &u.groups,
            remembered_consent: consent.as_ref(),
        });
        let refuse = |code, message| Interaction {
            outcome: req_error(ctx, req, code, message),
            set_session: None,
            set_anchor: None,
            clear_session: false,
        };
        let step = sign_in::next_step(req, &client.client, signed_in, self.kernel.now());
        // Act.
        let (user, session) = match (step, user) {
            (Step::Issue, Some(signed_in)) => signed_in,
            (Step::LoginRequired, _) => return refuse(AuthorizeErrorCode::LoginRequired, "the user must sign in"),
            (Step::ConsentRequired, _) => return refuse(AuthorizeErrorCode::ConsentRequired, "the user must consent"),
            (Step::NotInAllowedGroup, _) => {
                return refuse(
                    AuthorizeErrorCode::AccessDenied,
                    "the user is not in a group allowed to use this application",
                );
            }
            (Step::Consent, Some((user, session))) => {
                return Interaction::page(self.consent_page(ctx, client, &tx, session, &user).await);
            }
            _ => {
                let (anchor, set_anchor) = match anchor.filter(|a| !a.is_empty()) {
                    Some(a) => (a.to_owned(), None),
                    None => {
                        let a = self.kernel.random_id(24);
                        (a.clone(), Some(a))
                    }
                };
                let hint = req.login_hint.clone().unwrap_or_default();
                let options = self.sign_in_options(ctx).await;
                let input = LoginPageInput {
                    anchor: &anchor,
                    username: &hint,
                    status: 200,
                    error: None,
                    retry_after: None,
                    options: &options,
                };
                let page = self.login_page(ctx, client, &tx, input);
                return Interaction {
                    outcome: Outcome::Page(page),
                    set_session: None,
                    set_anchor,
                    clear_session: false,
                };
            }
        };
        let outcome = match self.issue_authorization(ctx, client, req, &user, &session.record).await {
            Ok(r) => Outcome::Respond(r),
            Err(()) => req_error(ctx, req, AuthorizeErrorCode::TemporarilyUnavailable, "try again later"),
        };
        Interaction { outcome, set_session: None, set_anchor: None, clear_session: false }
    }

    async fn consent_page(
        &self,
        ctx: &TenantContext,
        client: &CachedClient,
        tx: &Tx,
        session: &LiveSession,
        user: &UserRecord,
    ) -> Page {
        let Some(sealed) = self.seal_tx(ctx, tx) else { return Page::error(503, UNAVAILABLE) };
        let scopes = self.scope_lines(ctx, &tx.req.scope).await;
        Page::Consent {
            csrf: self.csrf_token(ctx, "consent", &tx.id, &session.handle),
            tx: sealed,
            client_name: client.client.name.clone(),
            user: if user.display_name.is_empty() { user.username.clone() } else { user.display_name.clone() },
            scopes,
        }
    }

    /// Issues what the response type asks for: a code, an access token, an
    /// ID token (with `c_hash`/`at_hash` where they apply).
    async fn issue_authorization(
        &self,
        ctx: &TenantContext,
        client: &CachedClient,
        req: &AuthorizationRequest,
        user: &UserRecord,
        session: &SessionRecord,
    ) -> Result<AuthResponse, ()> {
        let now = self.kernel.now();
        let c = &client.client;
        let mut params: Vec<(&'static str, String)> = Vec::new();
        let mut code_value = None;
        if req.response_type.has_code() {
            let code = self.kernel.new_secret_handle(CODE_PREFIX).ok_or(())?;
            let record = CodeRecord {
                code_hash: token_hash(&code),
                client_id: c.client_id.as_str().to_owned(),
                user_id: user.user_id.clone(),
                redirect_uri: req.redirect_uri.clone(),
                redirect_uri_given: req.redirect_uri_given,
                code_challenge: req.code_challenge.clone(),
                nonce: req.nonce.clone(),
                scope: req.scope.to_string(),
                auth_time: session.auth_time,
                sid: Some(session.sid.clone()),
                created_at: now,
                expires_at: now + CODE_LIFETIME,
                used_at: None,
                access_jti: None,
                access_exp: None,
                family_id: None,
                client_epoch: c.token_epoch,
                user_epoch: user.token_epoch,
            };
            self.kernel.store.insert_code(&ctx.id, &record).await.map_err(|e| log_store(&e))?;
            params.push(("code", code.clone()));
            code_value = Some(code);
        }
        let mut access_value = None;
        if req.response_type.has_token() {
            let issued = self
                .tokens
                .user_access_token(ctx, c, (&user.user_id, user.token_epoch), &req.scope, "implicit")
                .map_err(|_| ())?;
            params.push(("access_token", issued.token.clone()));
            params.push(("token_type", "Bearer".to_owned()));
            params.push(("expires_in", issued.expires_in.to_string()));
            params.push(("scope", req.scope.to_string()));
            access_value = Some(issued.token);
        }
        if req.response_type.has_id_token() {
            let id_token = self
                .tokens
                .id_token(
                    ctx,
                    c,
                    &IdTokenInput {
                        user_id: &user.user_id,
                        auth_time: session.auth_time,
                        nonce: req.nonce.as_deref(),
                        sid: Some(&session.sid),
                        access_token: access_value.as_deref(),
                        code: code_value.as_deref(),
                    },
                )
                .map_err(|_| ())?;
            params.push(("id_token", id_token));
        }
        if let Some(s) = &req.state {
            params.push(("state", s.clone()));
        }
        params.push(("iss", ctx.issuer.clone()));
        Ok(AuthResponse { redirect_uri: req.redirect_uri.clone(), mode: req.response_mode, params })
    }
}
