//! The device authorization endpoint (RFC 8628 §3.1–3.2): a device without
//! a browser asks for a device code and a user code, then polls the token
//! endpoint while its user decides at `/device`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use latchkey_app::tokens::device::DeviceInfo;
use serde::Serialize;

use super::method_not_allowed;
use crate::AppState;
use crate::error::{OAuthError, OAuthErrorBody, no_store};
use crate::form::OAuthForm;
use crate::tenant::{NoTenant, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/oauth2/device_authorization", post(device_authorization).fallback(method_not_allowed))
}

/// A device authorization request (RFC 8628 §3.1). Documentation only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct DeviceAuthorizationForm {
    /// Space-delimited scopes; absent: every scope the client may have.
    #[schema(nullable = false)]
    scope: Option<String>,
    /// Required for public clients (and with client_secret_post).
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

/// RFC 8628 §3.2.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeviceAuthorizationResponse {
    /// What the device sends to the token endpoint; secret.
    device_code: String,
    /// What the person types at `verification_uri`: `XXXX-XXXX`, letters
    /// without look-alikes; case and dashes do not matter.
    user_code: String,
    /// Where the person goes (`{issuer}/device`).
    verification_uri: String,
    /// The same with the code filled in (for a QR code or a link).
    verification_uri_complete: String,
    /// Seconds until both codes expire.
    expires_in: i64,
    /// Seconds the device must wait between polls.
    interval: i64,
}

/// Device authorization endpoint (RFC 8628 §3.1).
///
/// For a client with the device-code grant: a device code to poll the token
/// endpoint with and a user code (`XXXX-XXXX`) the person enters at
/// `verification_uri`, both valid 10 minutes.
#[utoipa::path(
    post, path = "/oauth2/device_authorization", tag = "oauth",
    request_body(content = DeviceAuthorizationForm, content_type = "application/x-www-form-urlencoded",
        example = json!({"client_id": "latchkey-cli", "scope": "openid admin"})),
    responses(
        (status = 200, description = "A device code and a user code", body = DeviceAuthorizationResponse),
        (status = 400, description = "Malformed request, or a client not registered for the device grant (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 405, description = "Only POST is accepted", body = OAuthErrorBody, headers(("Allow" = String))),
        (status = 413, description = "The body is larger than 64 KiB", body = OAuthErrorBody),
        (status = 429, description = "Too many failed authentications, or over a rate limit (`temporarily_unavailable`): retry after `Retry-After` seconds", body = OAuthErrorBody, headers(("Retry-After" = u32))),
    ),
    security(("client_basic" = []), ())
)]
pub(crate) async fn device_authorization(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    headers: HeaderMap,
    req: Result<OAuthForm, OAuthError>,
) -> Result<Response, OAuthError> {
    let Tenant(ctx) = tenant.map_err(NoTenant::into_oauth)?;
    let req = req?;
    let auth = req.auth.clone()?;
    let scope = req.form.single("scope")?;
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect::<String>());
    let device = DeviceInfo { ip: req.source.clone(), user_agent };
    let d = s.app.tokens.device_authorization(&ctx, &auth, scope, device, req.source.as_deref()).await?;
    let verification_uri = format!("{}/device", ctx.issuer);
    let complete = format!(
        "{verification_uri}?{}",
        form_urlencoded::Serializer::new(String::new()).append_pair("user_code", &d.user_code).finish()
    );
    let body = DeviceAuthorizationResponse {
        device_code: d.device_code,
        user_code: d.user_code,
        verification_uri,
        verification_uri_complete: complete,
        expires_in: d.expires_in,
        interval: d.interval,
    };
    Ok(no_store(Json(body).into_response()))
}
