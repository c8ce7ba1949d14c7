//! `/api/v1/openapi.json`: the OpenAPI document of this API; `/api/v1/me`:
//! who the caller is (what `latchkey whoami` prints).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_core::AdminRole;
use serde::Serialize;
use utoipa::ToSchema;

use super::responses::{BadRequest, Forbidden, Unauthorized};
use super::{Admin, ok};
use crate::AppState;
use crate::error::Problem;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json)).route("/me", get(me))
}

/// The caller of the admin API, as its token speaks for it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    /// The tenant the token belongs to.
    tenant: String,
    /// `user` (a person signed in, e.g. with `latchkey login`) or `client`
    /// (a token from client_credentials).
    #[schema(example = "user")]
    kind: &'static str,
    /// User id or client id.
    id: String,
    /// The username, or the client's name.
    name: String,
    /// The administrative role the caller acts with.
    #[schema(value_type = String, example = "owner")]
    role: Option<&'static str>,
    /// Whether the caller may change things (a writing role and scope `admin`).
    can_write: bool,
}

/// Who the caller is: user or client, its role, and whether it may write.
///
/// What `latchkey whoami` prints: the tenant, the user or client the token
/// speaks for, its administrative role and whether this token may change
/// things (a writing role and scope `admin`).
#[utoipa::path(
    get, path = "/api/v1/me", tag = "meta",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("oauth2" = ["admin:read"]))
)]
pub(crate) async fn me(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    let name = match a.actor.kind {
        "user" => s.app.users.get_user(&a.ctx, &a.actor.id).await?.username,
        _ => s.app.clients.get_client(&a.ctx, &a.actor.id).await.map(|c| c.name).unwrap_or_default(),
    };
    let me = Me {
        tenant: a.ctx.id.as_str().to_owned(),
        kind: a.actor.kind,
        id: a.actor.id.clone(),
        name,
        role: a.actor.role.map(AdminRole::as_str),
        can_write: a.actor.can_write,
    };
    Ok(ok(StatusCode::OK, &me))
}

/// This OpenAPI document.
///
/// Public (no credentials), cacheable for five minutes; the same for every
/// tenant. A human-readable rendering is at `/api/docs`.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object, content_type = "application/json"),
        (status = 400, response = BadRequest),
    ),
    security(())
)]
pub(crate) async fn openapi_json(State(s): State<AppState>) -> Response {
    let mut r = s.api.json.as_str().into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}
