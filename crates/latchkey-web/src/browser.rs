//! The browser-facing endpoints: `/oauth2/authorize`, `/login`,
//! `/consent`, `/oauth2/logout`, `/logout` and the device page `/device`,
//! plus the pages' assets.
//!
//! Handlers translate HTTP into the app's sign-in services and back:
//! cookies in and out, the authorization response as a 303 redirect
//! (query or fragment) or a `form_post` page, and every other outcome as a
//! page. Nothing here decides anything; and no CORS header is ever sent
//! from these routes (SECURITY-CHECKLIST item 22).
// `Err(Response)` is a handler's early answer, built once per request.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::oidc::authorize::{ConsentForm, LoginForm};
use latchkey_app::oidc::device_page::{DeviceForm, DevicePage, DeviceStep};
use latchkey_app::oidc::logout::{LogoutForm, LogoutOutcome, LogoutParams, LogoutResult};
use latchkey_app::oidc::{AuthResponse, BrowserCookies, Interaction, Outcome, Page, SESSION_LIFETIME};
use latchkey_app::tenants::TenantContext;
use latchkey_core::authorize::{AuthorizeParams, ResponseMode};

use crate::AppState;
use crate::form::{Form, read_limited};
use crate::pages::{
    self, ConsentPage, DeviceTemplate, FormPostPage, LoginPage, LogoutPage, MessagePage, error_page, html,
};
use crate::tenant::{NoTenant, Source, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/authorize", get(authorize).post(authorize).fallback(get_or_post_only))
        .route("/login", post(login).fallback(post_only))
        .route("/consent", post(consent).fallback(post_only))
        .route("/oauth2/logout", get(logout_request).post(logout_request).fallback(get_or_post_only))
        .route("/logout", post(logout_confirm).fallback(post_only))
        .route("/device", get(device_page).post(device_page).fallback(get_or_post_only))
}

/// Served once, outside the tenant prefix.
pub(crate) fn asset_routes() -> Router<AppState> {
    Router::new()
        .route("/assets/latchkey.css", get(|| async { pages::asset("text/css; charset=utf-8", pages::CSS) }))
        .route(
            "/assets/form-post.js",
            get(|| async { pages::asset("text/javascript; charset=utf-8", pages::FORM_POST_JS) }),
        )
}

pub(crate) async fn post_only() -> Response {
    let mut r = error_page(405, "This page accepts form submissions only.");
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

async fn get_or_post_only() -> Response {
    let mut r = error_page(405, "Use GET or POST.");
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    r
}

pub(crate) fn tenant_page(t: Result<Tenant, NoTenant>) -> Result<std::sync::Arc<TenantContext>, Response> {
    t.map(|Tenant(ctx)| ctx).map_err(|e| match e.into_oauth().0.code {
        latchkey_core::TokenErrorCode::TemporarilyUnavailable => {
            error_page(503, "The service is temporarily unavailable. Please try again in a moment.")
        }
        _ => error_page(404, "There is no such tenant."),
    })
}

/// Where this tenant's pages live: `` for the default tenant, `/t/{id}` otherwise.
pub(crate) fn base_path(ctx: &TenantContext) -> String {
    url_path(&ctx.issuer)
}

/// The path of an absolute URL, without a trailing slash: `""` for
/// `https://host`, `/auth/t/acme` for `https://host/auth/t/acme`. Pages
/// link and post under their issuer's path, so Latchkey works behind a
/// proxy that serves it under a path prefix.
pub(crate) fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or_else(String::new, |i| rest[i..].trim_end_matches('/').to_owned())
}

pub(crate) fn cookie_names(ctx: &TenantContext) -> (String, String) {
    (format!("lk_session_{}", ctx.id), format!("lk_anchor_{}", ctx.id))
}

/// The cookies that matter, from every `Cookie` header.
pub(crate) fn browser_cookies(ctx: &TenantContext, headers: &HeaderMap) -> BrowserCookies {
    let (session_name, anchor_name) = cookie_names(ctx);
    let mut out = BrowserCookies::default();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            let Some((name, v)) = pair.trim().split_once('=') else { continue };
            if name == session_name {
                out.session = Some(v.to_owned());
            } else if name == anchor_name {
                out.anchor = Some(v.to_owned());
            }
        }
    }
    out
}

/// `HttpOnly; SameSite=Lax`, `Secure` when the issuer is https (SPEC §11).
pub(crate) fn set_cookie(r: &mut Response, ctx: &TenantContext, name: &str, value: &str, max_age: Option<i64>) {
    let secure = if ctx.issuer.starts_with("https://") { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Reads the parameters of a GET (query) or POST (form body) request.
pub(crate) async fn request_params(req: Request) -> Result<Vec<(String, String)>, Response> {
    let bad = |m: &str| error_page(400, m);
    if req.method() == Method::POST {
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ctype.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(bad("The form must be sent as application/x-www-form-urlencoded."));
        }
        let body = read_limited(req.into_body()).await.map_err(|_| bad("The request body is too large."))?;
        Form::parse(&body).map(|f| f.pairs().to_vec()).map_err(|_| bad("The request is not a valid form."))
    } else {
        let query = req.uri().query().unwrap_or("");
        if query.len() > 64 * 1024 {
            return Err(bad("The request is too large."));
        }
        Form::parse(query.as_bytes()).map(|f| f.pairs().to_vec()).map_err(|_| bad("The request is not a valid form."))
    }
}

/// The value of a parameter; empty means absent. `Err(name)` when repeated.
pub(crate) fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut found = pairs.iter().filter(|(k, _)| k == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(name.to_owned());
    }
    Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
}

