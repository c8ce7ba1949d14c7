//! `latchkey doctor`: checks a configuration before (or while) it serves,
//! with a verdict per check — the configuration parses; the database
//! answers and is migrated; the master key is readable and opens this
//! database's signing keys; the database's clock agrees with this
//! machine's; the public URL answers; files holding secrets are private;
//! the TLS files load. Nothing is written: a database that does not exist
//! yet is reported, not created. Exit status 1 when any check fails.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use latchkey_app::{App, AppOptions, Clock, OsRng, SystemClock};
use latchkey_core::TenantId;
use latchkey_crypto::MasterKey;

use crate::config::Config;

/// Seconds of clock difference with the database that still pass: tokens
/// and codes carry expiries written by one node and read by others.
const MAX_SKEW: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

struct Report {
    rows: Vec<(Verdict, &'static str, String)>,
}

impl Report {
    fn add(&mut self, v: Verdict, check: &'static str, detail: impl Into<String>) {
        self.rows.push((v, check, detail.into()));
    }

    fn print(&self) -> bool {
        for (v, check, detail) in &self.rows {
            let tag = match v {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            println!("{tag}  {check:<12} {detail}");
        }
        let failed = self.rows.iter().filter(|r| r.0 == Verdict::Fail).count();
        let warned = self.rows.iter().filter(|r| r.0 == Verdict::Warn).count();
        println!("\n{} checks: {failed} failed, {warned} warnings", self.rows.len());
        failed == 0
    }
}

/// Runs every check; `Ok(false)` when one failed.
///
/// # Errors
/// Never for a failed check (that is a verdict); only for output errors.
pub async fn run(file: Option<&Path>) -> Result<bool> {
    let mut r = Report { rows: Vec::new() };
    let c = match Config::load(file) {
        Ok(c) => {
            r.add(Verdict::Ok, "config", "parses");
            c
        }
        Err(e) => {
            r.add(Verdict::Fail, "config", format!("{e:#}"));
            return Ok(r.print());
        }
    };
    files(&c, &mut r);
    let master = master_key(&c, &mut r);
    tls(&c, &mut r);
    if let Some(store) = database(&c, &mut r).await {
        clock_skew(&*store, &mut r).await;
        if let Some(master) = master {
            keys(&c, store, &master, &mut r).await;
        }
    }
    public_url(&c, &mut r).await;
    Ok(r.print())
}

#[cfg(unix)]
fn mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).ok().map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

fn files(c: &Config, r: &mut Report) {
    let dir = &c.data_dir;
    if !crate::serve::uses_data_dir(c) && !dir.exists() {
        r.add(Verdict::Ok, "data_dir", "not used (PostgreSQL, master key from the configuration)");
        return;
    }
    match mode(dir) {
        None if !dir.exists() => {
            r.add(Verdict::Warn, "data_dir", format!("{} does not exist yet (serve creates it)", dir.display()));
        }
        Some(m) if m & 0o077 != 0 => {
            r.add(Verdict::Fail, "data_dir", format!("{} is mode {m:o}: others can read it (want 700)", dir.display()));
        }
        _ => r.add(Verdict::Ok, "data_dir", format!("{} private", dir.display())),
    }
    let secret_files = [dir.join("master.key"), dir.join("latchkey.db"), dir.join("initial-credentials")];
    for f in secret_files.iter().filter(|f| f.exists()) {
        if let Some(m) = mode(f).filter(|m| m & 0o077 != 0) {
            r.add(Verdict::Fail, "file modes", format!("{} is mode {m:o}: others can read it (want 600)", f.display()));
        }
    }
    if dir.join("initial-credentials").exists() {
        r.add(
            Verdict::Warn,
            "credentials",
            "initial-credentials is still in the data directory: store them elsewhere and delete it",
        );
    }
    if let Some(key) = &c.tls_key_file
        && let Some(m) = mode(key).filter(|m| m & 0o007 != 0)
    {
        r.add(Verdict::Fail, "file modes", format!("{} is mode {m:o}: everyone can read the TLS key", key.display()));
    }
}

fn master_key(c: &Config, r: &mut Report) -> Option<MasterKey> {
    if let Some(text) = &c.master_key {
        return match MasterKey::parse(text) {
            Ok(k) => {
                r.add(Verdict::Ok, "master key", "from LATCHKEY_MASTER_KEY / master_key");
                Some(k)
            }
            Err(e) => {
                r.add(Verdict::Fail, "master key", format!("master_key does not parse: {e}"));
                None
            }
        };
    }
    let path = c.data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => match MasterKey::parse(&text) {
            Ok(k) => {
                r.add(Verdict::Ok, "master key", format!("{} readable", path.display()));
                Some(k)
            }
            Err(e) => {
                r.add(Verdict::Fail, "master key", format!("{} is not a master key: {e}", path.display()));
                None
            }
        },
        Err(_) if !path.exists() => {
            r.add(Verdict::Warn, "master key", format!("{} does not exist yet (serve generates it)", path.display()));
            None
        }
        Err(e) => {
            r.add(Verdict::Fail, "master key", format!("cannot read {}: {e}", path.display()));
            None
        }
    }
}

