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
use super::{Admin, ApiJson, created, ok};
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
///
/// Every tenant with its issuer, status and settings.
#[utoipa::path(
    get, path = "/api/v1/tenants", tag = "tenants",
    responses(
        (status = 200, description = "Every tenant", body = TenantList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn list_tenants(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &TenantList { items: s.app.tenants.list_tenants(&a.ctx, &a.actor).await? }))
}

/// Creates a tenant (owners of the default tenant only).
///
/// The tenant gets its own issuer `{base}/t/{tenant_id}`, keys, scopes,
/// default clients and a first `tenant-admin` user. The admin client's
/// secret and the user's password are in this response only. Answers 201
/// with the tenant's address in `Location`.
#[utoipa::path(
    post, path = "/api/v1/tenants", tag = "tenants",
    request_body(content = NewTenant, content_type = "application/json",
        example = json!({"tenant_id": "acme", "display_name": "Acme Corp"})),
    responses(
        (status = 201, description = "The tenant and its first credentials, shown once", body = CreatedTenant, headers(("Location" = String, description = "The new tenant's address"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn create_tenant(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewTenant>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let tenant = s.app.tenants.create_tenant(&a.ctx, &a.actor, new).await?;
    Ok(created(&a.ctx, &["tenants", &tenant.tenant.tenant_id], &tenant))
}

/// Reads one tenant.
///
/// Its issuer, status and settings.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn get_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.tenants.get_tenant(&a.ctx, &a.actor, &id).await?))
}

/// Renames a tenant or changes its settings.
///
/// A JSON merge patch of `display_name` and `settings`: fields left out stay
/// as they are, `null` resets a setting to its default.
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
    security(("oauth2" = ["admin"]))
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
///
/// Clients, users, keys, tokens and its audit log; 409 while the tenant is
/// active (disable it first). A tenant created again with the same id
/// brings back none of the old tokens.
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
    security(("oauth2" = ["admin"]))
)]
async fn delete_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    s.app.tenants.delete_tenant(&a.ctx, &a.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Disables a tenant: its endpoints answer 404.
///
/// Discovery, tokens, sign-in, the console and the admin API of the tenant
/// answer 404 until it is enabled again; its data is kept.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/disable", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn disable_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.tenants.set_tenant_status(&a.ctx, &a.actor, &id, false).await?))
}

/// Enables a disabled tenant.
///
/// Its endpoints answer again.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/enable", tag = "tenants",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn enable_tenant(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.tenants.set_tenant_status(&a.ctx, &a.actor, &id, true).await?))
}
