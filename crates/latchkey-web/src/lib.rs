//! The HTTP layer: thin axum routers over the application services.
//!
//! **Architecture invariant:** only this crate knows HTTP. Handlers parse
//! the request into service inputs, call one service, and map the result to
//! a response; no handler talks to the store.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use latchkey_app::App;
use prometheus_client::registry::Registry;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;

mod admin_api;
mod browser;
mod console;
mod error;
mod form;
mod front_door;
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod http_metrics;
mod json_body;
mod oauth;
pub mod openapi;
mod overload;
mod pages;
mod remote_browser;
mod request_span;
mod scim;
mod tenant;

/// Shared state of every handler.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // holds the metrics registry, which has no useful Debug
pub struct AppState {
    pub app: Arc<App>,
    registry: Arc<Registry>,
    http: Arc<http_metrics::HttpMetrics>,
    api: &'static ApiDocument,
}

/// This server's OpenAPI document, built once by [`openapi`] from the
/// handlers' annotations. Handlers read it from the state (to serve it, and
/// to check request bodies and query parameters against it), so that they
/// need not import the module that imports them.
pub(crate) struct ApiDocument {
    /// As served: pretty-printed, with a final newline.
    json: String,
    /// Parsed.
    value: serde_json::Value,
}

/// Gives each request without an `X-Request-Id` one, so audit events and
/// logs of one request can be tied together (and to the response).
#[derive(Clone)]
struct NewRequestId(Arc<App>);

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&self.0.kernel.request_id()).ok().map(RequestId::new)
    }
}

/// Replaces the connection's peer address by the client's, as
/// `Throttle::client_address` decides from trusted proxies' `X-Forwarded-For`,
/// so every consumer (throttling, audit events, logs) sees the same source.
async fn client_address(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::ConnectInfo;
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().copied() {
        let forwarded: Vec<&str> =
            req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let ip = state.app.throttle.client_address(peer.ip(), &forwarded);
        if ip != peer.ip() {
            req.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::new(ip, peer.port())));
        }
    }
    next.run(req).await
}

/// Largest request body any endpoint reads (the OAuth endpoints stop at 64 KiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// Limits of the HTTP surface of one node.
#[derive(Debug, Clone, Copy)]
pub struct HttpOptions {
    /// Requests served at once; more get a fast 503 (`max_in_flight_requests`).
    pub max_in_flight: usize,
    /// A span per request for OpenTelemetry traces (`otlp_endpoint` is
    /// set). Off: the layer is not there at all.
    pub traces: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self { max_in_flight: 1024, traces: false }
    }
}

/// The whole HTTP surface of one node, with the default limits.
pub fn router(app: Arc<App>) -> Router {
    router_with(app, HttpOptions::default())
}

/// The whole HTTP surface of one node.
pub fn router_with(app: Arc<App>, options: HttpOptions) -> Router {
    let mut registry = Registry::default();
    app.kernel.metrics.register(&mut registry);
    let http = Arc::new(http_metrics::HttpMetrics::default());
    http.register(&mut registry);
    let request_ids = NewRequestId(app.clone());
    // An https issuer tells browsers to use nothing else (RFC 6797).
    let hsts = app.kernel.options().public_url.starts_with("https://").then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });
    let state = AppState { app, registry: Arc::new(registry), http, api: openapi::served() };

    let issuer_routes = Router::new()
        .merge(oauth::routes(&state))
        .merge(browser::routes())
        .merge(console::routes())
        .merge(remote_browser::routes())
        .merge(front_door::routes())
        .merge(scim::routes(&state))
        .nest("/api/v1", admin_api::routes(&state));

    let site = Router::new()
        .merge(issuer_routes.clone())
        .nest("/t/{tenant}", issuer_routes)
        .merge(oauth::discovery::inserted_routes())
        .merge(health::routes())
        .merge(browser::asset_routes())
        .route("/assets/console.js", axum::routing::get(|| async { console::asset_js() }))
        .route("/assets/favicon.svg", axum::routing::get(|| async { console::asset_icon() }))
        .merge(openapi::routes());
    // Behind a proxy that serves Latchkey under a path prefix (the public
    // URL's path), pages link under the prefix; the routes answer both with
    // the prefix (proxy passes it on) and without (proxy strips it).
    let public_path = browser::url_path(&state.app.kernel.options().public_url);
    let site = if public_path.is_empty() { site } else { Router::new().nest(&public_path, site.clone()).merge(site) };
    let with_path = move |req: axum::extract::Request, next: axum::middleware::Next| {
        let path = public_path.clone();
        async move { pages::with_public_path(path, next.run(req)).await }
    };

    site.layer(axum::middleware::from_fn(with_path))
        .layer(axum::middleware::from_fn(error::refuse_nul_in_path))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            overload::InFlight::new(options.max_in_flight, &state.http),
            overload::limit,
        ))
        .layer(tower::util::option_layer(hsts))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http_metrics::track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), client_address))
        .layer(axum::middleware::from_fn_with_state(state.clone(), health::close_when_draining))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("x-latchkey-secret"),
        ]))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(request_ids))
        .layer(tower::util::option_layer(options.traces.then(|| axum::middleware::from_fn(request_span::trace))))
        .with_state(state)
}
