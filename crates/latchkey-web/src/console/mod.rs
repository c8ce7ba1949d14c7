//! The admin console (SPEC §7): server-rendered pages under
//! `{issuer}/console/`, over the same application services as the admin
//! API, acting as the signed-in user.
//!
//! **Signing in.** A request without a live console session is sent through
//! the server's own `/oauth2/authorize` with the `latchkey-console` client
//! (`SignInService::console_begin`); `/console/callback` redeems the code and sets the
//! session cookie. Every request re-derives the user's rights from the
//! session's access token (`SignInService::console_user`).
//!
//! **Writes.** Every POST carries the session's CSRF token and is refused
//! (403) before anything else happens when it is missing or wrong, or when
//! the user may only read. The services check the rights again.
//!
//! **Pages.** Askama templates in `templates/console/`, one stylesheet
//! (`assets/latchkey.css`, shared with the sign-in pages) and one small
//! script (`assets/console.js`) that only enhances: every page works
//! without it. Nothing secret is ever put in a URL; pages that show a
//! secret are answers to a POST and carry `Cache-Control: no-store` like
//! every page.
// `Err(Response)` is a handler's early answer, built once per request.
#![allow(clippy::result_large_err)]

mod admin_pages;
mod audit_page;
mod catalogue;
mod chart;
mod client_detail;
mod client_form;
mod client_form_state;
mod client_shape;
mod clients;
mod confirm;
mod duration;
mod remote_pages;
mod scope_pages;
mod settings_page;
mod tenant_pages;
mod user_detail;
mod view;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::AppError;
use latchkey_app::console::ConsoleUser;
use latchkey_app::tenants::TenantContext;

use crate::AppState;
use crate::error::with_retry_after;
use crate::form::{Form, read_limited};
use crate::pages::{self, error_page, html};
use crate::tenant::{NoTenant, Source, Tenant};

pub(crate) use view::Chrome;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(root))
        .route("/console/", get(admin_pages::dashboard))
        .route("/console/callback", get(callback))
        .route("/console/signout", post(signout))
        .merge(clients::routes())
        .merge(client_detail::routes())
        .merge(client_form::routes())
        .merge(admin_pages::routes())
        .merge(audit_page::routes())
        .merge(remote_pages::routes())
        .merge(scope_pages::routes())
        .merge(settings_page::routes())
        .merge(tenant_pages::routes())
        .merge(user_detail::routes())
        .route("/console/{*rest}", axum::routing::any(not_found))
        .layer(axum::middleware::map_response(readable_errors))
}

/// Framework rejections (a path that is not UTF-8, a wrong method) become
/// readable pages like every other console error.
async fn readable_errors(r: Response) -> Response {
    let status = r.status();
    let is_html =
        r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_html {
        return r;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "This console address does not accept that kind of request.",
        StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.",
        s if s.is_server_error() => "Something went wrong on our side; it has been logged.",
        _ => "The address of this request is not valid.",
    };
    let mut page = error_page(status.as_u16(), message);
    *page.status_mut() = status;
    if let Some(allow) = r.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}

/// The console's script, served once outside the tenant prefix.
pub(crate) const CONSOLE_JS: &str = include_str!("../../assets/console.js");
/// The console's icon.
pub(crate) const FAVICON: &str = include_str!("../../assets/favicon.svg");

async fn root(tenant: Result<Tenant, NoTenant>) -> Response {
    match tenant_ctx(tenant) {
        Ok(ctx) => see_other(&format!("{}/console/", base_path(&ctx))),
        Err(r) => r,
    }
}

/// An unknown console address: inside the console (after signing in, for
/// a GET), with the menu to go on from.
async fn not_found(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(source): Source,
    req: Request,
) -> Response {
    if req.method() != axum::http::Method::GET {
        return error_page(404, "There is no such console page.");
    }
    match enter(&s, tenant, source, req).await {
        Ok((cx, _)) => cx.error(404, "There is no such console page. Choose a page from the menu."),
        Err(r) => r,
    }
}

