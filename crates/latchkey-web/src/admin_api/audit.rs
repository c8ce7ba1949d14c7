//! `/api/v1/audit-events`: the audit log, newest first, filtered.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use latchkey_app::admin::{AuditSearch, AuditView};
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::{BadRequest, Forbidden, Unauthorized, ValidationFailed};
use super::{Admin, ok, query};
use crate::AppState;
use crate::error::Problem;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/audit-events", get(list_audit))
}

/// A page of audit events.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditPage {
    items: Vec<AuditView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// Lists audit events, newest first, filtered; one page at a time.
///
/// Every change made through the API, the console, the CLI or SCIM, and the
/// sign-ins, with who acted, from where and what changed (`changes`: each
/// field's `before` and `after`; secrets only as id and hint). Filters
/// combine; `since`/`until` are Unix times. Follow `next_cursor` for the
/// next page.
#[utoipa::path(
    get, path = "/api/v1/audit-events", tag = "audit",
    params(AuditSearch),
    responses(
        (status = 200, description = "One page of audit events", body = AuditPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn list_audit(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<AuditSearch>, QueryRejection>,
) -> Result<Response, Problem> {
    let (items, next_cursor) = s.app.audit.search_audit(&a.ctx, &query(q)?).await?;
    Ok(ok(StatusCode::OK, &AuditPage { items, next_cursor }))
}
