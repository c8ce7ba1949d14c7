//! What is sealed under the master key, with which subkey and associated
//! data; and the master-key rotation that re-seals it all (ADR 0017).
//!
//! A master key is a ring ([`MasterKey`]): the first key seals, every key
//! opens. Rotation happens in an order that survives a crash at any point:
//!
//! 1. [`keep_installation_keys`]: the key client secrets are hashed with
//!    (derived from the current master key until now) is stored, sealed
//!    under the *current* key, so every node keeps hashing with it after
//!    the rotation. A stored hash cannot be recomputed without the secret;
//!    keeping its 256-bit HMAC key is harmless (the secrets it hashes are
//!    random 256-bit values, not guessable from a hash).
//! 2. The caller writes the new ring (new key first) to `master.key`.
//! 3. [`reseal`]: every sealed value is opened with the ring and sealed
//!    again under the new key, each replaced only if unchanged meanwhile.
//!    Running it again finishes an interrupted rotation.
//!
//! [`retire`] then checks that the current key alone opens everything, so
//! the previous keys can leave the ring.

use std::sync::Arc;

use latchkey_crypto::{Envelope, MasterKey, SecretHasher};
use latchkey_store::{SealedKind, SealedValue, Store};

use crate::AppError;

/// The subkey purpose of each sealed kind.
fn purpose(kind: SealedKind) -> &'static str {
    match kind {
        SealedKind::TenantKeyCheck | SealedKind::SigningKey => "envelope",
        SealedKind::RemoteClientSecret | SealedKind::RemoteTokens | SealedKind::RemoteFlow => "remote-credentials",
        SealedKind::RefreshSuccessor => "opaque-access-token",
    }
}

/// The associated data binding a sealed value to its place.
fn aad(v: &SealedValue) -> Option<Vec<u8>> {
    let t = v.tenant_id.as_str();
    Some(match (v.kind, v.keys.as_slice(), &v.hash) {
        (SealedKind::TenantKeyCheck, [], None) => tenant_check_aad(t),
        (SealedKind::SigningKey, [kid], None) => signing_key_aad(t, kid),
        (SealedKind::RemoteClientSecret, [ns, name], None) => remote_secret_aad(t, ns, name).into_bytes(),
        (SealedKind::RemoteTokens, [ns, name], None) => remote_tokens_aad(t, ns, name).into_bytes(),
        (SealedKind::RemoteFlow, [state_hash], None) => remote_flow_aad(t, state_hash).into_bytes(),
        (SealedKind::RefreshSuccessor, [family], Some(hash)) => refresh_successor_aad(t, family, hash),
        _ => return None,
    })
}

/// A tenant's key check: its id, under the "envelope" subkey.
pub(crate) fn tenant_check_aad(tenant: &str) -> Vec<u8> {
    tenant.as_bytes().to_vec()
}

pub(crate) fn signing_key_aad(tenant: &str, kid: &str) -> Vec<u8> {
    format!("signing-key/{tenant}/{kid}").into_bytes()
}

pub(crate) fn remote_secret_aad(tenant: &str, ns: &str, name: &str) -> String {
    format!("remote-client-secret\0{tenant}\0{ns}\0{name}")
}

pub(crate) fn remote_tokens_aad(tenant: &str, ns: &str, name: &str) -> String {
    format!("remote-authorization\0{tenant}\0{ns}\0{name}")
}

pub(crate) fn remote_flow_aad(tenant: &str, state_hash: &str) -> String {
    format!("remote-flow\0{tenant}\0{state_hash}")
}

pub(crate) fn refresh_successor_aad(tenant: &str, family_id: &str, old_hash: &[u8]) -> Vec<u8> {
    let mut aad = format!("lkrs/v1/{tenant}/{family_id}/").into_bytes();
    aad.extend_from_slice(old_hash);
    aad
}

/// The installation key client secrets are hashed with.
pub(crate) const CLIENT_SECRET_HMAC: &str = "client-secret-hmac";
const INSTALLATION: &str = "installation-keys";

