//! The token endpoint (RFC 6749 §3.2): every grant this build serves.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use latchkey_app::tokens::TokenRequest;

use super::{method_not_allowed, with_cors_client};
use crate::AppState;
use crate::error::{OAuthError, OAuthErrorBody, no_store};
use crate::form::OAuthForm;
use crate::tenant::{NoTenant, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/oauth2/token", post(token).fallback(method_not_allowed))
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
    /// device_code grant: the device code (RFC 8628 §3.4).
    #[schema(nullable = false)]
    device_code: Option<String>,
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
    /// RFC 8628: polling with a device code from `/oauth2/device_authorization`.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
    /// Legacy: only where the tenant enables legacy grants.
    #[serde(rename = "password")]
    Password,
}
/// Token endpoint (RFC 6749 §3.2).
///
/// Issues access tokens (RFC 9068 JWTs or opaque, per client), ID tokens and
/// refresh tokens for the grants in `ServedGrant`. Confidential clients
/// authenticate with `client_secret_basic`, `client_secret_post` or
/// `private_key_jwt`; public clients send only `client_id`. Errors are
/// RFC 6749 §5.2 JSON; failed client authentications are slowed per client
/// and address (429 with `Retry-After`).
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
        (status = 429, description = "Too many failed authentications, or over a rate limit (`temporarily_unavailable`): retry after `Retry-After` seconds", body = OAuthErrorBody, headers(("Retry-After" = u32))),
        (status = 503, description = "`temporarily_unavailable`: the database cannot be reached, or (password grant) every password hashing slot stayed taken", body = OAuthErrorBody, headers(("Retry-After" = u32))),
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
        device_code: f.single("device_code")?.map(str::to_owned),
        username: f.single("username")?.map(str::to_owned),
        password: f.single("password")?.map(str::to_owned),
    };
    let resp = s.app.tokens.token(&ctx, &auth, &tr, req.source.as_deref()).await?;
    Ok(no_store(Json(resp).into_response()))
}
