//! Token introspection (RFC 7662).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{TokenOperationForm, method_not_allowed, token_param, with_cors_client};
use crate::AppState;
use crate::error::{OAuthError, OAuthErrorBody, no_store};
use crate::form::OAuthForm;
use crate::tenant::{NoTenant, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/oauth2/introspect", post(introspect).fallback(method_not_allowed))
}

/// RFC 7662 §2.2: an inactive (unknown, expired, revoked, foreign) token
/// yields `{"active": false}` and nothing else. Documentation only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct IntrospectionResponse {
    active: bool,
    scope: Option<String>,
    client_id: Option<String>,
    sub: Option<String>,
    aud: Option<String>,
    iss: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
    token_type: Option<String>,
}
/// Token introspection (RFC 7662).
///
/// For an authenticated client: whether a token is active (unexpired,
/// unrevoked, its client, user and tenant still current) and, when it is,
/// its claims. An inactive or unknown token is `{"active": false}` and
/// nothing else.
#[utoipa::path(
    post, path = "/oauth2/introspect", tag = "oauth",
    request_body(content = TokenOperationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Whether the token is active, and its claims when it is", body = IntrospectionResponse),
        (status = 400, description = "Malformed request, or a request the client may not make (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 405, description = "Only POST is accepted", body = OAuthErrorBody, headers(("Allow" = String))),
        (status = 413, description = "The body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 429, description = "Too many failed authentications, or over a rate limit (`temporarily_unavailable`): retry after `Retry-After` seconds", body = OAuthErrorBody, headers(("Retry-After" = u32))),
    ),
    security(("client_basic" = []), ())
)]
pub(crate) async fn introspect(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    req: Result<OAuthForm, OAuthError>,
) -> Response {
    with_cors_client(&req, introspect_inner(s, tenant, req.as_ref().map_err(|e| OAuthError(e.0.clone(), e.1))).await)
}

async fn introspect_inner(
    s: AppState,
    tenant: Result<Tenant, NoTenant>,
    req: Result<&OAuthForm, OAuthError>,
) -> Result<Response, OAuthError> {
    let Tenant(ctx) = tenant.map_err(NoTenant::into_oauth)?;
    let req = req?;
    let auth = req.auth.clone()?;
    let token = token_param(&req.form)?;
    let _ = req.form.single("token_type_hint")?;
    let resp = s.app.tokens.introspect(&ctx, &auth, &token, req.source.as_deref()).await?;
    Ok(no_store(Json(resp).into_response()))
}
