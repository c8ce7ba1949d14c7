//! `/api/v1/providers`, `/api/v1/remote-clients` and
//! `/api/v1/authorizations`: Latchkey as the client of other providers
//! (SPEC §8). Secrets go in and never come out; tokens come out only from
//! `POST /authorizations/{namespace}/{name}/token`, which also accepts the
//! dedicated `authorizations:token` scope.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::remote::authorizations::{AuthorizationToken, AuthorizationView, NewAuthorization, VaultCaller};
use latchkey_app::remote::code_flow::AuthorizeStart;
use latchkey_app::remote::federation::FederatedLinkView;
use latchkey_app::remote::{
    NewProvider, NewRemoteClient, ProviderPatch, ProviderView, RemoteClientPatch, RemoteClientView, RemoteSecret,
};
use latchkey_app::tenants::TenantContext;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::admin_api::{Admin, ApiJson, bearer, ok};
use crate::error::Problem;
use crate::openapi::{
    BadGateway, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::tenant::Path;
use crate::tenant::{Source, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/providers", get(list_providers).post(create_provider))
        .route("/providers/{name}", get(get_provider).patch(update_provider).delete(delete_provider))
        .route("/remote-clients", get(list_remote_clients).post(create_remote_client))
        .route("/remote-clients/{namespace}/{name}", get(get_rc).patch(update_rc).delete(delete_rc))
        .route("/remote-clients/{namespace}/{name}/secret", post(set_remote_secret))
        .route("/authorizations", get(list_authorizations).post(create_authorization))
        .route("/authorizations/{namespace}/{name}", get(get_authorization).delete(delete_authorization))
        .route("/authorizations/{namespace}/{name}/token", post(authorization_token))
        .route("/authorizations/{namespace}/{name}/authorize", post(authorize_authorization))
        .route("/authorizations/{namespace}/{name}/refresh", post(refresh_authorization))
        .route("/users/{user_id}/federated-links", get(list_federated_links))
        .route("/users/{user_id}/federated-links/{provider}/{subject}", axum::routing::delete(unlink_federated))
}

/// The caller of the token endpoint: a writing administrator, or a client with
/// `authorizations:token` (or `authorizations:token:<namespace>`).
pub(crate) struct TokenCaller {
    ctx: Arc<TenantContext>,
    caller: VaultCaller,
}

impl FromRequestParts<AppState> for TokenCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Tenant(ctx) = Tenant::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such tenant"))?;
        let Ok(Source(source)) = Source::from_request_parts(parts, state).await;
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().filter(|c| !c.is_control()).take(64).collect());
        let caller = state.app.authorization_token_actor(&ctx, bearer(&parts.headers), source, request_id).await?;
        Ok(Self { ctx, caller })
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ProviderList {
    items: Vec<ProviderView>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RemoteClientList {
    items: Vec<RemoteClientView>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AuthorizationList {
    items: Vec<AuthorizationView>,
}

/// List the providers (upstream authorization servers).
#[utoipa::path(get, path = "/api/v1/providers", tag = "providers",
    responses((status = 200, description = "Every provider", body = ProviderList),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)),
    security(("bearer" = ["admin:read"])))]
pub(crate) async fn list_providers(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &ProviderList { items: s.app.list_providers(&a.ctx).await? }))
}

/// Register a provider from its discovery URL (fetched behind the SSRF guard) or explicit endpoints.
#[utoipa::path(post, path = "/api/v1/providers", tag = "providers",
    request_body(content = NewProvider, content_type = "application/json",
        example = json!({"name": "corp-idp", "discovery_url": "https://idp.example.com/.well-known/openid-configuration"})),
    responses((status = 201, description = "The provider", body = ProviderView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn create_provider(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewProvider>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.create_provider(&a.ctx, &a.actor, new).await?))
}

