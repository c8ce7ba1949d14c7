//! Signing keys as administrators see them: the list (public parts only)
//! and rotation. The key ring itself is `crate::keys`.

use latchkey_core::SigningAlg;
use latchkey_store::KeyPurpose;

use super::tenants::TenantAdmin;
use crate::AppError;
use crate::keys::{DEFAULT_ACTIVATION_DELAY, key_state, new_key_record};

/// A signing key as the admin API shows it (public part only).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    pub kid: String,
    #[cfg_attr(feature = "openapi", schema(value_type = SigningAlg))]
    pub alg: &'static str,
    /// `access_token` or `id_token`.
    pub purpose: &'static str,
    /// `pending` (published, not signing yet), `active`, `retired` (still
    /// published for the tokens it signed) or `expired`.
    pub status: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = PublicJwk))]
    pub public_jwk: serde_json::Value,
}

/// A public JSON Web Key (RFC 7517 §4, RFC 7518 §6, RFC 8037) as the JWKS
/// publishes it: the members of its key type with `kid`, `alg` and `use`,
/// never a private member.
// Documentation only: the keys are built as JSON.
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PublicJwk {
    kty: JwkKeyType,
    /// The key id: its RFC 7638 thumbprint.
    kid: String,
    alg: SigningAlg,
    /// Always `sig`.
    #[schema(rename = "use", value_type = String, example = "sig")]
    use_: (),
    /// The curve of an `EC` (`P-256`) or `OKP` (`Ed25519`) key.
    #[schema(nullable = false)]
    crv: Option<JwkCurve>,
    /// base64url: the x coordinate (`EC`) or the public key (`OKP`).
    #[schema(nullable = false)]
    x: Option<String>,
    /// base64url: the y coordinate (`EC`).
    #[schema(nullable = false)]
    y: Option<String>,
    /// base64url: the modulus (`RSA`).
    #[schema(nullable = false)]
    n: Option<String>,
    /// base64url: the public exponent (`RSA`).
    #[schema(nullable = false)]
    e: Option<String>,
}

/// The key types Latchkey signs with (RFC 7518 §6.1, RFC 8037 §2).
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "UPPERCASE")]
pub enum JwkKeyType {
    Ec,
    Rsa,
    Okp,
}

/// The curves of the `EC` and `OKP` keys Latchkey signs with.
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub enum JwkCurve {
    #[schema(rename = "P-256")]
    P256,
    Ed25519,
}

/// A key rotation request.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateKeys {
    /// `access_token` or `id_token`; both when absent.
    pub purpose: Option<String>,
    /// Seconds until the new key signs (default 600). `0` switches at once:
    /// for a compromised key, accepting that clients holding an old copy of
    /// the JWKS reject new tokens until they refetch it.
    pub activate_in_seconds: Option<u32>,
}

impl TenantAdmin {
    /// The tenant's signing keys, public parts only.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn list_keys(&self, ctx: &crate::tenants::TenantContext) -> Result<Vec<KeyView>, AppError> {
        let now = self.kernel.now();
        Ok(self
            .kernel
            .store
            .list_signing_keys(&ctx.id)
            .await?
            .into_iter()
            .map(|k| KeyView {
                status: key_state(&k, &ctx.settings, now).as_str().to_owned(),
                kid: k.kid,
                alg: k.alg.as_str(),
                purpose: k.purpose.as_str(),
                created_at: k.created_at,
                activated_at: k.activated_at,
                retired_at: k.retired_at,
                public_jwk: serde_json::from_str(&k.public_jwk).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }

    /// Creates the next signing key of each purpose asked for. It is
    /// published at once and signs from its activation on; the key it
    /// replaces stays published until its tokens have expired.
    ///
    /// # Errors
    /// `Forbidden` for read-only callers, `BadRequest` for an unknown
    /// purpose, `Conflict` while an earlier rotation waits for activation.
    pub async fn rotate_keys(
        &self,
        ctx: &crate::tenants::TenantContext,
        actor: &super::actor::Actor,
        req: RotateKeys,
    ) -> Result<Vec<KeyView>, AppError> {
        actor.require_write()?;
        let purposes = match req.purpose.as_deref() {
            None => vec![KeyPurpose::AccessToken, KeyPurpose::IdToken],
            Some(p) => vec![
                KeyPurpose::parse(p).ok_or_else(|| AppError::field("purpose", "must be access_token or id_token"))?,
            ],
        };
        let now = self.kernel.now();
        let activation = now + i64::from(req.activate_in_seconds.unwrap_or(DEFAULT_ACTIVATION_DELAY));
        let current = self.kernel.store.list_signing_keys(&ctx.id).await?;
        let mut created = Vec::new();
        for purpose in purposes {
            // Same algorithm as the key it replaces (ES256 / RS256 by default).
            let alg = current
                .iter()
                .filter(|k| k.purpose == purpose)
                .max_by_key(|k| k.activated_at)
                .map_or(if purpose == KeyPurpose::IdToken { SigningAlg::Rs256 } else { SigningAlg::Es256 }, |k| k.alg);
            let mut record = new_key_record(&self.kernel.envelope, &ctx.id, alg, purpose, now)?;
            record.activated_at = Some(activation);
            let changes = serde_json::json!({
                "kid": {"after": record.kid}, "purpose": {"after": purpose.as_str()},
                "alg": {"after": alg.as_str()}, "activated_at": {"after": activation},
            });
            let audit = self.kernel.audit_record(actor, "key.rotate", "signing_key", &record.kid, &changes);
            if !self.kernel.store.rotate_signing_key(&ctx.id, &record, now, &audit).await? {
                return Err(AppError::Conflict(format!(
                    "a new {} key is already waiting for its activation; rotate again once it signs",
                    purpose.as_str()
                )));
            }
            created.push(record.kid);
        }
        // This node publishes the new keys at once; others at their next reload.
        let ctx = self.kernel.reload_tenant(&ctx.id).await?;
        Ok(self.list_keys(&ctx).await?.into_iter().filter(|k| created.contains(&k.kid)).collect())
    }
}
