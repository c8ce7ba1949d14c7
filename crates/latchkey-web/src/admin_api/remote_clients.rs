//! `/api/v1/remote-clients`: credentials registered at a provider, by
//! namespace and name. Secrets go in and never come out.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::remote::{NewRemoteClient, RemoteClientPatch, RemoteClientView, RemoteSecret};
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
        .route("/remote-clients", get(list_remote_clients).post(create_remote_client))
        .route("/remote-clients/{namespace}/{name}", get(get_rc).patch(update_rc).delete(delete_rc))
        .route("/remote-clients/{namespace}/{name}/secret", post(set_remote_secret))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RemoteClientList {
    items: Vec<RemoteClientView>,
}

/// Lists the remote clients (secrets are never shown).
///
/// Each with its provider, client id and token-request parameters, and
/// whether a secret is stored.
#[utoipa::path(get, path = "/api/v1/remote-clients", tag = "remote-clients",
    responses((status = 200, description = "Every remote client", body = RemoteClientList),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn list_remote_clients(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &RemoteClientList { items: s.app.remote.list_remote_clients(&a.ctx).await? }))
}

/// Registers a client of a provider.
///
/// Its secret is stored encrypted and never shown again. Answers 201 with
/// the remote client's address in `Location`.
#[utoipa::path(post, path = "/api/v1/remote-clients", tag = "remote-clients",
    request_body(content = NewRemoteClient, content_type = "application/json",
        example = json!({"namespace": "billing", "name": "crm", "provider": "corp-idp", "client_id": "billing-svc",
            "client_secret": "s3cr3t-from-the-provider", "params": {"scope": "crm.read", "audience": "https://crm.example.com"}})),
    responses((status = 201, description = "The remote client", body = RemoteClientView, headers(("Location" = String, description = "The new remote client's address"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn create_remote_client(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewRemoteClient>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let rc = s.app.remote.create_remote_client(&a.ctx, &a.actor, new).await?;
    Ok(created(&a.ctx, &["remote-clients", &rc.namespace, &rc.name], &rc))
}

/// Reads one remote client.
///
/// Without its secret: only whether one is stored, and its hint.
#[utoipa::path(get, path = "/api/v1/remote-clients/{namespace}/{name}", tag = "remote-clients", operation_id = "get_remote_client",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The remote client", body = RemoteClientView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn get_rc(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.remote.get_remote_client(&a.ctx, &namespace, &name).await?))
}

/// Changes a remote client's provider, client id or parameters.
///
/// Moving it to another provider while a secret or tokens are stored is
/// refused (409) unless `reset_credentials: true` clears them in the same
/// request.
#[utoipa::path(patch, path = "/api/v1/remote-clients/{namespace}/{name}", tag = "remote-clients", operation_id = "update_remote_client",
    params(("namespace" = String, Path), ("name" = String, Path)),
    request_body(content = RemoteClientPatch, content_type = "application/json", example = json!({"params": {"scope": "crm.write"}})),
    responses((status = 200, description = "The remote client", body = RemoteClientView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn update_rc(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<ApiJson<RemoteClientPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.remote.update_remote_client(&a.ctx, &a.actor, &namespace, &name, p).await?))
}

/// Deletes a remote client and its authorization.
///
/// Its stored secret and tokens are deleted with it.
#[utoipa::path(delete, path = "/api/v1/remote-clients/{namespace}/{name}", tag = "remote-clients", operation_id = "delete_remote_client",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn delete_rc(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.remote.delete_remote_client(&a.ctx, &a.actor, &namespace, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Stores a new secret for the remote client.
///
/// After rotating it at the provider; it is stored encrypted and never
/// shown again.
#[utoipa::path(post, path = "/api/v1/remote-clients/{namespace}/{name}/secret", tag = "remote-clients",
    params(("namespace" = String, Path), ("name" = String, Path)),
    request_body(content = RemoteSecret, content_type = "application/json", example = json!({"client_secret": "n3w-s3cr3t-from-the-provider"})),
    responses((status = 200, description = "The remote client", body = RemoteClientView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn set_remote_secret(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<ApiJson<RemoteSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(secret) = body?;
    Ok(ok(StatusCode::OK, &s.app.remote.set_remote_secret(&a.ctx, &a.actor, &namespace, &name, secret).await?))
}
