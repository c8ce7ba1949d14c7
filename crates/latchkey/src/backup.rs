//! `latchkey backup FILE` and `latchkey restore FILE` for the embedded
//! SQLite database (PostgreSQL installations use `pg_dump` / `pg_restore`,
//! see docs/deploy.md).
//!
//! A backup is one consistent snapshot taken while the server runs
//! (`VACUUM INTO`, the live database opened read-only). It holds everything
//! but the master key, and without that key it cannot be read: signing
//! keys, provider secrets and the authorizations vault are sealed under it,
//! and client secrets are checked with a key derived from it. The key is
//! kept apart on purpose — a stolen backup alone is useless — so both
//! commands say where it is.
//!
//! A restore goes into an empty data directory only: it checks the backup
//! on a scratch copy first (it opens as a Latchkey database, migrates to
//! this version, and this installation's master key opens its signing
//! keys), then puts the untouched backup in place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use latchkey_app::{App, OsRng, SystemClock};
use latchkey_core::TenantId;

use crate::config::Config;
use crate::serve::{existing_master_key, sqlite_path};

const PG_BACKUP: &str = "this installation uses PostgreSQL: back it up with pg_dump \
     (pg_dump --format=custom --file=latchkey.dump \"$LATCHKEY_DATABASE_URL\"), and keep the master key \
     (LATCHKEY_MASTER_KEY) apart from the dump; see docs/deploy.md";
const PG_RESTORE: &str = "this installation uses PostgreSQL: restore a pg_dump into an empty database with \
     pg_restore (pg_restore --no-owner --dbname=\"$LATCHKEY_DATABASE_URL\" latchkey.dump) and start the nodes \
     with the master key the dump was taken under; see docs/deploy.md";

/// Where the master key of a configuration lives, in words.
fn key_place(c: &Config) -> String {
    if c.master_key.is_some() {
        "the master_key setting (LATCHKEY_MASTER_KEY)".into()
    } else {
        c.data_dir.join("master.key").display().to_string()
    }
}

/// `latchkey backup FILE`.
pub async fn backup(config: Option<&Path>, file: &Path) -> Result<()> {
    let c = Config::load(config)?;
    let url = c.database_url();
    let Some(db) = sqlite_path(&url) else { bail!(PG_BACKUP) };
    if !db.exists() {
        bail!("there is no database at {} (nothing to back up)", db.display());
    }
    if file.exists() {
        bail!("{} already exists: a backup never overwrites a file", file.display());
    }
    latchkey_store::sqlite_backup(&url, file).await.with_context(|| format!("cannot back up {}", db.display()))?;
    private(file)?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or_default();
    println!("Backup written to {} ({size} bytes), a consistent copy of {}.", file.display(), db.display());
    println!(
        "It cannot be read without the master key, which it does not contain: keep a copy of {} \
         apart from the backup (a backup without its key is lost, a key beside its backup protects nothing).",
        key_place(&c)
    );
    Ok(())
}

/// `latchkey restore FILE`.
pub async fn restore(config: Option<&Path>, file: &Path) -> Result<()> {
    let c = Config::load(config)?;
    let url = c.database_url();
    let Some(db) = sqlite_path(&url) else { bail!(PG_RESTORE) };
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    if db.exists() {
        bail!(
            "{} already exists: restore goes into an empty data directory only (move the current database and its \
             -wal and -shm files away first)",
            db.display()
        );
    }
    let Some(master) = existing_master_key(&c)? else {
        bail!(
            "no master key at {}: put the master key of the installation the backup comes from there (or set \
             LATCHKEY_MASTER_KEY); without it the backup cannot be read",
            key_place(&c)
        );
    };
    let dir = db.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let scratch = dir.join(format!(".restore-check-{}", std::process::id()));
    let checked = check(&c, &master, file, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let tenants = checked?;

    let partial = db.with_extension("db.restoring");
    std::fs::copy(file, &partial).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).context("cannot flush the restored database")?;
    private(&partial)?;
    std::fs::rename(&partial, &db).with_context(|| format!("cannot move the restored database to {}", db.display()))?;
    println!(
        "Restored {} into {} ({tenants} tenant{}); the master key at {} opens it. Start the server with `latchkey \
         serve`: it applies this version's migrations on start.",
        file.display(),
        db.display(),
        if tenants == 1 { "" } else { "s" },
        key_place(&c)
    );
    Ok(())
}

/// Opens a scratch copy of the backup: a Latchkey database this version
/// can migrate, whose signing keys the master key opens. The number of
/// tenants.
async fn check(c: &Config, master: &latchkey_crypto::MasterKey, file: &Path, scratch: &Path) -> Result<usize> {
    std::fs::create_dir_all(scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    private_dir(scratch)?;
    let copy = scratch.join("latchkey.db");
    std::fs::copy(file, &copy).with_context(|| format!("cannot read {}", file.display()))?;
    let not_ours = || format!("{} is not a Latchkey backup (not an SQLite database of this server)", file.display());
    let store = latchkey_store::connect(&format!("sqlite://{}", copy.display())).await.with_context(not_ours)?;
    store.migrate().await.with_context(not_ours)?;
    let tenants = store.list_tenants().await.with_context(not_ours)?;
    if tenants.is_empty() {
        bail!("{} holds no tenant: it is not a backup of a Latchkey installation", file.display());
    }
    let app = App::new(store, master, Arc::new(SystemClock), Arc::new(OsRng), &crate::doctor::app_options(c))
        .context("cannot open the backup")?;
    if app.kernel.tenant(&TenantId::default_tenant()).await.is_err() {
        bail!(
            "the master key at {} does not open this backup's signing keys: it is the key of another installation",
            key_place(c)
        );
    }
    Ok(tenants.len())
}

fn private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn private_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