fn tenant_ctx(t: Result<Tenant, NoTenant>) -> Result<Arc<TenantContext>, Response> {
    t.map(|Tenant(ctx)| ctx).map_err(|e| match e.into_oauth().0.code {
        latchkey_core::TokenErrorCode::TemporarilyUnavailable => {
            error_page(503, "The service is temporarily unavailable. Please try again in a moment.")
        }
        _ => error_page(404, "There is no such tenant."),
    })
}

/// Where this tenant's pages live: `` for the default tenant, `/t/{id}` otherwise.
pub(crate) fn base_path(ctx: &TenantContext) -> String {
    crate::browser::base_path(ctx)
}

fn session_cookie(ctx: &TenantContext) -> String {
    format!("lk_console_{}", ctx.id)
}

/// The session cookie of the default tenant's console (an owner's there
/// opens every tenant's console).
fn home_session_cookie() -> String {
    format!("lk_console_{}", latchkey_core::TenantId::default_tenant())
}

fn flow_cookie(ctx: &TenantContext) -> String {
    format!("lk_console_flow_{}", ctx.id)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|t| t.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// `HttpOnly; SameSite=Lax`, `Secure` when the issuer is https (SPEC §11).
fn set_cookie(r: &mut Response, ctx: &TenantContext, name: &str, value: &str, max_age: Option<i64>) {
    let secure = if ctx.issuer.starts_with("https://") { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// 303 See Other, never cached.
pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(_) => error_page(400, "The address is not valid."),
    }
}

/// A console request: the tenant, the signed-in user and the page chrome.
pub(crate) struct Cx {
    pub ctx: Arc<TenantContext>,
    pub user: ConsoleUser,
    pub csrf: String,
    pub base: String,
    /// Every tenant, for the switcher of an owner of the default tenant.
    pub tenants: Vec<String>,
}

impl Cx {
    pub(crate) fn can_write(&self) -> bool {
        self.user.actor.can_write
    }

    pub(crate) fn chrome(&self, nav: &'static str, flash: Option<&'static str>) -> Chrome {
        Chrome {
            base: self.base.clone(),
            tenant: self.ctx.id.to_string(),
            user: self.user.username.clone(),
            role: if self.user.platform.is_some() {
                "owner of the default tenant".to_owned()
            } else {
                self.user.actor.role.map(|r| r.as_str().to_owned()).unwrap_or_default()
            },
            tenants_href: format!(
                "{}/console/tenants",
                self.user.platform.as_deref().map_or_else(|| self.base.clone(), base_path)
            ),
            csrf: self.csrf.clone(),
            nav,
            can_write: self.can_write(),
            flash,
            tenants: self.tenants.clone(),
        }
    }

    /// A readable error page inside the console.
    pub(crate) fn error(&self, status: u16, message: &str) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let title = match status.as_u16() {
            403 => "Not allowed",
            404 => "Not found",
            409 => "That cannot be done right now",
            503 => "Temporarily unavailable",
            _ => "Something is wrong with this request",
        };
        let page = view::MessagePage { c: self.chrome("", None), title, message };
        console_html(status, &page)
    }

    /// A service error as a console page.
    pub(crate) fn app_error(&self, e: AppError) -> Response {
        match e {
            AppError::NotFound => self.error(404, "There is no such object in this tenant."),
            AppError::Forbidden(m) => self.error(403, &capitalize(&m)),
            AppError::Conflict(m) => self.error(409, &capitalize(&m)),
            AppError::BadRequest(m) => self.error(400, &capitalize(&m)),
            AppError::Unauthorized(m) => self.error(401, &capitalize(&m)),
            AppError::PreconditionFailed(_) => {
                self.error(409, "Someone changed this object since you opened it. Reload the page and try again.")
            }
            AppError::Validation(errors) => {
                let text: Vec<String> = errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
                self.error(422, &text.join("; "))
            }
            AppError::Unavailable => self.error(503, "The database is not reachable. Please try again in a moment."),
            AppError::Busy(wait) => with_retry_after(
                self.error(503, "The server is busy checking other passwords. Please try again in a moment."),
                wait,
            ),
            AppError::TooManyRequests(wait) => {
                with_retry_after(self.error(429, "Too many requests. Please wait a moment and try again."), wait)
            }
            other => {
                tracing::error!(error = %other, "a console request failed");
                self.error(500, "Something went wrong on our side; it has been logged.")
            }
        }
    }

    /// Renders a console page.
    pub(crate) fn page(&self, status: StatusCode, page: &impl Template) -> Response {
        console_html(status, page)
    }

    pub(crate) fn to(&self, path: &str) -> Response {
        see_other(&format!("{}/console/{path}", self.base))
    }
}

