//! OpenTelemetry traces (SPEC §9, issue 16): the server sends its spans
//! over OTLP/HTTP to a collector, here a minimal one in the test that
//! decodes the protobuf `ExportTraceServiceRequest`s. The same test server
//! plays a remote provider whose discovery document records the
//! `traceparent` it is fetched with.
//!
//! Checked: one span per request named by its route template, with the
//! method, route, status and tenant; store operations as child spans with
//! `db.system`; the outbound discovery fetch as a client span whose
//! `traceparent` reached the provider; an incoming `traceparent` honoured;
//! and no secret, token, code or password of the test in any span name or
//! attribute.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

use crate::harness::*;

#[derive(Default)]
struct Seen {
    spans: Vec<Span>,
    /// `service.name` of every export.
    services: Vec<String>,
    /// The `traceparent` headers the discovery document was fetched with.
    traceparents: Vec<String>,
}

/// The collector and provider in one: `POST /v1/traces` and OIDC discovery.
struct Collector {
    base: String,
    seen: Arc<Mutex<Seen>>,
}

impl Collector {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let discovery = json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/jwks"),
        });
        let app = axum::Router::new()
            .route("/v1/traces", post(export))
            .route(
                "/.well-known/openid-configuration",
                get(move |State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap| async move {
                    if let Some(tp) = headers.get("traceparent") {
                        seen.lock().unwrap().traceparents.push(tp.to_str().unwrap().to_owned());
                    }
                    axum::Json(discovery)
                }),
            )
            .with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, seen }
    }

    /// Waits (bounded) until the spans received satisfy `done`.
    async fn wait_for(&self, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(&self.seen.lock().unwrap()) {
            assert!(tokio::time::Instant::now() < deadline, "no {what} in:\n{}", self.dump());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn dump(&self) -> String {
        let seen = self.seen.lock().unwrap();
        seen.spans.iter().map(|s| format!("{} {:?}\n", s.name, attrs(s))).collect()
    }
}

async fn export(State(seen): State<Arc<Mutex<Seen>>>, body: axum::body::Bytes) -> impl axum::response::IntoResponse {
    let req = ExportTraceServiceRequest::decode(body).expect("an OTLP/HTTP protobuf export");
    let mut seen = seen.lock().unwrap();
    for rs in req.resource_spans {
        let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
        seen.services.extend(resource.iter().filter(|kv| kv.key == "service.name").filter_map(|kv| text(&kv.value)));
        for ss in rs.scope_spans {
            seen.spans.extend(ss.spans);
        }
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn text(v: &Option<AnyValue>) -> Option<String> {
    match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn attrs(s: &Span) -> Vec<(String, String)> {
    s.attributes.iter().map(|KeyValue { key, value, .. }| (key.clone(), text(value).unwrap_or_default())).collect()
}

fn attr(s: &Span, key: &str) -> Option<String> {
    attrs(s).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request span named `name` (the first one).
fn request_span(seen: &Seen, name: &str) -> Option<Span> {
    seen.spans.iter().find(|s| s.name == name && attr(s, "http.route").is_some()).cloned()
}

/// Every span below `root` in its trace (children, grandchildren, …).
fn descendants<'a>(seen: &'a Seen, root: &Span) -> Vec<&'a Span> {
    let mut ids = vec![root.span_id.clone()];
    let mut out: Vec<&Span> = Vec::new();
    let mut grew = true;
    while grew {
        grew = false;
        for s in &seen.spans {
            if s.trace_id == root.trace_id && ids.contains(&s.parent_span_id) && !ids.contains(&s.span_id) {
                ids.push(s.span_id.clone());
                out.push(s);
                grew = true;
            }
        }
    }
    out
}

const INCOMING_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING_PARENT: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn traces_go_to_an_otlp_collector_with_routes_db_and_outbound_spans_and_no_secrets() {
    let collector = Collector::start().await;
    let install = Install::new().await;
    let env = [
        ("LATCHKEY_OTLP_ENDPOINT", collector.base.clone()),
        ("LATCHKEY_OTLP_SERVICE_NAME", "latchkey-under-test".to_owned()),
        ("LATCHKEY_OTLP_EXPORT_INTERVAL_MS", "50".to_owned()),
        ("LATCHKEY_REMOTE_ALLOW_PRIVATE", "[\"127.0.0.1\"]".to_owned()),
    ];
    let opts = Opts { env: env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(), ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;

    // Secrets, tokens, codes and passwords this test produces.
    let mut secrets = vec![ADMIN_SECRET.to_owned(), ADMIN_PASSWORD.to_owned()];
    let admin = admin_token(&s, "admin").await;
    secrets.push(admin.clone());
    let web = create_client(
        &s,
        json!({"name": "traced rp", "type": "web", "redirect_uris": ["https://rp.example/cb"], "scopes": ["openid"]}),
    )
    .await;
    let (web_id, web_secret) = (web["client_id"].as_str().unwrap(), web["client_secret"].as_str().unwrap());
    secrets.push(web_secret.to_owned());
    let password = "traced-user-password-42";
    let r = http()
        .post(s.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "tracy", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    secrets.push(password.to_owned());
    // A sign-in through the code flow: its code and tokens must not leak either.
    let tokens = crate::authz_matrix::sign_in(&s, web_id, web_secret, ("tracy", password), "openid").await;
    for field in ["access_token", "id_token", "refresh_token"] {
        if let Some(t) = tokens[field].as_str() {
            secrets.push(t.to_owned());
        }
    }

    // A query string (never recorded).
    let r = http().get(s.url("/.well-known/openid-configuration?probe=query-value-xyz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // A request that arrives inside a trace.
    let r = http()
        .get(s.url(&format!("/api/v1/clients/{web_id}")))
        .bearer_auth(&admin)
        .header("traceparent", format!("00-{INCOMING_TRACE}-{INCOMING_PARENT}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // A provider from its discovery document: an outbound request.
    let r = http()
        .post(s.url("/api/v1/providers"))
        .bearer_auth(&admin)
        .json(
            &json!({"name": "traced", "discovery_url": format!("{}/.well-known/openid-configuration", collector.base)}),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(status, 201, "{}", r.text().await.unwrap_or_default());

    collector
        .wait_for("provider request span with its outbound child", |seen| {
            request_span(seen, "POST /api/v1/providers").is_some_and(|root| {
                descendants(seen, &root).iter().any(|s| s.kind == 3 && attr(s, "db.system").is_none())
            }) && request_span(seen, "GET /api/v1/clients/{client_id}").is_some()
                && request_span(seen, "POST /login").is_some()
                && request_span(seen, "GET /.well-known/openid-configuration").is_some()
        })
        .await;
    let seen = collector.seen.lock().unwrap();
    assert!(seen.services.iter().all(|n| n == "latchkey-under-test"), "{:?}", seen.services);

    // The token request: a server span named by its route, with its
    // attributes, and the store operations under it.
    let token = request_span(&seen, "POST /oauth2/token").expect("a token request span");
    assert_eq!(token.kind, 2, "SERVER");
    assert_eq!(attr(&token, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(attr(&token, "http.route").as_deref(), Some("/oauth2/token"));
    assert_eq!(attr(&token, "http.response.status_code").as_deref(), Some("200"));
    assert_eq!(attr(&token, "latchkey.tenant").as_deref(), Some("default"));
    let db: Vec<&Span> = descendants(&seen, &token).into_iter().filter(|s| attr(s, "db.system").is_some()).collect();
    assert!(!db.is_empty(), "store spans under the token request:\n{}", collector_dump(&seen));
    let backend = if install.database_url.starts_with("postgres") { "postgresql" } else { "sqlite" };
    for span in &db {
        assert_eq!(attr(span, "db.system").as_deref(), Some(backend));
        assert_eq!(span.kind, 3, "CLIENT");
    }

    // The incoming traceparent is the parent of the request span.
    let traced = request_span(&seen, "GET /api/v1/clients/{client_id}").unwrap();
    assert_eq!(hex(&traced.trace_id), INCOMING_TRACE);
    assert_eq!(hex(&traced.parent_span_id), INCOMING_PARENT);
    assert_eq!(attr(&traced, "http.route").as_deref(), Some("/api/v1/clients/{client_id}"));

    // The discovery fetch: a client span under the provider request, whose
    // traceparent the provider received.
    let create = request_span(&seen, "POST /api/v1/providers").unwrap();
    assert_eq!(attr(&create, "http.response.status_code").as_deref(), Some("201"));
    let outbound = descendants(&seen, &create)
        .into_iter()
        .find(|s| s.kind == 3 && attr(s, "db.system").is_none())
        .expect("an outbound span");
    assert_eq!(outbound.name, "GET");
    assert_eq!(attr(outbound, "http.response.status_code").as_deref(), Some("200"));
    let sent = format!("00-{}-{}-01", hex(&create.trace_id), hex(&outbound.span_id));
    assert!(seen.traceparents.contains(&sent), "{sent} not in {:?}", seen.traceparents);

    // Traces start at requests: the background tasks' store operations
    // (usage, maintenance) make no root spans of their own.
    for span in seen.spans.iter().filter(|s| s.parent_span_id.is_empty()) {
        assert_eq!(span.kind, 2, "a root span that is not a request: {}", span.name);
    }

    // No raw path, query, secret, token, code or password anywhere.
    let code_redirects = ["code=", "probe", "query-value-xyz", web_id];
    for span in &seen.spans {
        let mut strings = vec![span.name.clone()];
        strings.extend(attrs(span).into_iter().flat_map(|(k, v)| [k, v]));
        for st in &strings {
            for secret in &secrets {
                assert!(!st.contains(secret.as_str()), "a secret in span {}: {st}", span.name);
            }
            for raw in code_redirects {
                assert!(!st.contains(raw), "{raw:?} in span {}: {st}", span.name);
            }
        }
    }
}

fn collector_dump(seen: &Seen) -> String {
    seen.spans.iter().map(|s| format!("{} {:?}\n", s.name, attrs(s))).collect()
}

/// Without `otlp_endpoint`, nothing is sent: a server started without it
/// never calls the collector.
#[tokio::test]
async fn without_an_endpoint_no_traces_are_sent() {
    let collector = Collector::start().await;
    let install = Install::new().await;
    let opts = Opts {
        env: vec![
            ("LATCHKEY_OTLP_EXPORT_INTERVAL_MS".into(), "50".into()),
            ("LATCHKEY_REMOTE_ALLOW_PRIVATE".into(), "[\"127.0.0.1\"]".into()),
        ],
        ..Opts::default()
    };
    let s = Server::start_with(&install, &opts).await;
    let admin = admin_token(&s, "admin").await;
    // The outbound request carries no traceparent either.
    let r = http()
        .post(s.url("/api/v1/providers"))
        .bearer_auth(&admin)
        .json(&json!({"name": "untraced", "discovery_url": format!("{}/.well-known/openid-configuration", collector.base)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let (_, logs) = s.stop().await;
    let seen = collector.seen.lock().unwrap();
    assert!(seen.spans.is_empty() && seen.traceparents.is_empty(), "{logs}");
    let serving: Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "latchkey is serving")
        .unwrap();
    assert_eq!(serving["fields"]["traces"], false);
}

/// A bad endpoint or sampling ratio stops the start with a clear message.
#[tokio::test]
async fn a_bad_otlp_setting_is_a_clear_error_at_start() {
    let install = Install::new().await;
    for (key, value, message) in [
        ("LATCHKEY_OTLP_ENDPOINT", "collector:4318", "otlp_endpoint must be an http(s) URL"),
        ("LATCHKEY_OTLP_SAMPLE_RATIO", "1.5", "otlp_sample_ratio must be a number from 0.0"),
    ] {
        let opts = Opts { env: vec![(key.into(), value.into())], ..Opts::default() };
        let Err(failed) = Server::try_start(&install, &opts).await else { panic!("{key}={value} was accepted") };
        assert!(!failed.status.success());
        assert!(failed.stderr.contains(message), "{key}: {}", failed.stderr);
    }
}
