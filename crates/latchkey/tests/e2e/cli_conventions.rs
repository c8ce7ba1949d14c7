//! The CLI's conventions, run as a real process against a real server:
//! one exit code per kind of failure, `-o table|json|yaml` anywhere on the
//! line, secrets shown once and kept nowhere (or written to a private
//! `--output-file`), the audit log by time, no colour codes in pipes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cli::{Cli, Out, assert_one_line_error, audit_count, create, token_status};
use crate::harness::*;

/// Exactly this exit code and one line on stderr.
fn assert_exit(o: &Out, code: i32) -> &str {
    assert_eq!(o.code, code, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert_one_line_error(o)
}

#[tokio::test]
async fn cli_exit_codes_are_distinct_per_kind_of_failure() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    // 2 usage (clap), before anything reaches the server.
    let o = cli.run(&["client", "create", "--type", "m2m"]).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(cli.run(&["client", "list", "--output", "xml"]).await.code, 2);
    assert_eq!(cli.run(&["audit", "list", "--since", "last tuesday"]).await.code, 2);
    // 1 anything else: a file that cannot be read.
    assert!(assert_exit(&cli.run(&["apply", "no-such-file.yaml"]).await, 1).contains("cannot read"));
    // 3 not found.
    assert!(assert_exit(&cli.run(&["client", "show", "no-such-client"]).await, 3).contains("404"));
    assert_exit(&cli.run(&["scope", "delete", "no:such"]).await, 3);
    // 4 conflict: a taken name; a scope in use.
    create(&cli, &["--name", "taken", "--type", "m2m"]).await;
    let o = cli.run(&["client", "create", "--name", "taken", "--type", "m2m"]).await;
    assert!(assert_exit(&o, 4).contains("409"), "{}", o.stderr);
    cli.ok(&["scope", "create", "in:use"]).await;
    cli.ok(&["class", "create", "user-of-it", "--scope", "in:use"]).await;
    assert_exit(&cli.run(&["scope", "delete", "in:use"]).await, 4);
    // 5 invalid input refused by the server.
    let bad = ["client", "create", "--name", "bad", "--type", "web", "--redirect-uri", "http://example.com/cb"];
    let line = assert_exit(&cli.run(&bad).await, 5).to_owned();
    assert!(line.contains("422") && line.contains("redirect_uris"), "{line}");
    // 6 authentication and authorization: wrong secret (never echoed),
    // not signed in, a viewer writing, a protected client without --force.
    let o = cli.run_env(&["client", "list"], &[("LATCHKEY_CLIENT_SECRET", "wrong-secret-value")]).await;
    let line = assert_exit(&o, 6);
    assert!(line.contains("invalid_client") && !line.contains("wrong-secret-value"), "{line}");
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap();
    let nobody = [("LATCHKEY_CLIENT_ID", ""), ("HOME", home), ("XDG_CONFIG_HOME", home)];
    assert!(assert_exit(&cli.run_env(&["client", "list"], &nobody).await, 6).contains("not signed in"));
    let v = create(&cli, &["--name", "viewer bot", "--type", "m2m", "--scope", "admin:read", "--admin-role", "viewer"])
        .await;
    let viewer = [
        ("LATCHKEY_CLIENT_ID", v["client_id"].as_str().unwrap()),
        ("LATCHKEY_CLIENT_SECRET", v["client_secret"].as_str().unwrap()),
    ];
    assert_eq!(cli.run_env(&["client", "list"], &viewer).await.code, 0, "a viewer reads");
    let o = cli.run_env(&["scope", "create", "x:y"], &viewer).await;
    assert!(assert_exit(&o, 6).contains("403"), "{}", o.stderr);
    assert!(assert_exit(&cli.run(&["client", "disable", "latchkey-console"]).await, 6).contains("--force"));
    // 7 the server cannot be reached.
    let o = cli.run_env(&["client", "list"], &[("LATCHKEY_SERVER", "http://127.0.0.1:9")]).await;
    assert!(assert_exit(&o, 7).contains("cannot reach"), "{}", o.stderr);
}

