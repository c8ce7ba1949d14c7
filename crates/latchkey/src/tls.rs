//! TLS without a proxy (`tls_cert_file` / `tls_key_file`): rustls on the
//! aws-lc-rs provider (the one the outbound client uses), HTTP/2 and
//! HTTP/1.1 by ALPN, and the certificate reloaded without a restart — on
//! `SIGHUP`, and when either file changes (checked every few seconds), so a
//! renewal by certbot or a secrets manager is picked up. A reload that fails
//! (half-written file, key that does not match) keeps serving the previous
//! certificate and logs why; a bad certificate at start is a clear error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// How often the files are checked for a change.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The certificate and key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Reads and checks a certificate chain and its private key.
///
/// # Errors
/// A file that cannot be read, holds no certificate or key, or a key that
/// does not belong to the first certificate.
pub fn load(files: &TlsFiles) -> Result<CertifiedKey> {
    let cert_pem = std::fs::read(&files.cert).with_context(|| format!("cannot read {}", files.cert.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", files.cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no certificate (expected PEM `BEGIN CERTIFICATE`)", files.cert.display());
    }
    let key_pem = std::fs::read(&files.key).with_context(|| format!("cannot read {}", files.key.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .with_context(|| format!("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", files.key.display()))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signer = provider
        .key_provider
        .load_private_key(key)
        .with_context(|| format!("{} is not a usable private key", files.key.display()))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|e| {
        anyhow::anyhow!(
            "the key in {} does not belong to the certificate in {}: {e}",
            files.key.display(),
            files.cert.display()
        )
    })?;
    Ok(certified)
}

/// The serving certificate, replaceable while connections come in.
#[derive(Debug)]
pub struct Reloading {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    /// Modification times of the files the current certificate came from.
    seen: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl Reloading {
    /// Loads the files once.
    ///
    /// # Errors
    /// As [`load`].
    pub fn new(files: TlsFiles) -> Result<Self> {
        let seen = (modified(&files.cert), modified(&files.key));
        let current = load(&files)?;
        Ok(Self { files, current: RwLock::new(Arc::new(current)), seen: Mutex::new(seen) })
    }

    /// Loads the files again; on failure keeps the current certificate.
    ///
    /// # Errors
    /// Why the files could not be used.
    pub fn reload(&self) -> Result<()> {
        let seen = (modified(&self.files.cert), modified(&self.files.key));
        let next = load(&self.files)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
        *self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = seen;
        Ok(())
    }

    /// Reloads when either file changed since the last load; `true` when
    /// it did and the new certificate is in use.
    pub fn reload_if_changed(&self) -> bool {
        let now = (modified(&self.files.cert), modified(&self.files.key));
        if *self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) == now {
            return false;
        }
        match self.reload() {
            Ok(()) => {
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded (files changed)");
                true
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "TLS files changed but cannot be used; still serving the previous certificate");
                // Do not retry the same broken files every few seconds.
                *self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now;
                false
            }
        }
    }

    /// The certificate in use.
    #[must_use]
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The server configuration: TLS 1.2 and 1.3 on aws-lc-rs, `h2` then
/// `http/1.1` by ALPN, the certificate from `certs`.
///
/// # Errors
/// When the provider refuses its own defaults (does not happen).
pub fn server_config(certs: Arc<Reloading>) -> Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reloads on `SIGHUP` and when the files change, for ever.
pub async fn watch(certs: Arc<Reloading>) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let hup = async {
            match hangup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hup = std::future::pending::<()>();
        tokio::select! {
            () = hup => match certs.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded (SIGHUP)"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "SIGHUP: TLS files cannot be used; still serving the previous certificate"),
            },
            _ = tick.tick() => {
                certs.reload_if_changed();
            }
        }
    }
}

/// Without TLS there is nothing to reload, but a service manager's reload
/// (`systemctl reload`, the packaged unit's `ExecReload`) still sends
/// `SIGHUP`, whose default action would end the process: log it instead.
/// The handler is installed before this returns, so a `SIGHUP` right after
/// the start is caught too.
pub fn ignore_hangup() {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangup) => {
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    tracing::info!("SIGHUP: no TLS certificate to reload (plain HTTP)");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot handle SIGHUP"),
    }
}

#[cfg(test)]
mod tests;
