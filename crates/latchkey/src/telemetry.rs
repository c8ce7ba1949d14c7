//! Logs, and OpenTelemetry traces when `otlp_endpoint` is set (SPEC §9).
//!
//! The spans Latchkey records for traces (one per HTTP request in
//! latchkey-web, one per store operation in latchkey-store, one per outbound
//! request in latchkey-app) use the target [`latchkey_app::telemetry::TARGET`].
//! Only the OpenTelemetry layer is interested in that target, and it exists
//! only when traces are configured: without it, no layer wants those
//! spans, `tracing` caches that per call site, and creating one costs a
//! relaxed atomic load. The log output is the same either way (the log
//! layer never sees these spans).
//!
//! Finished spans are batched on the SDK's own thread and sent as
//! OTLP/HTTP protobuf to `{otlp_endpoint}/v1/traces` through reqwest (the
//! client the outbound side already uses: no second HTTP or TLS stack). The
//! W3C trace-context propagator is installed globally: an incoming
//! `traceparent` becomes the request span's parent, outbound requests
//! carry one.

use std::time::Duration;

use anyhow::{Context, Result};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample,
};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::Config;

/// Time one export may take (connect, send, answer).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to flush when the process stops.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans not yet exported (bounded by the export timeout).
    /// Runs the blocking SDK call off the async workers.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let done = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(EXPORT_TIMEOUT)).await;
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %e, "sending the last traces failed");
            }
        }
    }
}

/// Sets up logging (and traces, when configured) for the process.
///
/// # Errors
/// When the trace exporter cannot be built.
pub fn init(c: &Config) -> Result<Telemetry> {
    let target = latchkey_app::telemetry::TARGET;
    // The log layer never shows the trace spans (their target is off for it).
    let filter = tracing_subscriber::EnvFilter::try_new(&c.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive(format!("{target}=off").parse().context("log filter")?);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(colour(&std::io::stderr()));
    let fmt = if c.log_format == "json" { fmt.json().boxed() } else { fmt.boxed() };
    let registry = tracing_subscriber::registry().with(fmt.with_filter(filter));
    let Some(endpoint) = &c.otlp_endpoint else {
        registry.init();
        return Ok(Telemetry::default());
    };
    let provider = provider(c, endpoint)?;
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("latchkey"))
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_filter(tracing_subscriber::filter::Targets::new().with_target(target, tracing::Level::TRACE));
    registry.with(traces).init();
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(Telemetry { provider: Some(provider) })
}

/// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org).
fn colour(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `{endpoint}/v1/traces`, as the OTLP specification builds a signal's URL
/// from a base URL (an endpoint that already names it is kept).
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") { base.to_owned() } else { format!("{base}/v1/traces") }
}

fn provider(c: &Config, endpoint: &str) -> Result<SdkTracerProvider> {
    let client = ExportClient {
        client: reqwest::Client::builder()
            .use_preconfigured_tls(latchkey_app::remote::http::tls_config().map_err(anyhow::Error::msg)?)
            .no_proxy()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .context("cannot build the trace exporter's HTTP client")?,
        runtime: tokio::runtime::Handle::current(),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .context("cannot build the OTLP trace exporter (otlp_endpoint)")?;
    let batch =
        BatchConfigBuilder::default().with_scheduled_delay(Duration::from_millis(c.otlp_export_interval_ms)).build();
    let processor = BatchSpanProcessor::builder(exporter).with_batch_config(batch).build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(c.otlp_service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(RequestsOnly(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(c.otlp_sample_ratio)))))
        .with_resource(resource)
        .build())
}

/// Traces start at requests: a span with no parent that is not a request
/// (the store operations of the background tasks: usage, maintenance,
/// rate-limit sharing) is dropped instead of making a trace of its own
/// every few seconds. Everything else is decided by `inner`.
#[derive(Debug, Clone)]
struct RequestsOnly(Sampler);

impl ShouldSample for RequestsOnly {
    fn should_sample(
        &self,
        parent: Option<&opentelemetry::Context>,
        trace_id: opentelemetry::trace::TraceId,
        name: &str,
        kind: &opentelemetry::trace::SpanKind,
        attributes: &[opentelemetry::KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        use opentelemetry::trace::TraceContextExt as _;
        let root = !parent.is_some_and(opentelemetry::Context::has_active_span);
        if root && *kind != opentelemetry::trace::SpanKind::Server {
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: opentelemetry::trace::TraceState::default(),
            };
        }
        self.0.should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

/// The exporter's HTTP client: reqwest on the server's runtime. The SDK
/// exports from its own thread (not a runtime worker), so each request is
/// spawned onto the runtime and awaited from there.
#[derive(Debug)]
struct ExportClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExportClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        let exchange = async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut out = opentelemetry_http::Response::builder().status(response.status());
            if let Some(headers) = out.headers_mut() {
                headers.extend(response.headers().clone());
            }
            let body = response.bytes().await?;
            Ok::<_, opentelemetry_http::HttpError>(out.body(body)?)
        };
        self.runtime.spawn(exchange).await?
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_traces_url_follows_the_otlp_rules() {
        assert_eq!(super::traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(super::traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(super::traces_url("https://c/otlp"), "https://c/otlp/v1/traces");
        assert_eq!(super::traces_url("https://c/v1/traces"), "https://c/v1/traces");
    }
}