/// Builds the URI a response is delivered to (query or fragment mode).
pub(crate) fn response_uri(r: &AuthResponse) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &r.params {
        ser.append_pair(k, v);
    }
    let encoded = ser.finish();
    match r.mode {
        ResponseMode::Fragment => format!("{}#{encoded}", r.redirect_uri),
        _ if r.redirect_uri.contains('?') => format!("{}&{encoded}", r.redirect_uri),
        _ => format!("{}?{encoded}", r.redirect_uri),
    }
}

/// 303 See Other: after a POST the browser must GET (RFC 9700 §4.12).
pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(_) => error_page(400, "The redirect address is not valid."),
    }
}

pub(crate) fn render(ctx: &TenantContext, i: &Interaction) -> Response {
    let base = base_path(ctx);
    let mut r = match &i.outcome {
        Outcome::Respond(resp) if resp.mode == ResponseMode::FormPost => {
            html(StatusCode::OK, &FormPostPage { action: &resp.redirect_uri, params: &resp.params })
        }
        Outcome::Respond(resp) => see_other(&response_uri(resp)),
        Outcome::Continue(path) => see_other(&format!("{base}{path}")),
        Outcome::Page(Page::Error { status, message }) => error_page(*status, message),
        Outcome::Page(Page::Login { status, tx, csrf, client_name, username, error, retry_after, sign_in_options }) => {
            let page =
                LoginPage { base: &base, tx, csrf, client_name, username, error: error.as_deref(), sign_in_options };
            let mut r = html(StatusCode::from_u16(*status).unwrap_or(StatusCode::OK), &page);
            if let Some(wait) = retry_after
                && let Ok(v) = HeaderValue::from_str(&wait.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Outcome::Page(Page::Consent { tx, csrf, client_name, user, scopes }) => {
            html(StatusCode::OK, &ConsentPage { base: &base, tx, csrf, client_name, user, scopes })
        }
    };
    let (session_name, anchor_name) = cookie_names(ctx);
    if let Some(s) = &i.set_session {
        set_cookie(&mut r, ctx, &session_name, s, Some(SESSION_LIFETIME));
    } else if i.clear_session {
        set_cookie(&mut r, ctx, &session_name, "", Some(0));
    }
    if let Some(a) = &i.set_anchor {
        set_cookie(&mut r, ctx, &anchor_name, a, None);
    }
    r
}

/// The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
async fn authorize(State(s): State<AppState>, tenant: Result<Tenant, NoTenant>, req: Request) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let pairs = match request_params(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // The client and its redirect URI must be unambiguous before anything
    // is sent there (checklist item 9).
    let (Ok(client_id), Ok(redirect_uri)) = (single(&pairs, "client_id"), single(&pairs, "redirect_uri")) else {
        return error_page(400, "client_id and redirect_uri may each appear only once.");
    };
    let mut repeated = None;
    let mut get = |name: &str| match single(&pairs, name) {
        Ok(v) => v.map(str::to_owned),
        Err(n) => {
            repeated.get_or_insert(n);
            None
        }
    };
    let mut p = AuthorizeParams {
        client_id: client_id.map(str::to_owned),
        redirect_uri: redirect_uri.map(str::to_owned),
        response_type: get("response_type"),
        response_mode: get("response_mode"),
        scope: get("scope"),
        state: get("state"),
        nonce: get("nonce"),
        prompt: get("prompt"),
        max_age: get("max_age"),
        login_hint: get("login_hint"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        request: get("request"),
        request_uri: get("request_uri"),
        repeated: None,
    };
    p.repeated = repeated;
    let i = s.app.sign_in.authorize(&ctx, &p, &cookies).await;
    render(&ctx, &i)
}

pub(crate) async fn form_fields(req: Request, names: &[&str]) -> Result<Vec<String>, Response> {
    let pairs = request_params(req).await?;
    names
        .iter()
        .map(|n| match single(&pairs, n) {
            Ok(v) => Ok(v.unwrap_or_default().to_owned()),
            Err(_) => Err(error_page(400, "A form field is repeated.")),
        })
        .collect()
}

/// `POST /login`: the sign-in form.
async fn login(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(source): Source,
    req: Request,
) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let f = match form_fields(req, &["tx", "csrf", "username", "password"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let [tx, csrf, username, password] = <[String; 4]>::try_from(f).unwrap_or_default();
    let form = LoginForm { tx, csrf, username, password };
    let i = s.app.sign_in.submit_login(&ctx, &form, &cookies, source.as_deref()).await;
    render(&ctx, &i)
}

/// `POST /consent`: Allow or Deny.
async fn consent(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(source): Source,
    req: Request,
) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let f = match form_fields(req, &["tx", "csrf", "decision"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let [tx, csrf, decision] = <[String; 3]>::try_from(f).unwrap_or_default();
    let allow = match decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return error_page(400, "Choose Allow or Deny."),
    };
    let i = s.app.sign_in.submit_consent(&ctx, &ConsentForm { tx, csrf, allow }, &cookies, source.as_deref()).await;
    render(&ctx, &i)
}

fn render_logout(ctx: &TenantContext, result: &LogoutResult) -> Response {
    let base = base_path(ctx);
    let mut r = match &result.outcome {
        LogoutOutcome::Error { status, message } => error_page(*status, message),
        LogoutOutcome::Confirm { tx, csrf, client_name } => {
            html(StatusCode::OK, &LogoutPage { base: &base, tx, csrf, client_name: client_name.as_deref() })
        }
        LogoutOutcome::SignedOut => html(
            StatusCode::OK,
            &MessagePage { title: "Signed out", message: "You are signed out of Latchkey.", is_error: false },
        ),
        LogoutOutcome::Redirect { uri, state } => {
            let resp = AuthResponse {
                redirect_uri: uri.clone(),
                mode: ResponseMode::Query,
                params: state.iter().map(|s| ("state", s.clone())).collect(),
            };
            let target = if resp.params.is_empty() { uri.clone() } else { response_uri(&resp) };
            see_other(&target)
        }
    };
    if result.clear_session {
        set_cookie(&mut r, ctx, &cookie_names(ctx).0, "", Some(0));
    }
    r
}

/// RP-initiated logout (`GET`/`POST /oauth2/logout`).
async fn logout_request(State(s): State<AppState>, tenant: Result<Tenant, NoTenant>, req: Request) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let pairs = match request_params(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut repeated = None;
    let mut get = |name: &str| match single(&pairs, name) {
        Ok(v) => v.map(str::to_owned),
        Err(n) => {
            repeated.get_or_insert(n);
            None
        }
    };
    let mut p = LogoutParams {
        id_token_hint: get("id_token_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
        client_id: get("client_id"),
        repeated: None,
    };
    p.repeated = repeated;
    let result = s.app.sign_in.logout_request(&ctx, &p, &cookies).await;
    render_logout(&ctx, &result)
}

/// `POST /logout`: the user confirmed signing out.
async fn logout_confirm(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(source): Source,
    req: Request,
) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let f = match form_fields(req, &["tx", "csrf"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let [tx, csrf] = <[String; 2]>::try_from(f).unwrap_or_default();
    let result = s.app.sign_in.logout_confirm(&ctx, &LogoutForm { tx, csrf }, &cookies, source.as_deref()).await;
    render_logout(&ctx, &result)
}

/// The device page (RFC 8628 §3.3): `GET /device[?user_code=…]` and the
/// forms it posts to itself.
async fn device_page(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(source): Source,
    req: Request,
) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let is_post = req.method() == Method::POST;
    let f = match form_fields(req, &["action", "csrf", "user_code", "username", "password"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let [action, csrf, user_code, username, password] = <[String; 5]>::try_from(f).unwrap_or_default();
    let form = DeviceForm { action, csrf, user_code, username, password };
    let step = if is_post {
        s.app.sign_in.device_submit(&ctx, &cookies, &form, source.as_deref()).await
    } else {
        let code = Some(form.user_code.as_str()).filter(|c| !c.is_empty());
        s.app.sign_in.device_start(&ctx, &cookies, code, source.as_deref()).await
    };
    render_device(&ctx, &step)
}

fn render_device(ctx: &TenantContext, step: &DeviceStep) -> Response {
    let base = base_path(ctx);
    let (status, title, retry_after) = match &step.page {
        DevicePage::SignIn { status, retry_after, .. } => (*status, "Sign in", *retry_after),
        DevicePage::EnterCode { status, retry_after, .. } => (*status, "Connect a device", *retry_after),
        DevicePage::Confirm { .. } => (200, "Allow this device?", None),
        DevicePage::Done { allowed: true, .. } => (200, "Device connected", None),
        DevicePage::Done { allowed: false, .. } => (200, "Request denied", None),
        DevicePage::Error { status, .. } => (*status, "Cannot connect the device", None),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut r = html(status, &DeviceTemplate { base: &base, title, page: &step.page });
    if let Some(wait) = retry_after
        && let Ok(v) = HeaderValue::from_str(&wait.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    let (session_name, anchor_name) = cookie_names(ctx);
    if let Some(h) = &step.set_session {
        set_cookie(&mut r, ctx, &session_name, h, Some(SESSION_LIFETIME));
    } else if step.clear_session {
        set_cookie(&mut r, ctx, &session_name, "", Some(0));
    }
    if let Some(a) = &step.set_anchor {
        set_cookie(&mut r, ctx, &anchor_name, a, None);
    }
    r
}
