//! `--output-file FILE`: where a script takes a secret the server shows once
//! (a client secret, a generated password). The CLI keeps no copy anywhere:
//! without this flag the secret is printed once and is gone. The file is
//! created new with mode 0600; an existing file is refused unless `--force`,
//! which replaces it (removed first, so its old mode or a symlink in its
//! place never carries over).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

use super::exit::{Failure, Kind};

/// `--output-file` and `--force` for the commands that show a secret once.
#[derive(Debug, Args)]
pub struct SecretOut {
    /// Write the new secret to FILE (created with mode 0600) instead of
    /// printing it; nothing else keeps a copy.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long, requires = "output_file")]
    pub force: bool,
}

impl SecretOut {
    /// Checks, before anything is created at the server, that the file may be
    /// written: a secret must never be made only to be lost.
    ///
    /// # Errors
    /// The file exists and `--force` is not given.
    pub fn precheck(&self) -> Result<()> {
        precheck(self.output_file.as_deref(), self.force)
    }

    /// Writes `contents` (one line per secret) when `--output-file` was
    /// given; whether it did.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn write(&self, contents: &str) -> Result<bool> {
        match &self.output_file {
            Some(p) => write_private(p, contents, self.force).map(|()| true),
            None => Ok(false),
        }
    }
}

impl SecretOut {
    /// Takes the secrets at `fields` of a server answer. With
    /// `--output-file` they are written there (one per line, in `fields`
    /// order) and removed from the answer, so they are printed nowhere;
    /// otherwise they stay in the answer to be printed once. Returns the
    /// secrets left to print.
    ///
    /// # Errors
    /// When the file cannot be written (the secret is then lost: say so).
    pub fn deliver(&self, answer: &mut Value, fields: &[&str]) -> Result<Vec<String>> {
        self.deliver_as(answer, fields, |secrets| secrets.iter().map(|s| format!("{s}\n")).collect())
    }

    /// As [`SecretOut::deliver`], the file's text made by `contents` from
    /// the answer and the secrets.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn deliver_as(
        &self,
        answer: &mut Value,
        fields: &[&str],
        contents: impl FnOnce(&[String]) -> String,
    ) -> Result<Vec<String>> {
        let secrets: Vec<String> =
            fields.iter().filter_map(|f| answer.get(*f).and_then(Value::as_str).map(str::to_owned)).collect();
        if secrets.is_empty() {
            return Ok(secrets);
        }
        let Some(path) = &self.output_file else {
            eprintln!("{}", shown_once(secrets.len()));
            return Ok(secrets);
        };
        self.write(&contents(&secrets)).context("the new secret was not saved: replace it (e.g. rotate it)")?;
        if let Some(o) = answer.as_object_mut() {
            for f in fields {
                o.remove(*f);
            }
        }
        eprintln!("Written to {} (mode 0600); not printed, and no other copy is kept.", path.display());
        Ok(Vec::new())
    }
}

/// The note beside a secret printed once.
#[must_use]
pub fn shown_once(n: usize) -> String {
    let (what, it) = if n == 1 { ("This secret is", "it") } else { ("These secrets are", "them") };
    format!("{what} shown once and kept nowhere: copy {it} now (or use --output-file FILE).")
}

/// See [`SecretOut::precheck`].
///
/// # Errors
/// `path` exists and `force` is not set.
pub fn precheck(path: Option<&Path>, force: bool) -> Result<()> {
    match path {
        Some(p) if !force && std::fs::symlink_metadata(p).is_ok() => Err(Failure::new(
            Kind::Conflict,
            format!("{} exists: choose another --output-file, or add --force to replace it", p.display()),
        )
        .into()),
        _ => Ok(()),
    }
}

/// Creates `path` anew with mode 0600 and writes `contents`; an existing
/// file is removed first when `force`, else refused.
///
/// # Errors
/// The file exists (without `force`) or cannot be written.
pub fn write_private(path: &Path, contents: &str, force: bool) -> Result<()> {
    precheck(Some(path), force)?;
    if force {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot replace {}", path.display()));
            }
            _ => {}
        }
    }
    let mut f = create_new_private(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all().with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn create_new_private(p: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(p)
}

#[cfg(not(unix))]
fn create_new_private(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_and_never_over_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        write_private(&p, "one\n", false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let e = write_private(&p, "two\n", false).unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\n");
        write_private(&p, "two\n", true).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
    }

    #[cfg(unix)]
    #[test]
    fn force_replaces_a_symlink_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_private(&link, "secret", false).is_err());
        write_private(&link, "secret", true).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    }
}
