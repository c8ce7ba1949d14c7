//! Admin services: who may do what, and the mutations themselves. The admin
//! API and (later) the console and CLI call exactly these functions.

pub mod clients;
pub mod scopes;
pub mod secrets;
pub mod tenants;
pub mod users;

#[cfg(test)]
mod tests;

use latchkey_store::AuditRecord;
use serde_json::{Map, Value};

use crate::tenants::TenantContext;
use crate::{App, AppError};

/// The caller of an admin operation.
///
/// Clients act with their token's scope (`admin` writes, `admin:read`
/// reads). Users act with their role, narrowed by the token's scope:
/// `owner` and `tenant-admin` may write, `viewer` may only read.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Client id or user id.
    pub id: String,
    /// `client` (an admin token from client_credentials), `user` or `system`.
    pub kind: &'static str,
    /// May change things.
    pub can_write: bool,
    /// A user's highest role (`owner`, `tenant-admin`, `viewer`).
    pub role: Option<String>,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The server itself (bootstrap, maintenance).
    #[must_use]
    pub fn system() -> Self {
        Self { id: "latchkey".into(), kind: "system", can_write: true, role: None, source_ip: None, request_id: None }
    }

    /// # Errors
    /// `Forbidden` for read-only callers.
    pub fn require_write(&self) -> Result<(), AppError> {
        if self.can_write {
            Ok(())
        } else if self.role.as_deref() == Some("viewer") {
            Err(AppError::Forbidden("viewers may read but not change anything".into()))
        } else {
            Err(AppError::Forbidden("this operation needs the admin scope; the token has admin:read only".into()))
        }
    }

    /// Only owners (and admin clients, and the system) may hand out the owner role.
    #[must_use]
    pub fn may_grant_owner(&self) -> bool {
        self.can_write && (self.kind != "user" || self.role.as_deref() == Some("owner"))
    }

    /// A user actor with a role, as a signed-in console user acts.
    #[must_use]
    pub fn user(id: &str, role: &str, token_allows_write: bool) -> Self {
        let can_write = token_allows_write && matches!(role, "owner" | "tenant-admin");
        Self {
            id: id.to_owned(),
            kind: "user",
            can_write,
            role: Some(role.to_owned()),
            source_ip: None,
            request_id: None,
        }
    }
}

impl App {
    /// Authenticates an admin API caller from a bearer access token issued
    /// by this tenant with scope `admin` or `admin:read`.
    ///
    /// # Errors
    /// `Unauthorized` for a missing, invalid, expired or revoked token;
    /// `Forbidden` for a valid token without an admin scope.
    pub async fn admin_actor(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Actor, AppError> {
        let token = bearer.ok_or_else(|| AppError::Unauthorized("a bearer token is required".into()))?;
        let claims = self
            .read_access_token(ctx, token)
            .await
            .map_err(|_| AppError::Unavailable)?
            .ok_or_else(|| AppError::Unauthorized("the access token is invalid, expired or revoked".into()))?;
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        let can_write = scopes.contains(&"admin");
        if !can_write && !scopes.contains(&"admin:read") {
            return Err(AppError::Forbidden("the token has neither the admin nor the admin:read scope".into()));
        }
        if claims.sub == claims.client_id {
            return Ok(Actor { id: claims.sub, kind: "client", can_write, role: None, source_ip, request_id });
        }
        // A user's token: the user's role decides, narrowed by the scope.
        let user =
            self.store.get_user(&ctx.id, &claims.sub).await?.filter(|u| u.status == "active").ok_or_else(|| {
                AppError::Unauthorized("the user of this token no longer exists or is disabled".into())
            })?;
        let role = ["owner", "tenant-admin", "viewer"]
            .into_iter()
            .find(|r| user.roles.iter().any(|x| x == r))
            .ok_or_else(|| AppError::Forbidden("this user has no administrative role in this tenant".into()))?;
        let mut actor = Actor::user(&claims.sub, role, can_write);
        actor.source_ip = source_ip;
        actor.request_id = request_id;
        Ok(actor)
    }

    pub(crate) fn audit_record(
        &self,
        actor: &Actor,
        action: &str,
        target_type: &str,
        target_id: &str,
        changes: &Value,
    ) -> AuditRecord {
        AuditRecord {
            event_id: self.event_id(),
            occurred_at: self.now(),
            actor: actor.id.clone(),
            actor_type: actor.kind.to_owned(),
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_owned(),
            source_ip: actor.source_ip.clone(),
            request_id: actor.request_id.clone(),
            changes: changes.to_string(),
        }
    }
}

/// The before/after diff of every top-level field that changed.
#[must_use]
pub fn diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys()) {
        if out.contains_key(key) {
            continue;
        }
        let (x, y) = (b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
        if x != y {
            out.insert(key.clone(), serde_json::json!({ "before": x, "after": y }));
        }
    }
    Value::Object(out)
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

impl App {
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
            target_type: p.target_type.clone(),
            target_id: p.target_id.clone(),
            actor: p.actor.clone(),
            action: p.action.clone(),
            since: p.since,
            until: p.until,
            before,
            limit: limit + 1,
        };
        let rows = self.store.search_audit(&ctx.id, &q).await?;
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
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<u32>,
}
