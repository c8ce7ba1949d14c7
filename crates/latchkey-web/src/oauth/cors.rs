//! CORS on the token, userinfo, introspection and revocation endpoints,
//! only for origins the calling client registered (SPEC §2.1); never on the
//! authorization endpoint (it has no such layer).
//!
//! A preflight names no client: it is allowed for an origin that some
//! client of the tenant registered. The actual request then gets
//! `Access-Control-Allow-Origin` only when the client that called (the
//! handler marks it with [`CorsClient`]) registered the origin. Credentials
//! (cookies) are never allowed cross-origin.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::tenant::{NoTenant, Tenant};

/// Set by a handler on its response: the client the request acted for.
#[derive(Debug, Clone)]
pub(crate) struct CorsClient(pub String);

pub(crate) async fn layer(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    req: Request,
    next: Next,
) -> Response {
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Ok(Tenant(ctx)) = tenant else { return next.run(req).await };
    let is_preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if is_preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(o) = origin.as_deref()
            && s.app.tokens.cors_preflight_allowed(&ctx, o).await
            && let Ok(v) = HeaderValue::from_str(o)
        {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        return r;
    }
    let mut r = next.run(req).await;
    if let Some(o) = origin {
        r.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
        let client = r.extensions().get::<CorsClient>().map(|c| c.0.clone());
        if let Some(client_id) = client
            && s.app.tokens.cors_allowed_for_client(&ctx.id, &client_id, &o).await
            && let Ok(v) = HeaderValue::from_str(&o)
        {
            r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            r.headers_mut().insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("www-authenticate"));
        }
    }
    r
}
