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
        .route("/.well-known/oauth-authorization-server", get(oauth_metadata))
        .route("/oauth2/jwks", get(jwks))
}

const CLIENT_AUTH: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// Server metadata as published (documentation only: built with `json!`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ServerMetadata {
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    grant_types_supported: Vec<String>,
    response_types_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    introspection_endpoint_auth_methods_supported: Vec<String>,
    revocation_endpoint_auth_methods_supported: Vec<String>,
    scopes_supported: Vec<String>,
    subject_types_supported: Vec<String>,
    id_token_signing_alg_values_supported: Vec<String>,
    access_token_signing_alg_values_supported: Vec<String>,
}

/// A JWK Set (RFC 7517 §5). Documentation only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct JwkSet {
    /// The public keys; each a JWK with `kid`, `alg` and `use`.
    #[schema(value_type = Vec<Object>)]
    keys: Vec<()>,
}

/// OpenID Connect discovery document (OIDC Discovery 1.0 §4).
#[utoipa::path(
    get, path = "/.well-known/openid-configuration", tag = "oauth",
    responses(
        (status = 200, description = "The issuer's metadata", body = ServerMetadata),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn metadata(State(s): State<AppState>, Tenant(ctx): Tenant) -> Result<Response, Problem> {
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

/// OAuth 2.0 authorization server metadata (RFC 8414): the same document.
#[utoipa::path(
    get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses(
        (status = 200, description = "The issuer's metadata", body = ServerMetadata),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn oauth_metadata(s: State<AppState>, t: Tenant) -> Result<Response, Problem> {
    metadata(s, t).await
}

/// The issuer's public signing keys.
#[utoipa::path(
    get, path = "/oauth2/jwks", tag = "oauth",
    responses((status = 200, description = "The JWK Set", body = JwkSet, content_type = "application/jwk-set+json"))
)]
pub(crate) async fn jwks(Tenant(ctx): Tenant) -> Response {
    let mut r = ctx.keys.jwks_json().to_owned().into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    // Short: a rotated key must reach relying parties before it signs.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}
