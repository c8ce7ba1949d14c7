//! Reliability with figures (issue 15 item 1): races on one-time
//! credentials and `kill -9` under a mixed write load. The short version
//! runs in `scripts/test.sh`; `scripts/reliability.sh` runs the same tests
//! at full size (`LATCHKEY_RELIABILITY=full`) and turns the `reliability:`
//! lines they print into `docs/reliability.md`.
//!
//! - Races: per trial, one authorization code, one refresh token and one
//!   device code are each redeemed by two requests at once (on two nodes of
//!   one PostgreSQL in the `pg_only` variant): exactly one succeeds.
//! - Crashes: a server under concurrent client creations, secret rotations,
//!   refreshes and revocations is killed with SIGKILL after a number of
//!   acknowledged writes; after the restart every acknowledged write is
//!   there, every acknowledged revocation holds, and a write that was in
//!   flight is either whole or absent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

use super::{browser, create_user, field, location, param, sign_in};
use crate::harness::*;

const CB: &str = "https://web.example/callback";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn full() -> bool {
    std::env::var("LATCHKEY_RELIABILITY").is_ok_and(|v| v == "full")
}

/// A figure for `scripts/reliability.sh`.
fn report(part: &str, backend: &str, figures: &Value) {
    println!("reliability: {}", json!({"part": part, "backend": backend, "figures": figures}));
}

fn backend(install: &Install) -> &'static str {
    if install.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" }
}

/// A signed-in browser, a web client without consent and a device client.
struct World {
    b: reqwest::Client,
    api: reqwest::Client,
    web: (String, String),
    /// A machine client, for client_credentials tokens to revoke.
    m2m: (String, String),
    tv: String,
}

async fn world(s: &Server) -> World {
    create_user(s, "alice").await;
    let web = create_client(
        s,
        json!({"name": "Web", "type": "web", "redirect_uris": [CB], "scopes": ["openid", "offline_access"]}),
    )
    .await;
    let tv = create_client(
        s,
        json!({"name": "TV", "type": "device", "scopes": ["openid", "offline_access"],
               "grant_types": [DEVICE_GRANT, "refresh_token"]}),
    )
    .await;
    let m2m = create_client(s, json!({"name": "Service", "type": "m2m"})).await;
    let b = browser();
    let w = World {
        b,
        api: http(),
        web: (web["client_id"].as_str().unwrap().into(), web["client_secret"].as_str().unwrap().into()),
        m2m: (m2m["client_id"].as_str().unwrap().into(), m2m["client_secret"].as_str().unwrap().into()),
        tv: tv["client_id"].as_str().unwrap().into(),
    };
    // The first code signs alice in; the browser keeps the session.
    let (challenge, _) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let back = sign_in(s, &w.b, &authorize_url(s, &w, challenge.as_str()), true).await;
    assert!(param(&back, "code").is_some(), "{back}");
    w
}

fn authorize_url(s: &Server, w: &World, challenge: &str) -> String {
    format!(
        "{}?client_id={}&response_type=code&scope=openid%20offline_access&redirect_uri={CB}&state=s\
         &code_challenge={challenge}&code_challenge_method=S256",
        s.url("/oauth2/authorize"),
        w.web.0
    )
}

/// A fresh code of the signed-in browser, with its verifier.
async fn code(s: &Server, w: &World) -> (String, String) {
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let r = w.b.get(authorize_url(s, w, challenge.as_str())).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    (param(&location(&r), "code").expect("a code"), verifier.secret().clone())
}

