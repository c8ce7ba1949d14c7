//! The token, introspection and revocation endpoints.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use latchkey_app::tokens::TokenRequest;
use latchkey_core::TokenError;

use crate::AppState;
use crate::cors::CorsClient;
use crate::error::{OAuthError, OAuthErrorBody, no_store};
use crate::form::OAuthForm;
use crate::tenant::{NoTenant, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/token", post(token).fallback(method_not_allowed))
        .route("/oauth2/introspect", post(introspect).fallback(method_not_allowed))
        .route("/oauth2/revoke", post(revoke).fallback(method_not_allowed))
}

/// A token request (RFC 6749 §4.4). Documentation only: the handler parses
/// the form strictly itself (no repeated parameters, empty means absent).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct TokenForm {
    grant_type: ServedGrant,
    /// Space-delimited scopes; absent: every scope the client may have.
    #[schema(nullable = false)]
    scope: Option<String>,
    /// RFC 8707 resource indicator: one of the client's audiences.
    #[schema(nullable = false)]
    resource: Option<String>,
    /// authorization_code: the code from the authorization response.
    #[schema(nullable = false)]
    code: Option<String>,
    /// authorization_code: the redirect_uri of the authorization request, when it had one.
    #[schema(nullable = false)]
    redirect_uri: Option<String>,
    /// authorization_code: the PKCE verifier (RFC 7636).
    #[schema(nullable = false)]
    code_verifier: Option<String>,
    /// refresh_token: the refresh token; it is rotated.
    #[schema(nullable = false)]
    refresh_token: Option<String>,
    /// password (legacy): the user's name.
    #[schema(nullable = false)]
    username: Option<String>,
    /// password (legacy): the user's password.
    #[schema(nullable = false)]
    password: Option<String>,
    /// With client_secret_post (or a public client).
    #[schema(nullable = false)]
    client_id: Option<String>,
    /// client_secret_post only; never in the URL.
    #[schema(nullable = false)]
    client_secret: Option<String>,
    /// private_key_jwt: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[schema(nullable = false)]
    client_assertion_type: Option<String>,
    /// private_key_jwt: the signed JWT (RFC 7523 §3).
    #[schema(nullable = false)]
    client_assertion: Option<String>,
}

/// The grant types this build's token endpoint serves (`SUPPORTED_GRANTS`;
/// a test keeps the two equal). Others get `unsupported_grant_type`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) enum ServedGrant {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    /// Legacy: only where the tenant enables legacy grants.
    #[serde(rename = "password")]
    Password,
}

/// An introspection (RFC 7662) or revocation (RFC 7009) request.
/// Documentation only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct TokenOperationForm {
    /// The token.
    token: String,
    /// `access_token` or `refresh_token`; a hint only.
    #[schema(nullable = false)]
    token_type_hint: Option<String>,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(nullable = false)]
    client_secret: Option<String>,
    #[schema(nullable = false)]
    client_assertion_type: Option<String>,
    #[schema(nullable = false)]
    client_assertion: Option<String>,
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

/// Marks the response with the client that called, for the CORS layer.
fn with_cors_client(req: &Result<OAuthForm, OAuthError>, result: Result<Response, OAuthError>) -> Response {
    let client = req.as_ref().ok().and_then(|r| r.auth.as_ref().ok()).map(|a| a.client_id().to_owned());
    let mut r = result.into_response();
    if let Some(c) = client {
        r.extensions_mut().insert(CorsClient(c));
    }
    r
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

/// Token endpoint (RFC 6749 §3.2).
#[utoipa::path(
    post, path = "/oauth2/token", tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded",
        example = json!({"grant_type": "client_credentials", "scope": "admin:read"})),
    responses(
        (status = 200, description = "An access token", body = latchkey_app::tokens::TokenResponse),
        (status = 400, description = "Malformed request, or a request the client may not make (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 405, description = "Only POST is accepted", body = OAuthErrorBody, headers(("Allow" = String))),
        (status = 413, description = "The body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 429, description = "Too many failed authentications: retry later", body = OAuthErrorBody, headers(("Retry-After" = u32))),
    ),
    security(("client_basic" = []), ())
)]
pub(crate) async fn token(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    req: Result<OAuthForm, OAuthError>,
) -> Response {
    with_cors_client(&req, token_inner(s, tenant, req.as_ref().map_err(|e| OAuthError(e.0.clone(), e.1))).await)
}

async fn token_inner(
    s: AppState,
    tenant: Result<Tenant, NoTenant>,
    req: Result<&OAuthForm, OAuthError>,
) -> Result<Response, OAuthError> {
    let Tenant(ctx) = tenant.map_err(NoTenant::into_oauth)?;
    let req = req?;
    let auth = req.auth.clone()?;
    let f = &req.form;
    let tr = TokenRequest {
        grant_type: f.single("grant_type")?.map(str::to_owned),
        scope: f.single("scope")?.map(str::to_owned),
        resource: f.single("resource")?.map(str::to_owned),
        code: f.single("code")?.map(str::to_owned),
        redirect_uri: f.single("redirect_uri")?.map(str::to_owned),
        code_verifier: f.single("code_verifier")?.map(str::to_owned),
        refresh_token: f.single("refresh_token")?.map(str::to_owned),
        username: f.single("username")?.map(str::to_owned),
        password: f.single("password")?.map(str::to_owned),
    };
    let resp = s.app.token(&ctx, &auth, &tr, req.source.as_deref()).await?;
    Ok(no_store(Json(resp).into_response()))
}

fn token_param(f: &crate::form::Form) -> Result<String, OAuthError> {
    Ok(f.single("token")?.ok_or_else(|| TokenError::invalid_request("the token parameter is required"))?.to_owned())
}

/// Token introspection (RFC 7662).
#[utoipa::path(
    post, path = "/oauth2/introspect", tag = "oauth",
    request_body(content = TokenOperationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Whether the token is active, and its claims when it is", body = IntrospectionResponse),
        (status = 400, description = "Malformed request, or a request the client may not make (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 405, description = "Only POST is accepted", body = OAuthErrorBody, headers(("Allow" = String))),
        (status = 413, description = "The body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 429, description = "Too many failed authentications: retry later", body = OAuthErrorBody, headers(("Retry-After" = u32))),
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
    let resp = s.app.introspect(&ctx, &auth, &token, req.source.as_deref()).await?;
    Ok(no_store(Json(resp).into_response()))
}

/// Token revocation (RFC 7009): answers 200 whether or not the token was valid.
#[utoipa::path(
    post, path = "/oauth2/revoke", tag = "oauth",
    request_body(content = TokenOperationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or there was nothing to revoke"),
        (status = 400, description = "Malformed request, or a request the client may not make (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 405, description = "Only POST is accepted", body = OAuthErrorBody, headers(("Allow" = String))),
        (status = 413, description = "The body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 429, description = "Too many failed authentications: retry later", body = OAuthErrorBody, headers(("Retry-After" = u32))),
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
    s.app.revoke(&ctx, &auth, &token, req.source.as_deref()).await?;
    Ok(no_store(axum::http::StatusCode::OK.into_response()))
}
