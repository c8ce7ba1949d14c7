//! `/api/v1/providers`: the upstream authorization servers Latchkey is a
//! client of (SPEC §8), from a discovery URL fetched behind the SSRF guard
//! or from explicit endpoints.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_app::remote::{NewProvider, ProviderPatch, ProviderView};
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
        .route("/providers", get(list_providers).post(create_provider))
        .route("/providers/{name}", get(get_provider).patch(update_provider).delete(delete_provider))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ProviderList {
    items: Vec<ProviderView>,
}

/// Lists the providers (upstream authorization servers).
///
/// Each with its endpoints, authentication method and sign-in settings.
#[utoipa::path(get, path = "/api/v1/providers", tag = "providers",
    responses((status = 200, description = "Every provider", body = ProviderList),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn list_providers(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &ProviderList { items: s.app.remote.list_providers(&a.ctx).await? }))
}

/// Registers a provider from its discovery URL or explicit endpoints.
///
/// A discovery URL is fetched behind the SSRF guard (no private addresses
/// unless allowed, 5 s, 256 KiB). Answers 201 with the provider's address
/// in `Location`; 502 when the discovery document cannot be fetched.
#[utoipa::path(post, path = "/api/v1/providers", tag = "providers",
    request_body(content = NewProvider, content_type = "application/json",
        example = json!({"name": "corp-idp", "discovery_url": "https://idp.example.com/.well-known/openid-configuration"})),
    responses((status = 201, description = "The provider", body = ProviderView, headers(("Location" = String, description = "The new provider's address"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn create_provider(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewProvider>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let provider = s.app.remote.create_provider(&a.ctx, &a.actor, new).await?;
    Ok(created(&a.ctx, &["providers", &provider.name], &provider))
}

/// Reads one provider.
///
/// Its endpoints, authentication method, sign-in settings and the
/// `client_jwks_uri` to register for `private_key_jwt`.
#[utoipa::path(get, path = "/api/v1/providers/{name}", tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    responses((status = 200, description = "The provider", body = ProviderView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn get_provider(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.remote.get_provider(&a.ctx, &name).await?))
}

/// Changes a provider; a new `discovery_url` is fetched again.
///
/// Moving a provider (issuer, discovery URL or an endpoint) while secrets
/// or tokens are stored for it is refused (409) unless
/// `reset_credentials: true` clears them in the same request.
#[utoipa::path(patch, path = "/api/v1/providers/{name}", tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    request_body(content = ProviderPatch, content_type = "application/json", example = json!({"default_scopes": ["api.read"]})),
    responses((status = 200, description = "The provider", body = ProviderView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn update_provider(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
    body: Result<ApiJson<ProviderPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.remote.update_provider(&a.ctx, &a.actor, &name, p).await?))
}

/// Deletes a provider no remote client uses.
///
/// 409 while a remote client still refers to it.
#[utoipa::path(delete, path = "/api/v1/providers/{name}", tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    responses((status = 204, description = "Deleted"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound), (status = 409, response = Conflict)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn delete_provider(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    s.app.remote.delete_provider(&a.ctx, &a.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
