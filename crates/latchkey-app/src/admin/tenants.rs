//! Tenants: created, renamed, reconfigured, disabled and deleted by the
//! platform's owners — owners of the default tenant (and its admin client).
//! Each tenant starts like the default one did: keys, scopes, the default
//! clients and a first `tenant-admin`, whose credentials are shown once.
//! Events about a tenant go to the default tenant's audit log.

use latchkey_core::{TenantId, TenantSettings};
use latchkey_store::TenantRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Actor;
use super::clients::merge_patch;
use crate::tenants::TenantContext;
use std::sync::Arc;

use super::clients::ClientAdmin;
use crate::AppError;
use crate::kernel::Kernel;

/// A tenant to create.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Lowercase letters, digits and `-`; part of the issuer `{base}/t/{tenant_id}`.
    pub tenant_id: String,
    pub display_name: Option<String>,
    /// Settings differing from the defaults.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TenantSettings>))]
    pub settings: Option<Value>,
}

/// A tenant as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantView {
    pub tenant_id: String,
    pub display_name: String,
    /// `active` or `disabled` (its endpoints answer 404).
    pub status: String,
    pub issuer: String,
    pub settings: TenantSettings,
    pub created_at: i64,
}

/// A created tenant and its first credentials, shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedTenant {
    #[serde(flatten)]
    pub tenant: TenantView,
    /// The tenant's admin API client (`client_credentials`, scope `admin`).
    pub admin_client_id: String,
    pub admin_client_secret: Option<String>,
    /// The tenant's first user, with the `tenant-admin` role.
    pub admin_username: String,
    pub admin_password: Option<String>,
}

/// Changes to a tenant: name and settings (a JSON merge patch of them).
#[derive(Debug, Clone, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub display_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub settings: Option<Value>,
}

fn settings_from(base: &TenantSettings, patch: Option<&Value>) -> Result<TenantSettings, AppError> {
    let mut doc = serde_json::to_value(base).map_err(|e| AppError::Internal(e.to_string()))?;
    if let Some(p) = patch {
        if !p.is_object() {
            return Err(AppError::field("settings", "must be an object"));
        }
        merge_patch(&mut doc, p);
    }
    let settings: TenantSettings = serde_json::from_value(doc).map_err(|e| {
        let msg = e.to_string();
        AppError::field("settings", msg.split(" at line").next().unwrap_or("is not valid"))
    })?;
    let errors: Vec<_> = settings
        .check()
        .into_iter()
        .map(|f| latchkey_core::FieldError::new(&format!("settings.{}", f.field), &f.message))
        .collect();
    if errors.is_empty() { Ok(settings) } else { Err(AppError::Validation(errors)) }
}

fn display_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::field("display_name", "must be 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// Secrets supplied by the environment instead of generated (for the
/// default tenant's first start; new tenants always get generated ones).
#[derive(Debug, Default, Clone)]
pub struct BootstrapSecrets {
    pub admin_password: Option<String>,
    pub admin_client_secret: Option<String>,
}

/// Managing tenants, their settings and signing keys, and bootstrapping
/// the default tenant.
pub struct TenantAdmin {
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) clients: Arc<ClientAdmin>,
}

impl TenantAdmin {
    pub(crate) fn new(kernel: Arc<Kernel>, clients: Arc<ClientAdmin>) -> Self {
        Self { kernel, clients }
    }
}

impl TenantAdmin {
    fn require_platform_owner(ctx: &TenantContext, actor: &Actor) -> Result<(), AppError> {
        if ctx.id != TenantId::default_tenant() {
            return Err(AppError::Forbidden("tenants are managed from the default tenant".into()));
        }
        actor.require_write()?;
        if !actor.may_grant_owner() {
            return Err(AppError::Forbidden("only owners manage tenants".into()));
        }
        Ok(())
    }

