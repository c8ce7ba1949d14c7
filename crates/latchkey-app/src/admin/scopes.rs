//! The scopes catalogue.

use latchkey_core::Scope;
use latchkey_store::ScopeRecord;
use serde::{Deserialize, Serialize};

use super::{Actor, diff};
use crate::tenants::TenantContext;
use crate::{App, AppError};

#[derive(Debug, Clone, Deserialize)]
pub struct NewScope {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<ScopeRecord> for ScopeView {
    fn from(r: ScopeRecord) -> Self {
        Self { name: r.name, description: r.description, created_at: r.created_at, updated_at: r.updated_at }
    }
}

impl App {
    /// # Errors
    /// `Validation` for a malformed name or over-long description, `Conflict`
    /// when it exists, `Forbidden` for read-only callers.
    pub async fn create_scope(&self, ctx: &TenantContext, actor: &Actor, new: NewScope) -> Result<ScopeView, AppError> {
        actor.require_write()?;
        let name = Scope::parse(&new.name).map_err(|e| AppError::field("name", &e.message))?;
        if new.description.chars().count() > 500 {
            return Err(AppError::field("description", "must be at most 500 characters"));
        }
        let now = self.now();
        let rec =
            ScopeRecord { name: name.to_string(), description: new.description, created_at: now, updated_at: now };
        let view = ScopeView::from(rec.clone());
        let after = serde_json::to_value(&view).unwrap_or_default();
        let audit = self.audit_record(actor, "scope.create", "scope", &rec.name, &diff(&serde_json::json!({}), &after));
        self.store.insert_scope(&ctx.id, &rec, &audit).await.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(format!("the scope {} already exists", rec.name)),
            other => other,
        })?;
        Ok(view)
    }

    /// # Errors
    /// `Unavailable` when the database is down.
    pub async fn list_scopes(&self, ctx: &TenantContext) -> Result<Vec<ScopeView>, AppError> {
        Ok(self.store.list_scopes(&ctx.id).await?.into_iter().map(ScopeView::from).collect())
    }
}
