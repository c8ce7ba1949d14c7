//! Secrets this CLI just created, kept until `latchkey client credentials`
//! prints them once: `$XDG_RUNTIME_DIR/latchkey/pending/<tenant>/<client_id>`
//! (fallback `~/.cache/latchkey/pending/…`), files 0600 in 0700 directories.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::api::segment;

fn base_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("latchkey").join("pending"));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("latchkey").join("pending"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache").join("latchkey").join("pending")),
        None => bail!("cannot keep the new secret: neither XDG_RUNTIME_DIR nor HOME is set"),
    }
}

/// The file for one client (names percent-encoded: ids are not file names).
fn path(tenant: &str, client_id: &str) -> Result<PathBuf> {
    Ok(base_dir()?.join(segment(tenant)).join(segment(client_id)))
}

#[cfg(unix)]
fn create_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn create_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private(p: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(p)
}

#[cfg(not(unix))]
fn open_private(p: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(p)
}

/// Keeps `secret` for `client_id` until [`take`] (replacing an older one).
///
/// # Errors
/// When the directory or file cannot be written.
pub fn save(tenant: &str, client_id: &str, secret: &str) -> Result<()> {
    let p = path(tenant, client_id)?;
    let dir = p.parent().context("pending secret path has no parent")?;
    create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // A stale file may carry looser permissions: start afresh.
    let _ = std::fs::remove_file(&p);
    let mut f = open_private(&p).with_context(|| format!("cannot write {}", p.display()))?;
    f.write_all(secret.as_bytes()).with_context(|| format!("cannot write {}", p.display()))?;
    Ok(())
}

/// The kept secret of `client_id`, removed as it is read.
///
/// # Errors
/// When the file exists but cannot be read or removed.
pub fn take(tenant: &str, client_id: &str) -> Result<Option<String>> {
    let p = path(tenant, client_id)?;
    let secret = match std::fs::read_to_string(&p) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", p.display())),
    };
    std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
    Ok(Some(secret))
}
