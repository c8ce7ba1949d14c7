//! First start prints the bootstrap credentials once; a second start
//! changes nothing and prints no secret.

use serde_json::Value;

use crate::harness::*;

fn credential(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} missing in:\n{text}"))
        .trim()
        .to_owned()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn first_start_prints_credentials_once_second_start_changes_nothing() {
    let install = Install::new().await;
    let opts = Opts { generated_secrets: true, ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    let jwks_before: Value = http().get(s.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    let (stdout, logs) = s.stop().await;

    let file = install.dir.path().join("data/initial-credentials");
    let text = std::fs::read_to_string(&file).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let secret = credential(&text, "admin_client_secret");
    let password = credential(&text, "admin_password");
    assert!(secret.starts_with("lks_"));
    assert!(stdout.contains(&secret) && stdout.contains(&password), "printed once on stdout");
    assert!(!logs.contains(&secret) && !logs.contains(&password), "never in the logs");

    let s = Server::start_with(&install, &opts).await;
    let jwks_after: Value = http().get(s.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks_before, jwks_after, "no new keys on a second start");
    let (status, body) =
        post_basic(&s.url("/oauth2/token"), "latchkey-admin", &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "the first start's secret still works: {body}");
    let (stdout, logs) = s.stop().await;
    assert!(!stdout.contains("lks_") && !logs.contains("lks_"), "second start printed a secret:\n{stdout}\n{logs}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "credentials file untouched");
}

#[tokio::test]
async fn master_key_file_is_private_and_a_wrong_key_refuses_to_start() {
    let install = Install::new().await;
    // No LATCHKEY_MASTER_KEY: the server generates master.key in the data dir.
    let s = Server::start_with(&install, &Opts { master_key: Some(String::new()), ..Opts::default() }).await;
    drop(s);
    let key_file = install.dir.path().join("data/master.key");
    assert!(key_file.exists());
    #[cfg(unix)]
    assert_eq!(mode(&key_file), 0o600);

    let other = "HxwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEAAAA=";
    let failed = Server::try_start(&install, &Opts { master_key: Some(other.into()), ..Opts::default() }).await;
    let Err(f) = failed else { panic!("a server with the wrong master key must not start") };
    assert!(!f.status.success());
    assert!(f.stderr.contains("master key"), "{}", f.stderr);
}

/// Issue "trust", item 10: the data directory is the owner's only (0700),
/// and so are the SQLite database, its WAL and shared-memory files and
/// every file the server writes (0600), also in a directory an older
/// version left open.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let install = Install::new().await;
    let data = install.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = data.join("latchkey.db");
    let url = format!("sqlite://{}", db.display());
    let mut opts = Opts { master_key: Some(String::new()), generated_secrets: true, ..Opts::default() };
    opts.env.push(("LATCHKEY_DATABASE_URL".into(), url));
    let s = Server::start_with(&install, &opts).await;
    // A write, so the WAL and shared-memory files exist.
    let admin = {
        let text = std::fs::read_to_string(data.join("initial-credentials")).unwrap();
        let secret = credential(&text, "admin_client_secret");
        let (status, body) = post_basic(
            &s.url("/oauth2/token"),
            "latchkey-admin",
            &secret,
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    };
    let r = http()
        .post(s.url("/api/v1/scopes"))
        .bearer_auth(admin)
        .json(&serde_json::json!({"name": "perm:test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(mode(&data), 0o700, "the data directory");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(mode(&entry.path()), 0o600, "{name}");
        seen.push(name);
    }
    for f in ["latchkey.db", "latchkey.db-wal", "latchkey.db-shm", "master.key", "initial-credentials"] {
        assert!(seen.iter().any(|n| n == f), "{f} in {seen:?}");
    }
}