async fn token(w: &World, s: &Server, form: &[(&str, &str)]) -> (u16, Value) {
    let r = w.api.post(s.url("/oauth2/token")).basic_auth(&w.web.0, Some(&w.web.1)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn redeem(w: &World, s: &Server, code: &str, verifier: &str) -> (u16, Value) {
    let form =
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", verifier)];
    token(w, s, &form).await
}

/// A device code approved by alice on `/device`.
async fn approved_device_code(s: &Server, w: &World) -> String {
    let r = w.api.post(s.url("/oauth2/device_authorization")).form(&[("client_id", w.tv.as_str())]).send().await;
    let d: Value = r.unwrap().json().await.unwrap();
    let user_code = d["user_code"].as_str().unwrap();
    let page = w.b.get(s.url(&format!("/device?user_code={user_code}"))).send().await.unwrap();
    let html = page.text().await.unwrap();
    let form = [("action", "allow"), ("csrf", &field(&html, "csrf")), ("user_code", user_code)];
    let done = w.b.post(s.url("/device")).form(&form).send().await.unwrap().text().await.unwrap();
    assert!(done.contains("Device connected"), "{done}");
    d["device_code"].as_str().unwrap().to_owned()
}

async fn poll(w: &World, s: &Server, device_code: &str) -> u16 {
    let form = [("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", w.tv.as_str())];
    w.api.post(s.url("/oauth2/token")).form(&form).send().await.unwrap().status().as_u16()
}

/// Trials of two simultaneous redemptions, each pair sent to `a` and `b`
/// (the same node, or two nodes of one database). Counts trials by the
/// number of successes.
async fn race_trials(a: &Server, b: &Server, w: &World, trials: usize) -> Value {
    let mut outcomes: HashMap<&str, [usize; 3]> = HashMap::new();
    for _ in 0..trials {
        let (c, v) = code(a, w).await;
        let (x, y) = tokio::join!(redeem(w, a, &c, &v), redeem(w, b, &c, &v));
        let wins = usize::from(x.0 == 200) + usize::from(y.0 == 200);
        outcomes.entry("authorization_code").or_default()[wins.min(2)] += 1;

        let (c, v) = code(a, w).await;
        let (status, first) = redeem(w, a, &c, &v).await;
        assert_eq!(status, 200, "{first}");
        let rt = first["refresh_token"].as_str().unwrap();
        let form = [("grant_type", "refresh_token"), ("refresh_token", rt)];
        let (x, y) = tokio::join!(token(w, a, &form), token(w, b, &form));
        let wins = usize::from(x.0 == 200) + usize::from(y.0 == 200);
        outcomes.entry("refresh_token").or_default()[wins.min(2)] += 1;

        let dc = approved_device_code(a, w).await;
        let (x, y) = tokio::join!(poll(w, a, &dc), poll(w, b, &dc));
        let wins = usize::from(x == 200) + usize::from(y == 200);
        outcomes.entry("device_code").or_default()[wins.min(2)] += 1;
    }
    for (kind, [none, one, two]) in &outcomes {
        assert_eq!((*none, *two), (0, 0), "{kind}: every trial has exactly one success ({outcomes:?})");
        assert_eq!(*one, trials);
    }
    json!(
        outcomes
            .iter()
            .map(|(k, [n, o, t])| (
                k.to_string(),
                json!({"trials": trials, "no_success": n, "one_success": o, "two_successes": t})
            ))
            .collect::<serde_json::Map<_, _>>()
    )
}

#[tokio::test]
async fn races_on_one_node_give_exactly_one_success_per_credential() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let w = world(&s).await;
    let trials = if full() { 1000 } else { 15 };
    let figures = race_trials(&s, &s, &w, trials).await;
    report("races, one node", backend(&install), &figures);
}

#[tokio::test]
async fn pg_only_races_across_two_nodes_give_exactly_one_success_per_credential() {
    let install = Install::postgres().await;
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let a = Server::start_with(&install, &opts).await;
    let b = Server::start_with(&install, &opts).await;
    let w = world(&a).await;
    let trials = if full() { 1000 } else { 15 };
    let figures = race_trials(&a, &b, &w, trials).await;
    report("races, two nodes", "postgres", &figures);
}

// ---- kill -9 under load ------------------------------------------------------

/// What the load was told succeeded, and what was in flight at the kill.
#[derive(Default)]
struct Ledger {
    /// Clients whose creation was acknowledged: the worker that made them
    /// (the only one that rotates their secrets) and their newest
    /// acknowledged secret.
    clients: HashMap<String, (usize, String)>,
    /// Rotations sent but not answered: the new secret is unknown, so the
    /// acknowledged one may or may not still work.
    rotating: Vec<String>,
    /// Access tokens whose revocation was acknowledged.
    revoked: Vec<String>,
    /// The newest acknowledged refresh token, and whether a refresh of it
    /// was in flight at the kill.
    refresh: Option<(String, bool)>,
    acknowledged: usize,
}

/// One worker of the mixed load: runs until the server dies.
async fn load(
    s: Arc<Server>,
    w: Arc<World>,
    ledger: Arc<Mutex<Ledger>>,
    acked: Arc<tokio::sync::Notify>,
    (kill, worker): (usize, usize),
) {
    let admin = admin_token(&s, "admin").await;
    let api = http();
    for round in 0.. {
        let op = (round + worker) % 4;
        let ok = match op {
            0 => {
                let r = api
                    .post(s.url("/api/v1/clients"))
                    .bearer_auth(&admin)
                    .json(&json!({"name": format!("load-{kill}-{worker}-{round}"), "type": "m2m"}))
                    .send()
                    .await;
                let Ok(r) = r else { return eprintln!("load {worker}: stops at line {}", line!()) };
                if !r.status().is_success() {
                    continue;
                }
                let Ok(body) = r.json::<Value>().await else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let (Some(id), Some(secret)) = (body["client_id"].as_str(), body["client_secret"].as_str()) else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                ledger.lock().unwrap().clients.insert(id.into(), (worker, secret.into()));
                true
            }
            1 => {
                let id = {
                    let mut l = ledger.lock().unwrap();
                    let own = l.clients.iter().find(|(_, (owner, _))| *owner == worker).map(|(id, _)| id.clone());
                    let Some(id) = own else { continue };
                    l.rotating.push(id.clone());
                    id
                };
                let r = api
                    .post(s.url(&format!("/api/v1/clients/{id}/secrets/rotate")))
                    .bearer_auth(&admin)
                    .json(&json!({"grace_seconds": 0}))
                    .send()
                    .await;
                let Ok(r) = r else { return eprintln!("load {worker}: stops at line {}", line!()) };
                let Ok(body) = r.json::<Value>().await else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let Some(secret) = body["client_secret"].as_str() else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let mut l = ledger.lock().unwrap();
                l.rotating.retain(|r| *r != id);
                l.clients.insert(id, (worker, secret.into()));
                true
            }
            2 => {
                let Ok(r) = api
                    .post(s.url("/oauth2/token"))
                    .basic_auth(&w.m2m.0, Some(&w.m2m.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let Ok(body) = r.json::<Value>().await else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let Some(at) = body["access_token"].as_str() else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let Ok(r) = api
                    .post(s.url("/oauth2/revoke"))
                    .basic_auth(&w.m2m.0, Some(&w.m2m.1))
                    .form(&[("token", at)])
                    .send()
                    .await
                else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                if r.status().as_u16() != 200 {
                    return eprintln!("load {worker}: stops at line {}", line!());
                }
                ledger.lock().unwrap().revoked.push(at.into());
                true
            }
            _ => {
                let rt = {
                    let mut l = ledger.lock().unwrap();
                    match l.refresh.as_mut() {
                        Some((rt, in_flight)) if !*in_flight => {
                            *in_flight = true;
                            rt.clone()
                        }
                        _ => continue,
                    }
                };
                let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
                let Ok(r) =
                    api.post(s.url("/oauth2/token")).basic_auth(&w.web.0, Some(&w.web.1)).form(&form).send().await
                else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let Ok(body) = r.json::<Value>().await else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                let Some(next) = body["refresh_token"].as_str() else {
                    return eprintln!("load {worker}: stops at line {}", line!());
                };
                ledger.lock().unwrap().refresh = Some((next.into(), false));
                true
            }
        };
        if ok {
            ledger.lock().unwrap().acknowledged += 1;
            acked.notify_one();
        }
    }
}

/// Restarts after each kill and checks the ledger against the server.
/// Returns the lost acknowledged writes.
async fn check(s: &Server, w: &World, ledger: &Ledger) -> usize {
    let mut lost = 0;
    let api = http();
    for (id, (_, secret)) in &ledger.clients {
        let r = api
            .post(s.url("/oauth2/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        // A rotation in flight may have replaced the acknowledged secret.
        if r.status().as_u16() != 200 && !ledger.rotating.contains(id) {
            lost += 1;
        }
    }
    for at in &ledger.revoked {
        if introspect(s, &w.m2m.0, &w.m2m.1, at).await["active"] != false {
            lost += 1;
        }
    }
    if let Some((rt, in_flight)) = &ledger.refresh
        && !in_flight
    {
        let (status, _) = token(w, s, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
        lost += usize::from(status != 200);
    }
    lost
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_under_mixed_load() {
    let install = Install::new().await;
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let kills = if full() { 100 } else { 4 };
    let first = Server::start_with(&install, &opts).await;
    let w = Arc::new(world(&first).await);
    first.stop().await;
    let (mut lost, mut writes, mut starts) = (0, 0, Vec::new());
    for kill in 0..kills {
        let started = Instant::now();
        let s = Arc::new(Server::start_with(&install, &opts).await);
        starts.push(started.elapsed().as_millis());
        // A refresh token to rotate in this round, from a fresh code.
        let (c, v) = code(&s, &w).await;
        let (status, body) = redeem(&w, &s, &c, &v).await;
        assert_eq!(status, 200, "{body}");
        let ledger = Arc::new(Mutex::new(Ledger {
            refresh: Some((body["refresh_token"].as_str().unwrap().into(), false)),
            ..Ledger::default()
        }));
        let acked = Arc::new(tokio::sync::Notify::new());
        let workers: Vec<_> = (0..3)
            .map(|n| tokio::spawn(load(s.clone(), w.clone(), ledger.clone(), acked.clone(), (kill, n))))
            .collect();
        // Kill after a varying number of acknowledged writes (no clock).
        let target = 10 + (kill * 7) % 30;
        while ledger.lock().unwrap().acknowledged < target {
            // Bounded: a load that stopped early is a failure, not a hang.
            let woke = tokio::time::timeout(std::time::Duration::from_secs(60), acked.notified()).await;
            assert!(woke.is_ok(), "the load stopped after {} writes", ledger.lock().unwrap().acknowledged);
        }
        let pid = s.pid();
        // SIGKILL while the workers are mid-request.
        let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
        for t in workers {
            let _ = t.await;
        }
        drop(s);
        let s = Server::start_with(&install, &opts).await;
        // The workers are gone: the ledger is the test's alone now.
        let snapshot = std::mem::take(&mut *ledger.lock().unwrap());
        writes += snapshot.acknowledged;
        lost += check(&s, &w, &snapshot).await;
        s.stop().await;
    }
    starts.sort_unstable();
    let median = starts[starts.len() / 2];
    report(
        "kill -9 under load",
        backend(&install),
        &json!({"kills": kills, "acknowledged_writes": writes, "lost": lost, "start_ms_median": median,
               "start_ms_max": starts.last()}),
    );
    assert_eq!(lost, 0, "every acknowledged write survives kill -9");
}
