//! A bounded number of requests in flight per node (`max_in_flight_requests`):
//! past it a request is answered at once with `503` and `Retry-After`
//! instead of queueing behind the others until everything times out. The
//! answer speaks the endpoint's language: RFC 6749 `temporarily_unavailable`
//! on the protocol endpoints, problem+json on the admin API, a page in the
//! browser. Health and metrics are never refused, so a load balancer and a
//! monitor still see the node.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_core::TokenError;
use tokio::sync::Semaphore;

use crate::error::{OAuthError, Problem};

/// Seconds a refused caller is told to wait.
const RETRY_AFTER: &str = "1";

/// The permits of one node.
#[derive(Clone, Debug)]
pub(crate) struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub(crate) fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max.max(1))))
    }
}

pub(crate) async fn limit(State(slots): State<InFlight>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let Ok(permit) = slots.0.clone().try_acquire_owned() else {
        return busy(path);
    };
    let response = next.run(req).await;
    drop(permit);
    response
}

fn busy(path: &str) -> Response {
    tracing::warn!(path, "refused a request: too many in flight");
    // The browser's two protocol pages get a page, like every browser path.
    let browser = path.ends_with("/oauth2/authorize") || path.ends_with("/oauth2/logout");
    let mut r = if path.contains("/oauth2/") && !browser {
        OAuthError(TokenError::unavailable(), Some(StatusCode::SERVICE_UNAVAILABLE)).into_response()
    } else if path.contains("/api/") || path.contains("/.well-known/") || path.contains("/scim/") {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", "the server is busy; retry in a moment")
            .into_response()
    } else {
        crate::pages::error_page(503, "The server is busy. Try again in a moment.")
    };
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    r
}
