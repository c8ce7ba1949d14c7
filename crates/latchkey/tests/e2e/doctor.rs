//! `latchkey doctor`, `latchkey completions` and `latchkey man`, run as the
//! real binary.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{Install, MASTER_KEY, Server};

struct Out {
    code: i32,
    stdout: String,
}

async fn latchkey(install: &Install, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.args(args)
        .current_dir(install.dir.path())
        .env("LATCHKEY_DATA_DIR", install.dir.path().join("data"))
        .env("LATCHKEY_DATABASE_URL", &install.database_url)
        .env("LATCHKEY_MASTER_KEY", MASTER_KEY)
        .env_remove("LATCHKEY_CONFIG")
        .env_remove("LATCHKEY_PUBLIC_URL")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    Out { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into_owned() }
}

/// The verdict doctor printed for `check`.
fn verdict<'a>(out: &'a Out, check: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(check)))
        .map_or_else(|| panic!("no {check} line:\n{}", out.stdout), |l| l[..4].trim_end())
}

#[tokio::test]
async fn doctor_passes_a_good_installation_and_names_what_is_wrong() {
    let install = Install::new().await;
    let server = Server::start(&install).await;
    let base = server.base.clone();
    let public = [("LATCHKEY_PUBLIC_URL", base.as_str())];

    let good = latchkey(&install, &["doctor"], &public).await;
    assert_eq!(good.code, 0, "{}", good.stdout);
    for check in ["config", "data_dir", "master key", "database", "clock", "keys", "public url"] {
        assert_eq!(verdict(&good, check), "ok", "{check}:\n{}", good.stdout);
    }

    // Another master key: the one mistake that loses the data.
    let other_key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let wrong = latchkey(&install, &["doctor"], &[public[0], ("LATCHKEY_MASTER_KEY", other_key)]).await;
    assert_eq!(wrong.code, 1);
    assert_eq!(verdict(&wrong, "keys"), "FAIL");
    assert!(wrong.stdout.contains("wrong key for this data"), "{}", wrong.stdout);

    // A data directory others can read.
    let data = install.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap(); // (unused on PostgreSQL, but there)
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let open = latchkey(&install, &["doctor"], &public).await;
    assert_eq!(open.code, 1);
    assert_eq!(verdict(&open, "data_dir"), "FAIL");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();

    // The server gone: the public URL no longer answers (a warning: doctor
    // also runs before the first start).
    server.kill9().await;
    let stopped = latchkey(&install, &["doctor"], &public).await;
    assert_eq!(verdict(&stopped, "public url"), "warn");
}

#[tokio::test]
async fn doctor_reports_a_database_that_does_not_answer() {
    let install = Install::new().await;
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://nobody@127.0.0.1:{port}/none");
    let out = latchkey(&install, &["doctor"], &[("LATCHKEY_DATABASE_URL", url.as_str())]).await;
    assert_eq!(out.code, 1);
    assert_eq!(verdict(&out, "database"), "FAIL");
    assert!(!out.stdout.contains("nobody@"), "the URL's user stays out of the output: {}", out.stdout);
}

#[tokio::test]
async fn completions_and_the_man_page_cover_every_command() {
    let install = Install::new().await;
    let bash = latchkey(&install, &["completions", "bash"], &[]).await;
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("_latchkey()"), "a bash completion function");
    for sub in ["serve", "client", "doctor", "apply"] {
        assert!(bash.stdout.contains(sub), "completes {sub}");
    }
    let fish = latchkey(&install, &["completions", "fish"], &[]).await;
    assert!(fish.stdout.contains("complete -c latchkey"), "{}", fish.stdout);
    let man = latchkey(&install, &["man"], &[]).await;
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH latchkey"),
        "roff: {}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("doctor"), "the man page lists the commands");
    assert_eq!(latchkey(&install, &["completions", "tcsh"], &[]).await.code, 2, "an unknown shell is a usage error");
}