fn installation_aad(purpose: &str) -> Vec<u8> {
    format!("installation-key/{purpose}").into_bytes()
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// The envelope the installation keys are sealed in.
///
/// # Errors
/// Never in practice (see [`MasterKey::envelope_for`]).
pub(crate) fn installation_envelope(ring: &MasterKey) -> Result<Envelope, AppError> {
    ring.envelope_for(INSTALLATION).map_err(internal)
}

/// The hasher of the client-secret key a rotation kept, if one was.
///
/// # Errors
/// When a kept key exists that no key of the ring opens (the wrong master
/// key), or the store fails.
pub(crate) async fn kept_client_secret_hasher(
    store: &dyn Store,
    installation: &Envelope,
) -> Result<Option<SecretHasher>, AppError> {
    let Some(sealed) = store.installation_key(CLIENT_SECRET_HMAC).await? else { return Ok(None) };
    let plain = installation.open(&sealed, &installation_aad(CLIENT_SECRET_HMAC)).map_err(|_| {
        AppError::Internal(
            "the master key does not open this database's installation keys: start with the master key it was \
             created with"
                .into(),
        )
    })?;
    let key: [u8; 32] = plain.try_into().map_err(|_| internal("an installation key is not 32 bytes"))?;
    Ok(Some(SecretHasher::new(&key)))
}

/// Step 1 of a rotation: keeps the client-secret key the installation uses
/// now (under `ring`, the ring before the rotation) if it is not kept yet.
///
/// # Errors
/// When the store fails.
pub async fn keep_installation_keys(
    store: &dyn Store,
    ring: &MasterKey,
    now: latchkey_core::UnixTime,
) -> Result<(), AppError> {
    if store.installation_key(CLIENT_SECRET_HMAC).await?.is_some() {
        return Ok(());
    }
    let key = ring.derive(CLIENT_SECRET_HMAC);
    let sealed = ring
        .envelope_for(INSTALLATION)
        .map_err(internal)?
        .seal(&key, &installation_aad(CLIENT_SECRET_HMAC))
        .map_err(internal)?;
    // Lost to a concurrent rotation: that one kept the same key.
    store.put_installation_key(CLIENT_SECRET_HMAC, None, &sealed, now).await?;
    Ok(())
}

/// What a re-seal did to one kind of value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindReport {
    /// Sealed under a previous key, now under the current one.
    pub resealed: usize,
    /// Already under the current key.
    pub current: usize,
    /// Changed or gone between reading and replacing (a running node wrote
    /// it, under its own key): run again to cover it.
    pub changed: usize,
    /// Opened by no key of the ring: left untouched.
    pub unreadable: usize,
}

/// What [`reseal`] found, per kind (and the installation keys).
#[derive(Debug, Clone, Default)]
pub struct ResealReport {
    pub kinds: Vec<(&'static str, KindReport)>,
}

impl ResealReport {
    #[must_use]
    pub fn total(&self) -> KindReport {
        let mut t = KindReport::default();
        for (_, k) in &self.kinds {
            t.resealed += k.resealed;
            t.current += k.current;
            t.changed += k.changed;
            t.unreadable += k.unreadable;
        }
        t
    }
}

/// Step 3 of a rotation: re-seals every value the current key of `ring`
/// did not seal. Safe to run again; with `dry_run` it only counts.
///
/// # Errors
/// When the store fails.
pub async fn reseal(
    store: &Arc<dyn Store>,
    ring: &MasterKey,
    dry_run: bool,
    now: latchkey_core::UnixTime,
) -> Result<ResealReport, AppError> {
    let mut report = ResealReport::default();
    for kind in SealedKind::ALL {
        let env = ring.envelope_for(purpose(kind)).map_err(internal)?;
        let mut r = KindReport::default();
        for v in store.sealed_values(kind).await? {
            let Some(aad) = aad(&v) else {
                r.unreadable += 1;
                continue;
            };
            match env.open_with_index(&v.sealed, &aad) {
                Err(_) => r.unreadable += 1,
                Ok((_, 0)) => r.current += 1,
                Ok(_) if dry_run => r.resealed += 1,
                Ok((plain, _)) => {
                    let again = env.seal(&plain, &aad).map_err(internal)?;
                    if store.replace_sealed(&v, &again).await? {
                        r.resealed += 1;
                    } else {
                        r.changed += 1;
                    }
                }
            }
        }
        report.kinds.push((kind.as_str(), r));
    }
    // The installation keys.
    let env = ring.envelope_for(INSTALLATION).map_err(internal)?;
    let mut r = KindReport::default();
    if let Some(sealed) = store.installation_key(CLIENT_SECRET_HMAC).await? {
        let aad = installation_aad(CLIENT_SECRET_HMAC);
        match env.open_with_index(&sealed, &aad) {
            Err(_) => r.unreadable += 1,
            Ok((_, 0)) => r.current += 1,
            Ok(_) if dry_run => r.resealed += 1,
            Ok((plain, _)) => {
                let again = env.seal(&plain, &aad).map_err(internal)?;
                if store.put_installation_key(CLIENT_SECRET_HMAC, Some(&sealed), &again, now).await? {
                    r.resealed += 1;
                } else {
                    r.changed += 1;
                }
            }
        }
    }
    report.kinds.push(("installation keys", r));
    Ok(report)
}