/// Read one provider.
#[utoipa::path(get, path = "/api/v1/providers/{name}", tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    responses((status = 200, description = "The provider", body = ProviderView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin:read"])))]
pub(crate) async fn get_provider(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.get_provider(&a.ctx, &name).await?))
}

/// Change a provider; a new `discovery_url` is fetched again.
#[utoipa::path(patch, path = "/api/v1/providers/{name}", tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    request_body(content = ProviderPatch, content_type = "application/json", example = json!({"default_scopes": ["api.read"]})),
    responses((status = 200, description = "The provider", body = ProviderView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn update_provider(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
    body: Result<ApiJson<ProviderPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.update_provider(&a.ctx, &a.actor, &name, p).await?))
}

/// Delete a provider no remote client uses.
#[utoipa::path(delete, path = "/api/v1/providers/{name}", tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    responses((status = 204, description = "Deleted"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound), (status = 409, response = Conflict)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn delete_provider(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    s.app.delete_provider(&a.ctx, &a.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// List the remote clients (secrets are never shown).
#[utoipa::path(get, path = "/api/v1/remote-clients", tag = "remote-clients",
    responses((status = 200, description = "Every remote client", body = RemoteClientList),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)),
    security(("bearer" = ["admin:read"])))]
pub(crate) async fn list_remote_clients(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &RemoteClientList { items: s.app.list_remote_clients(&a.ctx).await? }))
}

/// Register a client of a provider; its secret is stored encrypted and never shown again.
#[utoipa::path(post, path = "/api/v1/remote-clients", tag = "remote-clients",
    request_body(content = NewRemoteClient, content_type = "application/json",
        example = json!({"namespace": "billing", "name": "crm", "provider": "corp-idp", "client_id": "billing-svc",
            "client_secret": "s3cr3t-from-the-provider", "params": {"scope": "crm.read", "audience": "https://crm.example.com"}})),
    responses((status = 201, description = "The remote client", body = RemoteClientView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn create_remote_client(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewRemoteClient>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.create_remote_client(&a.ctx, &a.actor, new).await?))
}

/// Read one remote client.
#[utoipa::path(get, path = "/api/v1/remote-clients/{namespace}/{name}", tag = "remote-clients", operation_id = "get_remote_client",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The remote client", body = RemoteClientView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin:read"])))]
pub(crate) async fn get_rc(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.get_remote_client(&a.ctx, &namespace, &name).await?))
}

/// Change a remote client's provider, client id or token-request parameters.
#[utoipa::path(patch, path = "/api/v1/remote-clients/{namespace}/{name}", tag = "remote-clients", operation_id = "update_remote_client",
    params(("namespace" = String, Path), ("name" = String, Path)),
    request_body(content = RemoteClientPatch, content_type = "application/json", example = json!({"params": {"scope": "crm.write"}})),
    responses((status = 200, description = "The remote client", body = RemoteClientView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn update_rc(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<ApiJson<RemoteClientPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.update_remote_client(&a.ctx, &a.actor, &namespace, &name, p).await?))
}

/// Delete a remote client and its authorization.
#[utoipa::path(delete, path = "/api/v1/remote-clients/{namespace}/{name}", tag = "remote-clients", operation_id = "delete_remote_client",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn delete_rc(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.delete_remote_client(&a.ctx, &a.actor, &namespace, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Store a new secret (after rotating it at the provider); it is never shown again.
#[utoipa::path(post, path = "/api/v1/remote-clients/{namespace}/{name}/secret", tag = "remote-clients",
    params(("namespace" = String, Path), ("name" = String, Path)),
    request_body(content = RemoteSecret, content_type = "application/json", example = json!({"client_secret": "n3w-s3cr3t-from-the-provider"})),
    responses((status = 200, description = "The remote client", body = RemoteClientView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn set_remote_secret(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<ApiJson<RemoteSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(secret) = body?;
    Ok(ok(StatusCode::OK, &s.app.set_remote_secret(&a.ctx, &a.actor, &namespace, &name, secret).await?))
}

/// List the authorizations (never their tokens).
#[utoipa::path(get, path = "/api/v1/authorizations", tag = "authorizations",
    responses((status = 200, description = "Every authorization", body = AuthorizationList),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)),
    security(("bearer" = ["admin:read"])))]
