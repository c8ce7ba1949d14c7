//! One span per request for OpenTelemetry traces (SPEC §9), named by the
//! route that matched (`POST /oauth2/token`, `GET /api/v1/clients/{client_id}`):
//! the method, the route template, the status and the tenant, never the
//! path's values, the query, a header or a body. An incoming W3C
//! `traceparent` becomes its parent. The layer is only there when traces
//! are on (`HttpOptions::traces`); the check below covers a subscriber
//! without the OpenTelemetry layer all the same.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub(crate) async fn trace(req: Request, next: Next) -> Response {
    if !tracing::span_enabled!(target: "latchkey_otel", tracing::Level::INFO) {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let tenant = route.as_deref().map_or_else(|| "default".to_owned(), |r| tenant(r, req.uri().path()));
    // Unmatched paths are named by the method alone (their path is input).
    let name = route.as_ref().map_or_else(|| method.clone(), |r| format!("{method} {r}"));
    let span = tracing::info_span!(
        target: "latchkey_otel",
        "HTTP request",
        otel.name = name,
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        latchkey.tenant = tenant,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
    });
    let _ = span.set_parent(parent);
    let resp = next.run(req).instrument(span.clone()).await;
    span.record("http.response.status_code", resp.status().as_u16());
    if resp.status().is_server_error() {
        span.record("otel.status_code", "error");
    }
    resp
}

/// The tenant a request is for: the path segment where the route has
/// `{tenant}`, else the default tenant.
fn tenant(route: &str, path: &str) -> String {
    route
        .split('/')
        .position(|s| s == "{tenant}")
        .and_then(|i| path.split('/').nth(i))
        .filter(|t| latchkey_core::TenantId::parse(t).is_ok())
        .unwrap_or("default")
        .to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tenant_comes_from_the_route_template() {
        assert_eq!(super::tenant("/t/{tenant}/oauth2/token", "/t/acme/oauth2/token"), "acme");
        assert_eq!(super::tenant("/auth/t/{tenant}/oauth2/token", "/auth/t/acme/oauth2/token"), "acme");
        assert_eq!(super::tenant("/oauth2/token", "/oauth2/token"), "default");
        assert_eq!(super::tenant("/t/{tenant}/x", "/t/NOT%20A%20TENANT/x"), "default");
    }
}
