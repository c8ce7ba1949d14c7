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
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;

use crate::error::{OAuthError, Problem};
use crate::http_metrics::HttpMetrics;

/// Seconds a refused caller is told to wait.
const RETRY_AFTER: &str = "1";

/// The permits of one node, and the gauge and counter that show them on
/// `/metrics` (never refused itself, so a monitor, or a test, can see how
/// many requests hold a slot without taking one).
#[derive(Clone, Debug)]
pub(crate) struct InFlight {
    slots: Arc<Semaphore>,
    in_flight: Gauge,
    refused: Counter,
}

impl InFlight {
    pub(crate) fn new(max: usize, metrics: &HttpMetrics) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max.max(1))),
            in_flight: metrics.in_flight.clone(),
            refused: metrics.refused.clone(),
        }
    }
}

/// Counts a request in flight for as long as it holds its permit.
struct Held<'a>(&'a Gauge);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub(crate) async fn limit(State(slots): State<InFlight>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let Ok(permit) = slots.slots.clone().try_acquire_owned() else {
        slots.refused.inc();
        return busy(path);
    };
    slots.in_flight.inc();
    let held = Held(&slots.in_flight);
    let response = next.run(req).await;
    drop(held);
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
