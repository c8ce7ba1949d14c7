//! `latchkey master-key rotate | reseal | retire`.
//!
//! The master key file is a ring: the current key first, the previous keys
//! after it (they still open what they sealed). `rotate` keeps the
//! client-secret key, writes the ring with a new key first, then re-seals
//! every sealed value under it; `reseal` finishes an interrupted rotation;
//! `retire` drops the previous keys once the current key alone opens
//! everything. See `latchkey_app::sealing` and ADR 0017.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use latchkey_app::sealing::{self, ResealReport};
use latchkey_app::{Clock, OsRng, Rng, SystemClock};
use latchkey_crypto::MasterKey;
use latchkey_store::Store;

use crate::config::Config;
use crate::serve::existing_master_key;

/// Where the ring comes from and where a new one goes.
struct Place {
    ring: MasterKey,
    /// The file to (re)write; `None` when the key comes from
    /// `LATCHKEY_MASTER_KEY` and no `--output-file` was given.
    file: Option<PathBuf>,
}

fn place(c: &Config, output_file: Option<&Path>) -> Result<Place> {
    let Some(ring) = existing_master_key(c)? else {
        bail!(
            "there is no master key at {} (and LATCHKEY_MASTER_KEY is not set): nothing to rotate",
            c.data_dir.join("master.key").display()
        );
    };
    let file = match (output_file, &c.master_key) {
        (Some(f), _) => Some(f.to_path_buf()),
        (None, None) => Some(c.data_dir.join("master.key")),
        (None, Some(_)) => None,
    };
    Ok(Place { ring, file })
}

async fn store(c: &Config) -> Result<Arc<dyn Store>> {
    let url = c.database_url();
    let store = latchkey_store::connect(&url).await.context("cannot open the database")?;
    store.migrate().await.context("cannot migrate the database")?;
    Ok(store)
}

/// Writes the ring next to `path` and moves it into place (0600, flushed):
/// a crash leaves either the old file or the new one.
fn write_ring(path: &Path, ring: &MasterKey) -> Result<()> {
    let tmp = path.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(ring.to_text().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    if let Some(d) = path.parent().and_then(|dir| std::fs::File::open(dir).ok()) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn print_report(report: &ResealReport) {
    for (name, k) in &report.kinds {
        if k.resealed + k.current + k.changed + k.unreadable == 0 {
            continue;
        }
        let mut line = format!("  {name}: {} re-sealed, {} already under the current key", k.resealed, k.current);
        if k.changed > 0 {
            line.push_str(&format!(", {} changed meanwhile", k.changed));
        }
        if k.unreadable > 0 {
            line.push_str(&format!(", {} opened by no key of the ring (left as they are)", k.unreadable));
        }
        println!("{line}");
    }
}

/// `latchkey master-key rotate`.
pub async fn rotate(config: Option<&Path>, output_file: Option<&Path>) -> Result<()> {
    let c = Config::load(config)?;
    let Place { ring, file } = place(&c, output_file)?;
    let Some(file) = file else {
        bail!(
            "the master key comes from LATCHKEY_MASTER_KEY: give --output-file PATH for the new key ring, then put \
             its contents in LATCHKEY_MASTER_KEY on every node"
        );
    };
    let store = store(&c).await?;
    let now = SystemClock.now();
    // The key must be this installation's: it opens what is stored.
    let check = sealing::reseal(&store, &ring, true, now).await?;
    let unreadable = check.total().unreadable;
    if unreadable > 0 {
        bail!(
            "the master key opens none of {unreadable} sealed values in this database: it is not this \
             installation's key (nothing was changed)"
        );
    }
    sealing::keep_installation_keys(&*store, &ring, now).await?;
    let mut new = [0u8; 32];
    OsRng.fill(&mut new);
    let rotated = ring
        .rotated(new)
        .context("the key ring is full (8 keys): run `latchkey master-key retire` to drop the previous keys first")?;
    write_ring(&file, &rotated)?;
    println!("Wrote the new key ring to {} (new key first, {} previous).", file.display(), rotated.previous());
    let report = sealing::reseal(&store, &rotated, false, now).await?;
    print_report(&report);
    let t = report.total();
    println!(
        "Re-sealed {} values under the new key. Restart every node with this key ring now (each reads it at \
         start); until then a node with the old key cannot open what was re-sealed.",
        t.resealed
    );
    if t.changed > 0 {
        println!(
            "{} values changed while re-sealing: run `latchkey master-key reseal` once the nodes restarted.",
            t.changed
        );
    }
    println!(
        "The previous key stays in the ring for what is already out there (opaque access tokens, sign-ins in \
         flight); once those have expired, `latchkey master-key retire` removes it."
    );
    Ok(())
}

/// `latchkey master-key reseal`.
pub async fn reseal(config: Option<&Path>) -> Result<()> {
    let c = Config::load(config)?;
    let Place { ring, .. } = place(&c, None)?;
    let store = store(&c).await?;
    let report = sealing::reseal(&store, &ring, false, SystemClock.now()).await?;
    print_report(&report);
    let t = report.total();
    println!("Re-sealed {} values; {} were already under the current key.", t.resealed, t.current);
    if t.unreadable > 0 {
        bail!("{} sealed values are opened by no key of the ring", t.unreadable);
    }
    Ok(())
}

/// `latchkey master-key retire`.
pub async fn retire(config: Option<&Path>, output_file: Option<&Path>) -> Result<()> {
    let c = Config::load(config)?;
    let Place { ring, file } = place(&c, output_file)?;
    if ring.previous() == 0 {
        println!("The key ring holds only the current key: nothing to retire.");
        return Ok(());
    }
    let Some(file) = file else {
        bail!(
            "the master key comes from LATCHKEY_MASTER_KEY: give --output-file PATH for the retired ring, then put \
             its contents in LATCHKEY_MASTER_KEY on every node"
        );
    };
    let store = store(&c).await?;
    let now = SystemClock.now();
    sealing::reseal(&store, &ring, false, now).await?;
    let current = ring.current_only();
    let check = sealing::reseal(&store, &current, true, now).await?;
    let t = check.total();
    if t.unreadable > 0 || t.resealed > 0 {
        print_report(&check);
        bail!(
            "{} sealed values still need a previous key (nothing was changed): run `latchkey master-key reseal` \
             once every node runs with the current key, then retire again",
            t.unreadable + t.resealed
        );
    }
    write_ring(&file, &current)?;
    println!(
        "Retired {} previous key(s): {} now holds only the current key, which opens all {} sealed values. \
         Restart every node with it; opaque access tokens issued before the rotation are no longer accepted.",
        ring.previous(),
        file.display(),
        t.current
    );
    Ok(())
}
