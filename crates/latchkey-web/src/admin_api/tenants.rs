//! `/api/v1/tenants`: tenants, managed by the owners of the default tenant.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::admin::tenants::{CreatedTenant, NewTenant, TenantPatch, TenantView};
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use super::{Admin, ApiJson, ok};
use crate::AppState;
use crate::error::Problem;
use crate::tenant::Path;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tenants", get(list_tenants).post(create_tenant))
        .route("/tenants/{tenant_id}", get(get_tenant).patch(update_tenant).delete(delete_tenant))
        .route("/tenants/{tenant_id}/disable", post(disable_tenant))
        .route("/tenants/{tenant_id}/enable", post(enable_tenant))
}

/// Every tenant.
#[derive(Serialize, ToSchema)]
pub(crate) struct TenantList {
    items: Vec<TenantView>,
}

/// Lists the tenants (owners of the default tenant only).
#[utoipa::path(
    get, path = "/api/v1/tenants", tag = "tenants",
    responses(
        (status = 200, description = "Every tenant", body = TenantList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn list_tenants(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &TenantList { items: s.app.tenants.list_tenants(&a.ctx, &a.actor).await? }))
}

/// Creates a tenant with its own issuer `{base}/t/{tenant_id}`, keys, scopes,
/// default clients and a first `tenant-admin` user. The admin client's secret
/// and the user's password are in this response only.
#[utoipa::path(
    post, path = "/api/v1/tenants", tag = "tenants",
    request_body(content = NewTenant, content_type = "application/json",
        example = json!({"tenant_id": "acme", "display_name": "Acme Corp"})),
    responses(
        (status = 201, description = "The tenant and its first credentials, shown once", body = CreatedTenant),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
async fn create_tenant(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewTenant>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.tenants.create_tenant(&a.ctx, &a.actor, new).await?))
}

/// Reads one tenant.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn get_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.tenants.get_tenant(&a.ctx, &a.actor, &id).await?))
}

/// Renames a tenant or changes its settings (a JSON merge patch of them).
#[utoipa::path(
    patch, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body(content = TenantPatch, content_type = "application/json",
        example = json!({"display_name": "Acme", "settings": {"max_access_token_lifetime": 7200}})),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
async fn update_tenant(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<TenantPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(patch) = body?;
    Ok(ok(StatusCode::OK, &s.app.tenants.update_tenant(&a.ctx, &a.actor, &id, patch).await?))
}

/// Deletes a disabled tenant and everything in it.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("bearer" = ["admin"]))
)]
async fn delete_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    s.app.tenants.delete_tenant(&a.ctx, &a.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Disables a tenant: its endpoints answer 404.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/disable", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin"]))
)]
async fn disable_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.tenants.set_tenant_status(&a.ctx, &a.actor, &id, false).await?))
}

/// Enables a disabled tenant.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/enable", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin"]))
)]
async fn enable_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.tenants.set_tenant_status(&a.ctx, &a.actor, &id, true).await?))
}
