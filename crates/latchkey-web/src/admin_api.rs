//! The admin REST API (`/api/v1`). Bearer tokens issued by this tenant with
//! scope `admin` (write) or `admin:read` (read). Errors are RFC 9457
//! problem+json.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_app::admin::Actor;
use latchkey_app::admin::clients::NewClient;
use latchkey_app::admin::scopes::NewScope;
use latchkey_core::ClientStatus;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::AppState;
use crate::error::{Problem, no_store};
use crate::tenant::{Source, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients/{client_id}", get(get_client).delete(delete_client))
        .route("/clients/{client_id}/disable", post(disable_client))
        .route("/clients/{client_id}/enable", post(enable_client))
        .route("/scopes", get(list_scopes).post(create_scope))
        .route("/audit-events", get(list_audit))
}

/// A JSON body whose errors are problem+json.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Self::Rejection> {
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ctype.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), crate::MAX_BODY).await.map_err(|_| {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large", "the body is larger than 1 MiB")
        })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Malformed JSON", format!("the body is not valid: {e}")))
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

async fn actor(s: &AppState, ctx: &Tenant, headers: &HeaderMap, conn: &Source) -> Result<Actor, Problem> {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(|v| v.chars().take(64).collect());
    let source = conn.0.clone();
    Ok(s.app.admin_actor(&ctx.0, bearer(headers), source, request_id).await?)
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(v)| v).map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Bad query", e.body_text()))
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize, Default)]
struct ForceQuery {
    #[serde(default)]
    force: bool,
}

async fn list_clients(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    actor(&s, &t, &headers, &conn).await?;
    let q = query(q)?;
    let (items, next) = s.app.list_clients(&t.0, q.cursor.as_deref(), q.limit.unwrap_or(50)).await?;
    Ok(no_store(Json(json!({ "items": items, "next_cursor": next })).into_response()))
}

async fn create_client(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    body: Result<ApiJson<NewClient>, Problem>,
) -> Result<Response, Problem> {
    let a = actor(&s, &t, &headers, &conn).await?;
    let ApiJson(new) = body?;
    let created = s.app.create_client(&t.0, &a, new).await?;
    Ok(no_store((StatusCode::CREATED, Json(created)).into_response()))
}

async fn get_client(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    Path(params): Path<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    actor(&s, &t, &headers, &conn).await?;
    let id = params.get("client_id").map(String::as_str).unwrap_or_default();
    Ok(no_store(Json(s.app.get_client(&t.0, id).await?).into_response()))
}

async fn delete_client(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    Path(params): Path<std::collections::HashMap<String, String>>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let a = actor(&s, &t, &headers, &conn).await?;
    let id = params.get("client_id").map(String::as_str).unwrap_or_default();
    s.app.delete_client(&t.0, &a, id, query(q)?.force).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_status(
    s: AppState,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    params: std::collections::HashMap<String, String>,
    force: bool,
    status: ClientStatus,
) -> Result<Response, Problem> {
    let a = actor(&s, &t, &headers, &conn).await?;
    let id = params.get("client_id").map(String::as_str).unwrap_or_default();
    Ok(no_store(Json(s.app.set_client_status(&t.0, &a, id, status, force).await?).into_response()))
}

async fn disable_client(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    Path(params): Path<std::collections::HashMap<String, String>>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let force = query(q)?.force;
    set_status(s, t, headers, conn, params, force, ClientStatus::Disabled).await
}

async fn enable_client(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    Path(params): Path<std::collections::HashMap<String, String>>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let force = query(q)?.force;
    set_status(s, t, headers, conn, params, force, ClientStatus::Active).await
}

async fn list_scopes(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
) -> Result<Response, Problem> {
    actor(&s, &t, &headers, &conn).await?;
    Ok(no_store(Json(json!({ "items": s.app.list_scopes(&t.0).await? })).into_response()))
}

async fn create_scope(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    body: Result<ApiJson<NewScope>, Problem>,
) -> Result<Response, Problem> {
    let a = actor(&s, &t, &headers, &conn).await?;
    let ApiJson(new) = body?;
    let created = s.app.create_scope(&t.0, &a, new).await?;
    Ok(no_store((StatusCode::CREATED, Json(created)).into_response()))
}

async fn list_audit(
    State(s): State<AppState>,
    t: Tenant,
    headers: HeaderMap,
    conn: Source,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    actor(&s, &t, &headers, &conn).await?;
    let q = query(q)?;
    let events = s.app.list_audit(&t.0, q.limit.unwrap_or(50)).await?;
    Ok(no_store(Json(json!({ "items": events })).into_response()))
}
