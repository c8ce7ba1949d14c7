//! Backups a user can come back from (issue 15 item 4): a backup taken
//! while the server serves, restored into an empty data directory, keeps
//! clients and lets a user refresh with a refresh token issued before the
//! backup; a restore without the master key, with another installation's
//! key, or over an existing database is refused. PostgreSQL: the
//! documented `pg_dump` / `pg_restore` recipe, checked the same way.

use std::path::Path;

use serde_json::{Value, json};

use super::{browser, create_user, param, sign_in};
use crate::harness::*;

const CB: &str = "https://web.example/callback";
pub(super) const ISSUER: &str = "http://latchkey.test";

pub(super) fn opts() -> Opts {
    Opts { public_url: Some(ISSUER.into()), ..Opts::default() }
}

fn sqlite_install() -> Install {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("data").join("latchkey.db").display());
    Install { dir, database_url, _db: None }
}

/// A web client and a refresh token of `alice`, from a real sign-in.
pub(super) async fn refresh_token_of_alice(s: &Server) -> (String, String, String) {
    create_user(s, "alice").await;
    let c = create_client(
        s,
        json!({"name": "Web app", "type": "web", "redirect_uris": [CB], "scopes": ["openid", "offline_access"]}),
    )
    .await;
    let (id, secret) = (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned());
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "{}?client_id={id}&response_type=code&scope=openid%20offline_access&redirect_uri={CB}&state=s\
         &code_challenge={}&code_challenge_method=S256",
        s.url("/oauth2/authorize"),
        challenge.as_str()
    );
    let back = sign_in(s, &browser(), &url, true).await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", verifier.secret().as_str()),
    ];
    let (status, body) = post_basic(&s.url("/oauth2/token"), &id, &secret, &form).await;
    assert_eq!(status, 200, "{body}");
    (id, secret, body["refresh_token"].as_str().expect("a refresh token").to_owned())
}

pub(super) async fn refresh(s: &Server, id: &str, secret: &str, token: &str) -> (u16, Value) {
    post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "refresh_token"), ("refresh_token", token)]).await
}

/// Runs the `latchkey` command line with an installation's settings.
pub(super) async fn latchkey(install: &Install, master_key: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.args(args)
        .current_dir(install.dir.path())
        .env("LATCHKEY_DATA_DIR", install.dir.path().join("data"))
        .env("LATCHKEY_DATABASE_URL", &install.database_url)
        .env_remove("LATCHKEY_CONFIG");
    match master_key {
        Some(k) => cmd.env("LATCHKEY_MASTER_KEY", k),
        None => cmd.env_remove("LATCHKEY_MASTER_KEY"),
    };
    let out = cmd.output().await.unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

async fn client_exists(s: &Server, id: &str) -> bool {
    let token = admin_token(s, "admin:read").await;
    let r = http().get(s.url(&format!("/api/v1/clients/{id}"))).bearer_auth(token).send().await.unwrap();
    r.status().as_u16() == 200
}

pub(super) fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn sqlite_only_a_backup_taken_while_serving_restores_clients_and_refresh_tokens() {
    let a = sqlite_install();
    let s = Server::start_with(&a, &opts()).await;
    let (id, secret, rt) = refresh_token_of_alice(&s).await;

    let file = a.dir.path().join("snapshot.db");
    let file_arg = file.to_str().unwrap();
    let (ok, out, err) = latchkey(&a, Some(MASTER_KEY), &["backup", file_arg]).await;
    assert!(ok, "backup failed: {err}");
    assert!(out.contains("cannot be read without the master key"), "{out}");
    assert_eq!(mode(&file), 0o600, "a backup holds secrets: owner only");
    let (ok, _, err) = latchkey(&a, Some(MASTER_KEY), &["backup", file_arg]).await;
    assert!(!ok && err.contains("already exists"), "a backup never overwrites: {err}");
    // Written after the backup: not in it.
    let later = create_client(&s, json!({"name": "After the backup", "type": "m2m"})).await;
    s.stop().await;

    // Another machine: an empty data directory.
    let b = sqlite_install();
    let (ok, _, err) = latchkey(&b, None, &["restore", file_arg]).await;
    assert!(!ok && err.contains("no master key"), "without the key nothing is restored: {err}");
    let other_key = "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=";
    let (ok, _, err) = latchkey(&b, Some(other_key), &["restore", file_arg]).await;
    assert!(!ok && err.contains("does not open"), "another installation's key is refused: {err}");
    assert!(!b.dir.path().join("data/latchkey.db").exists(), "a refused restore leaves nothing behind");
    let junk = b.dir.path().join("junk.db");
    std::fs::write(&junk, "not a database").unwrap();
    let (ok, _, err) = latchkey(&b, Some(MASTER_KEY), &["restore", junk.to_str().unwrap()]).await;
    assert!(!ok && err.contains("not a Latchkey backup"), "{err}");

    let (ok, out, err) = latchkey(&b, Some(MASTER_KEY), &["restore", file_arg]).await;
    assert!(ok, "restore failed: {err}");
    assert!(out.contains("Restored"), "{out}");
    assert_eq!(mode(&b.dir.path().join("data/latchkey.db")), 0o600);
    let (ok, _, err) = latchkey(&b, Some(MASTER_KEY), &["restore", file_arg]).await;
    assert!(!ok && err.contains("already exists"), "never over a database: {err}");

    let s = Server::start_with(&b, &opts()).await;
    let (status, body) = refresh(&s, &id, &secret, &rt).await;
    assert_eq!(status, 200, "a refresh token from before the backup still works: {body}");
    assert!(client_exists(&s, &id).await);
    assert!(!client_exists(&s, later["client_id"].as_str().unwrap()).await, "written after the backup");
}

/// The PostgreSQL binary `name` of Debian's newest installed version.
fn pg_tool(name: &str) -> String {
    let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin").join(name)).filter(|p| p.exists()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.pop().map_or_else(|| name.to_owned(), |p| p.display().to_string())
}

#[tokio::test]
async fn pg_only_pg_dump_and_pg_restore_keep_clients_and_refresh_tokens() {
    let a = Install::postgres().await;
    let s = Server::start_with(&a, &opts()).await;
    let (id, secret, rt) = refresh_token_of_alice(&s).await;
    let (ok, _, err) = latchkey(&a, Some(MASTER_KEY), &["backup", "x.db"]).await;
    assert!(!ok && err.contains("pg_dump"), "the CLI points PostgreSQL users at pg_dump: {err}");

    // The recipe of docs/deploy.md, while the server runs.
    let dump = a.dir.path().join("latchkey.dump");
    let out = tokio::process::Command::new(pg_tool("pg_dump"))
        .args(["--format=custom", "--file", dump.to_str().unwrap(), &a.database_url])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    s.stop().await;

    let b = Install::postgres().await;
    let out = tokio::process::Command::new(pg_tool("pg_restore"))
        .args(["--no-owner", "--dbname", &b.database_url, dump.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "pg_restore: {}", String::from_utf8_lossy(&out.stderr));
    let s = Server::start_with(&b, &opts()).await;
    let (status, body) = refresh(&s, &id, &secret, &rt).await;
    assert_eq!(status, 200, "a refresh token from before the dump still works: {body}");
    assert!(client_exists(&s, &id).await);
}