    fn tenant_view(&self, t: TenantRecord) -> TenantView {
        TenantView {
            issuer: self.kernel.issuer_for(&t.tenant_id),
            tenant_id: t.tenant_id.to_string(),
            display_name: t.display_name,
            status: t.status.as_str().to_owned(),
            settings: t.settings,
            created_at: t.created_at,
        }
    }

    /// Another tenant than the default one, as a target.
    async fn other_tenant(&self, id: &str) -> Result<TenantRecord, AppError> {
        let id = TenantId::parse(id).map_err(|_| AppError::NotFound)?;
        if id == TenantId::default_tenant() {
            return Err(AppError::Forbidden("the default tenant cannot be changed here".into()));
        }
        self.kernel.store.get_tenant(&id).await?.ok_or(AppError::NotFound)
    }

    /// # Errors
    /// `Forbidden` unless an owner of the default tenant acts;
    /// `Validation`; `Conflict` for a taken id.
    pub async fn create_tenant(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        new: NewTenant,
    ) -> Result<CreatedTenant, AppError> {
        Self::require_platform_owner(ctx, actor)?;
        let id = TenantId::parse(&new.tenant_id).map_err(|e| AppError::Validation(vec![e]))?;
        let name = display_name(new.display_name.as_deref().unwrap_or(id.as_str()))?;
        let settings = settings_from(&TenantSettings::default(), new.settings.as_ref())?;
        if self.kernel.store.get_tenant(&id).await?.is_some() {
            return Err(AppError::Conflict("a tenant with this id already exists".into()));
        }
        let (mut bundle, creds) = self
            .tenant_bundle(&id, &name, settings, BootstrapSecrets::default(), latchkey_core::AdminRole::TenantAdmin)
            .await?;
        let view = self.tenant_view(bundle.tenant.clone());
        let changes = json!({"tenant_id": {"after": view.tenant_id}, "display_name": {"after": view.display_name},
            "settings": {"after": view.settings}});
        let audit = self.kernel.audit_record(actor, "tenant.create", "tenant", id.as_str(), &changes);
        bundle.audit_elsewhere.push((ctx.id.clone(), audit));
        if !self.kernel.store.bootstrap_tenant(&bundle).await? {
            return Err(AppError::Conflict("a tenant with this id already exists".into()));
        }
        Ok(CreatedTenant {
            tenant: view,
            admin_client_id: creds.admin_client_id,
            admin_client_secret: creds.admin_client_secret,
            admin_username: creds.admin_username,
            admin_password: creds.admin_password,
        })
    }

    /// # Errors
    /// `Forbidden` unless an owner of the default tenant acts.
    pub async fn list_tenants(&self, ctx: &TenantContext, actor: &Actor) -> Result<Vec<TenantView>, AppError> {
        if ctx.id != TenantId::default_tenant() || actor.authority() != Some(latchkey_core::AdminRole::Owner) {
            return Err(AppError::Forbidden("only owners of the default tenant see the tenants".into()));
        }
        Ok(self.kernel.store.list_tenants().await?.into_iter().map(|t| self.tenant_view(t)).collect())
    }

    /// # Errors
    /// As [`TenantAdmin::list_tenants`](crate::admin::tenants::TenantAdmin::list_tenants); `NotFound`.
    pub async fn get_tenant(&self, ctx: &TenantContext, actor: &Actor, id: &str) -> Result<TenantView, AppError> {
        self.list_tenants(ctx, actor).await?.into_iter().find(|t| t.tenant_id == id).ok_or(AppError::NotFound)
    }

