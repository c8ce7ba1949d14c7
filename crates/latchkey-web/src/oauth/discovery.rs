//! Discovery (OIDC Discovery 1.0, RFC 8414) and JWKS (RFC 7517). Both
//! documents advertise exactly what this build serves.
//!
//! Each issuer's metadata is served where OIDC Discovery looks for it,
//! `{issuer}/.well-known/openid-configuration` (also as
//! `{issuer}/.well-known/oauth-authorization-server`), and, for the tenants
//! whose issuer has a path (`{base}/t/{tenant}`), where RFC 8414 §3.1 looks:
//! the well-known segment between the host and the path,
//! `/.well-known/oauth-authorization-server/t/{tenant}` (and the same for
//! `openid-configuration`, RFC 8414 §5). [`inserted_routes`] serves those,
//! once, beside the per-tenant routes.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_app::tokens::grants_for;
use latchkey_core::authorize::{ResponseMode, ResponseType};
use serde_json::json;

use crate::AppState;
use crate::error::Problem;
use crate::tenant::Tenant;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(oauth_metadata))
        .route("/oauth2/jwks", get(jwks))
        .layer(axum::middleware::map_response(public_document))
}

/// The RFC 8414 §3.1 forms of the tenants' metadata URLs: the well-known
/// segment before the issuer's path. Merged into the site once (not under
/// `/t/{tenant}`, which the path itself names).
pub(crate) fn inserted_routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration/t/{tenant}", get(tenant_metadata))
        .route("/.well-known/oauth-authorization-server/t/{tenant}", get(tenant_oauth_metadata))
        .layer(axum::middleware::map_response(public_document))
}

/// Discovery and JWKS are public documents that browser-based clients fetch
/// cross-origin (a SPA reads them before it signs anyone in): any origin may
/// read them, never with credentials (the `*` forbids cookies).
async fn public_document(mut r: Response) -> Response {
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}

const CLIENT_AUTH: [&str; 3] = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
/// Algorithms of client assertions (`private_key_jwt`): those of the key
/// types `latchkey_crypto::jws::Verifier` reads from a JWK Set.
const CLIENT_AUTH_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// Claims of ID tokens and userinfo responses.
const CLAIMS: [&str; 19] = [
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

/// Server metadata as published (documentation only: built with `json!`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ServerMetadata {
    issuer: String,
    authorization_endpoint: String,
    jwks_uri: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    end_session_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    /// RFC 8628 §4.
    device_authorization_endpoint: String,
    grant_types_supported: Vec<String>,
    response_types_supported: Vec<String>,
    response_modes_supported: Vec<String>,
    code_challenge_methods_supported: Vec<String>,
    prompt_values_supported: Vec<String>,
    claims_supported: Vec<String>,
    /// RFC 9207: every authorization response carries `iss`.
    authorization_response_iss_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    claims_parameter_supported: bool,
    token_endpoint_auth_methods_supported: Vec<String>,
    /// Algorithms of `private_key_jwt` client assertions.
    token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    introspection_endpoint_auth_methods_supported: Vec<String>,
    introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    revocation_endpoint_auth_methods_supported: Vec<String>,
    revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
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
    #[schema(value_type = Vec<latchkey_app::admin::keys::PublicJwk>)]
    keys: Vec<()>,
}

/// OpenID Connect discovery document (OIDC Discovery 1.0 §4).
///
/// The issuer's endpoints, and the grant types, response types, scopes,
/// claims and algorithms it serves; public (no credentials), readable from any
/// origin, cacheable for five minutes. Another tenant's is at
/// `/t/{tenant}/.well-known/openid-configuration` or
/// `/.well-known/openid-configuration/t/{tenant}`.
#[utoipa::path(
    get, path = "/.well-known/openid-configuration", tag = "oauth",
    responses(
        (status = 200, description = "The issuer's metadata", body = ServerMetadata),
        (status = 404, description = "No such tenant, or it is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn metadata(State(s): State<AppState>, Tenant(ctx): Tenant) -> Result<Response, Problem> {
    let iss = &ctx.issuer;
    let scopes: Vec<String> = s.app.scopes.list_scopes(&ctx).await?.into_iter().map(|x| x.name).collect();
    let legacy = ctx.settings.legacy_grants_enabled;
    let mut grants: Vec<&str> = grants_for(&ctx.settings).iter().map(|g| g.as_str()).collect();
    if legacy {
        grants.push(latchkey_core::GrantType::Implicit.as_str());
    }
    let response_types: Vec<&str> =
        ResponseType::ALL.into_iter().filter(|t| legacy || !t.is_implicit()).map(ResponseType::as_str).collect();
    let doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "device_authorization_endpoint": format!("{iss}/oauth2/device_authorization"),
        "grant_types_supported": grants,
        "response_types_supported": response_types,
        "response_modes_supported": ResponseMode::ALL.map(ResponseMode::as_str),
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": CLAIMS,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_AUTH_ALGS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH,
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_AUTH_ALGS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH,
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_AUTH_ALGS,
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "access_token_signing_alg_values_supported": [ctx.settings.access_token_alg.as_str()],
    });
    let mut r = Json(doc).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(r)
}

/// OAuth 2.0 authorization server metadata (RFC 8414).
///
/// The same document as OpenID Connect discovery, at the RFC 8414 name.
#[utoipa::path(
    get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses(
        (status = 200, description = "The issuer's metadata", body = ServerMetadata),
        (status = 404, description = "No such tenant, or it is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn oauth_metadata(s: State<AppState>, t: Tenant) -> Result<Response, Problem> {
    metadata(s, t).await
}

/// A tenant's authorization server metadata where RFC 8414 §3.1 looks for it.
///
/// For the issuer `{base}/t/{tenant}` the well-known segment goes between the
/// host and the issuer's path. The document is the tenant's, with its own
/// `issuer`; an unknown or disabled tenant is a 404.
#[utoipa::path(
    get, path = "/.well-known/oauth-authorization-server/t/{tenant}", tag = "oauth",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant's metadata", body = ServerMetadata),
        (status = 404, description = "No such tenant, or it is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn tenant_oauth_metadata(s: State<AppState>, t: Tenant) -> Result<Response, Problem> {
    metadata(s, t).await
}

/// A tenant's OpenID Connect discovery document, in the RFC 8414 §5 form.
///
/// The same document as `/t/{tenant}/.well-known/openid-configuration`, with
/// the well-known segment before the issuer's path as RFC 8414 places it;
/// an unknown or disabled tenant is a 404.
#[utoipa::path(
    get, path = "/.well-known/openid-configuration/t/{tenant}", tag = "oauth",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant's metadata", body = ServerMetadata),
        (status = 404, description = "No such tenant, or it is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn tenant_metadata(s: State<AppState>, t: Tenant) -> Result<Response, Problem> {
    metadata(s, t).await
}

/// The issuer's public signing keys.
///
/// A JWK Set (RFC 7517) with every key that signs, will sign soon or signed
/// tokens that are still valid; public, readable from any origin, cacheable
/// for five minutes.
#[utoipa::path(
    get, path = "/oauth2/jwks", tag = "oauth",
    responses(
        (status = 200, description = "The JWK Set", body = JwkSet, content_type = "application/jwk-set+json"),
        (status = 404, description = "No such tenant, or it is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(crate) async fn jwks(Tenant(ctx): Tenant) -> Response {
    let mut r = ctx.keys.jwks_json().to_owned().into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    // Short: a rotated key must reach relying parties before it signs.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}
