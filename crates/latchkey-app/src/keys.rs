//! The key ring of a tenant: private keys decrypted and parsed once, the
//! verifier for every published key, and the JWKS document pre-rendered.
//!
//! Rotation is a matter of timestamps, so every node agrees without
//! coordination: a key is **published** (JWKS, verifier) from its creation
//! until every token it can have signed has expired; it **signs** from its
//! `activated_at` until its `retired_at` (the next key's activation). A
//! rotation creates the next key some minutes before it activates, long
//! enough for every node to load it and every client to refetch the JWKS.

use std::sync::Arc;

use latchkey_core::{SigningAlg, TenantId, TenantSettings, UnixTime};
use latchkey_crypto::{Envelope, SigningKey, Verifier, keys::generate_pkcs8};
use latchkey_store::{KeyPurpose, SigningKeyRecord};

use crate::AppError;

/// Seconds between a rotation and the new key's first signature, unless
/// the caller says otherwise: longer than a tenant reload (60 s) plus the
/// JWKS cache lifetime (300 s), so the key is everywhere before it is used.
pub const DEFAULT_ACTIVATION_DELAY: u32 = 600;

/// Slack added to a retired key's publication: nodes switch keys at their
/// next tenant reload at the latest (60 s).
const RELOAD_SLACK: i64 = 120;

/// A loaded key and the period in which it signs.
struct Slot {
    key: Arc<SigningKey>,
    from: UnixTime,
    until: Option<UnixTime>,
}

pub struct KeyRing {
    access: Vec<Slot>,
    id_token: Vec<Slot>,
    verifier: Verifier,
    jwks: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

/// Seconds a retired key stays published: the longest a token it signed
/// may live, plus the reload slack.
fn retention(settings: &TenantSettings) -> i64 {
    i64::from(settings.max_access_token_lifetime.max(settings.max_id_token_lifetime)) + RELOAD_SLACK
}

/// What a key is at a moment; it follows from the key's timestamps alone,
/// so every node agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet.
    Pending,
    /// Signing.
    Active,
    /// Published for the tokens it signed; signs no more.
    Retired,
    /// Neither signing nor published.
    Expired,
}

impl KeyState {
    /// `pending`, `active`, `retired` or `expired`, as the admin API shows it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Expired => "expired",
        }
    }
}

/// What a key is at `now`.
#[must_use]
pub fn key_state(r: &SigningKeyRecord, settings: &TenantSettings, now: UnixTime) -> KeyState {
    match (r.activated_at, r.retired_at) {
        (_, Some(until)) if now >= until + retention(settings) => KeyState::Expired,
        (_, Some(until)) if now >= until => KeyState::Retired,
        (Some(from), _) if now < from => KeyState::Pending,
        (None, _) => KeyState::Pending,
        _ => KeyState::Active,
    }
}

fn aad(tenant: &TenantId, kid: &str) -> Vec<u8> {
    crate::sealing::signing_key_aad(tenant.as_str(), kid)
}

/// Generates a key and its stored record (private part sealed with the
/// master key). RSA generation takes tens of milliseconds.
///
/// # Errors
/// When generation or sealing fails.
pub fn new_key_record(
    envelope: &Envelope,
    tenant: &TenantId,
    alg: SigningAlg,
    purpose: KeyPurpose,
    now: i64,
) -> Result<SigningKeyRecord, AppError> {
    let der = generate_pkcs8(alg).map_err(|e| AppError::Internal(e.to_string()))?;
    let key = SigningKey::from_pkcs8(alg, &der).map_err(|e| AppError::Internal(e.to_string()))?;
    let sealed = envelope.seal(&der, &aad(tenant, key.kid())).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(SigningKeyRecord {
        kid: key.kid().to_owned(),
        alg,
        purpose,
        sealed_private: sealed,
        public_jwk: key.public_jwk().to_string(),
        created_at: now,
        activated_at: Some(now),
        retired_at: None,
    })
}

impl KeyRing {
    /// Decrypts and parses every key of the tenant still published at `now`.
    ///
    /// # Errors
    /// When a key cannot be decrypted (wrong master key) or parsed.
    pub fn load(
        envelope: &Envelope,
        tenant: &TenantId,
        settings: &TenantSettings,
        records: &[SigningKeyRecord],
        now: UnixTime,
    ) -> Result<Self, AppError> {
        let mut verifier = Verifier::default();
        let (mut access, mut id_token) = (Vec::new(), Vec::new());
        let mut jwks = Vec::new();
        for r in records.iter().filter(|r| key_state(r, settings, now) != KeyState::Expired) {
            let der = envelope.open(&r.sealed_private, &aad(tenant, &r.kid)).map_err(|_| {
                AppError::Internal(format!(
                    "signing key {} of tenant {tenant} cannot be decrypted: is this the master key the data was created with?",
                    r.kid
                ))
            })?;
            let key = SigningKey::from_pkcs8(r.alg, &der).map_err(|e| AppError::Internal(e.to_string()))?;
            verifier.add(&key);
            jwks.push(key.public_jwk().clone());
            let Some(from) = r.activated_at else { continue };
            let slot = Slot { key: Arc::new(key), from, until: r.retired_at };
            match r.purpose {
                KeyPurpose::AccessToken => access.push(slot),
                KeyPurpose::IdToken => id_token.push(slot),
            }
        }
        let jwks = serde_json::json!({ "keys": jwks }).to_string();
        Ok(Self { access, id_token, verifier, jwks })
    }

    #[cfg(test)]
    pub(crate) fn empty_for_test() -> Self {
        Self { access: Vec::new(), id_token: Vec::new(), verifier: Verifier::default(), jwks: String::new() }
    }

    /// The key that signs at `now`: the latest activated one. A key whose
    /// retirement this node has not loaded yet keeps signing until the next
    /// reload; its publication covers that.
    fn signing(slots: &[Slot], now: UnixTime) -> Option<&Arc<SigningKey>> {
        slots
            .iter()
            .filter(|s| s.from <= now && s.until.is_none_or(|u| now < u))
            .max_by_key(|s| s.from)
            .or_else(|| slots.iter().filter(|s| s.from <= now).max_by_key(|s| s.from))
            .map(|s| &s.key)
    }

    /// The key that signs access tokens at `now`.
    ///
    /// # Errors
    /// When the tenant has no active access-token key (not expected after bootstrap).
    pub fn access_key(&self, now: UnixTime) -> Result<&Arc<SigningKey>, AppError> {
        Self::signing(&self.access, now).ok_or_else(|| AppError::Internal("no active access-token signing key".into()))
    }

    /// The key that signs ID tokens at `now`.
    ///
    /// # Errors
    /// When the tenant has no active ID-token key.
    pub fn id_token_key(&self, now: UnixTime) -> Result<&Arc<SigningKey>, AppError> {
        Self::signing(&self.id_token, now).ok_or_else(|| AppError::Internal("no active ID-token signing key".into()))
    }

    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The JWKS document (RFC 7517), public members only.
    #[must_use]
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }
}