/// The console's pages: the same headers as every page, and a CSP that
/// also lets the console's script fetch fragments from this server.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn console_html(status: StatusCode, page: &impl Template) -> Response {
    let mut r = html(status, page);
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_CSP));
    r
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    let mut out: String = c.next().map(|f| f.to_uppercase().collect()).unwrap_or_default();
    out.push_str(c.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().filter(|c| !c.is_control()).take(64).collect())
}

/// The console user of a request, or the response that replaces the page:
/// a sign-in redirect for a GET, 401 for anything else.
async fn user_of(
    s: &AppState,
    tenant: Result<Tenant, NoTenant>,
    source: Option<String>,
    parts: &Parts,
    is_get: bool,
) -> Result<Cx, Response> {
    let ctx = tenant_ctx(tenant)?;
    let base = base_path(&ctx);
    let unavailable = |_| error_page(503, "The service is temporarily unavailable. Please try again in a moment.");
    let own = cookie(&parts.headers, &session_cookie(&ctx));
    let mut user =
        s.app.sign_in.console_user(&ctx, own, source.clone(), request_id(&parts.headers)).await.map_err(unavailable)?;
    if user.is_none() {
        // An owner of the default tenant, signed in there, manages this one.
        let home = cookie(&parts.headers, &home_session_cookie());
        user = s
            .app
            .sign_in
            .platform_console_user(&ctx, home, source, request_id(&parts.headers))
            .await
            .map_err(unavailable)?;
    }
    let Some(user) = user else {
        if !is_get {
            return Err(error_page(401, "Your console session has ended. Open the console again to sign in."));
        }
        let prefix = format!("{base}/console/");
        let path = parts.uri.path_and_query().map_or("", axum::http::uri::PathAndQuery::as_str);
        let return_to = path.strip_prefix(&prefix).unwrap_or("");
        let Ok(start) = s.app.sign_in.console_begin(&ctx, return_to) else {
            return Err(error_page(503, "The sign-in could not be started. Please try again."));
        };
        let mut r = see_other(&start.authorize_url);
        set_cookie(&mut r, &ctx, &flow_cookie(&ctx), &start.flow, Some(latchkey_app::console::CONSOLE_FLOW_LIFETIME));
        return Err(r);
    };
    let csrf = s.app.sign_in.console_csrf(&ctx, &user);
    let mut cx = Cx { ctx, user, csrf, base, tenants: Vec::new() };
    if let Some(home) = tenant_pages::platform_home(&cx) {
        let list = s.app.tenants.list_tenants(&home, &cx.user.actor).await.unwrap_or_default();
        cx.tenants = list.into_iter().map(|t| t.tenant_id).collect();
    }
    Ok(cx)
}

/// A GET page of the console.
pub(crate) async fn enter(
    s: &AppState,
    tenant: Result<Tenant, NoTenant>,
    source: Option<String>,
    req: Request,
) -> Result<(Cx, Parts), Response> {
    let (parts, _) = req.into_parts();
    let cx = user_of(s, tenant, source, &parts, true).await?;
    Ok((cx, parts))
}

