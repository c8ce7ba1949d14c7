//! The token, introspection and revocation endpoints.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use latchkey_app::tokens::TokenRequest;
use latchkey_core::TokenError;

use crate::AppState;
use crate::error::{OAuthError, no_store};
use crate::form::OAuthForm;
use crate::tenant::{NoTenant, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/token", post(token).fallback(method_not_allowed))
        .route("/oauth2/introspect", post(introspect).fallback(method_not_allowed))
        .route("/oauth2/revoke", post(revoke).fallback(method_not_allowed))
}

async fn method_not_allowed() -> Response {
    let mut r = OAuthError(
        TokenError::invalid_request("this endpoint accepts POST only"),
        Some(axum::http::StatusCode::METHOD_NOT_ALLOWED),
    )
    .into_response();
    r.headers_mut().insert(axum::http::header::ALLOW, axum::http::HeaderValue::from_static("POST"));
    r
}

async fn token(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    req: Result<OAuthForm, OAuthError>,
) -> Result<Response, OAuthError> {
    let Tenant(ctx) = tenant.map_err(NoTenant::into_oauth)?;
    let req = req?;
    let auth = req.auth?;
    let f = &req.form;
    let tr = TokenRequest {
        grant_type: f.single("grant_type")?.map(str::to_owned),
        scope: f.single("scope")?.map(str::to_owned),
        resource: f.single("resource")?.map(str::to_owned),
    };
    let resp = s.app.token(&ctx, &auth, &tr, req.source.as_deref()).await?;
    Ok(no_store(Json(resp).into_response()))
}

fn token_param(f: &crate::form::Form) -> Result<String, OAuthError> {
    Ok(f.single("token")?.ok_or_else(|| TokenError::invalid_request("the token parameter is required"))?.to_owned())
}

async fn introspect(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    req: Result<OAuthForm, OAuthError>,
) -> Result<Response, OAuthError> {
    let Tenant(ctx) = tenant.map_err(NoTenant::into_oauth)?;
    let req = req?;
    let auth = req.auth?;
    let token = token_param(&req.form)?;
    let _ = req.form.single("token_type_hint")?;
    let resp = s.app.introspect(&ctx, &auth, &token, req.source.as_deref()).await?;
    Ok(no_store(Json(resp).into_response()))
}

async fn revoke(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    req: Result<OAuthForm, OAuthError>,
) -> Result<Response, OAuthError> {
    let Tenant(ctx) = tenant.map_err(NoTenant::into_oauth)?;
    let req = req?;
    let auth = req.auth?;
    let token = token_param(&req.form)?;
    let _ = req.form.single("token_type_hint")?;
    s.app.revoke(&ctx, &auth, &token, req.source.as_deref()).await?;
    Ok(no_store(axum::http::StatusCode::OK.into_response()))
}
