//! SCIM 2.0 service provider (RFC 7643/7644, issue 14 item 3): a
//! provisioning connector — a client's own token with `users:read` or
//! `users:write` — reads and writes the tenant's users. Provisioned users
//! are ordinary users (`UserAdmin`'s rules); SCIM never touches roles and
//! never acts on a user holding one. Filters are parsed and evaluated by
//! `latchkey_core::scim` (ADR 0015).

use std::sync::Arc;

use latchkey_core::scim::{self as filter, Value as FValue};
use serde_json::{Value, json};

use crate::AppError;
use crate::admin::Actor;
use crate::admin::users::UserAdmin;
use crate::kernel::Kernel;
use crate::tenants::TenantContext;

pub mod discovery;
pub mod groups;
pub mod users;

#[cfg(test)]
mod tests;

/// The User resource's core schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Group resource's core schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// SCIM's error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// A list response.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH request.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The largest page a list answers.
pub const MAX_RESULTS: usize = 500;

/// A SCIM error (RFC 7644 §3.12): the HTTP status, `scimType` and `detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Seconds to wait, sent as `Retry-After` (429 and 503).
    pub retry_after: Option<u32>,
}

impl ScimError {
    #[must_use]
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into(), retry_after: None }
    }

    /// 400 `invalidValue`.
    #[must_use]
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }

    /// 400 `invalidSyntax`.
    #[must_use]
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidSyntax"), detail)
    }

    /// The error as SCIM's JSON body.
    #[must_use]
    pub fn body(&self) -> Value {
        let mut b = json!({"schemas": [ERROR_SCHEMA], "status": self.status.to_string(), "detail": self.detail});
        if let (Some(t), Value::Object(m)) = (self.scim_type, &mut b) {
            m.insert("scimType".into(), json!(t));
        }
        b
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => Self::new(404, None, "no such resource"),
            AppError::Unauthorized(m) => Self::new(401, None, m),
            AppError::Forbidden(m) => Self::new(403, None, m),
            AppError::Conflict(m) => Self::new(409, Some("uniqueness"), m),
            AppError::Validation(errors) => Self::invalid_value(
                errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
            ),
            AppError::BadRequest(m) => Self::invalid_value(m),
            AppError::PreconditionFailed(_) => Self::new(412, None, "the resource was changed since it was read"),
            AppError::Unavailable | AppError::Upstream(_) | AppError::NeedsReauthorization(_) => {
                Self::new(503, None, "the service is unavailable, try again")
            }
            AppError::Busy(s) => {
                Self { retry_after: Some(s), ..Self::new(503, None, "the server is busy, try again in a moment") }
            }
            AppError::TooManyRequests(s) => {
                Self { retry_after: Some(s), ..Self::new(429, None, "too many requests, try again later") }
            }
            AppError::Internal(_) => Self::new(500, None, "internal error"),
        }
    }
}

impl From<filter::InvalidFilter> for ScimError {
    fn from(e: filter::InvalidFilter) -> Self {
        Self::new(400, Some("invalidFilter"), e.0)
    }
}

/// One resource as answered: its JSON, version (`ETag`) and location.
#[derive(Debug, Clone)]
pub struct ScimResource {
    pub body: Value,
    pub version: String,
    pub location: String,
}

/// The query parameters of a list (RFC 7644 §3.4.2).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

/// SCIM provisioning of a tenant's users.
pub struct ScimService {
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) users: Arc<UserAdmin>,
}

impl ScimService {
    pub(crate) fn new(kernel: Arc<Kernel>, users: Arc<UserAdmin>) -> Self {
        Self { kernel, users }
    }
}

/// How many refused requests are kept per connector.
pub const REFUSALS_KEPT: i64 = latchkey_store::SCIM_ERRORS_KEPT;

/// A SCIM request a connector had refused, as its client page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedRequest {
    pub occurred_at: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: String,
}

impl ScimService {
    /// Remembers that a connector's request was refused (a 4xx after it
    /// authenticated), so its client page can show why a sync fails. Only
    /// the latest few are kept per connector.
    ///
    /// # Errors
    /// `Unavailable` without a database.
    pub async fn record_refusal(
        &self,
        ctx: &TenantContext,
        connector: &Actor,
        method: &str,
        path: &str,
        err: &ScimError,
    ) -> Result<(), AppError> {
        let rec = latchkey_store::ScimErrorRecord {
            error_id: self.kernel.random_id(12),
            occurred_at: self.kernel.now(),
            method: method.chars().take(16).collect(),
            path: path.chars().take(200).collect(),
            status: err.status,
            scim_type: err.scim_type.map(str::to_owned),
            detail: err.detail.chars().take(300).collect(),
        };
        Ok(self.kernel.store.record_scim_error(&ctx.id, &connector.id, &rec).await?)
    }

    /// A connector's latest refused requests, newest first.
    ///
    /// # Errors
    /// `Unavailable` without a database.
    pub async fn refusals(&self, ctx: &TenantContext, client_id: &str) -> Result<Vec<RefusedRequest>, AppError> {
        Ok(self
            .kernel
            .store
            .list_scim_errors(&ctx.id, client_id)
            .await?
            .into_iter()
            .map(|r| RefusedRequest {
                occurred_at: r.occurred_at,
                method: r.method,
                path: r.path,
                status: r.status,
                scim_type: r.scim_type,
                detail: r.detail,
            })
            .collect())
    }
}

