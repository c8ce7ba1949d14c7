//! Trace context for OpenTelemetry (SPEC §9): the target of the spans
//! exported as traces, and the W3C `traceparent` of outbound requests.
//!
//! The spans are plain `tracing` spans with the target [`TARGET`]; the
//! binary exports them when `otlp_endpoint` is set and no layer is
//! interested in them otherwise (then they cost next to nothing, and
//! nothing here runs). Their attributes never carry a token, code,
//! secret, password, header value or query string.

/// The `tracing` target of the spans exported as traces. latchkey-store
/// spells it out (`"latchkey_otel"`) in its `#[instrument]` attributes,
/// which need a literal.
pub const TARGET: &str = "latchkey_otel";

/// Adds the trace context of `span` (`traceparent`, and `tracestate` when
/// there is one) to the headers of an outbound request, so that the
/// receiver's spans join the trace. Nothing when `span` is not recorded.
pub fn inject(span: &tracing::Span, headers: &mut reqwest::header::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if span.is_disabled() {
        return;
    }
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(headers));
    });
}
