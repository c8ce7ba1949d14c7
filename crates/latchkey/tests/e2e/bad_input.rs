//! Malformed requests get a 4xx with an RFC 6749 error body, never a 5xx,
//! and the server keeps serving.

use serde_json::Value;

use crate::harness::*;

struct Case {
    name: &'static str,
    build: fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    status: u16,
    error: &'static str,
}

fn basic_header(raw: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "no client authentication",
            build: |c, u| c.post(u).form(&[("grant_type", "client_credentials")]),
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "wrong secret",
            build: |c, u| {
                c.post(u).basic_auth("latchkey-admin", Some("lks_wrong")).form(&[("grant_type", "client_credentials")])
            },
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "unknown client",
            build: |c, u| {
                c.post(u).basic_auth("nobody", Some(ADMIN_SECRET)).form(&[("grant_type", "client_credentials")])
            },
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "client assertion without its type",
            build: |c, u| c.post(u).form(&[("grant_type", "client_credentials"), ("client_assertion", "a.b.c")]),
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "client assertion that is no JWT",
            build: |c, u| {
                c.post(u).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", "not-a-jwt"),
                ])
            },
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "client assertion for an unknown client",
            build: |c, u| {
                c.post(u).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    // {"alg":"none"} . {"sub":"nobody","iss":"nobody"} .
                    ("client_assertion", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJub2JvZHkiLCJpc3MiOiJub2JvZHkifQ."),
                ])
            },
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "client assertion together with Basic credentials",
            build: |c, u| {
                c.post(u).basic_auth("latchkey-admin", Some(ADMIN_SECRET)).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJub2JvZHkiLCJpc3MiOiJub2JvZHkifQ."),
                ])
            },
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "client assertion for the admin client, which uses a secret",
            build: |c, u| {
                c.post(u).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    // {"alg":"none"} . {"sub":"latchkey-admin","iss":"latchkey-admin"} .
                    (
                        "client_assertion",
                        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJsYXRjaGtleS1hZG1pbiIsImlzcyI6ImxhdGNoa2V5LWFkbWluIn0.",
                    ),
                ])
            },
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "unknown grant type",
            build: |c, u| c.post(u).basic_auth("latchkey-admin", Some(ADMIN_SECRET)).form(&[("grant_type", "magic")]),
            status: 400,
            error: "unsupported_grant_type",
        },
        Case {
            name: "legacy password grant (off)",
            build: |c, u| {
                c.post(u).basic_auth("latchkey-admin", Some(ADMIN_SECRET)).form(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", ADMIN_PASSWORD),
                ])
            },
            status: 400,
            error: "unsupported_grant_type",
        },
        Case {
            name: "missing grant type",
            build: |c, u| c.post(u).basic_auth("latchkey-admin", Some(ADMIN_SECRET)).form(&[("scope", "admin")]),
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "duplicated parameters",
            build: |c, u| {
                c.post(u)
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials&grant_type=client_credentials")
            },
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "wrong content type",
            build: |c, u| {
                c.post(u)
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .header("content-type", "application/json")
                    .body(r#"{"grant_type":"client_credentials"}"#)
            },
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "2 MB body",
            build: |c, u| {
                c.post(u)
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("grant_type=client_credentials&pad={}", "a".repeat(2 * 1024 * 1024)))
            },
            status: 413,
            error: "invalid_request",
        },
        Case {
            name: "invalid UTF-8",
            build: |c, u| {
                c.post(u)
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(b"grant_type=client_credentials&scope=\xff\xfe".to_vec())
            },
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "percent-encoded invalid UTF-8",
            build: |c, u| {
                c.post(u)
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials&scope=%ff%fe")
            },
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "malformed Basic header (bad base64)",
            build: |c, u| c.post(u).header("authorization", "Basic %%%").form(&[("grant_type", "client_credentials")]),
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "malformed Basic header (no colon)",
            build: |c, u| {
                c.post(u)
                    .header("authorization", basic_header("latchkey-admin"))
                    .form(&[("grant_type", "client_credentials")])
            },
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "malformed Basic header (8 kB)",
            build: |c, u| {
                c.post(u)
                    .header("authorization", format!("Basic {}", "QUFB".repeat(2048)))
                    .form(&[("grant_type", "client_credentials")])
            },
            status: 401,
            error: "invalid_client",
        },
        Case {
            name: "two authentication methods",
            build: |c, u| {
                c.post(u).basic_auth("latchkey-admin", Some(ADMIN_SECRET)).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "latchkey-admin"),
                    ("client_secret", ADMIN_SECRET),
                ])
            },
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "secret in the URL",
            build: |c, u| {
                c.post(format!("{u}?client_secret={ADMIN_SECRET}"))
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .form(&[("grant_type", "client_credentials")])
            },
            status: 400,
            error: "invalid_request",
        },
        Case {
            name: "scope not allowed",
            build: |c, u| {
                c.post(u)
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .form(&[("grant_type", "client_credentials"), ("scope", "users:write")])
            },
            status: 400,
            error: "invalid_scope",
        },
        Case {
            name: "malformed scope",
            build: |c, u| {
                c.post(u)
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .form(&[("grant_type", "client_credentials"), ("scope", "a\"b")])
            },
            status: 400,
            error: "invalid_scope",
        },
        Case {
            name: "GET on the token endpoint",
            build: |c, u| {
                c.get(format!("{u}?grant_type=client_credentials")).basic_auth("latchkey-admin", Some(ADMIN_SECRET))
            },
            status: 405,
            error: "invalid_request",
        },
    ]
}

