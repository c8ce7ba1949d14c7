//! Loading tenant contexts into the kernel's cache: on first use, every
//! minute, and when a token names a key this node has not seen.

use std::sync::Arc;

use latchkey_core::TenantId;

use super::Kernel;
use crate::AppError;
use crate::keys::KeyRing;
use crate::tenants::TenantContext;

impl Kernel {
    /// The issuer of a tenant: the public URL for `default`, `{url}/t/{tenant}` otherwise.
    #[must_use]
    pub fn issuer_for(&self, tenant: &TenantId) -> String {
        if *tenant == TenantId::default_tenant() {
            self.options.public_url.clone()
        } else {
            format!("{}/t/{tenant}", self.options.public_url)
        }
    }

    /// The tenant's context, from memory when loaded.
    ///
    /// # Errors
    /// `NotFound` for an unknown tenant; `Unavailable` when the database is down.
    pub async fn tenant(&self, id: &TenantId) -> Result<Arc<TenantContext>, AppError> {
        if let Some(ctx) = self.tenants.map.read().ok().and_then(|m| m.get(id).cloned()) {
            return Ok(ctx);
        }
        self.reload_tenant(id).await
    }

    /// Loads (or reloads) a tenant's context from the database.
    ///
    /// # Errors
    /// As [`Kernel::tenant`](crate::Kernel::tenant); `Internal` when its keys cannot be decrypted.
    pub async fn reload_tenant(&self, id: &TenantId) -> Result<Arc<TenantContext>, AppError> {
        let rec = self.store.get_tenant(id).await?.ok_or(AppError::NotFound)?;
        if !rec.status.is_active() {
            return Err(AppError::NotFound);
        }
        let records = self.store.list_signing_keys(id).await?;
        let keys = KeyRing::load(&self.envelope, id, &rec.settings, &records, self.now())?;
        let ctx = Arc::new(TenantContext {
            id: id.clone(),
            issuer: self.issuer_for(id),
            settings: rec.settings,
            keys,
            loaded_at: self.now(),
        });
        if let Ok(mut m) = self.tenants.map.write() {
            m.insert(id.clone(), ctx.clone());
        }
        Ok(ctx)
    }

    /// Reloads the tenant when a token names a key id it does not know and
    /// the cached context is older than a few seconds (bounded reloads).
    pub(crate) async fn tenant_knowing_kid(&self, ctx: Arc<TenantContext>, kid: Option<&str>) -> Arc<TenantContext> {
        match kid {
            Some(k) if !ctx.keys.verifier().knows(k) && self.now() - ctx.loaded_at >= 5 => {
                self.reload_tenant(&ctx.id).await.unwrap_or(ctx)
            }
            _ => ctx,
        }
    }

    /// Drops a tenant's cached context (changed, disabled or deleted).
    pub(crate) fn forget_tenant(&self, id: &TenantId) {
        if let Ok(mut m) = self.tenants.map.write() {
            m.remove(id);
        }
    }

    /// Reloads every cached tenant (called periodically by the server);
    /// disabled and deleted ones are dropped.
    pub async fn refresh_tenants(&self) {
        let ids: Vec<TenantId> = self.tenants.map.read().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        for id in ids {
            match self.reload_tenant(&id).await {
                Ok(_) => {}
                Err(AppError::NotFound) => self.forget_tenant(&id),
                Err(e) => tracing::warn!(tenant = %id, error = %e, "tenant reload failed"),
            }
        }
    }
}
