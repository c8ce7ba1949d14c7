//! The scopes catalogue and security classes (SPEC §1). A client may
//! request the union of its own scopes and its classes' scopes. Deleting a
//! scope or class still in use is refused, naming its users.

use latchkey_core::{Scope, ScopeSet};
use latchkey_store::{ScopeRecord, SecurityClassRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Actor, diff};
use crate::tenants::TenantContext;
use std::sync::Arc;

use crate::AppError;
use crate::kernel::Kernel;

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewScope {
    /// A scope token (RFC 6749 §3.3).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 128, pattern = r"^[\x21\x23-\x5B\x5D-\x7E]+$")
    )]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500, pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*$"))]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopePatch {
    #[cfg_attr(feature = "openapi", schema(max_length = 500, pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*$"))]
    pub description: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewClass {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9._\-/:@]+$"))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500, pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*$"))]
    pub description: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClassPatch {
    #[cfg_attr(feature = "openapi", schema(max_length = 500, pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*$"))]
    pub description: Option<String>,
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassView {
    pub name: String,
    pub description: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<SecurityClassRecord> for ClassView {
    fn from(r: SecurityClassRecord) -> Self {
        Self {
            name: r.name,
            description: r.description,
            scopes: r.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn check_description(d: &str) -> Result<(), AppError> {
    if d.chars().count() > 500 || d.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::field("description", "at most 500 characters, no control characters"));
    }
    Ok(())
}

fn in_use(what: &str, name: &str, users: &[String]) -> AppError {
    let shown: Vec<&str> = users.iter().take(10).map(String::as_str).collect();
    let more = users.len().saturating_sub(10);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    AppError::Conflict(format!("the {what} {name} is still used by {}{tail}; remove it there first", shown.join(", ")))
}

/// What still uses a scope or a security class (and so keeps it from
/// being deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Ids of the clients that name it.
    pub clients: Vec<String>,
    /// Names of the security classes that contain it (scopes only).
    pub classes: Vec<String>,
}

impl Usage {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.classes.is_empty()
    }

    fn described(self) -> Vec<String> {
        let clients = self.clients.into_iter().map(|c| format!("client {c}"));
        clients.chain(self.classes.into_iter().map(|c| format!("security class {c}"))).collect()
    }
}

/// Managing scopes and security classes.
pub struct ScopeAdmin {
    pub(crate) kernel: Arc<Kernel>,
}

impl ScopeAdmin {
    pub(crate) fn new(kernel: Arc<Kernel>) -> Self {
        Self { kernel }
    }

    /// The clients and security classes that use a scope.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot answer.
    pub async fn scope_usage(&self, ctx: &TenantContext, name: &str) -> Result<Usage, AppError> {
        let clients = self.kernel.store.clients_referencing(&ctx.id, "scopes", name).await?;
        let classes = self.kernel.store.list_classes(&ctx.id).await?;
        let classes = classes.into_iter().filter(|c| c.scopes.contains(name)).map(|c| c.name).collect();
        Ok(Usage { clients, classes })
    }

    /// The clients in a security class.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot answer.
    pub async fn class_usage(&self, ctx: &TenantContext, name: &str) -> Result<Usage, AppError> {
        let clients = self.kernel.store.clients_referencing(&ctx.id, "security_classes", name).await?;
        Ok(Usage { clients, classes: Vec::new() })
    }
}

impl ScopeAdmin {
    /// # Errors
    /// `Validation`, `Conflict` when it exists, `Forbidden` for read-only callers.
    pub async fn create_scope(&self, ctx: &TenantContext, actor: &Actor, new: NewScope) -> Result<ScopeView, AppError> {
        actor.require_write()?;
        let name = Scope::parse(&new.name).map_err(|e| AppError::field("name", &e.message))?;
        check_description(&new.description)?;
        let now = self.kernel.now();
        let rec =
            ScopeRecord { name: name.to_string(), description: new.description, created_at: now, updated_at: now };
        let view = ScopeView::from(rec.clone());
        let after = serde_json::to_value(&view).unwrap_or_default();
        let audit = self.kernel.audit_record(actor, "scope.create", "scope", &rec.name, &diff(&json!({}), &after));
        self.kernel.store.insert_scope(&ctx.id, &rec, &audit).await.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(format!("the scope {} already exists", rec.name)),
            other => other,
        })?;
        Ok(view)
    }

    /// # Errors
    /// `Unavailable` when the database is down.
    pub async fn list_scopes(&self, ctx: &TenantContext) -> Result<Vec<ScopeView>, AppError> {
        Ok(self.kernel.store.list_scopes(&ctx.id).await?.into_iter().map(ScopeView::from).collect())
    }

    /// # Errors
    /// `NotFound`.
    pub async fn get_scope(&self, ctx: &TenantContext, name: &str) -> Result<ScopeView, AppError> {
        self.list_scopes(ctx).await?.into_iter().find(|s| s.name == name).ok_or(AppError::NotFound)
    }

    /// # Errors
    /// `NotFound`, `Validation`, `Forbidden`.
    pub async fn update_scope(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        name: &str,
        patch: ScopePatch,
    ) -> Result<ScopeView, AppError> {
        actor.require_write()?;
        check_description(&patch.description)?;
        let before = self.get_scope(ctx, name).await?;
        let rec = ScopeRecord {
            name: before.name.clone(),
            description: patch.description,
            created_at: before.created_at,
            updated_at: self.kernel.now(),
        };
        let after = ScopeView::from(rec.clone());
        let changes =
            diff(&serde_json::to_value(&before).unwrap_or_default(), &serde_json::to_value(&after).unwrap_or_default());
        let audit = self.kernel.audit_record(actor, "scope.update", "scope", name, &changes);
        if !self.kernel.store.update_scope(&ctx.id, &rec, &audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(after)
    }

    /// Deletes a scope nobody uses.
    ///
    /// # Errors
    /// `Conflict` naming the clients and classes still using it; `NotFound`.
    pub async fn delete_scope(&self, ctx: &TenantContext, actor: &Actor, name: &str) -> Result<(), AppError> {
        actor.require_write()?;
        let before = self.get_scope(ctx, name).await?;
        let users = self.scope_usage(ctx, name).await?.described();
        if !users.is_empty() {
            return Err(in_use("scope", name, &users));
        }
        let audit = self.kernel.audit_record(
            actor,
            "scope.delete",
            "scope",
            name,
            &diff(&serde_json::to_value(&before).unwrap_or_default(), &Value::Null),
        );
        if self.kernel.store.delete_scope(&ctx.id, name, &audit).await? { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// The scopes of a class, parsed once here: every one must be in the catalogue.
    async fn check_class_scopes(&self, ctx: &TenantContext, scopes: &[String]) -> Result<ScopeSet, AppError> {
        let catalogue = self.kernel.store.list_scopes(&ctx.id).await?;
        let unknown: Vec<&str> =
            scopes.iter().map(String::as_str).filter(|s| !catalogue.iter().any(|c| c.name == *s)).collect();
        if !unknown.is_empty() {
            return Err(AppError::field(
                "scopes",
                &format!("not in this tenant's scope catalogue: {}", unknown.join(", ")),
            ));
        }
        scopes.iter().map(|s| Scope::parse(s)).collect::<Result<_, _>>().map_err(|e| AppError::Validation(vec![e]))
    }

    /// # Errors
    /// `Validation`, `Conflict`, `Forbidden`.
    pub async fn create_class(&self, ctx: &TenantContext, actor: &Actor, new: NewClass) -> Result<ClassView, AppError> {
        actor.require_write()?;
        let ok = !new.name.is_empty()
            && new.name.len() <= 100
            && new
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@'));
        if !ok {
            return Err(AppError::field("name", "1-100 characters of letters, digits and . _ - / : @"));
        }
        check_description(&new.description)?;
        let scopes = self.check_class_scopes(ctx, &new.scopes).await?;
        let now = self.kernel.now();
        let rec = SecurityClassRecord {
            name: new.name,
            description: new.description,
            scopes,
            created_at: now,
            updated_at: now,
        };
        let view = ClassView::from(rec.clone());
        let audit = self.kernel.audit_record(
            actor,
            "class.create",
            "security_class",
            &rec.name,
            &diff(&json!({}), &serde_json::to_value(&view).unwrap_or_default()),
        );
        let r = self.kernel.store.insert_class(&ctx.id, &rec, &audit).await;
        self.kernel.clients.clear();
        r.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(format!("the security class {} already exists", rec.name)),
            other => other,
        })?;
        Ok(view)
    }

    /// # Errors
    /// `Unavailable`.
    pub async fn list_classes(&self, ctx: &TenantContext) -> Result<Vec<ClassView>, AppError> {
        Ok(self.kernel.store.list_classes(&ctx.id).await?.into_iter().map(ClassView::from).collect())
    }

    /// # Errors
    /// `NotFound`.
    pub async fn get_class(&self, ctx: &TenantContext, name: &str) -> Result<ClassView, AppError> {
        self.list_classes(ctx).await?.into_iter().find(|c| c.name == name).ok_or(AppError::NotFound)
    }

    /// # Errors
    /// `NotFound`, `Validation`, `Forbidden`.
    pub async fn update_class(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        name: &str,
        patch: ClassPatch,
    ) -> Result<ClassView, AppError> {
        actor.require_write()?;
        let before = self.get_class(ctx, name).await?;
        let description = patch.description.unwrap_or_else(|| before.description.clone());
        check_description(&description)?;
        let scopes = self.check_class_scopes(ctx, patch.scopes.as_ref().unwrap_or(&before.scopes)).await?;
        // Giving a class an admin scope raises the authority of the clients
        // in it (people may sign in through them with that scope): only an
        // actor holding at least their new authority may.
        if scopes.contains("admin") || scopes.contains("admin:read") {
            for id in self.kernel.store.clients_referencing(&ctx.id, "security_classes", name).await? {
                let Ok(cid) = latchkey_core::ClientId::parse(&id) else { continue };
                if let Some(c) = self.kernel.store.get_client(&ctx.id, &cid).await? {
                    actor.require_authority_over(c.config.authority(true), &format!("client {id} in this class"))?;
                }
            }
        }
        let rec = SecurityClassRecord {
            name: before.name.clone(),
            description,
            scopes,
            created_at: before.created_at,
            updated_at: self.kernel.now(),
        };
        let after = ClassView::from(rec.clone());
        let changes =
            diff(&serde_json::to_value(&before).unwrap_or_default(), &serde_json::to_value(&after).unwrap_or_default());
        let audit = self.kernel.audit_record(actor, "class.update", "security_class", name, &changes);
        let r = self.kernel.store.update_class(&ctx.id, &rec, &audit).await;
        self.kernel.clients.clear();
        if !r? {
            return Err(AppError::NotFound);
        }
        Ok(after)
    }

    /// # Errors
    /// `Conflict` naming the clients still in the class; `NotFound`.
    pub async fn delete_class(&self, ctx: &TenantContext, actor: &Actor, name: &str) -> Result<(), AppError> {
        actor.require_write()?;
        let before = self.get_class(ctx, name).await?;
        let users = self.class_usage(ctx, name).await?.described();
        if !users.is_empty() {
            return Err(in_use("security class", name, &users));
        }
        let audit = self.kernel.audit_record(
            actor,
            "class.delete",
            "security_class",
            name,
            &diff(&serde_json::to_value(&before).unwrap_or_default(), &Value::Null),
        );
        let r = self.kernel.store.delete_class(&ctx.id, name, &audit).await;
        self.kernel.clients.clear();
        if r? { Ok(()) } else { Err(AppError::NotFound) }
    }
}
