//! The client-secret lifecycle (SPEC §3): add, rotate with a grace period,
//! revoke one, list. Secrets are generated (or imported, ≥ 32 characters),
//! shown once, kept as an HMAC; at most [`MAX_SECRETS`] valid at a time.

use latchkey_core::ClientId;
use latchkey_crypto::ClientSecret;
use latchkey_crypto::secret::MIN_IMPORTED_LEN;
use latchkey_store::SecretRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Actor;
use super::clients::ClientAdmin;
use super::clients::SecretView;
use crate::AppError;
use crate::tenants::TenantContext;

/// Valid secrets a client may hold at once.
pub const MAX_SECRETS: usize = 5;
/// Longest rotation grace period: 30 days.
pub const MAX_GRACE_SECONDS: i64 = 30 * 86_400;

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddSecret {
    pub label: Option<String>,
    pub expires_in_days: Option<u32>,
    /// Import an existing secret instead of generating one.
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// Seconds the old secrets stay valid, at most 2592000 (30 days); 0
    /// revokes them now (a compromised secret).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 2_592_000))]
    pub grace_seconds: i64,
    pub label: Option<String>,
}

/// A new secret, shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSecret {
    pub secret: SecretView,
    pub client_secret: String,
    /// Secrets that now expire (rotation only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expiring: Vec<SecretView>,
}