async fn bad_input_never_5xx(install: Install) {
    let s = Server::start(&install).await;
    let client = http();
    let url = s.url("/oauth2/token");
    for case in cases() {
        let r = (case.build)(&client, &url).send().await.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["error"], case.error, "{}", case.name);
        assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{}", case.name);
        assert_eq!(headers["content-type"], "application/json", "{}", case.name);
        assert_eq!(headers["cache-control"], "no-store", "{}", case.name);
        if status == 401 {
            assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic"), "{}", case.name);
        }
        // RFC 6749 §5.2: error_description only in %x20-21 / %x23-5B / %x5D-7E.
        let d = body["error_description"].as_str().unwrap();
        assert!(d.chars().all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'), "{}: {d}", case.name);
    }
    // The same on introspection and revocation.
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        let r = client.post(s.url(path)).form(&[("token", "x")]).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let r = client
            .post(s.url(path))
            .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path} without token");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
    // The admin API answers problem+json, never 5xx, for bad input.
    let admin = admin_token(&s, "admin").await;
    for (body, ctype, want) in [
        ("{not json", "application/json", 400),
        (r#"{"name": ""}"#, "application/json", 422),
        (r#"{"name": "x", "type": "nope"}"#, "application/json", 422),
        (r#"{"name": "x", "unknown_field": 1}"#, "application/json", 422),
        ("name=x", "application/x-www-form-urlencoded", 415),
    ] {
        let r = client
            .post(s.url("/api/v1/clients"))
            .bearer_auth(&admin)
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let r = client.get(s.url("/api/v1/clients?limit=abc")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = client.get(s.url("/api/v1/clients?cursor=!!")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let r = client.get(s.url("/api/v1/clients")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = client.get(s.url("/no/such/path")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);

    // And the server still serves.
    admin_token(&s, "admin").await;
    let logs = s.logs();
    assert!(!logs.contains(ADMIN_SECRET), "a secret reached the logs");
    assert!(!logs.contains("panicked"), "{logs}");
}

#[tokio::test]
async fn bad_input_gets_4xx_and_server_keeps_serving() {
    bad_input_never_5xx(Install::new().await).await;
}

#[tokio::test]
async fn brute_force_on_a_client_is_slowed_down() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let url = s.url("/oauth2/token");
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let (status, _) =
            post_basic(&url, "latchkey-admin", "lks_wrong-guess", &[("grant_type", "client_credentials")]).await;
        statuses.push(status);
    }
    assert!(statuses.iter().all(|s| *s == 401));
    let r = http()
        .post(&url)
        .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429, "past 10 failures even the right secret waits");
    let wait: u32 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(wait, 1, "then the wait doubles with each further failure");
}

/// A client that never finishes its request headers (slowloris) is cut off
/// after the header timeout, and everyone else is still served.
#[tokio::test]
async fn slow_headers_are_cut_off_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let install = Install::new().await;
    let opts = Opts { env: vec![("LATCHKEY_HTTP_HEADER_TIMEOUT_SECONDS".into(), "1".into())], ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    // The server closes the connection by itself; the bound only keeps a
    // broken server from hanging the test run.
    let mut got = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), slow.read_to_end(&mut got)).await;
    let n = read.expect("the server closed the unfinished request").unwrap_or(0);
    let text = String::from_utf8_lossy(&got[..n]);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    let r = http().get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "the server still serves");
}

/// A request that holds its slot: headers announcing a body that never
/// comes, so the handler waits for it while counted in flight.
async fn stalled_request(addr: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type="
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// Past `max_in_flight_requests` a node answers at once with 503 and
/// `Retry-After`, in the endpoint's own error format, instead of queueing;
/// health stays visible; a freed slot serves again.
#[tokio::test]
async fn overload_gets_a_fast_503_in_the_endpoints_format() {
    let install = Install::new().await;
    let opts = Opts { env: vec![("LATCHKEY_MAX_IN_FLIGHT_REQUESTS".into(), "2".into())], ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let first = stalled_request(&addr).await;
    let _second = stalled_request(&addr).await;

    // The two stalled requests take their slots as soon as the server has
    // read their headers (on a loaded machine that can take a while). Until
    // then nothing else is sent: a probe holding a slot at the moment a
    // stalled request arrives would get that request refused instead.
    wait_in_flight(&s, 2).await;
    let r = http()
        .post(s.url("/oauth2/token"))
        .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "a third request in flight is refused");
    assert_eq!(metric(&s, "latchkey_http_requests_refused_busy_total ").await, 1);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "RFC 6749 on the token endpoint");

    let api = http().get(s.url("/api/v1/clients")).send().await.unwrap();
    assert_eq!(api.status(), 503);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    let page = http().get(s.url("/console/")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(http().get(s.url("/healthz")).send().await.unwrap().status(), 200, "health is never refused");

    // One stalled client goes away: its slot serves the next request.
    drop(first);
    wait_in_flight(&s, 1).await;
    let r = http().get(s.url("/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(r.status(), 200, "a freed slot serves again");
}
