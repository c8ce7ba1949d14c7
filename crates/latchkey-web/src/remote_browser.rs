//! The browser side of upstream flows (SPEC §8): the start link of an
//! authorization-code authorization (`/remote/start`), every provider's
//! callback (`/remote/callback/{provider}`) and the "Sign in with …"
//! button (`/federation/start`). Every outcome is a page or a 303; nothing
//! here decides anything.
// `Err(Response)` is a handler's early answer, built once per request.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::remote::code_flow::{CallbackOutcome, CallbackParams, FLOW_LIFETIME};
use latchkey_app::remote::federation::FederatedStartForm;
use latchkey_app::tenants::TenantContext;

use crate::AppState;
use crate::browser::{
    browser_cookies, form_fields, post_only, render, request_params, see_other, set_cookie, single, tenant_page,
};
use crate::pages::{MessagePage, error_page, html};
use crate::tenant::Path;
use crate::tenant::{NoTenant, Source, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/remote/start", get(start).fallback(get_only))
        .route("/remote/callback/{provider}", get(callback).fallback(get_only))
        .route("/federation/start", post(federation_start).fallback(post_only))
}

async fn get_only() -> Response {
    let mut r = error_page(405, "This page is only opened by following a link.");
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r.headers_mut().insert(header::ALLOW, axum::http::HeaderValue::from_static("GET"));
    r
}

/// The cookie that binds an administrator's flow to the browser that
/// opened the start link.
fn binder_cookie(ctx: &TenantContext) -> String {
    format!("lk_remote_{}", ctx.id)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|text| {
        text.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    })
}

/// `GET /remote/start?ticket=…`: sets the binding cookie and sends the
/// browser to the provider.
async fn start(State(s): State<AppState>, tenant: Result<Tenant, NoTenant>, req: Request) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = match request_params(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ticket = single(&pairs, "ticket").ok().flatten().unwrap_or_default();
    let Some(go) = s.app.remote.remote_start(&ctx, ticket) else {
        return error_page(400, "This link has expired or is not valid. Start the authorization again.");
    };
    let mut r = see_other(&go.location);
    set_cookie(&mut r, &ctx, &binder_cookie(&ctx), &go.binder, Some(FLOW_LIFETIME));
    r
}

/// `GET /remote/callback/{provider}`: the provider's answer.
async fn callback(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Path(provider): Path<String>,
    Source(source): Source,
    req: Request,
) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let binder = cookie(req.headers(), &binder_cookie(&ctx));
    let pairs = match request_params(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut repeated = false;
    let mut get = |name: &str| match single(&pairs, name) {
        Ok(v) => v.map(str::to_owned),
        Err(_) => {
            repeated = true;
            None
        }
    };
    let p = CallbackParams {
        code: get("code"),
        state: get("state"),
        iss: get("iss"),
        error: get("error"),
        error_description: get("error_description"),
    };
    if repeated {
        return error_page(400, "A parameter of the provider's response is repeated; it was refused.");
    }
    let outcome =
        s.app.sign_in.remote_callback(&ctx, &provider, &p, binder.as_deref(), &cookies, source.as_deref()).await;
    let mut r = match outcome {
        CallbackOutcome::Done { title, message } => {
            html(StatusCode::OK, &MessagePage { title: &title, message: &message, is_error: false })
        }
        CallbackOutcome::Failed { status, message } => error_page(status, &message),
        CallbackOutcome::SignIn(i) => render(&ctx, &i),
    };
    if binder.is_some() {
        set_cookie(&mut r, &ctx, &binder_cookie(&ctx), "", Some(0));
    }
    r
}

/// `POST /federation/start`: a "Sign in with …" button.
async fn federation_start(State(s): State<AppState>, tenant: Result<Tenant, NoTenant>, req: Request) -> Response {
    let ctx = match tenant_page(tenant) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let cookies = browser_cookies(&ctx, req.headers());
    let f = match form_fields(req, &["tx", "csrf", "provider", "device", "user_code"]).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let [tx, csrf, provider, device, user_code] = <[String; 5]>::try_from(f).unwrap_or_default();
    // From the device page: no authorization transaction, the code typed there.
    let device = (device == "1").then_some(user_code);
    let form = FederatedStartForm { tx, csrf, provider, device };
    match s.app.sign_in.start_federated_sign_in(&ctx, &form, &cookies).await {
        Ok(location) => see_other(&location),
        Err(page) => render(&ctx, &latchkey_app::oidc::Interaction::page(page)),
    }
}
