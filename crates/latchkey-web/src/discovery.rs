//! Discovery (OIDC Discovery 1.0, RFC 8414) and JWKS (RFC 7517). Both
//! documents advertise exactly what this build serves.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_app::tokens::SUPPORTED_GRANTS;
use serde_json::json;

use crate::AppState;
use crate::error::Problem;
use crate::tenant::Tenant;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth2/jwks", get(jwks))
}

const CLIENT_AUTH: [&str; 2] = ["client_secret_basic", "client_secret_post"];

async fn metadata(State(s): State<AppState>, Tenant(ctx): Tenant) -> Result<Response, Problem> {
    let iss = &ctx.issuer;
    let scopes: Vec<String> = s.app.list_scopes(&ctx).await?.into_iter().map(|x| x.name).collect();
    let grants: Vec<&str> = SUPPORTED_GRANTS.iter().map(|g| g.as_str()).collect();
    let doc = json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "grant_types_supported": grants,
        // No authorization endpoint yet: no response type is served.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH,
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "access_token_signing_alg_values_supported": [ctx.settings.access_token_alg.as_str()],
    });
    let mut r = Json(doc).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(r)
}

async fn jwks(Tenant(ctx): Tenant) -> Response {
    let mut r = ctx.keys.jwks_json().to_owned().into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    // Short: a rotated key must reach relying parties before it signs.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}
