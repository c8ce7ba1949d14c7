//! The userinfo endpoint (OIDC Core §5.3) with RFC 6750 bearer errors.
// `Err(Response)` is a handler's early answer, built once per request.
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_app::oidc::userinfo::UserinfoError;

use super::cors::CorsClient;
use crate::AppState;
use crate::error::no_store;
use crate::form::{Form, read_limited};
use crate::tenant::{NoTenant, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/oauth2/userinfo", get(userinfo).post(userinfo_post))
}

/// RFC 6750 §3: the challenge, with an error code when the request had a token.
fn bearer_error(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"latchkey\", error=\"{e}\", error_description=\"{description}\""),
        None => "Bearer realm=\"latchkey\"".to_owned(),
    };
    let body = serde_json::json!({
        "error": error.unwrap_or("invalid_request"),
        "error_description": description,
    });
    let mut r = no_store((status, Json(body)).into_response());
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// The token from `Authorization: Bearer` (scheme in any case) or, for
/// POST, the `access_token` form field (RFC 6750 §2.1, §2.2); never both.
async fn bearer(req: Request) -> Result<String, Response> {
    let header_token = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let text = v.to_str().unwrap_or_default();
            match text.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                    Some(token.trim().to_owned())
                }
                _ => {
                    return Err(bearer_error(
                        StatusCode::UNAUTHORIZED,
                        Some("invalid_token"),
                        "the Authorization header is not a Bearer token",
                    ));
                }
            }
        }
    };
    let is_form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| {
        c.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    let body_token = if req.method() == Method::POST && is_form {
        let body = read_limited(req.into_body())
            .await
            .map_err(|_| bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"), "the body is too large"))?;
        let form = Form::parse(&body).map_err(|_| {
            bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"), "the body is not a valid form")
        })?;
        form.single("access_token")
            .map_err(|_| bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"), "access_token is repeated"))?
            .map(str::to_owned)
    } else {
        None
    };
    match (header_token, body_token) {
        (Some(_), Some(_)) => {
            Err(bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"), "send the access token one way only"))
        }
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(bearer_error(StatusCode::UNAUTHORIZED, None, "an access token is required")),
    }
}

/// Claims about the signed-in user, by the access token's scope
/// (documentation only: the handler builds them as JSON).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct UserinfoClaims {
    /// The user's stable id.
    sub: String,
    /// Scope `profile`.
    name: Option<String>,
    preferred_username: Option<String>,
    updated_at: Option<i64>,
    /// Scope `email`.
    email: Option<String>,
    email_verified: Option<bool>,
}

/// RFC 6750 §3.1 error codes (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
pub(crate) enum BearerErrorCode {
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
    TemporarilyUnavailable,
}

/// The body of a userinfo error (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct BearerErrorBody {
    error: BearerErrorCode,
    error_description: String,
}

/// The access token, when sent in the body (RFC 6750 §2.2).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct UserinfoForm {
    /// The access token, instead of `Authorization: Bearer`.
    #[schema(nullable = false)]
    access_token: Option<String>,
}

/// Claims about the signed-in user, by the token's scope (OIDC Core §5.3).
///
/// The access token comes in `Authorization: Bearer`; errors follow RFC 6750
/// §3 (`WWW-Authenticate`). The claims are those of the token's scopes:
/// `sub` always, `name`, `preferred_username` and `updated_at` with
/// `profile`, `email` and `email_verified` with `email`.
#[utoipa::path(
    get, path = "/oauth2/userinfo", tag = "oauth", operation_id = "userinfo",
    responses(
        (status = 200, description = "The user's claims", body = UserinfoClaims),
        (status = 400, description = "Malformed request (RFC 6750 invalid_request)", body = BearerErrorBody),
        (status = 401, description = "No access token, or an invalid, expired or revoked one", body = BearerErrorBody, headers(("WWW-Authenticate" = String, description = "The RFC 6750 challenge"))),
        (status = 403, description = "The token lacks the openid scope", body = BearerErrorBody, headers(("WWW-Authenticate" = String, description = "The RFC 6750 challenge"))),
    ),
    security(("oauth2" = ["openid"]))
)]
pub(crate) async fn userinfo(s: State<AppState>, tenant: Result<Tenant, NoTenant>, req: Request) -> Response {
    answer(s, tenant, req).await
}

/// Claims about the signed-in user, with the token in the form body.
///
/// As `GET /oauth2/userinfo`; the access token comes in `Authorization:
/// Bearer` or as the `access_token` form field (RFC 6750 §2.2), never both.
#[utoipa::path(
    post, path = "/oauth2/userinfo", tag = "oauth", operation_id = "userinfo_post",
    request_body(content = UserinfoForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The user's claims", body = UserinfoClaims),
        (status = 400, description = "Malformed request (RFC 6750 invalid_request)", body = BearerErrorBody),
        (status = 401, description = "No access token, or an invalid, expired or revoked one", body = BearerErrorBody, headers(("WWW-Authenticate" = String, description = "The RFC 6750 challenge"))),
        (status = 403, description = "The token lacks the openid scope", body = BearerErrorBody, headers(("WWW-Authenticate" = String, description = "The RFC 6750 challenge"))),
    ),
    security(("oauth2" = ["openid"]), ())
)]
pub(crate) async fn userinfo_post(s: State<AppState>, tenant: Result<Tenant, NoTenant>, req: Request) -> Response {
    answer(s, tenant, req).await
}

/// Both methods: the token, then the claims or the RFC 6750 error.
async fn answer(State(s): State<AppState>, tenant: Result<Tenant, NoTenant>, req: Request) -> Response {
    let ctx = match tenant {
        Ok(Tenant(ctx)) => ctx,
        Err(e) => return e.into_oauth().into_response(),
    };
    let token = match bearer(req).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match s.app.sign_in.userinfo(&ctx, &token).await {
        Ok(info) => {
            let mut r = no_store(Json(info.claims).into_response());
            r.extensions_mut().insert(CorsClient(info.client_id));
            r
        }
        Err(UserinfoError::InvalidToken) => bearer_error(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "the access token is invalid, expired or revoked",
        ),
        Err(UserinfoError::InsufficientScope) => {
            bearer_error(StatusCode::FORBIDDEN, Some("insufficient_scope"), "the access token lacks the openid scope")
        }
        Err(UserinfoError::Unavailable) => bearer_error(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable"),
            "the server cannot answer now; retry later",
        ),
    }
}
