//! `/api/v1/clients/{client_id}/secrets`: a client's secrets, generated
//! or imported, shown once, rotated with a grace period, revoked.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::admin::clients::SecretView;
use latchkey_app::admin::secrets::{AddSecret, NewSecret, RotateSecret};
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
        .route("/clients/{client_id}/secrets", get(list_secrets).post(add_secret))
        .route("/clients/{client_id}/secrets/rotate", post(rotate_secret))
        .route("/clients/{client_id}/secrets/{secret_id}", axum::routing::delete(revoke_secret))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SecretList {
    items: Vec<SecretView>,
}

/// Lists a client's secrets: metadata only, never a secret or its hash.
///
/// Each with its id, hint (last characters), label, creation, expiry and
/// last use; expired ones included.
#[utoipa::path(
    get, path = "/api/v1/clients/{client_id}/secrets", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    responses(
        (status = 200, description = "The client's secrets, expired ones included", body = SecretList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn list_secrets(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &SecretList { items: s.app.clients.list_secrets(&a.ctx, &id).await? }))
}

/// Adds a secret to a confidential client (generated, or imported).
///
/// A client holds at most 5 valid secrets.
#[utoipa::path(
    post, path = "/api/v1/clients/{client_id}/secrets", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    request_body(content = AddSecret, content_type = "application/json", example = json!({"label": "ci", "expires_in_days": 90})),
    responses(
        (status = 201, description = "The new secret, shown this once", body = NewSecret, headers(("Location" = String, description = "The new secret's address"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn add_secret(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<AddSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    let new = s.app.clients.add_secret(&a.ctx, &a.actor, &id, req).await?;
    Ok(created(&a.ctx, &["clients", &id, "secrets", &new.secret.id], &new))
}

/// Rotates: a new secret, and every valid secret expires after the grace period.
///
/// `grace_seconds: 0` revokes the old secrets at once (a compromised secret).
#[utoipa::path(
    post, path = "/api/v1/clients/{client_id}/secrets/rotate", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    request_body(content = RotateSecret, content_type = "application/json", example = json!({"grace_seconds": 3600, "label": "rotated"})),
    responses(
        (status = 201, description = "The new secret, shown this once, and the secrets now expiring", body = NewSecret, headers(("Location" = String, description = "The new secret's address"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn rotate_secret(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<RotateSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    let new = s.app.clients.rotate_secret(&a.ctx, &a.actor, &id, req).await?;
    Ok(created(&a.ctx, &["clients", &id, "secrets", &new.secret.id], &new))
}

/// Revokes one secret now.
///
/// The last valid secret of an active confidential client cannot be revoked:
/// rotate, or disable the client first.
#[utoipa::path(
    delete, path = "/api/v1/clients/{client_id}/secrets/{secret_id}", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`"), ("secret_id" = String, Path, description = "The secret's `id`")),
    responses(
        (status = 204, description = "Revoked (or already expired)"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn revoke_secret(
    State(s): State<AppState>,
    a: Admin,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.clients.revoke_secret(&a.ctx, &a.actor, &id, &secret_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
