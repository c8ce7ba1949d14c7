//! `/api/v1/authorizations`: grants obtained with a remote client, and
//! their tokens. A token comes out only from
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
use latchkey_app::tenants::TenantContext;
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::{
    BadGateway, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use super::{Admin, ApiJson, bearer, created, ok, request_id};
use crate::AppState;
use crate::error::Problem;
use crate::tenant::Path;
use crate::tenant::{Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/authorizations", get(list_authorizations).post(create_authorization))
        .route("/authorizations/{namespace}/{name}", get(get_authorization).delete(delete_authorization))
        .route("/authorizations/{namespace}/{name}/token", post(authorization_token))
        .route("/authorizations/{namespace}/{name}/authorize", post(authorize_authorization))
        .route("/authorizations/{namespace}/{name}/refresh", post(refresh_authorization))
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
        let caller =
            state.app.remote.authorization_token_actor(&ctx, bearer(&parts.headers), source, request_id(parts)).await?;
        Ok(Self { ctx, caller })
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AuthorizationList {
    items: Vec<AuthorizationView>,
}

/// Lists the authorizations (never their tokens).
///
/// Each with its status (`active`, `needs_reauthorization`), the scope it
/// holds, when its token expires and the last error the provider gave.
#[utoipa::path(get, path = "/api/v1/authorizations", tag = "authorizations",
    responses((status = 200, description = "Every authorization", body = AuthorizationList),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn list_authorizations(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &AuthorizationList { items: s.app.remote.list_authorizations(&a.ctx).await? }))
}

/// Obtains a remote client's authorization by client_credentials.
///
/// Latchkey asks the provider for a token now with the remote client's
/// credentials and keeps it (encrypted), renewing it when it is due; an
/// existing authorization is obtained again. 502 when the provider cannot
/// be reached or refuses.
#[utoipa::path(post, path = "/api/v1/authorizations", tag = "authorizations",
    request_body(content = NewAuthorization, content_type = "application/json", example = json!({"namespace": "billing", "name": "crm"})),
    responses((status = 201, description = "The authorization", body = AuthorizationView, headers(("Location" = String, description = "The new authorization's address"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed), (status = 502, response = BadGateway)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn create_authorization(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewAuthorization>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let authorization = s.app.remote.create_authorization(&a.ctx, &a.actor, new).await?;
    Ok(created(&a.ctx, &["authorizations", &authorization.namespace, &authorization.name], &authorization))
}

/// Reads one authorization.
///
/// Its status, scope and expiry; never the token itself (take it with
/// `POST …/token`).
#[utoipa::path(get, path = "/api/v1/authorizations/{namespace}/{name}", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The authorization", body = AuthorizationView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin:read"])))]
pub(crate) async fn get_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.remote.get_authorization(&a.ctx, &namespace, &name).await?))
}

/// Forgets an authorization and its tokens.
///
/// The stored access and refresh tokens are deleted; the remote client stays
/// and can be authorized again. Nothing is revoked at the provider.
#[utoipa::path(delete, path = "/api/v1/authorizations/{namespace}/{name}", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn delete_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.remote.delete_authorization(&a.ctx, &a.actor, &namespace, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Takes a current access token of the authorization.
///
/// The token is renewed first when half its lifetime or its last 60 s
/// remain; concurrent callers share one upstream request. Every call is
/// audited (without the token). Allowed to writing administrators (scope
/// `admin`) and to services with `authorizations:token` or
/// `authorizations:token:<namespace>`. 409 `Needs Reauthorization` when the
/// provider refused to renew it for good.
#[utoipa::path(post, path = "/api/v1/authorizations/{namespace}/{name}/token", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "A current access token", body = AuthorizationToken),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict), (status = 502, response = BadGateway)),
    security(("oauth2" = ["admin"]), ("oauth2" = ["authorizations:token"])))]
pub(crate) async fn authorization_token(
    State(s): State<AppState>,
    c: TokenCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.remote.authorization_token(&c.ctx, &c.caller, &namespace, &name).await?))
}

/// Starts obtaining the authorization by the provider's code flow.
///
/// Open `authorization_url` in a browser (valid 10 minutes): it leads
/// through the provider's login back to Latchkey, which stores the tokens.
/// Register `redirect_uri` at the provider first. Nothing is created until
/// the browser comes back, so the answer has no `Location`.
#[utoipa::path(post, path = "/api/v1/authorizations/{namespace}/{name}/authorize", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 201, description = "The link to open, valid for 10 minutes", body = AuthorizeStart),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn authorize_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::CREATED, &s.app.remote.start_authorization(&a.ctx, &a.actor, &namespace, &name).await?))
}

/// Renews the authorization's tokens now.
///
/// With its refresh token, or by client_credentials again; a rotated
/// refresh token is kept with the new access token. 409 `Needs
/// Reauthorization` when the provider refuses for good; 502 when it cannot
/// be reached.
#[utoipa::path(post, path = "/api/v1/authorizations/{namespace}/{name}/refresh", tag = "authorizations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The renewed authorization", body = AuthorizationView),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict), (status = 502, response = BadGateway)),
    security(("oauth2" = ["admin"])))]
pub(crate) async fn refresh_authorization(
    State(s): State<AppState>,
    a: Admin,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.remote.refresh_authorization(&a.ctx, &a.actor, &namespace, &name).await?))
}
