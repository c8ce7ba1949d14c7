//! A PostgreSQL outage: while the database is down a node answers at once
//! with 503 and `Retry-After` (RFC 6749 `temporarily_unavailable` on the
//! protocol endpoints, problem+json on the admin API), `/readyz` says not
//! ready and `/healthz` still answers; when the database is back, the same
//! node serves again without a restart. Runs on its own throwaway cluster
//! (scripts/pg-cluster.sh), since it stops it.

use std::path::PathBuf;
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

#[tokio::test]
async fn pg_only_a_database_outage_gets_503s_and_the_node_recovers_without_a_restart() {
    let db = own_cluster();
    let install = Install { dir: tempfile::tempdir().unwrap(), database_url: db.url.clone(), _db: None };
    let s = Server::start(&install).await;
    let r = token(&s).await;
    assert_eq!(r.status(), 200);
    let admin = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();

    cluster(&["pause", &db.dir]);
    // A new client: the cache holds the admin client, so ask for one the
    // node has not seen, which needs the database.
    let r = bounded()
        .post(s.url("/oauth2/token"))
        .basic_auth("never-seen-client", Some("whatever-secret-0123456789abcdefghijkl"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("an answer, not a hang");
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
    let api = bounded().get(s.url("/api/v1/clients")).bearer_auth(&admin).send().await.expect("an answer");
    assert_eq!(api.status(), 503);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    assert_eq!(api.headers()["retry-after"], "5");
    assert_eq!(bounded().get(s.url("/readyz")).send().await.unwrap().status(), 503, "not ready");
    assert_eq!(bounded().get(s.url("/healthz")).send().await.unwrap().status(), 200, "but alive");

    cluster(&["resume", &db.dir]);
    // The pool reconnects on its own: bounded by attempts, no restart.
    let mut recovered = false;
    for _ in 0..100 {
        let r = bounded().get(s.url("/api/v1/clients")).bearer_auth(&admin).send().await.unwrap();
        if r.status() == 200 {
            recovered = true;
            break;
        }
        let st = r.status();
        assert_eq!(st, 503, "only 503 while reconnecting: {}", r.text().await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the node serves again after the database returns");
    assert_eq!(bounded().get(s.url("/readyz")).send().await.unwrap().status(), 200);
    assert_eq!(token(&s).await.status(), 200);
    assert!(!s.logs().contains("panicked"), "no panic during the outage");
}
