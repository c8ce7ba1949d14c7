//! Token revocation (RFC 7009).

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
    Router::new().route("/oauth2/revoke", post(revoke).fallback(method_not_allowed))
}

/// Token revocation (RFC 7009).
///
/// Revokes an access or refresh token of the authenticated client (a
/// refresh token takes its whole family along). Answers 200 whether or not
/// the token was valid, so a caller learns nothing about other tokens.
#[utoipa::path(
    post, path = "/oauth2/revoke", tag = "oauth",
    request_body(content = TokenOperationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or there was nothing to revoke"),
        (status = 400, description = "Malformed request, or a request the client may not make (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 405, description = "Only POST is accepted", body = OAuthErrorBody, headers(("Allow" = String))),
        (status = 413, description = "The body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 429, description = "Too many failed authentications, or over a rate limit (`temporarily_unavailable`): retry after `Retry-After` seconds", body = OAuthErrorBody, headers(("Retry-After" = u32))),
    ),
    security(("client_basic" = []), ())
)]
pub(crate) async fn revoke(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    req: Result<OAuthForm, OAuthError>,
) -> Response {
    with_cors_client(&req, revoke_inner(s, tenant, req.as_ref().map_err(|e| OAuthError(e.0.clone(), e.1))).await)
}

async fn revoke_inner(
    s: AppState,
    tenant: Result<Tenant, NoTenant>,
    req: Result<&OAuthForm, OAuthError>,
) -> Result<Response, OAuthError> {
    let Tenant(ctx) = tenant.map_err(NoTenant::into_oauth)?;
    let req = req?;
    let auth = req.auth.clone()?;
    let token = token_param(&req.form)?;
    let _ = req.form.single("token_type_hint")?;
    s.app.tokens.revoke(&ctx, &auth, &token, req.source.as_deref()).await?;
    Ok(no_store(axum::http::StatusCode::OK.into_response()))
}
