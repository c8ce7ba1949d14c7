//! `/api/v1/users`: create, list, read, update, disable/enable, reset
//! password; a user's remembered consents and federated links.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::admin::users::{ConsentView, CreatedUser, NewUser, PasswordReset, UserPatch, UserView};
use latchkey_app::remote::federation::FederatedLinkView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use super::{Admin, ApiJson, created, ok, query};
use crate::AppState;
use crate::error::Problem;
use crate::tenant::Path;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{user_id}", get(get_user).patch(update_user))
        .route("/users/{user_id}/password", post(reset_password))
        .route("/users/{user_id}/disable", post(disable_user))
        .route("/users/{user_id}/enable", post(enable_user))
        .route("/users/{user_id}/consents", get(list_consents))
        .route("/users/{user_id}/consents/{client_id}", axum::routing::delete(revoke_consent))
        .route("/users/{user_id}/federated-links", get(list_federated_links))
        .route("/users/{user_id}/federated-links/{provider}/{subject}", axum::routing::delete(unlink_federated))
}

/// Lists the clients a user has consented to, with the scopes.
///
/// The consents the consent page remembers for clients with
/// `require_consent`.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/consents", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user's remembered consents", body = Vec<ConsentView>),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn list_consents(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.users.list_consents(&a.ctx, &id).await?))
}

/// Revokes a consent.
///
/// The user is asked again the next time the client asks for their
/// consent.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/consents/{client_id}", tag = "users",
    params(("user_id" = String, Path, description = "The user's id"),
        ("client_id" = String, Path, description = "The client the consent was given to")),
    responses((status = 204, description = "Revoked"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn revoke_consent(
    State(s): State<AppState>,
    a: Admin,
    Path((id, client_id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.users.revoke_consent(&a.ctx, &a.actor, &id, &client_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserQuery {
    /// Case-insensitive substring of username, display name or email.
    q: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1-500 (default 50); outside that range the request is refused (400).
    #[param(minimum = 1, maximum = 500, default = 50)]
    limit: Option<u32>,
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPage {
    items: Vec<UserView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// The result of a password reset.
#[derive(Serialize, ToSchema)]
pub(crate) struct PasswordResult {
    /// The generated password, shown once; `null` when the request set one.
    password: Option<String>,
}

/// Lists users, by username.
///
/// `q` searches username, display name and email (any case). Follow
/// `next_cursor` for the next page.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, description = "One page of users", body = UserPage), (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn list_users(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<UserQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query(q)?;
    let (items, next) = s.app.users.list_users(&a.ctx, q.q.as_deref(), q.cursor.as_deref(), q.limit).await?;
    Ok(ok(StatusCode::OK, &UserPage { items, next_cursor: next }))
}

/// Creates a user; a generated password is returned once.
///
/// Without `password` one is generated and returned in this response only.
/// Nobody can give a role higher than their own. Answers 201 with the
/// user's address in `Location`; 409 when the username is taken.
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body(content = NewUser, content_type = "application/json",
        example = json!({"username": "grace", "email": "grace@example.com", "roles": ["tenant-admin"]})),
    responses((status = 201, description = "The user (and a generated password, once)", body = CreatedUser, headers(("Location" = String, description = "The new user's address"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized), (status = 403, response = Forbidden),
        (status = 409, response = Conflict), (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType), (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn create_user(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewUser>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let user = s.app.users.create_user(&a.ctx, &a.actor, new).await?;
    Ok(created(&a.ctx, &["users", &user.user.id], &user))
}

/// Reads one user.
///
/// Username, email, display name, roles, groups and status; never the
/// password or its hash.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = UserView), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn get_user(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.users.get_user(&a.ctx, &id).await?))
}

/// Changes a user's email, display name, roles or groups.
///
/// Fields left out stay as they are. Nobody changes a user holding a
/// higher role than their own, or gives a role higher than their own.
#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    request_body(content = UserPatch, content_type = "application/json"),
    responses((status = 200, description = "The user", body = UserView), (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn update_user(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<UserPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.users.update_user(&a.ctx, &a.actor, &id, p).await?))
}

/// Sets a new password (generated and returned once when none is given).
///
/// Ends the user's browser sessions and every token issued to them, on
/// every node.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/password", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    request_body(content = PasswordReset, content_type = "application/json"),
    responses((status = 200, description = "Done", body = PasswordResult), (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn reset_password(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<PasswordReset>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    let generated = s.app.users.reset_password(&a.ctx, &a.actor, &id, p).await?;
    Ok(ok(StatusCode::OK, &PasswordResult { password: generated }))
}

/// Disables a user: they can no longer sign in.
///
/// Their browser sessions and every token issued to them end at once and
/// stay dead after they are enabled again.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/disable", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = UserView), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn disable_user(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.users.set_user_status(&a.ctx, &a.actor, &id, false).await?))
}

/// Enables a user again.
///
/// They may sign in again; no session or token from before comes back.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/enable", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = UserView), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn enable_user(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.users.set_user_status(&a.ctx, &a.actor, &id, true).await?))
}

/// Lists the upstream accounts that sign in as this user.
///
/// Each a provider and the account's `sub` there, linked by federated
/// sign-in (by username, verified email or provisioning).
#[utoipa::path(get, path = "/api/v1/users/{user_id}/federated-links", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user's federated links", body = Vec<FederatedLinkView>),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn list_federated_links(
    State(s): State<AppState>,
    a: Admin,
    Path(user_id): Path<String>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.users.list_federated_links(&a.ctx, &user_id).await?))
}

/// Unlinks an upstream account from the user.
///
/// The account no longer signs in as this user; at its next sign-in it is
/// linked again only if the provider's rules link it.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/federated-links/{provider}/{subject}", tag = "users",
    params(("user_id" = String, Path, description = "The user's id"), ("provider" = String, Path),
        ("subject" = String, Path, description = "The account's sub at the provider (URL-encoded)")),
    responses((status = 204, description = "Unlinked"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn unlink_federated(
    State(s): State<AppState>,
    a: Admin,
    Path((user_id, provider, subject)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    s.app.users.unlink_federated(&a.ctx, &a.actor, &user_id, &provider, &subject).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