impl ClientAdmin {
    /// The expiry the tenant's maximum secret age imposes, combined with a
    /// requested lifetime in days.
    pub(crate) fn max_age_expiry(&self, ctx: &TenantContext, days: Option<u32>) -> Option<i64> {
        let now = self.kernel.now();
        let requested = days.map(|d| now + i64::from(d) * 86_400);
        let max = ctx.settings.secret_max_age_days.map(|d| now + i64::from(d) * 86_400);
        match (requested, max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Builds a secret record for an imported secret, or generates one.
    pub(crate) fn new_secret(
        &self,
        imported: Option<String>,
        label: Option<String>,
        expires_at: Option<i64>,
    ) -> Result<(ClientSecret, SecretRecord), AppError> {
        let secret = match imported {
            Some(s) if s.chars().count() < MIN_IMPORTED_LEN => {
                return Err(AppError::field("secret", "an imported secret must be at least 32 characters"));
            }
            Some(s) if s.chars().any(char::is_control) || s.len() > 512 => {
                return Err(AppError::field(
                    "secret",
                    "a secret is at most 512 characters, without control characters",
                ));
            }
            Some(s) => ClientSecret::from_plaintext(s),
            None => {
                let mut r = [0u8; latchkey_crypto::secret::RANDOM_BYTES];
                self.kernel.rng.fill(&mut r);
                latchkey_crypto::secret::generate_client_secret(&r)
                    .ok_or_else(|| AppError::Internal("random source returned too few usable bytes".into()))?
            }
        };
        if label.as_ref().is_some_and(|l| l.chars().count() > 100 || l.chars().any(char::is_control)) {
            return Err(AppError::field("label", "at most 100 characters"));
        }
        let rec = SecretRecord {
            secret_id: format!("sec_{}", self.kernel.random_id(9)),
            secret_hash: self.kernel.hasher().hash(&secret),
            sealed_secret: None,
            hint: secret.hint(),
            label,
            created_at: self.kernel.now(),
            expires_at,
            last_used_at: None,
        };
        Ok((secret, rec))
    }

    /// Adds a secret; returns its plaintext and record.
    pub(crate) async fn add_secret_internal(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        imported: Option<String>,
        label: Option<String>,
        days: Option<u32>,
    ) -> Result<(String, SecretRecord), AppError> {
        self.write_secret(ctx, actor, client_id, (imported, label, days), None).await
    }

    /// Adds a secret and, for a rotation, expires `expire` in the same
    /// transaction with one audit event.
    async fn write_secret(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        (imported, label, days): (Option<String>, Option<String>, Option<u32>),
        expire: Option<(&[String], i64)>,
    ) -> Result<(String, SecretRecord), AppError> {
        let (secret, rec) = self.new_secret(imported, label, self.max_age_expiry(ctx, days))?;
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let added_doc = json!({ "id": rec.secret_id, "hint": rec.hint, "expires_at": rec.expires_at });
        let (action, changes) = match expire {
            None => ("client.secret_add", json!({ "secrets": { "before": null, "after": added_doc } })),
            Some((ids, at)) => {
                ("client.secret_rotate", json!({ "secrets": { "added": added_doc, "expire": ids, "expires_at": at } }))
            }
        };
        let audit = self.kernel.audit_record(actor, action, "client", client_id, &changes);
        let added =
            self.kernel.store.add_secret(&ctx.id, &id, &rec, expire, MAX_SECRETS, self.kernel.now(), &audit).await?;
        self.kernel.clients.invalidate(&ctx.id, &id);
        if !added {
            return Err(AppError::Conflict(format!(
                "a client holds at most {MAX_SECRETS} valid secrets: revoke one first (or rotate with grace 0)"
            )));
        }
        Ok((secret.expose().to_owned(), rec))
    }

    async fn confidential(&self, ctx: &TenantContext, client_id: &str) -> Result<Vec<SecretRecord>, AppError> {
        let (c, secrets) = self.load_client(ctx, client_id).await?;
        if c.config.is_public() {
            return Err(AppError::Conflict("public clients have no secrets".into()));
        }
        Ok(secrets)
    }

    /// Adds a secret to a confidential client.
    ///
    /// # Errors
    /// `NotFound`, `Conflict` (public client, or already 5 valid secrets), `Validation`.
    pub async fn add_secret(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        req: AddSecret,
    ) -> Result<NewSecret, AppError> {
        self.client_for_change(ctx, actor, client_id).await?;
        self.confidential(ctx, client_id).await?;
        let (plain, rec) =
            self.add_secret_internal(ctx, actor, client_id, req.secret, req.label, req.expires_in_days).await?;
        Ok(NewSecret { secret: SecretView::from(&rec), client_secret: plain, expiring: Vec::new() })
    }

    /// Rotates: a new secret, and every currently valid secret expires after
    /// the grace period (0 = now: "Generate New Secret" for a compromised one).
    ///
    /// # Errors
    /// As [`ClientAdmin::add_secret`](crate::admin::clients::ClientAdmin::add_secret); `Validation` for a grace out of range.
    pub async fn rotate_secret(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        req: RotateSecret,
    ) -> Result<NewSecret, AppError> {
        self.client_for_change(ctx, actor, client_id).await?;
        if !(0..=MAX_GRACE_SECONDS).contains(&req.grace_seconds) {
            return Err(AppError::field("grace_seconds", "between 0 and 2592000 (30 days)"));
        }
        let now = self.kernel.now();
        let old: Vec<SecretRecord> =
            self.confidential(ctx, client_id).await?.into_iter().filter(|s| s.is_valid_at(now)).collect();
        // One transaction: the new secret, and the old ones expire after the grace.
        let until = now + req.grace_seconds;
        let ids: Vec<String> = old.iter().map(|s| s.secret_id.clone()).collect();
        let expiring = |ids: &[String]| -> Vec<SecretView> {
            old.iter()
                .filter(|s| ids.contains(&s.secret_id))
                .map(|s| SecretView {
                    expires_at: Some(s.expires_at.map_or(until, |e| e.min(until))),
                    ..SecretView::from(s)
                })
                .collect()
        };
        // Secrets that expire before the grace ends keep their own expiry.
        let later: Vec<String> =
            old.iter().filter(|s| s.expires_at.is_none_or(|e| e > until)).map(|s| s.secret_id.clone()).collect();
        let (plain, rec) =
            self.write_secret(ctx, actor, client_id, (None, req.label, None), Some((&later, until))).await?;
        Ok(NewSecret { secret: SecretView::from(&rec), client_secret: plain, expiring: expiring(&ids) })
    }

    /// Revokes (expires now) one secret. The last valid secret of an active
    /// confidential client cannot be revoked: disable the client first, or rotate.
    ///
    /// # Errors
    /// `NotFound`, `Conflict`.
    pub async fn revoke_secret(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        secret_id: &str,
    ) -> Result<(), AppError> {
        let (c, secrets, _) = self.client_for_change(ctx, actor, client_id).await?;
        let now = self.kernel.now();
        let target = secrets.iter().find(|s| s.secret_id == secret_id).ok_or(AppError::NotFound)?;
        if !target.is_valid_at(now) {
            return Ok(());
        }
        let valid = secrets.iter().filter(|s| s.is_valid_at(now)).count();
        if valid == 1 && c.is_active() && !c.config.is_public() {
            return Err(AppError::Conflict(
                "this is the client's last valid secret: rotate to replace it, or disable the client first".into(),
            ));
        }
        self.expire_secret_ids(ctx, actor, client_id, &[secret_id.to_owned()], now, "client.secret_revoke").await
    }

    pub(crate) async fn expire_secret_ids(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        ids: &[String],
        at: i64,
        action: &str,
    ) -> Result<(), AppError> {
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let changes = json!({ "secrets": { "expire": ids, "expires_at": at } });
        let audit = self.kernel.audit_record(actor, action, "client", client_id, &changes);
        let r = self.kernel.store.expire_secrets(&ctx.id, &id, ids, at, &audit).await;
        self.kernel.clients.invalidate(&ctx.id, &id);
        Ok(r?)
    }

    /// # Errors
    /// `NotFound`.
    pub async fn list_secrets(&self, ctx: &TenantContext, client_id: &str) -> Result<Vec<SecretView>, AppError> {
        let (_, secrets) = self.load_client(ctx, client_id).await?;
        Ok(secrets.iter().map(SecretView::from).collect())
    }
}
