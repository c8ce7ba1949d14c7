//! The key ring of a tenant: private keys decrypted and parsed once, the
//! verifier for every published key, and the JWKS document pre-rendered.

use std::sync::Arc;

use latchkey_core::{SigningAlg, TenantId};
use latchkey_crypto::{Envelope, SigningKey, Verifier, keys::generate_pkcs8};
use latchkey_store::{KeyPurpose, SigningKeyRecord};

use crate::AppError;

/// Status of a key that signs new tokens.
pub const ACTIVE: &str = "active";

pub struct KeyRing {
    access: Option<Arc<SigningKey>>,
    id_token: Option<Arc<SigningKey>>,
    verifier: Verifier,
    jwks: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

fn aad(tenant: &TenantId, kid: &str) -> Vec<u8> {
    format!("signing-key/{tenant}/{kid}").into_bytes()
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
        status: ACTIVE.to_owned(),
        sealed_private: sealed,
        public_jwk: key.public_jwk().to_string(),
        created_at: now,
        activated_at: Some(now),
        retired_at: None,
    })
}

impl KeyRing {
    /// Decrypts and parses every stored key of the tenant.
    ///
    /// # Errors
    /// When a key cannot be decrypted (wrong master key) or parsed.
    pub fn load(envelope: &Envelope, tenant: &TenantId, records: &[SigningKeyRecord]) -> Result<Self, AppError> {
        let mut verifier = Verifier::default();
        let mut access = None;
        let mut id_token = None;
        let mut jwks = Vec::new();
        for r in records {
            let der = envelope.open(&r.sealed_private, &aad(tenant, &r.kid)).map_err(|_| {
                AppError::Internal(format!(
                    "signing key {} of tenant {tenant} cannot be decrypted: is this the master key the data was created with?",
                    r.kid
                ))
            })?;
            let key = SigningKey::from_pkcs8(r.alg, &der).map_err(|e| AppError::Internal(e.to_string()))?;
            verifier.add(&key);
            jwks.push(key.public_jwk().clone());
            let key = Arc::new(key);
            // Records come oldest first: the newest active key wins.
            if r.status == ACTIVE {
                match r.purpose {
                    KeyPurpose::AccessToken => access = Some(key),
                    KeyPurpose::IdToken => id_token = Some(key),
                }
            }
        }
        let jwks = serde_json::json!({ "keys": jwks }).to_string();
        Ok(Self { access, id_token, verifier, jwks })
    }

    #[cfg(test)]
    pub(crate) fn empty_for_test() -> Self {
        Self { access: None, id_token: None, verifier: Verifier::default(), jwks: String::new() }
    }

    /// The key that signs access tokens.
    ///
    /// # Errors
    /// When the tenant has no active access-token key (not expected after bootstrap).
    pub fn access_key(&self) -> Result<&Arc<SigningKey>, AppError> {
        self.access.as_ref().ok_or_else(|| AppError::Internal("no active access-token signing key".into()))
    }

    /// The key that signs ID tokens.
    ///
    /// # Errors
    /// When the tenant has no active ID-token key.
    pub fn id_token_key(&self) -> Result<&Arc<SigningKey>, AppError> {
        self.id_token.as_ref().ok_or_else(|| AppError::Internal("no active ID-token signing key".into()))
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

/// A signing key as the admin API shows it (public part only).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    pub kid: String,
    pub alg: &'static str,
    pub purpose: &'static str,
    pub status: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    pub public_jwk: serde_json::Value,
}

impl crate::App {
    /// The tenant's signing keys, public parts only.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn list_keys(&self, ctx: &crate::tenants::TenantContext) -> Result<Vec<KeyView>, AppError> {
        Ok(self
            .store
            .list_signing_keys(&ctx.id)
            .await?
            .into_iter()
            .map(|k| KeyView {
                kid: k.kid,
                alg: k.alg.as_str(),
                purpose: k.purpose.as_str(),
                status: k.status,
                created_at: k.created_at,
                activated_at: k.activated_at,
                retired_at: k.retired_at,
                public_jwk: serde_json::from_str(&k.public_jwk).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }
}
