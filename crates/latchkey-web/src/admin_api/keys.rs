//! `/api/v1/keys`: the tenant's signing keys (public parts) and their rotation.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::admin::keys::{KeyView, RotateKeys};
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::{
    BadRequest, Conflict, Forbidden, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use super::{Admin, ApiJson, ok};
use crate::AppState;
use crate::error::Problem;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/keys", get(list_keys)).route("/keys/rotate", post(rotate_keys))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct KeyList {
    items: Vec<KeyView>,
}

/// Lists the tenant's signing keys (public parts only).
///
/// Every key with its purpose, algorithm, state (`pending`, `active`,
/// `retired`, `expired`) and public JWK; retired ones included.
#[utoipa::path(
    get, path = "/api/v1/keys", tag = "keys",
    responses(
        (status = 200, description = "Every signing key, retired ones included", body = KeyList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn list_keys(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &KeyList { items: s.app.tenants.list_keys(&a.ctx).await? }))
}

/// Creates the next signing keys.
///
/// Each new key is published in the JWKS at once and signs from
/// `activated_at` on (600 s later unless `activate_in_seconds` says
/// otherwise); the key it replaces stays published until every token it
/// signed has expired. 409 while an earlier rotation waits for activation.
/// The keys have no address of their own: they are listed at
/// `/api/v1/keys`.
#[utoipa::path(
    post, path = "/api/v1/keys/rotate", tag = "keys",
    request_body(content = RotateKeys, content_type = "application/json",
        example = json!({"purpose": "access_token", "activate_in_seconds": 600})),
    responses(
        (status = 201, description = "The new keys", body = KeyList),
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
async fn rotate_keys(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<RotateKeys>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::CREATED, &KeyList { items: s.app.tenants.rotate_keys(&a.ctx, &a.actor, req).await? }))
}
