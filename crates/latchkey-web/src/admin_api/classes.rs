//! `/api/v1/security-classes`: named bundles of scopes clients can belong to.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_app::admin::scopes::{ClassPatch, ClassView, NewClass};
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
        .route("/security-classes", get(list_classes).post(create_class))
        .route("/security-classes/{name}", get(get_class).patch(update_class).delete(delete_class))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ClassList {
    items: Vec<ClassView>,
}

/// Lists the security classes.
///
/// Named bundles of scopes that clients can join: a client in a class may
/// ask for the class's scopes.
#[utoipa::path(
    get, path = "/api/v1/security-classes", tag = "security-classes",
    responses(
        (status = 200, description = "Every security class", body = ClassList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn list_classes(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &ClassList { items: s.app.scopes.list_classes(&a.ctx).await? }))
}

/// Creates a security class.
///
/// Its scopes must be in the tenant's catalogue. Answers 201 with the class
/// and its address in `Location`; 409 when the name is taken.
#[utoipa::path(
    post, path = "/api/v1/security-classes", tag = "security-classes",
    request_body(content = NewClass, content_type = "application/json", example = json!({"name": "finance", "description": "Finance back-office services", "scopes": []})),
    responses(
        (status = 201, description = "The security class", body = ClassView, headers(("Location" = String, description = "The new security class's address"))),
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
async fn create_class(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewClass>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let class = s.app.scopes.create_class(&a.ctx, &a.actor, new).await?;
    Ok(created(&a.ctx, &["security-classes", &class.name], &class))
}

/// Reads one security class.
///
/// Its description and scopes.
#[utoipa::path(
    get, path = "/api/v1/security-classes/{name}", tag = "security-classes",
    params(("name" = String, Path, description = "The class name")),
    responses(
        (status = 200, description = "The security class", body = ClassView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn get_class(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.scopes.get_class(&a.ctx, &name).await?))
}

/// Changes a security class's description or scopes.
///
/// Fields left out stay as they are. The clients in the class may ask for
/// the new scopes at once.
#[utoipa::path(
    patch, path = "/api/v1/security-classes/{name}", tag = "security-classes",
    params(("name" = String, Path, description = "The class name")),
    request_body(content = ClassPatch, content_type = "application/json", example = json!({"description": "Finance and accounting services"})),
    responses(
        (status = 200, description = "The security class", body = ClassView),
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
async fn update_class(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
    body: Result<ApiJson<ClassPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.scopes.update_class(&a.ctx, &a.actor, &name, p).await?))
}

/// Deletes a security class no client belongs to.
///
/// 409 while a client is still in it: take the clients out first.
#[utoipa::path(
    delete, path = "/api/v1/security-classes/{name}", tag = "security-classes",
    params(("name" = String, Path, description = "The class name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn delete_class(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    s.app.scopes.delete_class(&a.ctx, &a.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
