//! Reading the audit log.

use std::sync::Arc;

use serde_json::Value;

use crate::AppError;
use crate::kernel::Kernel;
use crate::tenants::TenantContext;

/// Searches the audit trail every mutation writes.
pub struct AuditLog {
    kernel: Arc<Kernel>,
}

/// An audit event as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditView {
    pub id: String,
    pub occurred_at: i64,
    pub actor: String,
    pub actor_type: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    pub changes: Value,
}

impl AuditLog {
    pub(crate) fn new(kernel: Arc<Kernel>) -> Self {
        Self { kernel }
    }

    /// Newest audit events first, filtered; with the cursor of the next page.
    ///
    /// # Errors
    /// `Validation` for a malformed cursor; `Unavailable` when the database is down.
    pub async fn search_audit(
        &self,
        ctx: &TenantContext,
        p: &AuditSearch,
    ) -> Result<(Vec<AuditView>, Option<String>), AppError> {
        let limit = p.limit.unwrap_or(50).clamp(1, 500);
        let before = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let (t, id) =
                    c.split_once('.').ok_or_else(|| AppError::field("cursor", "not a cursor this server issued"))?;
                Some((
                    t.parse().map_err(|_| AppError::field("cursor", "not a cursor this server issued"))?,
                    id.to_owned(),
                ))
            }
        };
        let q = latchkey_store::AuditQuery {
            q: p.q.clone().map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
            target_type: p.target_type.clone(),
            target_id: p.target_id.clone(),
            actor: p.actor.clone(),
            action: p.action.clone(),
            since: p.since,
            until: p.until,
            exclude_actions: p.exclude_actions.clone(),
            before,
            limit: limit + 1,
        };
        let rows = self.kernel.store.search_audit(&ctx.id, &q).await?;
        let more = rows.len() > limit as usize;
        let items: Vec<AuditView> = Self::audit_views(rows.into_iter().take(limit as usize).collect());
        let next = if more { items.last().map(|e| format!("{}.{}", e.occurred_at, e.id)) } else { None };
        Ok((items, next))
    }

    fn audit_views(rows: Vec<latchkey_store::AuditRecord>) -> Vec<AuditView> {
        rows.into_iter()
            .map(|r| AuditView {
                id: r.event_id,
                occurred_at: r.occurred_at,
                actor: r.actor,
                actor_type: r.actor_type,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                source_ip: r.source_ip,
                request_id: r.request_id,
                changes: serde_json::from_str(&r.changes).unwrap_or(Value::Null),
            })
            .collect()
    }
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditSearch {
    /// A substring of the actor, the action or the target id (any case).
    pub q: Option<String>,
    /// `client`, `scope`, `security_class`, …
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The client or user id that acted.
    pub actor: Option<String>,
    /// e.g. `client.create`.
    pub action: Option<String>,
    /// Events at or after this Unix time.
    pub since: Option<i64>,
    /// Events before this Unix time.
    pub until: Option<i64>,
    /// Actions left out (the console hides sign-in events unless asked).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", param(ignore))]
    pub exclude_actions: Vec<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<u32>,
}
