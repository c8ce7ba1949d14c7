//! A rolling restart of two nodes under load (issue 15 item 3): behind a
//! load balancer that sends a request only to a node whose `/readyz`
//! answers 200 (checked before each request, as an active health check
//! with no interval) and tries the next node when a connection is refused,
//! each node in turn gets SIGTERM and is started again while clients keep
//! asking for tokens. With `shutdown_delay_seconds` a node drains first
//! (`/readyz` 503, connections closed after each answer), so no request is
//! lost: every one gets its 200.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::harness::*;

/// The nodes behind the balancer (replaced as they restart), and how many
/// requests each address served.
#[derive(Default)]
struct Pool {
    nodes: Mutex<Vec<String>>,
    next: AtomicUsize,
    served: Mutex<std::collections::HashMap<String, usize>>,
}

impl Pool {
    fn served_by(&self, node: &str) -> usize {
        self.served.lock().unwrap().get(node).copied().unwrap_or(0)
    }
}

#[derive(Clone)]
struct Balancer {
    pool: Arc<Pool>,
    /// Keeps connections to the nodes alive, as a load balancer does.
    client: reqwest::Client,
}

async fn balance(State(lb): State<Balancer>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let nodes = lb.pool.nodes.lock().unwrap().clone();
    let first = lb.pool.next.fetch_add(1, Ordering::SeqCst);
    for i in 0..nodes.len() {
        let node = &nodes[(first + i) % nodes.len()];
        let ready = lb.client.get(format!("{node}/readyz")).send().await;
        if !matches!(ready, Ok(ref r) if r.status() == 200) {
            continue;
        }
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut out = lb.client.request(parts.method.clone(), format!("{node}{path}"));
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                out = out.header(name, value);
            }
        }
        let answer = match out.body(body.clone()).send().await {
            Ok(a) => a,
            // Nothing was sent: the node is gone; the next one is asked.
            Err(e) if e.is_connect() => continue,
            Err(e) => return Response::builder().status(502).body(Body::from(format!("upstream: {e}"))).unwrap(),
        };
        *lb.pool.served.lock().unwrap().entry(node.clone()).or_default() += 1;
        let mut resp = Response::builder().status(StatusCode::from_u16(answer.status().as_u16()).unwrap());
        for (name, value) in answer.headers() {
            if !matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection") {
                resp = resp.header(name.as_str(), HeaderValue::from_bytes(value.as_bytes()).unwrap());
            }
        }
        return resp.body(Body::from(answer.bytes().await.unwrap())).unwrap();
    }
    Response::builder().status(503).body(Body::from("no node is ready")).unwrap()
}

/// Waits (bounded) until `node` has served `n` requests through the balancer.
async fn wait_served(pool: &Pool, node: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while pool.served_by(node) < n {
        assert!(tokio::time::Instant::now() < deadline, "{node} served {} requests, not {n}", pool.served_by(node));
        tokio::task::yield_now().await;
    }
}

/// Sends SIGTERM to a node; checks it drains (`/readyz` 503 `draining`
/// while it still serves) and exits 0.
async fn stop_draining(s: Server) {
    let readyz = s.url("/readyz");
    let stopping = tokio::spawn(s.terminate());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = http().get(&readyz).send().await.unwrap();
        if r.status() == 503 {
            // A draining node keeps no connection alive.
            assert_eq!(r.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
            assert_eq!(r.text().await.unwrap(), "draining\n");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the node never drained");
        tokio::task::yield_now().await;
    }
    let (status, logs) = stopping.await.unwrap();
    assert!(status.success(), "exit 0 after SIGTERM: {status}\n{logs}");
    assert!(logs.contains("draining: not ready, still serving"), "{logs}");
}

#[tokio::test]
async fn pg_only_a_rolling_restart_of_two_nodes_under_load_loses_no_request() {
    let install = Install::postgres().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let opts = Opts {
        public_url: Some(issuer.clone()),
        env: vec![("LATCHKEY_SHUTDOWN_DELAY_SECONDS".into(), "1".into())],
        ..Opts::default()
    };
    let (a, b) = tokio::join!(Server::start_with(&install, &opts), Server::start_with(&install, &opts));
    let pool = Arc::new(Pool::default());
    *pool.nodes.lock().unwrap() = vec![a.base.clone(), b.base.clone()];
    let app = axum::Router::new().fallback(balance).with_state(Balancer { pool: pool.clone(), client: http() });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Four clients asking for tokens through the balancer until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(std::collections::BTreeMap::<String, usize>::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, outcomes, url) = (stop.clone(), outcomes.clone(), format!("{issuer}/oauth2/token"));
            tokio::spawn(async move {
                let client = http();
                while !stop.load(Ordering::SeqCst) {
                    let r = client
                        .post(&url)
                        .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await;
                    let key = match r {
                        Ok(r) => {
                            let status = r.status();
                            let body = r.text().await.unwrap_or_default();
                            if status == 200 && body.contains("access_token") {
                                "200 with a token".to_owned()
                            } else {
                                format!("{status} {body}")
                            }
                        }
                        Err(e) => format!("error: {e}"),
                    };
                    *outcomes.lock().unwrap().entry(key).or_default() += 1;
                }
            })
        })
        .collect();

    // Both nodes serve; then each in turn drains, stops and comes back.
    wait_served(&pool, &a.base, 20).await;
    wait_served(&pool, &b.base, 20).await;
    let mut nodes = vec![a, b];
    for i in 0..2 {
        let old = nodes.remove(0);
        let old_base = old.base.clone();
        stop_draining(old).await;
        let new = Server::start_with(&install, &opts).await;
        pool.nodes.lock().unwrap()[i] = new.base.clone();
        wait_served(&pool, &new.base, 20).await;
        assert!(pool.served_by(&old_base) >= 20);
        nodes.push(new);
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }

    let outcomes = outcomes.lock().unwrap().clone();
    let total: usize = outcomes.values().sum();
    eprintln!("rolling restart: {total} requests: {outcomes:?}");
    assert_eq!(outcomes.len(), 1, "every request got a token: {outcomes:?}");
    assert!(outcomes.contains_key("200 with a token"));
}
