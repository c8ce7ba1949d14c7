//! The admin REST API (`/api/v1`, SPEC §5). Bearer tokens issued by this
//! tenant with scope `admin` (write) or `admin:read` (read). Errors are
//! RFC 9457 problem+json; clients carry an `ETag` (their revision) and
//! updates honour `If-Match` (412 when stale).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_app::admin::clients::{ClientSearch, NewClient};
use latchkey_app::admin::scopes::{ClassPatch, NewClass, NewScope, ScopePatch};
use latchkey_app::admin::secrets::{AddSecret, RotateSecret};
use latchkey_app::admin::{Actor, AuditSearch};
use latchkey_app::tenants::TenantContext;
use latchkey_core::ClientStatus;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::{Problem, no_store};
use crate::tenant::{Source, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients/{client_id}", get(get_client).patch(update_client).delete(delete_client))
        .route("/clients/{client_id}/disable", post(disable_client))
        .route("/clients/{client_id}/enable", post(enable_client))
        .route("/clients/{client_id}/secrets", get(list_secrets).post(add_secret))
        .route("/clients/{client_id}/secrets/rotate", post(rotate_secret))
        .route("/clients/{client_id}/secrets/{secret_id}", axum::routing::delete(revoke_secret))
        .route("/clients/{client_id}/test-redirect", post(test_redirect))
        .route("/scopes", get(list_scopes).post(create_scope))
        .route("/scopes/{name}", get(get_scope).patch(update_scope).delete(delete_scope))
        .route("/security-classes", get(list_classes).post(create_class))
        .route("/security-classes/{name}", get(get_class).patch(update_class).delete(delete_class))
        .route("/audit-events", get(list_audit))
        .route("/keys", get(list_keys))
        .fallback(crate::error::not_found)
}

/// The tenant and the authenticated caller of an admin request.
pub(crate) struct Admin {
    ctx: Arc<TenantContext>,
    actor: Actor,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Tenant(ctx) = Tenant::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such tenant"))?;
        let Ok(Source(source)) = Source::from_request_parts(parts, state).await;
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().filter(|c| !c.is_control()).take(64).collect());
        let actor = state.app.admin_actor(&ctx, bearer(&parts.headers), source, request_id).await?;
        Ok(Self { ctx, actor })
    }
}

/// A JSON body whose errors are problem+json.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Self::Rejection> {
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = ctype.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json")
            && !essence.eq_ignore_ascii_case("application/merge-patch+json")
        {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), crate::MAX_BODY).await.map_err(|_| {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large", "the body is larger than 1 MiB")
        })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line").next().unwrap_or(&msg).to_owned();
            Problem::new(StatusCode::BAD_REQUEST, "Malformed JSON", format!("the body is not valid: {msg}"))
        })
    }
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(v)| v).map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Bad query", e.body_text()))
}

fn ok<T: Serialize>(status: StatusCode, body: &T) -> Response {
    no_store((status, Json(body)).into_response())
}

fn with_etag(mut r: Response, revision: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// `If-Match: "N"` (or `W/"N"`); `*` or absent means no precondition.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let v = v.to_str().unwrap_or("").trim();
    if v == "*" {
        return Ok(None);
    }
    let bad = || {
        Problem::new(StatusCode::BAD_REQUEST, "Bad If-Match", "If-Match takes an ETag this API returned, e.g. \"3\"")
    };
    let inner =
        v.strip_prefix("W/").unwrap_or(v).strip_prefix('"').and_then(|s| s.strip_suffix('"')).ok_or_else(bad)?;
    inner.parse().map(Some).map_err(|_| bad())
}

#[derive(Deserialize, Default)]
struct ForceQuery {
    #[serde(default)]
    force: bool,
}

async fn list_clients(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<ClientSearch>, QueryRejection>,
) -> Result<Response, Problem> {
    let (items, next) = s.app.search_clients(&a.ctx, &query(q)?).await?;
    Ok(ok(StatusCode::OK, &json!({ "items": items, "next_cursor": next })))
}

