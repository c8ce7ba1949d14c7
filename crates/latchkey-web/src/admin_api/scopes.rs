//! `/api/v1/scopes`: the tenant's scope catalogue.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_app::admin::scopes::{NewScope, ScopePatch, ScopeView};
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
        .route("/scopes", get(list_scopes).post(create_scope))
        .route("/scopes/{name}", get(get_scope).patch(update_scope).delete(delete_scope))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ScopeList {
    items: Vec<ScopeView>,
}

/// Lists the tenant's scope catalogue.
///
/// Every scope clients may be given, with the description the consent page
/// shows.
#[utoipa::path(
    get, path = "/api/v1/scopes", tag = "scopes",
    responses(
        (status = 200, description = "Every scope", body = ScopeList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn list_scopes(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &ScopeList { items: s.app.scopes.list_scopes(&a.ctx).await? }))
}

/// Adds a scope to the catalogue.
///
/// Answers 201 with the scope and its address in `Location`; 409 when the
/// name is taken.
#[utoipa::path(
    post, path = "/api/v1/scopes", tag = "scopes",
    request_body(content = NewScope, content_type = "application/json", example = json!({"name": "invoices:read", "description": "Read invoices"})),
    responses(
        (status = 201, description = "The scope", body = ScopeView, headers(("Location" = String, description = "The new scope's address"))),
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
async fn create_scope(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewScope>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let scope = s.app.scopes.create_scope(&a.ctx, &a.actor, new).await?;
    Ok(created(&a.ctx, &["scopes", &scope.name], &scope))
}

/// Reads one scope.
///
/// Its name and the description the consent page shows.
#[utoipa::path(
    get, path = "/api/v1/scopes/{name}", tag = "scopes",
    params(("name" = String, Path, description = "The scope token")),
    responses(
        (status = 200, description = "The scope", body = ScopeView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn get_scope(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.scopes.get_scope(&a.ctx, &name).await?))
}

/// Changes a scope's description.
///
/// The name cannot change: clients and tokens refer to it.
#[utoipa::path(
    patch, path = "/api/v1/scopes/{name}", tag = "scopes",
    params(("name" = String, Path, description = "The scope token")),
    request_body(content = ScopePatch, content_type = "application/json", example = json!({"description": "Read invoices and credit notes"})),
    responses(
        (status = 200, description = "The scope", body = ScopeView),
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
async fn update_scope(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
    body: Result<ApiJson<ScopePatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.scopes.update_scope(&a.ctx, &a.actor, &name, p).await?))
}

/// Deletes a scope that no client or security class uses.
///
/// 409 while a client or a security class still names it.
#[utoipa::path(
    delete, path = "/api/v1/scopes/{name}", tag = "scopes",
    params(("name" = String, Path, description = "The scope token")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn delete_scope(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    s.app.scopes.delete_scope(&a.ctx, &a.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
