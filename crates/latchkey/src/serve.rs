//! The composition root: configuration → store → services → HTTP.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use latchkey_app::bootstrap::{BootstrapSecrets, InitialCredentials};
use latchkey_app::{App, OsRng, Rng, SystemClock};
use latchkey_core::TenantId;
use latchkey_crypto::MasterKey;

use crate::config::Config;

/// Logs only: the commands other than `serve` export no traces.
fn init_logging(c: &Config) {
    let logs_only = Config { otlp_endpoint: None, ..c.clone() };
    let _ = crate::telemetry::init(&logs_only);
}

pub(crate) fn uses_data_dir(c: &Config) -> bool {
    c.database_url().starts_with("sqlite:") || c.master_key.is_none()
}

/// Writes `contents` to a new file readable by the owner only.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// The master key from the configuration, or from `{data_dir}/master.key`
/// (generated with mode 0600 on first start).
fn master_key(c: &Config) -> Result<MasterKey> {
    if let Some(key) = existing_master_key(c)? {
        return Ok(key);
    }
    let path = c.data_dir.join("master.key");
    let mut bytes = [0u8; 32];
    OsRng.fill(&mut bytes);
    let key = MasterKey::from_bytes(bytes);
    write_private(&path, &format!("{}\n", key.to_base64()))?;
    tracing::info!(path = %path.display(), "generated a new master key; back it up: without it the data cannot be read");
    Ok(key)
}

/// The master key from the configuration or `{data_dir}/master.key`, if
/// there is one.
pub(crate) fn existing_master_key(c: &Config) -> Result<Option<MasterKey>> {
    if let Some(text) = &c.master_key {
        return MasterKey::parse(text).context("LATCHKEY_MASTER_KEY").map(Some);
    }
    let path = c.data_dir.join("master.key");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    MasterKey::parse(&text).with_context(|| format!("{} is not a valid master key", path.display())).map(Some)
}

/// Creates the data directory readable by the owner only (0700), and
/// narrows an existing one (and the files in it) that an older version
/// left readable by others.
fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
        for entry in std::fs::read_dir(dir)?.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// The file of a `sqlite:` URL, if it names one.
pub(crate) fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(':')).then(|| std::path::PathBuf::from(path))
}

/// The SQLite database, its WAL and shared-memory files: owner only. The
/// database file is created 0600 before SQLite opens it (SQLite gives its
/// -wal and -shm files the database's mode); existing ones are narrowed.
fn private_sqlite_files(db: &Path, create: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if create && !db.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(db)
                .with_context(|| format!("cannot create {}", db.display()))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let path = std::path::PathBuf::from(name);
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("cannot make {} private", path.display()))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (db, create);
    Ok(())
}

async fn connect(c: &Config) -> Result<Arc<dyn latchkey_store::Store>> {
    if uses_data_dir(c) {
        private_dir(&c.data_dir)?;
    }
    let url = c.database_url();
    let db = sqlite_path(&url);
    if let Some(db) = &db {
        private_sqlite_files(db, true)?;
    }
    let store =
        latchkey_store::connect(&url).await.with_context(|| format!("cannot open the database ({})", redact(&url)))?;
    store.migrate().await.context("database migration failed")?;
    if let Some(db) = &db {
        private_sqlite_files(db, false)?;
    }
    Ok(store)
}

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

pub async fn migrate(file: Option<&Path>) -> Result<()> {
    let c = Config::load(file)?;
    init_logging(&c);
    connect(&c).await?;
    println!("migrations applied to {}", redact(&c.database_url()));
    Ok(())
}

fn print_credentials(c: &Config, creds: &InitialCredentials, public_url: &str) -> Result<()> {
    let mut text = String::from("# Latchkey initial credentials (shown once; keep them safe, then delete this file)\n");
    if let Some(p) = &creds.admin_password {
        text.push_str(&format!("admin_username = {}\nadmin_password = {p}\n", creds.admin_username));
    }
    if let Some(s) = &creds.admin_client_secret {
        text.push_str(&format!("admin_client_id = {}\nadmin_client_secret = {s}\n", creds.admin_client_id));
    }
    if creds.admin_password.is_none() && creds.admin_client_secret.is_none() {
        return Ok(());
    }
    let path = c.data_dir.join("initial-credentials");
    private_dir(&c.data_dir)?;
    write_private(&path, &text)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n==================== Latchkey bootstrap ====================")?;
    if let Some(p) = &creds.admin_password {
        writeln!(out, "  Admin user:       {} / {p}", creds.admin_username)?;
    }
    if let Some(s) = &creds.admin_client_secret {
        writeln!(out, "  Admin API client: {}:{s}", creds.admin_client_id)?;
    }
    writeln!(out, "  Shown once; also written to {} (mode 0600).", path.display())?;
    writeln!(out)?;
    writeln!(out, "  Next: open {public_url}/ to use the console, or sign the CLI in:")?;
    let server = public_url.trim_end_matches('/');
    if server == "http://127.0.0.1:8080" {
        writeln!(out, "    latchkey login")?;
    } else {
        writeln!(out, "    latchkey login --server {server}")?;
    }
    writeln!(out, "=============================================================\n")?;
    out.flush()?;
    Ok(())
}

