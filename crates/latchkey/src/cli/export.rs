//! `latchkey export`: the live configuration as a declarative file
//! (the format is `declarative.rs`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;

use super::Target;
use super::declarative::{ClassSpec, ScopeSpec, class_spec, client_spec, scope_spec};

#[derive(Args)]
pub struct ExportArgs {
    /// Write to FILE (mode 0644) instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

/// The start of an export; the clients follow, streamed page by page.
#[derive(Serialize)]
struct Head<'a> {
    version: u32,
    scopes: &'a [ScopeSpec],
    security_classes: &'a [ClassSpec],
}

/// Writes the document as YAML, or as JSON with `json`, one page of
/// clients at a time; returns the counts.
async fn write_export(api: &super::Api, out: &mut dyn Write, json: bool) -> Result<(usize, usize, usize)> {
    let (scopes, classes) = tokio::try_join!(
        api.get_all_with("/scopes", |v| Ok(scope_spec(&v))),
        api.get_all_with("/security-classes", |v| Ok(class_spec(&v))),
    )?;
    let head = Head { version: 1, scopes: &scopes, security_classes: &classes };
    if json {
        let head = serde_json::to_string(&head)?;
        out.write_all(head.strip_suffix('}').unwrap_or(&head).as_bytes())?;
        out.write_all(b",\"clients\":[")?;
    } else {
        out.write_all(serde_yaml_ng::to_string(&head)?.as_bytes())?;
        out.write_all(b"clients:")?;
    }
    let mut n = 0usize;
    api.for_each_page("/clients?limit=500", |items| {
        for v in &items {
            let spec = client_spec(v)?;
            if json {
                out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
                out.write_all(serde_json::to_string(&spec)?.as_bytes())?;
            } else {
                // A one-item list serialises exactly as one entry of the whole list.
                out.write_all(if n == 0 { b"\n" } else { b"" })?;
                out.write_all(serde_yaml_ng::to_string(&[spec])?.as_bytes())?;
            }
            n += 1;
        }
        Ok(())
    })
    .await?;
    if json {
        out.write_all(b"\n]}\n")?;
    } else if n == 0 {
        out.write_all(b" []\n")?;
    }
    out.flush()?;
    Ok((scopes.len(), classes.len(), n))
}

/// Runs `latchkey export`: YAML, unless `-o json` asks for JSON.
///
/// # Errors
/// API and file failures.
pub async fn export(a: ExportArgs, t: &Target) -> Result<()> {
    let json = t.asked == Some(super::Format::Json);
    let api = t.connect().await?;
    let Some(path) = a.output_file else {
        let mut out = BufWriter::new(std::io::stdout());
        write_export(&api, &mut out, json).await?;
        return Ok(());
    };
    // Written beside the target and renamed: a failed export leaves no half file.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let file = create_public(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let mut out = BufWriter::new(file);
    let counts = match write_export(&api, &mut out, json).await {
        Ok(c) => c,
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    drop(out);
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    let (s, c, n) = counts;
    eprintln!("Exported {s} scopes, {c} security classes and {n} clients to {}.", path.display());
    Ok(())
}

#[cfg(unix)]
fn create_public(p: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).open(p)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    Ok(f)
}

#[cfg(not(unix))]
fn create_public(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(p)
}