#[tokio::test]
async fn cli_output_format_is_accepted_anywhere_on_the_line() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    // Before the subcommand, between group and command, at the end.
    let v = cli.ok(&["-o", "json", "client", "show", "latchkey-admin"]).await.json();
    assert_eq!(v["client_id"], "latchkey-admin");
    let t = cli.ok(&["client", "--output", "table", "show", "latchkey-admin"]).await.stdout;
    assert!(t.lines().any(|l| l.starts_with("client_id") && l.contains("latchkey-admin")), "{t}");
    let y = cli.ok(&["client", "show", "latchkey-admin", "-o", "yaml"]).await.stdout;
    let y: Value = serde_yaml_ng::from_str(&y).unwrap();
    assert_eq!(y["client_id"], "latchkey-admin");
    // The same three on other commands.
    for args in [
        &["-o", "yaml", "whoami"][..],
        &["audit", "list", "-o", "yaml"],
        &["--output", "yaml", "scope", "list"],
        &["user", "list", "-o", "yaml"],
        &["keys", "list", "-o", "yaml"],
    ] {
        let out = cli.ok(args).await.stdout;
        assert!(serde_yaml_ng::from_str::<Value>(&out).is_ok_and(|v| v.is_object()), "{args:?}: {out}");
    }
    let me = cli.ok(&["whoami", "-o", "json"]).await.json();
    assert_eq!(me["id"], "latchkey-admin");
    // Export: YAML unless JSON is asked for, which reads back the same.
    let yaml: Value = serde_yaml_ng::from_str(&cli.ok(&["export"]).await.stdout).unwrap();
    let json = cli.ok(&["-o", "json", "export"]).await.json();
    assert_eq!(yaml, json);
    let file = cli.dir.path().join("export.json");
    cli.ok(&["export", "-o", "json", "--output-file", file.to_str().unwrap()]).await;
    let plan = cli.ok(&["plan", file.to_str().unwrap(), "-o", "json"]).await.json();
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files(&p)) } else { out.push(p) }
    }
    out
}

#[tokio::test]
async fn cli_secrets_are_shown_once_and_kept_nowhere() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    // Every place a CLI may keep state points into one empty directory.
    let home = tempfile::tempdir().unwrap();
    let h = |sub: &str| home.path().join(sub).to_str().unwrap().to_owned();
    let dirs = [
        ("HOME", h("")),
        ("XDG_CONFIG_HOME", h("config")),
        ("XDG_CACHE_HOME", h("cache")),
        ("XDG_DATA_HOME", h("data")),
        ("XDG_STATE_HOME", h("state")),
        ("XDG_RUNTIME_DIR", h("run")),
    ];
    let env: Vec<(&str, &str)> = dirs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = |args: &'static [&'static str]| cli.run_env(args, &env);
    let mut secrets = Vec::new();
    let o = cli.run_env(&["client", "create", "--name", "once", "--type", "m2m", "--client-id", "once"], &env).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("shown once and kept nowhere"), "{}", o.stderr);
    secrets.push(o.json()["client_secret"].as_str().unwrap().to_owned());
    for args in [&["client", "secret", "add", "once"][..], &["client", "secret", "rotate", "once"]] {
        let o = cli.run_env(args, &env).await;
        assert_eq!(o.code, 0, "{}", o.stderr);
        secrets.push(o.json()["client_secret"].as_str().unwrap().to_owned());
    }
    let o = run(&["client", "secret", "rotate", "once", "-o", "table"]).await;
    let shown = o.stdout.lines().find_map(|l| l.strip_prefix("client_secret")).map(str::trim);
    secrets.push(shown.unwrap_or_else(|| panic!("the table shows the secret: {}", o.stdout)).to_owned());
    let o = run(&["user", "create", "onetime"]).await;
    secrets.push(o.json()["password"].as_str().unwrap().to_owned());
    let o = run(&["tenant", "create", "once-tenant"]).await;
    let t = o.json();
    secrets.push(t["admin_client_secret"].as_str().unwrap().to_owned());
    secrets.push(t["admin_password"].as_str().unwrap().to_owned());
    // There is no command that could print one of them again…
    assert_eq!(run(&["client", "credentials", "once"]).await.code, 2);
    // …and no copy on disk, anywhere the CLI could keep one.
    for f in files(home.path()) {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{} holds a secret", f.display());
        }
    }
    assert_eq!(files(home.path()), Vec::<PathBuf>::new(), "the CLI wrote nothing under HOME or the XDG directories");
}