pub async fn serve(file: Option<&Path>) -> Result<()> {
    let c = Config::load(file)?;
    let telemetry = crate::telemetry::init(&c)?;
    // Bind first: with port 0 the public URL follows the port we got.
    // Check the certificate before anything else: a bad one is a clear error.
    let tls = match c.tls() {
        Some(files) => {
            let certs = Arc::new(crate::tls::Reloading::new(files).context("cannot serve HTTPS")?);
            tokio::spawn(crate::tls::watch(certs.clone()));
            Some(crate::tls::server_config(certs)?)
        }
        None => {
            crate::tls::ignore_hangup();
            None
        }
    };
    let listener =
        tokio::net::TcpListener::bind(&c.listen).await.with_context(|| format!("cannot listen on {}", c.listen))?;
    let addr = listener.local_addr()?;
    let public_url = c.public_url(addr);
    let store = connect(&c).await?;
    let master = master_key(&c)?;
    let options = c.app_options(public_url.clone());
    let app = App::new(store, &master, Arc::new(SystemClock), Arc::new(OsRng), &options)?;
    let secrets = BootstrapSecrets {
        admin_password: c.bootstrap_admin_password.clone(),
        admin_client_secret: c.bootstrap_admin_secret.clone(),
    };
    if let Some(creds) = app.tenants.bootstrap_default_tenant(secrets).await? {
        print_credentials(&c, &creds, &public_url)?;
    }
    // Load (and so check) the default tenant's keys before serving.
    app.kernel.tenant(&TenantId::default_tenant()).await.context("cannot load the default tenant")?;

    tokio::spawn(app.kernel.clone().follow_invalidations());
    let usage = app.clone();
    let flush_every = Duration::from_secs(c.usage_flush_seconds.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(flush_every);
        loop {
            tick.tick().await;
            if let Err(e) = usage.tokens.flush_usage().await {
                tracing::warn!(error = %e, "recording client usage failed");
            }
        }
    });
    if app.rate.enabled() && !app.kernel.store().is_exclusive() {
        // Rate limits are shared with the other nodes about once a second.
        let rate = app.rate.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = rate.sync().await {
                    tracing::warn!(error = %e, "sharing rate-limit counts failed");
                }
            }
        });
    }
    let maintenance = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            maintenance.kernel.refresh_tenants().await;
            if let Err(e) = maintenance.kernel.store().maintain().await {
                tracing::warn!(error = %e, "database maintenance failed");
            }
            if let Err(e) = maintenance.tokens.purge_expired().await {
                tracing::warn!(error = %e, "purging expired tokens failed");
            }
            if let Err(e) = maintenance.rate.purge().await {
                tracing::warn!(error = %e, "purging rate-limit counts failed");
            }
        }
    });

    tracing::info!(
        %addr,
        issuer = %public_url,
        backend = app.kernel.store().backend(),
        https = tls.is_some(),
        traces = c.otlp_endpoint.is_some(),
        "latchkey is serving"
    );
    let last = app.clone();
    let options =
        latchkey_web::HttpOptions { max_in_flight: c.max_in_flight_requests.max(1), traces: c.otlp_endpoint.is_some() };
    let router = latchkey_web::router_with(app, options);
    let limits = crate::http::Limits {
        header_timeout: Duration::from_secs(c.http_header_timeout_seconds.max(1)),
        drain: Duration::from_secs(c.shutdown_grace_seconds),
    };
    // On SIGTERM: draining for `shutdown_delay_seconds` (still serving,
    // `/readyz` 503, no kept-alive connections), then stops accepting and
    // lets requests in flight finish (bounded).
    let delay = Duration::from_secs(c.shutdown_delay_seconds);
    let draining = last.clone();
    let stopping = async move {
        if shutdown().await == Signal::Terminate && !delay.is_zero() {
            draining.kernel.begin_draining();
            tracing::info!(seconds = delay.as_secs(), "draining: not ready, still serving");
            tokio::time::sleep(delay).await;
        }
        tracing::info!("no longer accepting connections");
    };
    crate::http::serve(listener, router, limits, tls, stopping).await;
    // What this node counted since its last flush.
    match last.tokens.flush_usage().await {
        Ok(n) => tracing::info!(records = n, "wrote client usage at shutdown"),
        Err(e) => tracing::warn!(error = %e, "writing client usage at shutdown failed"),
    }
    telemetry.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// What asked the node to stop.
#[derive(Debug, PartialEq, Eq)]
enum Signal {
    /// Ctrl-C at a terminal: stop at once, no draining delay.
    Interrupt,
    /// SIGTERM, from systemd or an orchestrator.
    Terminate,
}

async fn shutdown() -> Signal {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    let signal = tokio::select! {
        () = ctrl_c => Signal::Interrupt,
        () = term => Signal::Terminate,
    };
    tracing::info!("shutting down");
    signal
}