pub(crate) async fn list_authorizations(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &AuthorizationList { items: s.app.list_authorizations(&a.ctx).await? }))
}

/// Obtain (or obtain again) a remote client's authorization by client_credentials.
#[utoipa::path(post, path = "/api/v1/authorizations", tag = "authorizations",
    request_body(content = NewAuthorization, content_type = "application/json", example = json!({"namespace": "billing", "name": "crm"})),
    responses((status = 201, description = "The authorization", body = AuthorizationView),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed), (status = 502, response = BadGateway)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn create_authorization(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewAuthorization>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.create_authorization(&a.ctx, &a.actor, new).await?))
}

/// Read one authorization.
#[utoipa::path(get, path = "/api/v1/authorizations/{namespace}/{name}", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The authorization", body = AuthorizationView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin:read"])))]
pub(crate) async fn get_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.get_authorization(&a.ctx, &namespace, &name).await?))
}

/// Forget an authorization and its tokens.
#[utoipa::path(delete, path = "/api/v1/authorizations/{namespace}/{name}", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn delete_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.delete_authorization(&a.ctx, &a.actor, &namespace, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A current access token of the authorization, renewed first when it is due. Every call is audited.
/// 409 `Needs Reauthorization` when the provider refused to renew it for good.
#[utoipa::path(post, path = "/api/v1/authorizations/{namespace}/{name}/token", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "A current access token", body = AuthorizationToken),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict), (status = 502, response = BadGateway)),
    security(("bearer" = ["admin"]), ("bearer" = ["authorizations:token"])))]
pub(crate) async fn authorization_token(
    State(s): State<AppState>,
    c: TokenCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.authorization_token(&c.ctx, &c.caller, &namespace, &name).await?))
}

/// Start obtaining the authorization by the provider's authorization-code flow. Open
/// `authorization_url` in a browser: it leads through the provider's login back to
/// Latchkey, which stores the tokens. Register `redirect_uri` at the provider first.
#[utoipa::path(post, path = "/api/v1/authorizations/{namespace}/{name}/authorize", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 201, description = "The link to open, valid for 10 minutes", body = AuthorizeStart),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn authorize_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::CREATED, &s.app.start_authorization(&a.ctx, &a.actor, &namespace, &name).await?))
}

/// Renew the authorization's tokens now (refresh token, or client_credentials again).
/// 409 `Needs Reauthorization` when the provider refuses for good.
#[utoipa::path(post, path = "/api/v1/authorizations/{namespace}/{name}/refresh", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The renewed authorization", body = AuthorizationView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict), (status = 502, response = BadGateway)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn refresh_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.refresh_authorization(&a.ctx, &a.actor, &namespace, &name).await?))
}

/// The upstream accounts (provider and `sub`) that sign in as this user.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/federated-links", tag = "users",
    params(("user_id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user's federated links", body = Vec<FederatedLinkView>),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin:read"])))]
pub(crate) async fn list_federated_links(
    State(s): State<AppState>,
    a: Admin,
    Path(user_id): Path<String>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.list_federated_links(&a.ctx, &user_id).await?))
}

/// Unlink an upstream account from the user.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/federated-links/{provider}/{subject}", tag = "users",
    params(("user_id" = String, Path, description = "The user's id"), ("provider" = String, Path),
        ("subject" = String, Path, description = "The account's sub at the provider (URL-encoded)")),
    responses((status = 204, description = "Unlinked"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin"])))]
pub(crate) async fn unlink_federated(
    State(s): State<AppState>,
    a: Admin,
    Path((user_id, provider, subject)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    s.app.unlink_federated(&a.ctx, &a.actor, &user_id, &provider, &subject).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
