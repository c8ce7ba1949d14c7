//! Admin services: who may do what, and the mutations themselves. The admin
//! API and (later) the console and CLI call exactly these functions.

pub mod client_search;
pub mod clients;
pub mod keys;
pub mod scopes;
pub mod secrets;
pub mod tenants;
pub mod users;

pub mod actor;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod trust_tests;

pub use actor::Actor;
use latchkey_core::AdminRole;
use latchkey_store::AuditRecord;
use serde_json::{Map, Value};

use crate::tenants::TenantContext;
use crate::{App, AppError};

impl App {
    /// Authenticates an admin API caller from a bearer access token issued
    /// by this tenant with scope `admin` or `admin:read`.
    ///
    /// # Errors
    /// `Unauthorized` for a missing, invalid, expired or revoked token;
    /// `Forbidden` for a valid token without an admin scope, or whose
    /// client or user holds no administrative role.
    pub async fn admin_actor(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Actor, AppError> {
        let claims = self.bearer_claims(ctx, bearer).await?;
        self.admin_actor_for(ctx, &claims, source_ip, request_id).await
    }

    /// The live access token a request carries, or why not (`Unauthorized`:
    /// missing, invalid, expired or revoked; `Unavailable`: no database).
    ///
    /// # Errors
    /// As above.
    pub(crate) async fn bearer_claims(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
    ) -> Result<latchkey_core::AccessTokenClaims, AppError> {
        let token = bearer.ok_or_else(|| AppError::Unauthorized("a bearer token is required".into()))?;
        self.read_access_token(ctx, token)
            .await
            .map_err(|_| AppError::Unavailable)?
            .ok_or_else(|| AppError::Unauthorized("the access token is invalid, expired or revoked".into()))
    }

    /// The administrator a live access token speaks for: its client's or
    /// its user's role, narrowed by the token's scope. The one place a
    /// token becomes an [`Actor`].
    ///
    /// # Errors
    /// `Forbidden` without an admin scope or role; `Unauthorized` when the
    /// client or user is gone or disabled.
    pub(crate) async fn admin_actor_for(
        &self,
        ctx: &TenantContext,
        claims: &latchkey_core::AccessTokenClaims,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Actor, AppError> {
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        let can_write = scopes.contains(&"admin");
        if !can_write && !scopes.contains(&"admin:read") {
            return Err(AppError::Forbidden("the token has neither the admin nor the admin:read scope".into()));
        }
        let mut actor = if claims.sub == claims.client_id {
            // A client's own token: its admin_role decides, read from the
            // database so a narrowed role counts at once on every node.
            let id = latchkey_core::ClientId::parse(&claims.client_id)
                .map_err(|_| AppError::Unauthorized("the access token is invalid, expired or revoked".into()))?;
            let client = self
                .store
                .get_client(&ctx.id, &id)
                .await?
                .ok_or_else(|| AppError::Unauthorized("the client of this token no longer exists".into()))?;
            let role = client
                .config
                .admin_role
                .ok_or_else(|| AppError::Forbidden("this client has no administrative role in this tenant".into()))?;
            Actor::client(&claims.sub, role, can_write)
        } else {
            // A user's token: the user's role decides, narrowed by the scope.
            let user =
                self.store.get_user(&ctx.id, &claims.sub).await?.filter(|u| u.status.is_active()).ok_or_else(|| {
                    AppError::Unauthorized("the user of this token no longer exists or is disabled".into())
                })?;
            let role = AdminRole::highest(&user.roles)
                .ok_or_else(|| AppError::Forbidden("this user has no administrative role in this tenant".into()))?;
            Actor::user(&claims.sub, role, can_write)
        };
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
            q: p.q.clone().map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
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
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<u32>,
}