#[tokio::test]
async fn cli_output_file_takes_the_secret_privately_and_never_overwrites_by_accident() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let path = cli.dir.path().join("ci.secret");
    let p = path.to_str().unwrap();
    let o =
        cli.ok(&["client", "create", "--name", "ci", "--type", "m2m", "--client-id", "ci", "--output-file", p]).await;
    let v = o.json();
    assert!(v.get("client_secret").is_none(), "not printed: {v}");
    assert!(o.stderr.contains("ci.secret") && o.stderr.contains("0600"), "{}", o.stderr);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let secret = std::fs::read_to_string(&path).unwrap();
    assert!(secret.ends_with('\n') && secret.starts_with("lks_"), "one line: {secret:?}");
    assert_eq!(token_status(&s, "ci", secret.trim_end()).await, 200);
    // An existing file: refused before anything is created at the server.
    let before = audit_count(&s).await;
    let o = cli.run(&["client", "create", "--name", "ci 2", "--type", "m2m", "--output-file", p]).await;
    assert!(assert_one_line_error(&o).contains("--force"), "{}", o.stderr);
    assert_eq!(o.code, 4);
    let o = cli.run(&["client", "secret", "rotate", "ci", "--output-file", p]).await;
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert_eq!(audit_count(&s).await, before, "nothing was created or rotated");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), secret);
    // --force replaces it, with the new secret, still 0600.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = cli.ok(&["client", "secret", "rotate", "ci", "--grace", "0", "--output-file", p, "--force"]).await;
    assert!(o.json().get("client_secret").is_none());
    let rotated = std::fs::read_to_string(&path).unwrap();
    assert_ne!(rotated, secret);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(token_status(&s, "ci", rotated.trim_end()).await, 200);
    assert_eq!(token_status(&s, "ci", secret.trim_end()).await, 401);
    // A generated password, and a new tenant's first credentials.
    let pw = cli.dir.path().join("pw");
    cli.ok(&["user", "create", "filed", "--output-file", pw.to_str().unwrap()]).await;
    assert!(std::fs::read_to_string(&pw).unwrap().trim_end().len() >= 12);
    let creds = cli.dir.path().join("acme.credentials");
    let t = cli.ok(&["tenant", "create", "acme", "--output-file", creds.to_str().unwrap()]).await.json();
    assert!(t.get("admin_client_secret").is_none() && t.get("admin_password").is_none(), "{t}");
    let text = std::fs::read_to_string(&creds).unwrap();
    let line = |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k} = "))).unwrap_or("").to_owned();
    assert_eq!(line("admin_client_id"), t["admin_client_id"].as_str().unwrap());
    let (status, _) = post_basic(
        &s.url("/t/acme/oauth2/token"),
        &line("admin_client_id"),
        &line("admin_client_secret"),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(line("admin_password").len() >= 12);
}

#[tokio::test]
async fn cli_audit_list_by_time_and_every_page() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    for i in 0..3 {
        create(&cli, &["--name", &format!("audited {i}"), "--type", "m2m"]).await;
    }
    let count = |v: &Value| v["items"].as_array().unwrap().len();
    let total = audit_count(&s).await;
    assert!(total >= 3);
    let recent = cli.ok(&["audit", "list", "--since", "1h", "--all"]).await.json();
    assert_eq!(count(&recent), total, "{recent}");
    assert_eq!(count(&cli.ok(&["audit", "list", "--since", "2999-01-01"]).await.json()), 0);
    assert_eq!(count(&cli.ok(&["audit", "list", "--until", "2000-01-01T00:00:00Z"]).await.json()), 0);
    let both = cli.ok(&["audit", "list", "--since", "2000-01-01", "--until", "2999-01-01", "--all"]).await.json();
    assert_eq!(count(&both), total);
    // One page unless --all follows them.
    let page = cli.ok(&["audit", "list", "--limit", "2"]).await.json();
    assert_eq!(count(&page), 2);
    assert!(page["next_cursor"].is_string(), "{page}");
    let all = cli.ok(&["audit", "list", "--limit", "2", "--all"]).await.json();
    assert_eq!(count(&all), total);
    assert_eq!(all["next_cursor"], Value::Null);
    let creates = cli.ok(&["audit", "list", "--action", "client.create", "--since", "10m", "--all"]).await.json();
    assert_eq!(count(&creates), 3);
}

/// Runs the binary with `args`, nothing else in its environment that matters.
async fn latchkey(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn cli_help_has_examples_and_no_colour_codes_in_a_pipe() {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let help = text(&latchkey(&["--help"]).await.stdout);
    assert!(help.contains("Exit codes:") && help.contains("7  server unreachable"), "{help}");
    for args in [&["client", "create", "--help"][..], &["audit", "list", "--help"], &["plan", "--help"]] {
        let help = text(&latchkey(args).await.stdout);
        assert!(help.contains("Examples:\n  latchkey "), "{args:?}: {help}");
        assert!(!help.contains('\u{1b}'), "{args:?} has colour codes");
    }
    let usage = latchkey(&["client", "create"]).await;
    let stderr = text(&usage.stderr);
    assert_eq!(usage.status.code(), Some(2));
    assert!(!stderr.contains('\u{1b}') && stderr.contains("--name"), "{stderr}");
    // The server's text log to a pipe: plain text.
    let install = Install::new().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .current_dir(install.dir.path())
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_DATA_DIR", install.dir.path().join("data"))
        .env("LATCHKEY_DATABASE_URL", &install.database_url)
        .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
        .env("LATCHKEY_LOG_FORMAT", "text")
        .env("LATCHKEY_LOG_LEVEL", "info")
        .env("LATCHKEY_PASSWORD_HASH_MEMORY_KIB", "1024")
        .env("LATCHKEY_PASSWORD_HASH_ITERATIONS", "1")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let serving = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let done = line.contains("latchkey is serving");
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    child.kill().await.unwrap();
    assert!(serving, "{seen:#?}");
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "colour codes in a piped log: {seen:#?}");
}
