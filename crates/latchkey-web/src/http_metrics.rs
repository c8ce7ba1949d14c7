//! Requests per route and status class, and their latency.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Labels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabel {
    route: String,
}

pub(crate) struct HttpMetrics {
    requests: Family<Labels, Counter>,
    latency: Family<RouteLabel, Histogram>,
    /// Requests holding one of the node's in-flight slots right now.
    pub(crate) in_flight: Gauge,
    /// Requests refused with 503 because every slot was taken.
    pub(crate) refused: Counter,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(|| {
                Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0])
            }),
            in_flight: Gauge::default(),
            refused: Counter::default(),
        }
    }
}

impl HttpMetrics {
    pub(crate) fn register(&self, r: &mut Registry) {
        r.register("latchkey_http_requests", "HTTP requests by route and status", self.requests.clone());
        r.register("latchkey_http_request_duration_seconds", "HTTP request latency", self.latency.clone());
        r.register("latchkey_http_requests_in_flight", "Requests being served now", self.in_flight.clone());
        r.register(
            "latchkey_http_requests_refused_busy",
            "Requests refused with 503 because max_in_flight_requests were being served",
            self.refused.clone(),
        );
    }
}

pub(crate) async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    s.http.latency.get_or_create(&RouteLabel { route: route.clone() }).observe(start.elapsed().as_secs_f64());
    s.http.requests.get_or_create(&Labels { route, status: resp.status().as_u16() }).inc();
    resp
}