async fn create_client(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewClient>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let created = s.app.create_client(&a.ctx, &a.actor, new).await?;
    let rev = created.client.revision;
    Ok(with_etag(ok(StatusCode::CREATED, &created), rev))
}

async fn get_client(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = s.app.get_client(&a.ctx, &id).await?;
    let rev = c.revision;
    Ok(with_etag(ok(StatusCode::OK, &c), rev))
}

async fn update_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<ForceQuery>, QueryRejection>,
    body: Result<ApiJson<Map<String, Value>>, Problem>,
) -> Result<Response, Problem> {
    let force = query(q)?.force;
    let expected = if_match(&headers)?;
    let ApiJson(patch) = body?;
    let updated = s.app.update_client(&a.ctx, &a.actor, &id, &patch, expected, force).await?;
    let rev = updated.client.revision;
    Ok(with_etag(ok(StatusCode::OK, &updated), rev))
}

async fn delete_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    s.app.delete_client(&a.ctx, &a.actor, &id, query(q)?.force).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_status(s: &AppState, a: &Admin, id: &str, force: bool, status: ClientStatus) -> Result<Response, Problem> {
    let c = s.app.set_client_status(&a.ctx, &a.actor, id, status, force).await?;
    let rev = c.revision;
    Ok(with_etag(ok(StatusCode::OK, &c), rev))
}

async fn disable_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    set_status(&s, &a, &id, query(q)?.force, ClientStatus::Disabled).await
}

async fn enable_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    set_status(&s, &a, &id, query(q)?.force, ClientStatus::Active).await
}

async fn list_secrets(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &json!({ "items": s.app.list_secrets(&a.ctx, &id).await? })))
}

async fn add_secret(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<AddSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.add_secret(&a.ctx, &a.actor, &id, req).await?))
}

async fn rotate_secret(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<RotateSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.rotate_secret(&a.ctx, &a.actor, &id, req).await?))
}

async fn revoke_secret(
    State(s): State<AppState>,
    a: Admin,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.revoke_secret(&a.ctx, &a.actor, &id, &secret_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRedirect {
    uri: String,
}

async fn test_redirect(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<TestRedirect>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::OK, &s.app.test_redirect(&a.ctx, &id, &req.uri).await?))
}

async fn list_scopes(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &json!({ "items": s.app.list_scopes(&a.ctx).await? })))
}

async fn create_scope(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewScope>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.create_scope(&a.ctx, &a.actor, new).await?))
}

async fn get_scope(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.get_scope(&a.ctx, &name).await?))
}

async fn update_scope(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
    body: Result<ApiJson<ScopePatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.update_scope(&a.ctx, &a.actor, &name, p).await?))
}

async fn delete_scope(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    s.app.delete_scope(&a.ctx, &a.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_classes(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &json!({ "items": s.app.list_classes(&a.ctx).await? })))
}

async fn create_class(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewClass>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.create_class(&a.ctx, &a.actor, new).await?))
}

async fn get_class(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &s.app.get_class(&a.ctx, &name).await?))
}

async fn update_class(
    State(s): State<AppState>,
    a: Admin,
    Path(name): Path<String>,
    body: Result<ApiJson<ClassPatch>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(p) = body?;
    Ok(ok(StatusCode::OK, &s.app.update_class(&a.ctx, &a.actor, &name, p).await?))
}

async fn delete_class(State(s): State<AppState>, a: Admin, Path(name): Path<String>) -> Result<Response, Problem> {
    s.app.delete_class(&a.ctx, &a.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_audit(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<AuditSearch>, QueryRejection>,
) -> Result<Response, Problem> {
    let (items, next) = s.app.search_audit(&a.ctx, &query(q)?).await?;
    Ok(ok(StatusCode::OK, &json!({ "items": items, "next_cursor": next })))
}

async fn list_keys(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &json!({ "items": s.app.list_keys(&a.ctx).await? })))
}
