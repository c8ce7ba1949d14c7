//! A PostgreSQL outage: while the database is down a node answers at once
//! with 503 and `Retry-After` (RFC 6749 `temporarily_unavailable` on the
//! protocol endpoints, problem+json on the admin API), `/readyz` says not
//! ready and `/healthz` still answers; when the database is back, the same
//! node serves again without a restart, 20 times in a row at full size
//! (`LATCHKEY_RELIABILITY=full`, scripts/reliability.sh). Runs on its own
//! throwaway cluster (scripts/pg-cluster.sh), since it stops it. And SQLite
//! on a full disk and a read-only file system: 503s, then no loss.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-cluster.sh")
}

fn cluster(args: &[&str]) -> String {
    let out = std::process::Command::new("bash").arg(script()).args(args).output().unwrap();
    assert!(out.status.success(), "pg-cluster.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Its own cluster, stopped and removed when dropped.
struct Cluster {
    url: String,
    dir: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash").arg(script()).args(["stop", &self.dir]).output();
    }
}

fn own_cluster() -> Cluster {
    let exports = cluster(&["start"]);
    let value =
        |key: &str| exports.lines().find_map(|l| l.strip_prefix(&format!("export {key}="))).unwrap().trim().to_owned();
    Cluster { url: value("LATCHKEY_TEST_PG_URL"), dir: value("LATCHKEY_TEST_PG_DIR") }
}

/// A client whose requests give up after 20 s: a hang fails the test.
fn bounded() -> reqwest::Client {
    latchkey_app::remote::http::install_tls_provider();
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

async fn token(s: &Server) -> reqwest::Response {
    bounded()
        .post(s.url("/oauth2/token"))
        .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .expect("an answer, not a hang")
}

fn full() -> bool {
    std::env::var("LATCHKEY_RELIABILITY").is_ok_and(|v| v == "full")
}

/// What the background load saw: statuses, and requests that got no answer
/// within the client's bound (a hang).
#[derive(Default)]
struct Seen {
    statuses: std::collections::BTreeMap<u16, u64>,
    no_answer: u64,
    slowest: Duration,
}

/// Token requests and admin API reads in a loop until `stop`.
fn load(s: &Server, admin: &str, stop: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) -> tokio::task::JoinHandle<()> {
    let (base, admin) = (s.base.clone(), admin.to_owned());
    tokio::spawn(async move {
        let c = bounded();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let started = std::time::Instant::now();
            let r = if i.is_multiple_of(2) {
                c.post(format!("{base}/oauth2/token"))
                    .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
                    .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
                    .send()
                    .await
            } else {
                c.get(format!("{base}/api/v1/clients")).bearer_auth(&admin).send().await
            };
            let took = started.elapsed();
            let mut seen = seen.lock().unwrap();
            seen.slowest = seen.slowest.max(took);
            match r {
                Ok(r) => *seen.statuses.entry(r.status().as_u16()).or_default() += 1,
                Err(_) => seen.no_answer += 1,
            }
        }
    })
}

/// Polls (bounded) until `/readyz` says `want`.
async fn ready_becomes(s: &Server, want: u16) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let r = bounded().get(s.url("/readyz")).send().await.expect("an answer");
        if r.status().as_u16() == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "/readyz never became {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// PostgreSQL stopped and started again (20 times at full size) under a
/// load of token requests and admin API reads: while it is down every
/// answer is a fast 503 with `Retry-After` in the endpoint's format, never a
/// 500 or a hang; `/readyz` says not ready; each time it returns, the same
/// node serves again without a restart.
#[tokio::test]
async fn pg_only_a_database_outage_gets_503s_and_the_node_recovers_without_a_restart() {
    let rounds = if full() { 20 } else { 2 };
    let db = own_cluster();
    let install = Install { dir: tempfile::tempdir().unwrap(), database_url: db.url.clone(), _db: None };
    let s = Server::start(&install).await;
    let r = token(&s).await;
    assert_eq!(r.status(), 200);
    let admin = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let workers: Vec<_> = (0..2).map(|_| load(&s, &admin, stop.clone(), seen.clone())).collect();
    let mut recoveries = Vec::new();
    for round in 0..rounds {
        cluster(&["pause", &db.dir]);
        ready_becomes(&s, 503).await;
        // A client the node has not seen needs the database.
        let r = bounded()
            .post(s.url("/oauth2/token"))
            .basic_auth("never-seen-client", Some("whatever-secret-0123456789abcdefghijkl"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("an answer, not a hang");
        assert_eq!(r.status(), 503, "round {round}");
        assert_eq!(r.headers()["retry-after"], "5");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
        let api = bounded().get(s.url("/api/v1/clients")).bearer_auth(&admin).send().await.expect("an answer");
        assert_eq!(api.status(), 503, "round {round}");
        assert_eq!(api.headers()["content-type"], "application/problem+json");
        assert_eq!(api.headers()["retry-after"], "5");
        assert_eq!(bounded().get(s.url("/healthz")).send().await.unwrap().status(), 200, "but alive");

        cluster(&["resume", &db.dir]);
        recoveries.push(ready_becomes(&s, 200).await);
        // Serving again: the pool reconnected on its own.
        let mut served = false;
        for _ in 0..100 {
            let r = bounded().get(s.url("/api/v1/clients")).bearer_auth(&admin).send().await.unwrap();
            if r.status() == 200 {
                served = true;
                break;
            }
            assert_eq!(r.status(), 503, "only 503 while reconnecting");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(served, "round {round}: the node serves again after the database returns");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(token(&s).await.status(), 200);
    assert!(!s.logs().contains("panicked"), "no panic during the outages");

    let seen = seen.lock().unwrap();
    let other: u64 = seen.statuses.iter().filter(|(k, _)| !matches!(k, 200 | 503)).map(|(_, v)| v).sum();
    assert_eq!(other, 0, "only 200 and 503 under the outages: {:?}", seen.statuses);
    assert_eq!(seen.no_answer, 0, "every request answered within the bound");
    assert!(seen.statuses.get(&503).copied().unwrap_or(0) > 0, "the load met the outages: {:?}", seen.statuses);
    recoveries.sort();
    println!(
        "reliability: {}",
        serde_json::json!({"part": "database outage", "backend": "postgres", "figures": {
            "outages": rounds,
            "requests": seen.statuses.values().sum::<u64>() + seen.no_answer,
            "ok": seen.statuses.get(&200).copied().unwrap_or(0),
            "unavailable": seen.statuses.get(&503).copied().unwrap_or(0),
            "other": other,
            "no_answer": seen.no_answer,
            "slowest_ms": seen.slowest.as_millis(),
            "ready_again_ms_median": recoveries[recoveries.len() / 2].as_millis(),
            "ready_again_ms_max": recoveries.last().map(Duration::as_millis),
        }})
    );
}

/// A small filesystem of its own (tmpfs), unmounted when dropped: the data
/// directory of a SQLite installation whose disk fills up or turns
/// read-only. Needs root (as `scripts/test.sh` runs in CI).
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(dir: PathBuf, size: &str) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mounting a tmpfs needs root (scripts/test.sh runs as root in CI)");
        Self { dir }
    }

    fn remount(&self, mode: &str) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {mode}");
    }

    /// Fills what is left with a file; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

async fn create(s: &Server, admin: &str, name: &str) -> reqwest::Response {
    bounded()
        .post(s.url("/api/v1/clients"))
        .bearer_auth(admin)
        .json(&serde_json::json!({"name": name, "type": "m2m"}))
        .send()
        .await
        .expect("an answer, not a hang")
}

/// A refused write says so: 503, `Retry-After`, problem+json without
/// internals.
async fn assert_refused(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert!(r.headers().contains_key("retry-after"), "{what}");
    let body = r.text().await.unwrap();
    assert!(body.contains("retry later"), "{what}: {body}");
    assert!(!body.to_lowercase().contains("sqlite") && !body.contains("disk"), "no internals: {body}");
}

async fn client_names(s: &Server, admin: &str) -> Vec<String> {
    let r = bounded().get(s.url("/api/v1/clients?limit=500")).bearer_auth(admin).send().await.unwrap();
    assert_eq!(r.status(), 200, "reads still work");
    let v: Value = r.json().await.unwrap();
    v["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn sqlite_only_a_full_disk_and_a_read_only_data_directory_give_503s_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(dir.path().join("data"), "24m");
    let install =
        Install { database_url: format!("sqlite://{}", disk.dir.join("latchkey.db").display()), dir, _db: None };
    let s = Server::start(&install).await;
    let r = token(&s).await;
    assert_eq!(r.status(), 200);
    let admin = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    for i in 0..3 {
        assert_eq!(create(&s, &admin, &format!("before {i}")).await.status(), 201);
    }

    // The disk is full: writes are refused with a clear 503; reads and
    // tokens for known clients go on; nothing is half written.
    let filler = disk.fill();
    let mut refused = 0;
    for i in 0..5 {
        let r = create(&s, &admin, &format!("refused {i}")).await;
        if r.status() == 201 {
            // SQLite may still fit a page or two into its WAL.
            continue;
        }
        assert_refused(r, "a write on a full disk").await;
        refused += 1;
    }
    assert!(refused >= 3, "writes on a full disk are refused");
    assert_eq!(token(&s).await.status(), 200, "tokens for known clients still come");
    assert!(client_names(&s, &admin).await.contains(&"before 2".to_owned()));
    assert_eq!(bounded().get(s.url("/healthz")).send().await.unwrap().status(), 200);

    // Space comes back: the same process writes again.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(create(&s, &admin, "after the disk was freed").await.status(), 201);

    let (_, logs) = s.stop().await;
    assert!(!logs.contains("panicked"), "no panic: {logs}");

    // A restart finds every acknowledged write and none of the refused ones
    // half there.
    let s = Server::start(&install).await;
    let admin = token(&s).await.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let names = client_names(&s, &admin).await;
    for name in ["before 0", "before 1", "before 2", "after the disk was freed"] {
        assert!(names.contains(&name.to_owned()), "{name} is there: {names:?}");
    }
    let refused_there = names.iter().filter(|n| n.starts_with("refused")).count();
    assert!(refused_there <= 5 - refused, "a refused write never lands later: {names:?}");
    s.stop().await;

    // A data directory on a read-only file system (Linux refuses to turn
    // one read-only while files in it are open for writing, so this is
    // met at start): the server does not start, and says why.
    disk.remount("ro");
    let Err(failed) = Server::try_start(&install, &Opts::default()).await else {
        panic!("a server on a read-only data directory must not pretend to serve");
    };
    assert!(!failed.stderr.contains("panicked"), "{}", failed.stderr);
    println!("read-only start: {}", failed.stderr.lines().last().unwrap_or_default());
    assert!(failed.stderr.to_lowercase().contains("read-only"), "the reason is named: {}", failed.stderr);
    disk.remount("rw");
}