/// `/scim/v2` of a tenant.
#[must_use]
pub fn base_url(ctx: &TenantContext) -> String {
    format!("{}/scim/v2", ctx.issuer.trim_end_matches('/'))
}

/// Refuses connectors without `users:write`.
pub(crate) fn require_write(actor: &Actor) -> Result<(), ScimError> {
    if actor.can_write { Ok(()) } else { Err(ScimError::new(403, None, "this operation needs the users:write scope")) }
}

/// Refuses `If-Match` that names no current version (412).
pub(crate) fn check_if_match(if_match: Option<&str>, version: &str) -> Result<(), ScimError> {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    match if_match {
        None => Ok(()),
        Some(m) if m.trim() == "*" || m.split(',').any(|t| bare(t) == bare(version)) => Ok(()),
        Some(_) => Err(ScimError::new(412, None, "If-Match names a version that is no longer current")),
    }
}

/// A resource's JSON without `meta`, its version, and the resource with
/// `meta` (created, lastModified, location, version) added.
pub(crate) fn finish(mut body: Value, kind: &str, location: String, created: i64, modified: i64) -> ScimResource {
    let version = filter::version(body.to_string().as_bytes());
    if let Value::Object(m) = &mut body {
        m.insert(
            "meta".into(),
            json!({
                "resourceType": kind,
                "created": filter::date_time(created),
                "lastModified": filter::date_time(modified),
                "location": location,
                "version": version,
            }),
        );
    }
    ScimResource { body, version, location }
}

/// The values of an attribute path in a resource, for filters and sorting:
/// names match ignoring case; a multi-valued complex attribute without a
/// sub-attribute stands for its `value`s.
#[must_use]
pub fn values_at(resource: &Value, path: &str) -> Vec<FValue> {
    let mut cur = vec![resource];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for v in cur {
            if let Value::Object(m) = v
                && let Some((_, x)) = m.iter().find(|(k, _)| k.eq_ignore_ascii_case(seg))
            {
                match x {
                    Value::Array(a) => next.extend(a.iter()),
                    x => next.push(x),
                }
            }
        }
        cur = next;
    }
    cur.into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => m.get("value").map(scalar),
            x => Some(scalar(x)),
        })
        .collect()
}

fn scalar(v: &Value) -> FValue {
    match v {
        Value::String(s) => FValue::Str(s.clone()),
        Value::Bool(b) => FValue::Bool(*b),
        Value::Number(n) => n.as_f64().map_or(FValue::Null, FValue::Num),
        _ => FValue::Null,
    }
}

fn attribute_list(raw: Option<&str>) -> Result<Vec<String>, ScimError> {
    raw.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            filter::attribute_path(a)
                .map(|p| p.split('.').next().unwrap_or_default().to_owned())
                .map_err(|e| ScimError::invalid_value(e.0))
        })
        .collect()
}

/// Applies `attributes` / `excludedAttributes` (top-level names; `id`
/// and `schemas` are always returned).
///
/// # Errors
/// `invalidValue` for a malformed attribute name.
pub fn project(body: &mut Value, attributes: Option<&str>, excluded: Option<&str>) -> Result<(), ScimError> {
    let (only, without) = (attribute_list(attributes)?, attribute_list(excluded)?);
    if let Value::Object(m) = body {
        m.retain(|k, _| {
            let k = k.to_ascii_lowercase();
            k == "id" || k == "schemas" || ((only.is_empty() || only.contains(&k)) && !without.contains(&k))
        });
    }
    Ok(())
}

/// Filters, sorts and pages resources into a ListResponse.
///
/// # Errors
/// `invalidFilter` for a filter that does not parse; `invalidValue` for
/// bad attribute names or sort order.
pub fn list_response(mut all: Vec<Value>, q: &ListQuery) -> Result<Value, ScimError> {
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let f = filter::parse_filter(f)?;
        all.retain(|r| f.matches(&|p: &str| values_at(r, p)));
    }
    if let Some(by) = q.sort_by.as_deref().filter(|s| !s.is_empty()) {
        let path = filter::attribute_path(by).map_err(|e| ScimError::invalid_value(e.0))?;
        let key = |r: &Value| match values_at(r, &path).into_iter().next() {
            Some(FValue::Str(s)) => Some(s.to_lowercase()),
            Some(FValue::Num(n)) => Some(format!("{n:020.6}")),
            Some(FValue::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        // Ascending with absent values last; descending reverses.
        all.sort_by_cached_key(|r| key(r).map_or((1, String::new()), |k| (0, k)));
        match q.sort_order.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => {}
            Some("descending") => all.reverse(),
            Some(_) => return Err(ScimError::invalid_value("sortOrder is ascending or descending")),
        }
    }
    let total = all.len();
    let start = usize::try_from(q.start_index.unwrap_or(1).max(1)).unwrap_or(1);
    let count = usize::try_from(q.count.unwrap_or(100).max(0)).unwrap_or(0).min(MAX_RESULTS);
    let mut page: Vec<Value> = all.into_iter().skip(start - 1).take(count).collect();
    for r in &mut page {
        project(r, q.attributes.as_deref(), q.excluded_attributes.as_deref())?;
    }
    Ok(json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    }))
}
