//! Every acknowledged write survives `kill -9`.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn revocation_survives_kill_9() {
    let install = Install::new().await;
    // The issuer stays the same across restarts, as in any real deployment.
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    create_scope(&s, "api:read").await;
    let c = create_client(
        &s,
        json!({"name": "durable", "type": "m2m", "scopes": ["api:read"], "access_token_format": "opaque"}),
    )
    .await;
    let (id, secret) = (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned());
    let issue = |s: &Server| {
        let url = s.url("/oauth2/token");
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            let (status, body) = post_basic(&url, &id, &secret, &[("grant_type", "client_credentials")]).await;
            assert_eq!(status, 200);
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let kept = issue(&s).await;
    let revoked = issue(&s).await;
    let jwt = admin_token(&s, "admin:read").await;
    assert_eq!(revoke(&s, &id, &secret, &revoked).await, 200);
    assert_eq!(revoke(&s, "latchkey-admin", ADMIN_SECRET, &jwt).await, 200);
    // Killed right after the acknowledgements: no graceful shutdown.
    s.kill9().await;

    let s = Server::start_with(&install, &opts).await;
    assert_eq!(introspect(&s, &id, &secret, &revoked).await, json!({"active": false}));
    assert_eq!(introspect(&s, &id, &secret, &jwt).await, json!({"active": false}));
    // The token that was issued (and acknowledged) but not revoked survived too.
    assert_eq!(introspect(&s, &id, &secret, &kept).await["active"], true);
}

/// SIGTERM (issue 15 item 3): the node stops accepting, a request already
/// in flight is answered, the usage counters and last-used times it had not
/// written yet are written, and it exits 0.
#[tokio::test]
async fn sigterm_finishes_requests_in_flight_and_writes_usage_before_exiting() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let install = Install::new().await;
    // Usage is written only at shutdown in this test (no periodic flush).
    // One request at a time: a 503 for a second request shows the first in
    // flight.
    let opts = Opts {
        env: vec![
            ("LATCHKEY_USAGE_FLUSH_SECONDS".into(), "3600".into()),
            ("LATCHKEY_MAX_IN_FLIGHT_REQUESTS".into(), "1".into()),
        ],
        ..Opts::default()
    };
    let s = Server::start_with(&install, &opts).await;
    let c = create_client(&s, serde_json::json!({"name": "Batch jobs", "type": "m2m"})).await;
    let (id, secret) = (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned());
    for _ in 0..3 {
        let (status, body) =
            post_basic(&s.url("/oauth2/token"), &id, &secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, 200, "{body}");
    }

    // A request in flight: its headers are in, its body is not.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let body = "grant_type=client_credentials";
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    };
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // In flight once it holds the only slot: the node then refuses the next.
    wait_in_flight(&s, 1).await;
    assert_eq!(http().get(s.url("/.well-known/openid-configuration")).send().await.unwrap().status(), 503);
    let pid = s.pid().to_string();
    let logs = s.logs.clone();
    let stopping = tokio::spawn(s.terminate());
    // Wait (bounded) for the node to begin shutting down.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !logs.lock().unwrap().join("\n").contains("shutting down") {
        assert!(std::time::Instant::now() < deadline, "no shutdown begins");
        tokio::task::yield_now().await;
    }
    // No new connection is served any more.
    let late = tokio::net::TcpStream::connect(&addr).await;
    if let Ok(mut late) = late {
        let _ = late.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut buf = Vec::new();
        let _ = late.read_to_end(&mut buf).await;
        assert!(
            !String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"),
            "a new connection after SIGTERM is not served"
        );
    }
    // The request in flight is answered.
    conn.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "the request in flight is served: {answer}");
    assert!(answer.contains("access_token"), "{answer}");

    let (status, logs) = stopping.await.unwrap();
    assert!(status.success(), "exit 0 after SIGTERM (pid {pid}): {status}");
    assert!(logs.contains("wrote client usage at shutdown"), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");

    // The next start knows the client was used: written at shutdown.
    let s = Server::start(&install).await;
    let token = admin_token(&s, "admin:read").await;
    let v: serde_json::Value = get_json(s.url(&format!("/api/v1/clients/{id}")), token).await;
    assert!(v["last_used_at"].is_string() || v["last_used_at"].is_number(), "last used, written at shutdown: {v}");
}
