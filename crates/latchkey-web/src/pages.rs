//! The built-in pages (askama templates in `templates/`, compiled into the
//! binary) and how every HTML response is sent: strict CSP without inline
//! script or style, no framing, no referrer, no caching.

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_app::oidc::ScopeLine;
use latchkey_app::oidc::device_page::DevicePage;
use latchkey_app::remote::federation::SignInOption;

/// The stylesheet of the built-in pages (and, later, the console).
pub(crate) const CSS: &str = include_str!("../assets/latchkey.css");
/// Submits a `form_post` response; a script file, since the CSP allows no inline script.
pub(crate) const FORM_POST_JS: &str = include_str!("../assets/form-post.js");

tokio::task_local! {
    /// The path of the public URL (`/auth` behind a proxy that serves
    /// Latchkey under a prefix; usually empty), for the request being served.
    static PUBLIC_PATH: String;
}

/// Runs `f` (a request) knowing the public URL's path.
pub(crate) async fn with_public_path<F: std::future::Future>(path: String, f: F) -> F::Output {
    PUBLIC_PATH.scope(path, f).await
}

/// Where the assets are, for the templates: the public URL's path.
pub(crate) fn public_path() -> String {
    PUBLIC_PATH.try_with(Clone::clone).unwrap_or_default()
}

/// SPEC §11: every HTML page. Scripts and styles only from this server;
/// forms may post anywhere (form_post answers at the client's URI).
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage<'a> {
    pub base: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// "Sign in with …" buttons (federated sign-in).
    pub sign_in_options: &'a [SignInOption],
}

#[derive(Template)]
#[template(path = "consent.html")]
pub(crate) struct ConsentPage<'a> {
    pub base: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub client_name: &'a str,
    pub user: &'a str,
    pub scopes: &'a [ScopeLine],
}

#[derive(Template)]
#[template(path = "logout.html")]
pub(crate) struct LogoutPage<'a> {
    pub base: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device.html")]
pub(crate) struct DeviceTemplate<'a> {
    pub base: &'a str,
    pub title: &'a str,
    pub page: &'a latchkey_app::oidc::device_page::DevicePage,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub is_error: bool,
}

#[derive(Template)]
#[template(path = "form_post.html")]
pub(crate) struct FormPostPage<'a> {
    pub action: &'a str,
    pub params: &'a [(&'static str, String)],
}

/// Renders a page with the headers every page carries.
pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    let Ok(body) = page.render() else {
        tracing::error!("a page template failed to render");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut r = (status, body).into_response();
    page_headers(r.headers_mut());
    r
}

pub(crate) fn page_headers(h: &mut HeaderMap) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A readable error page (never a redirect).
pub(crate) fn error_page(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let title = match status.as_u16() {
        403 => "Not allowed",
        404 => "Not found",
        429 => "Too many attempts",
        503 => "Temporarily unavailable",
        _ => "Something is wrong with this request",
    };
    html(status, &MessagePage { title, message, is_error: true })
}

/// A static asset with a day of caching.
pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    r
}
