//! `/healthz` (process up), `/readyz` (database reachable and not
//! draining), `/metrics`; and `Connection: close` on every HTTP/1 answer of
//! a draining node.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> Response {
    if s.app.kernel.is_draining() {
        // Shutting down: still serving, but a load balancer should stop
        // sending new requests here.
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response()
    } else if s.app.kernel.ready().await {
        "ready\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &s.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// A draining node closes each HTTP/1 connection after its answer, so no
/// idle kept-alive connection is left for a client to send a request on
/// just as the node stops accepting (HTTP/2 connections are closed with
/// GOAWAY at shutdown).
pub(crate) async fn close_when_draining(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let http1 = req.version() < axum::http::Version::HTTP_2;
    let mut r = next.run(req).await;
    if http1 && s.app.kernel.is_draining() {
        r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}