fn tls(c: &Config, r: &mut Report) {
    if let Some(files) = c.tls() {
        match crate::tls::load(&files) {
            Ok(_) => r.add(Verdict::Ok, "tls", format!("{} and its key load", files.cert.display())),
            Err(e) => r.add(Verdict::Fail, "tls", format!("{e:#}")),
        }
    }
}

async fn database(c: &Config, r: &mut Report) -> Option<Arc<dyn latchkey_store::Store>> {
    let url = c.database_url();
    let shown = crate::serve::redact(&url);
    if let Some(file) = crate::serve::sqlite_path(&url)
        && !file.exists()
    {
        r.add(Verdict::Warn, "database", format!("{shown} does not exist yet (serve creates it)"));
        return None;
    }
    let store = match tokio::time::timeout(Duration::from_secs(10), latchkey_store::connect(&url)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            r.add(Verdict::Fail, "database", format!("cannot open {shown}: {e}"));
            return None;
        }
        Err(_) => {
            r.add(Verdict::Fail, "database", format!("{shown} did not answer within 10 s"));
            return None;
        }
    };
    match store.ping().await {
        Ok(()) => r.add(Verdict::Ok, "database", format!("{shown} answers ({})", store.backend())),
        Err(e) => {
            r.add(Verdict::Fail, "database", format!("{shown} does not answer: {e}"));
            return None;
        }
    }
    Some(store)
}

async fn clock_skew(store: &dyn latchkey_store::Store, r: &mut Report) {
    match store.database_time().await {
        Ok(db) => {
            let skew = SystemClock.now() - db;
            if skew.abs() <= MAX_SKEW {
                r.add(Verdict::Ok, "clock", format!("{skew:+} s from the database"));
            } else {
                r.add(
                    Verdict::Fail,
                    "clock",
                    format!("{skew:+} s from the database (more than {MAX_SKEW} s): run NTP"),
                );
            }
        }
        Err(e) => r.add(Verdict::Fail, "clock", format!("cannot read the database's clock: {e}")),
    }
}

/// The application's options from a configuration, for the commands that
/// open the data without serving it.
pub(crate) fn app_options(c: &Config) -> AppOptions {
    c.app_options(c.public_url.clone().unwrap_or_else(|| format!("http://{}", c.listen)))
}

/// The master key opens this database's signing keys (a wrong key for the
/// data is the one mistake that loses everything).
async fn keys(c: &Config, store: Arc<dyn latchkey_store::Store>, master: &MasterKey, r: &mut Report) {
    let app = match App::new(store, master, Arc::new(SystemClock), Arc::new(OsRng), &app_options(c)) {
        Ok(a) => a,
        Err(e) => return r.add(Verdict::Fail, "settings", e.to_string()),
    };
    match app.kernel.tenant(&TenantId::default_tenant()).await {
        Ok(t) => r.add(Verdict::Ok, "keys", format!("the master key opens the signing keys of tenant {}", t.id)),
        Err(latchkey_app::AppError::NotFound) => {
            r.add(Verdict::Warn, "keys", "no default tenant yet (the first serve creates it)");
        }
        Err(latchkey_app::AppError::Unavailable) => {
            r.add(Verdict::Fail, "keys", "the database is not migrated or not reachable (run `latchkey migrate`)");
        }
        Err(_) => r.add(
            Verdict::Fail,
            "keys",
            "the master key does not open this database's signing keys: wrong key for this data",
        ),
    }
}

async fn public_url(c: &Config, r: &mut Report) {
    let Some(url) = c.public_url.clone().or_else(|| Some(format!("http://{}", c.listen))) else { return };
    let url = url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build();
    let Ok(http) = http else { return r.add(Verdict::Fail, "public url", "cannot build an HTTP client") };
    match http.get(format!("{url}/healthz")).send().await {
        Ok(resp) if resp.status().is_success() => r.add(Verdict::Ok, "public url", format!("{url} answers")),
        Ok(resp) => r.add(Verdict::Warn, "public url", format!("{url}/healthz answered {}", resp.status())),
        Err(_) => r.add(
            Verdict::Warn,
            "public url",
            format!("{url} does not answer (is the server running, is the URL right?)"),
        ),
    }
}