/// A console form post: signed in, the right CSRF token and, for `write`,
/// a user who may change things. Returns the form's fields in order.
pub(crate) async fn enter_post(
    s: &AppState,
    tenant: Result<Tenant, NoTenant>,
    source: Option<String>,
    req: Request,
    write: bool,
) -> Result<(Cx, Vec<(String, String)>), Response> {
    let (parts, body) = req.into_parts();
    let cx = user_of(s, tenant, source, &parts, false).await?;
    let ctype = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ctype.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(cx.error(415, "The form must be sent as application/x-www-form-urlencoded."));
    }
    let body = read_limited(body).await.map_err(|_| cx.error(413, "The form is too large."))?;
    let pairs = Form::parse(&body).map_err(|_| cx.error(400, "The form is not valid."))?.pairs().to_vec();
    let token = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    if !s.app.sign_in.console_csrf_ok(&cx.ctx, &cx.user, token) {
        return Err(
            cx.error(403, "The form has expired or did not come from this console. Reload the page and try again.")
        );
    }
    if write && !cx.can_write() {
        return Err(cx.error(403, "Your role may read but not change anything."));
    }
    Ok((cx, pairs))
}

/// A named parameter of the route (`{id}`), empty when absent.
pub(crate) fn param(params: &axum::extract::RawPathParams, name: &str) -> String {
    params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned()).unwrap_or_default()
}

/// The first value of a form field (empty when absent).
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// Every value of a repeated form field.
pub(crate) fn fields<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

/// `GET /console/callback`: the authorization response.
async fn callback(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(source): Source,
    req: Request,
) -> Response {
    let ctx = match tenant_ctx(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let query = req.uri().query().unwrap_or("");
    if query.len() > 16 * 1024 {
        return error_page(400, "The request is too large.");
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let base = base_path(&ctx);
    let flow = cookie(req.headers(), &flow_cookie(&ctx)).map(str::to_owned);
    let mut r = if let Some((_, e)) = pairs.iter().find(|(k, _)| k == "error") {
        let msg = if e == "access_denied" {
            "Signing in to the console was cancelled.".to_owned()
        } else {
            format!(
                "Signing in to the console failed ({}).",
                e.chars().filter(char::is_ascii_graphic).take(64).collect::<String>()
            )
        };
        error_page(400, &msg)
    } else {
        let (code, state) = (field(&pairs, "code"), field(&pairs, "state"));
        if code.is_empty() || state.is_empty() {
            return error_page(400, "The sign-in response lacks its code or state. Open the console again.");
        }
        match s.app.sign_in.console_callback(&ctx, flow.as_deref(), code, state, source.as_deref()).await {
            Ok(done) => {
                let mut r = see_other(&format!("{base}/console/{}", done.return_to));
                set_cookie(
                    &mut r,
                    &ctx,
                    &session_cookie(&ctx),
                    &done.session,
                    Some(latchkey_app::oidc::SESSION_LIFETIME),
                );
                r
            }
            Err(AppError::Forbidden(_)) => {
                error_page(403, "Your account has no administrative role in this tenant, so it cannot use the console.")
            }
            Err(AppError::Unavailable) => {
                error_page(503, "The service is temporarily unavailable. Please try again in a moment.")
            }
            Err(e) => error_page(400, &capitalize(&e.to_string())),
        }
    };
    set_cookie(&mut r, &ctx, &flow_cookie(&ctx), "", Some(0));
    r
}

/// `POST /console/signout`: revoke the session's token, forget the cookie,
/// and end the server session by RP-initiated logout.
async fn signout(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(source): Source,
    req: Request,
) -> Response {
    let (cx, _) = match enter_post(&s, tenant, source, req, false).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(e) = s.app.sign_in.console_signout(&cx.ctx, &cx.user).await {
        return cx.app_error(e);
    }
    // A platform owner's session is the default tenant's: that one ends.
    let home = cx.user.platform.clone().unwrap_or_else(|| cx.ctx.clone());
    let mut r = see_other(&s.app.sign_in.console_logout_url(&home));
    set_cookie(&mut r, &home, &session_cookie(&home), "", Some(0));
    r
}

pub(crate) fn asset_icon() -> Response {
    pages::asset("image/svg+xml", FAVICON)
}

pub(crate) fn asset_js() -> Response {
    pages::asset("text/javascript; charset=utf-8", CONSOLE_JS)
}
