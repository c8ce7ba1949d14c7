//! The tokens of `latchkey login`, one sign-in per issuer (server and
//! tenant): `$XDG_CONFIG_HOME/latchkey/credentials.json` (fallback
//! `~/.config/latchkey/credentials.json`), a 0600 file in a 0700 directory,
//! replaced whole by a rename so a crash never leaves half a file. A file
//! others can read is refused, as ssh refuses such a key.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// One sign-in: the tokens `latchkey-cli` holds for one issuer.
#[derive(Clone, Serialize, Deserialize)]
pub struct Login {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
    #[serde(default)]
    pub scope: String,
    /// The username the sign-in was approved by (for `whoami` offline).
    #[serde(default)]
    pub username: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    logins: BTreeMap<String, Login>,
}

/// Where the credentials live.
///
/// # Errors
/// Neither `XDG_CONFIG_HOME` nor `HOME` is set.
pub fn path() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            Some(h) => PathBuf::from(h).join(".config"),
            None => bail!("cannot find the credentials: neither XDG_CONFIG_HOME nor HOME is set"),
        },
    };
    Ok(base.join("latchkey").join("credentials.json"))
}

fn read(path: &Path) -> Result<File> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    check_private(path)?;
    serde_json::from_str(&text).with_context(|| {
        format!("{} is not a credentials file; delete it and run `latchkey login` again", path.display())
    })
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} can be read by other users (mode {:o}); run `chmod 600 {}` or delete it",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<()> {
    Ok(())
}

fn write(path: &Path, file: &File) -> Result<()> {
    let dir = path.parent().context("the credentials path has no directory")?;
    create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".credentials.{}.tmp", std::process::id()));
    let body = serde_json::to_vec_pretty(file)?;
    let written = (|| -> std::io::Result<()> {
        let mut f = open_private(&tmp)?;
        f.write_all(&body)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

/// The sign-in for `issuer`, if there is one.
///
/// # Errors
/// An unreadable, malformed or world-readable file.
pub fn load(issuer: &str) -> Result<Option<Login>> {
    Ok(read(&path()?)?.logins.remove(issuer))
}

/// Keeps (or replaces) the sign-in for `issuer`.
///
/// # Errors
/// The file cannot be read or written.
pub fn save(issuer: &str, login: &Login) -> Result<()> {
    let path = path()?;
    let mut file = read(&path)?;
    file.logins.insert(issuer.to_owned(), login.clone());
    write(&path, &file)
}

/// Forgets the sign-in for `issuer`; whether there was one.
///
/// # Errors
/// The file cannot be read or written.
pub fn forget(issuer: &str) -> Result<Option<Login>> {
    let path = path()?;
    let mut file = read(&path)?;
    let gone = file.logins.remove(issuer);
    if gone.is_some() {
        write(&path, &file)?;
    }
    Ok(gone)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn login(token: &str) -> Login {
        Login {
            access_token: token.into(),
            refresh_token: Some(format!("r-{token}")),
            expires_at: 1,
            scope: "openid admin".into(),
            username: "admin".into(),
        }
    }

    #[test]
    fn sign_ins_are_kept_per_issuer_in_a_private_file_and_refused_when_others_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey").join("credentials.json");
        let mut file = File::default();
        file.logins.insert("http://a".into(), login("a"));
        file.logins.insert("http://a/t/acme".into(), login("acme"));
        write(&path, &file).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        let back = read(&path).unwrap();
        assert_eq!(back.logins["http://a/t/acme"].access_token, "acme");
        assert_eq!(back.logins["http://a"].refresh_token.as_deref(), Some("r-a"));
        assert!(!format!("{:?}", back.logins["http://a"]).contains("r-a"), "Debug never shows a token");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read(&path).err().expect("a file others can read is refused").to_string();
        assert!(e.contains("can be read by other users (mode 644)"), "{e}");
        assert!(read(&dir.path().join("absent.json")).unwrap().logins.is_empty());
    }
}