    /// # Errors
    /// `Forbidden`, `NotFound`, `Validation`.
    pub async fn update_tenant(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        patch: TenantPatch,
    ) -> Result<TenantView, AppError> {
        Self::require_platform_owner(ctx, actor)?;
        let before = self.other_tenant(id).await?;
        let mut after = before.clone();
        if let Some(n) = &patch.display_name {
            after.display_name = display_name(n)?;
        }
        after.settings = settings_from(&before.settings, patch.settings.as_ref())?;
        let (b, a) = (self.tenant_view(before), self.tenant_view(after.clone()));
        let changes = super::diff(
            &json!({"display_name": b.display_name, "settings": b.settings}),
            &json!({"display_name": a.display_name, "settings": a.settings}),
        );
        let audit = self.kernel.audit_record(actor, "tenant.update", "tenant", id, &changes);
        if !self.kernel.store.update_tenant(&after, self.kernel.now(), &ctx.id, &audit).await? {
            return Err(AppError::NotFound);
        }
        self.kernel.forget_tenant(&after.tenant_id);
        Ok(a)
    }

    /// Changes the policy of the caller's own tenant (a JSON merge patch of
    /// its settings): what the console's Settings page edits. Any caller who
    /// may write in the tenant (owner, tenant admin, admin client) may.
    ///
    /// # Errors
    /// `Forbidden` for read-only callers; `Validation` (fields named
    /// `settings.…`); `NotFound` when the tenant vanished.
    pub async fn update_own_settings(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        patch: &Value,
    ) -> Result<TenantSettings, AppError> {
        actor.require_write()?;
        let before = self.kernel.store.get_tenant(&ctx.id).await?.ok_or(AppError::NotFound)?;
        let mut after = before.clone();
        after.settings = settings_from(&before.settings, Some(patch))?;
        let changes = super::diff(
            &serde_json::to_value(&before.settings).unwrap_or_default(),
            &serde_json::to_value(&after.settings).unwrap_or_default(),
        );
        let audit = self.kernel.audit_record(actor, "tenant.update", "tenant", ctx.id.as_str(), &changes);
        if !self.kernel.store.update_tenant(&after, self.kernel.now(), &ctx.id, &audit).await? {
            return Err(AppError::NotFound);
        }
        self.kernel.forget_tenant(&ctx.id);
        Ok(after.settings)
    }

    /// Disables (its endpoints answer 404 at once on this node, within a
    /// minute on others) or enables a tenant.
    ///
    /// # Errors
    /// `Forbidden`, `NotFound`.
    pub async fn set_tenant_status(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        active: bool,
    ) -> Result<TenantView, AppError> {
        Self::require_platform_owner(ctx, actor)?;
        let mut t = self.other_tenant(id).await?;
        let status = latchkey_core::TenantStatus::from_active(active);
        let changes = json!({"status": {"before": t.status, "after": status}});
        t.status = status;
        let action = if active { "tenant.enable" } else { "tenant.disable" };
        let audit = self.kernel.audit_record(actor, action, "tenant", id, &changes);
        if !self.kernel.store.update_tenant(&t, self.kernel.now(), &ctx.id, &audit).await? {
            return Err(AppError::NotFound);
        }
        self.kernel.forget_tenant(&t.tenant_id);
        Ok(self.tenant_view(t))
    }

    /// Deletes a disabled tenant and everything in it.
    ///
    /// # Errors
    /// `Forbidden`, `NotFound`, `Conflict` while the tenant is active.
    pub async fn delete_tenant(&self, ctx: &TenantContext, actor: &Actor, id: &str) -> Result<(), AppError> {
        Self::require_platform_owner(ctx, actor)?;
        let t = self.other_tenant(id).await?;
        if t.status.is_active() {
            return Err(AppError::Conflict("disable the tenant first: deleting it removes everything in it".into()));
        }
        let changes = json!({"tenant_id": {"before": id}, "display_name": {"before": t.display_name}});
        let audit = self.kernel.audit_record(actor, "tenant.delete", "tenant", id, &changes);
        if !self.kernel.store.delete_tenant(&t.tenant_id, &ctx.id, &audit).await? {
            return Err(AppError::NotFound);
        }
        self.kernel.forget_tenant(&t.tenant_id);
        Ok(())
    }
}
