//! The OAuth 2.0 / OpenID Connect protocol endpoints that clients call
//! directly: token, introspection, revocation, userinfo (each its own
//! file, all four behind the CORS layer in `cors`), and the discovery
//! documents with the JWKS. The browser-facing authorization flow is
//! `crate::browser`.

mod cors;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod introspect;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;

use axum::Router;
use axum::response::{IntoResponse, Response};
use latchkey_core::TokenError;

use crate::AppState;
use crate::error::OAuthError;
use crate::form::OAuthForm;
use cors::CorsClient;

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    // CORS only where SPEC §2.1 allows it: token, introspection,
    // revocation and userinfo (never the authorization endpoint).
    Router::new().merge(discovery::routes()).merge(device::routes()).merge(
        Router::new()
            .merge(token::routes())
            .merge(introspect::routes())
            .merge(revoke::routes())
            .merge(userinfo::routes())
            .layer(axum::middleware::from_fn_with_state(state.clone(), cors::layer)),
    )
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

fn token_param(f: &crate::form::Form) -> Result<String, OAuthError> {
    Ok(f.single("token")?.ok_or_else(|| TokenError::invalid_request("the token parameter is required"))?.to_owned())
}
