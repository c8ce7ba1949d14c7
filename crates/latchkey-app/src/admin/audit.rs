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
    /// Unix time.
    pub occurred_at: i64,
    /// The user or client id that acted.
    pub actor: String,
    /// `user`, `client` or `system`.
    pub actor_type: String,
    /// What happened, e.g. `client.create`.
    pub action: String,
    /// `client`, `scope`, `security_class`, `user`, `tenant`, …
    pub target_type: String,
    pub target_id: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    /// Every field the event changed, by name: `{before, after}` (a created
    /// object's fields have `before: null`, a deleted one's `after: null`).
    /// Secrets appear only as id and hint.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, FieldChange>))]
    pub changes: Value,
    /// What else the event records that is not a field's change (the
    /// `reason` of a forced reset, the `provider` of a federated sign-in, …).
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, serde_json::Value>))]
    pub context: Value,
}

/// The values of one field before and after an audited change.
// Documentation only: `AuditView::changes` holds these as JSON.
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FieldChange {
    /// The value before (any JSON value); `null` when the field did not exist.
    before: Value,
    /// The value after (any JSON value); `null` when the field no longer exists.
    after: Value,
}

/// Splits a stored `changes` document into the field changes (objects of
/// `before` and/or `after`, both then given) and the rest (context).
fn split_changes(stored: &str) -> (Value, Value) {
    let mut changes = serde_json::Map::new();
    let mut context = serde_json::Map::new();
    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(stored) {
        for (k, v) in m {
            match v {
                Value::Object(c) if !c.is_empty() && c.keys().all(|k| k == "before" || k == "after") => {
                    let side = |s: &str| c.get(s).cloned().unwrap_or(Value::Null);
                    changes.insert(k, serde_json::json!({ "before": side("before"), "after": side("after") }));
                }
                other => {
                    context.insert(k, other);
                }
            }
        }
    }
    (Value::Object(changes), Value::Object(context))
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
        let limit = super::page_size(p.limit)?;
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
            .map(|r| {
                let (changes, context) = split_changes(&r.changes);
                AuditView {
                    id: r.event_id,
                    occurred_at: r.occurred_at,
                    actor: r.actor,
                    actor_type: r.actor_type,
                    action: r.action,
                    target_type: r.target_type,
                    target_id: r.target_id,
                    source_ip: r.source_ip,
                    request_id: r.request_id,
                    changes,
                    context,
                }
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
    /// `client`, `scope`, `security_class`, `user`, `tenant`, …
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
    /// Page size, 1-500 (default 50); outside that range the request is refused (400).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500, default = 50))]
    pub limit: Option<u32>,
}
