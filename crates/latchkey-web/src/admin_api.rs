//! The admin REST API (`/api/v1`, SPEC §5). Bearer tokens issued by this
//! tenant with scope `admin` (write) or `admin:read` (read). Errors are
//! RFC 9457 problem+json; clients carry an `ETag` (their revision) and
//! updates honour `If-Match` (412 when stale).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_app::admin::clients::{ClientSearch, ClientView, CreatedClient, NewClient, SecretView, UpdatedClient};
use latchkey_app::admin::keys::{KeyView, RotateKeys};
use latchkey_app::admin::secrets::{AddSecret, NewSecret, RotateSecret};
use latchkey_app::admin::{Actor, AuditSearch, AuditView};
use latchkey_app::tenants::TenantContext;
use latchkey_core::{ClientConfig, ClientStatus, ClientType};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{Problem, no_store};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::tenant::Path;
use crate::tenant::{Source, Tenant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients:batch", post(create_clients))
        .route("/clients/{client_id}", get(get_client).patch(update_client).delete(delete_client))
        .route("/clients/{client_id}/disable", post(disable_client))
        .route("/clients/{client_id}/enable", post(enable_client))
        .route("/clients/{client_id}/secrets", get(list_secrets).post(add_secret))
        .route("/clients/{client_id}/secrets/rotate", post(rotate_secret))
        .route("/clients/{client_id}/secrets/{secret_id}", axum::routing::delete(revoke_secret))
        .route("/clients/{client_id}/test-redirect", post(test_redirect))
        .route("/audit-events", get(list_audit))
        .route("/keys", get(list_keys))
        .route("/keys/rotate", post(rotate_keys))
        .merge(crate::admin_catalog::routes())
        .merge(crate::admin_users::routes())
        .merge(crate::admin_tenants::routes())
        .merge(crate::remote_api::routes())
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route_layer(axum::middleware::from_fn(crate::json_body::refuse_unknown_query))
        .fallback(crate::error::not_found)
}

/// The tenant and the authenticated caller of an admin request.
pub(crate) struct Admin {
    pub(crate) ctx: Arc<TenantContext>,
    pub(crate) actor: Actor,
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
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
        let route = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned());
        let method = req.method().as_str().to_owned();
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
        // Not JSON at all: 400. JSON that does not fit: 422 naming every field.
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line").next().unwrap_or(&msg).to_owned();
            Problem::new(StatusCode::BAD_REQUEST, "Malformed JSON", format!("the body is not JSON: {msg}"))
        })?;
        let errors = crate::json_body::field_errors(&method, route.as_deref(), &value);
        if !errors.is_empty() {
            return Err(latchkey_app::AppError::Validation(errors).into());
        }
        serde_path_to_error::deserialize(value).map(ApiJson).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.inner().to_string();
            let msg = msg.split(" at line").next().unwrap_or(&msg).to_owned();
            let field = if path == "." { "body".to_owned() } else { path };
            latchkey_app::AppError::Validation(vec![latchkey_core::FieldError::new(&field, &msg)]).into()
        })
    }
}

pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(v)| v).map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Bad query", e.body_text()))
}

pub(crate) fn ok<T: Serialize>(status: StatusCode, body: &T) -> Response {
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

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ForceQuery {
    /// Needed to change a protected default client or a declaratively managed one.
    #[serde(default)]
    force: bool,
}

/// A page of clients.
#[derive(Serialize, ToSchema)]
pub(crate) struct ClientPage {
    items: Vec<ClientView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// A page of audit events.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditPage {
    items: Vec<AuditView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SecretList {
    items: Vec<SecretView>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct KeyList {
    items: Vec<KeyView>,
}

/// A JSON merge patch (RFC 7396) of a client: the identity fields below and
/// any field of `ClientConfig`; `null` resets a field to its default. The
/// server's bookkeeping fields (`client_id`, `status`, `revision`, …) cannot
/// be patched. (Documentation only: the handler takes the patch as a map.)
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ClientPatch {
    name: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    client_type: Option<ClientType>,
    managed_by: Option<String>,
    #[serde(flatten)]
    config: ClientConfig,
}

/// Lists clients, filtered and sorted, one page at a time.
#[utoipa::path(
    get, path = "/api/v1/clients", tag = "clients",
    params(ClientSearch),
    responses(
        (status = 200, description = "One page of clients (without secret metadata)", body = ClientPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn list_clients(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<ClientSearch>, QueryRejection>,
) -> Result<Response, Problem> {
    let (items, next_cursor) = s.app.search_clients(&a.ctx, &query(q)?).await?;
    Ok(ok(StatusCode::OK, &ClientPage { items, next_cursor }))
}

/// Creates a client.
///
/// Any field of `ClientConfig` may be given; unset ones take the defaults of the
/// preset named by `type`. A confidential client gets a secret, returned in
/// `client_secret` this once.
#[utoipa::path(
    post, path = "/api/v1/clients", tag = "clients",
    request_body(content = NewClient, content_type = "application/json",
        example = json!({"name": "Billing service", "type": "m2m", "description": "Nightly invoicing job"})),
    responses(
        (status = 201, description = "The client, with its secret shown once", body = CreatedClient, headers(("ETag" = String, description = "The client's revision, quoted: send it back in `If-Match`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
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

/// Clients to create in one request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClients {
    /// 1 to 500 clients, each as for a single create.
    items: Vec<NewClient>,
}

/// The clients a batch created, in request order, each secret shown once.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedClients {
    items: Vec<CreatedClient>,
}

/// Creates up to 500 clients at once: all of them or none.
///
/// Each item is validated exactly as for `POST /api/v1/clients`; a field
/// error names its item (`items[3].redirect_uris`). If any name or
/// `client_id` is taken, nothing is created (409). For imports, where one
/// request per client would dominate the time.
#[utoipa::path(
    post, path = "/api/v1/clients:batch", tag = "clients",
    request_body(content = NewClients, content_type = "application/json",
        example = json!({"items": [{"name": "Billing service", "type": "m2m"}, {"name": "Reports", "type": "m2m"}]})),
    responses(
        (status = 201, description = "The clients, with their secrets shown once", body = CreatedClients),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
async fn create_clients(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewClients>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(NewClients { items }) = body?;
    let items = s.app.create_clients(&a.ctx, &a.actor, items).await?;
    Ok(ok(StatusCode::CREATED, &CreatedClients { items }))
}

/// Reads one client: every field, effective lifetimes and secret metadata.
#[utoipa::path(
    get, path = "/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    responses(
        (status = 200, description = "The client", body = ClientView, headers(("ETag" = String, description = "The client's revision, quoted: send it back in `If-Match`"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn get_client(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = s.app.get_client(&a.ctx, &id).await?;
    let rev = c.revision;
    Ok(with_etag(ok(StatusCode::OK, &c), rev))
}

/// Updates a client with a JSON merge patch (RFC 7396) of its fields.
///
/// `null` resets a field to its default. With `If-Match`, a stale revision gets
/// 412. Protected and declaratively managed clients need `force=true`.
#[utoipa::path(
    patch, path = "/api/v1/clients/{client_id}", tag = "clients",
    params(
        ("client_id" = String, Path, description = "The client's `client_id`"),
        ForceQuery,
        ("If-Match" = Option<String>, Header, nullable = false, description = "The `ETag` last read, e.g. `\"3\"`; `*` or absent: no precondition"),
    ),
    request_body(content(
        (ClientPatch = "application/merge-patch+json", example = json!({"description": "Nightly invoicing and reminders", "labels": {"team": "billing"}})),
        (ClientPatch = "application/json", example = json!({"access_token_lifetime": 900})),
    )),
    responses(
        (status = 200, description = "The updated client; `client_secret` only when it became confidential", body = UpdatedClient, headers(("ETag" = String, description = "The client's revision, quoted: send it back in `If-Match`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
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

/// Deletes a client and its secrets; its tokens stop working at once.
#[utoipa::path(
    delete, path = "/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client's `client_id`"), ForceQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin"]))
)]
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

/// Disables a client: it gets `invalid_client` and its tokens stop introspecting as active.
#[utoipa::path(
    post, path = "/api/v1/clients/{client_id}/disable", tag = "clients",
    params(("client_id" = String, Path, description = "The client's `client_id`"), ForceQuery),
    responses(
        (status = 200, description = "The client, now disabled", body = ClientView, headers(("ETag" = String, description = "The client's revision, quoted: send it back in `If-Match`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin"]))
)]
async fn disable_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    set_status(&s, &a, &id, query(q)?.force, ClientStatus::Disabled).await
}

/// Enables a disabled client.
#[utoipa::path(
    post, path = "/api/v1/clients/{client_id}/enable", tag = "clients",
    params(("client_id" = String, Path, description = "The client's `client_id`"), ForceQuery),
    responses(
        (status = 200, description = "The client, now active", body = ClientView, headers(("ETag" = String, description = "The client's revision, quoted: send it back in `If-Match`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin"]))
)]
async fn enable_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    set_status(&s, &a, &id, query(q)?.force, ClientStatus::Active).await
}

/// Lists a client's secrets: metadata only, never a secret or its hash.
#[utoipa::path(
    get, path = "/api/v1/clients/{client_id}/secrets", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    responses(
        (status = 200, description = "The client's secrets, expired ones included", body = SecretList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn list_secrets(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &SecretList { items: s.app.list_secrets(&a.ctx, &id).await? }))
}

/// Adds a secret to a confidential client (generated, or imported).
///
/// A client holds at most 5 valid secrets.
#[utoipa::path(
    post, path = "/api/v1/clients/{client_id}/secrets", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    request_body(content = AddSecret, content_type = "application/json", example = json!({"label": "ci", "expires_in_days": 90})),
    responses(
        (status = 201, description = "The new secret, shown this once", body = NewSecret),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
async fn add_secret(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<AddSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.add_secret(&a.ctx, &a.actor, &id, req).await?))
}

/// Rotates: a new secret, and every valid secret expires after the grace period.
///
/// `grace_seconds: 0` revokes the old secrets at once (a compromised secret).
#[utoipa::path(
    post, path = "/api/v1/clients/{client_id}/secrets/rotate", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    request_body(content = RotateSecret, content_type = "application/json", example = json!({"grace_seconds": 3600, "label": "rotated"})),
    responses(
        (status = 201, description = "The new secret, shown this once, and the secrets now expiring", body = NewSecret),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
async fn rotate_secret(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<RotateSecret>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::CREATED, &s.app.rotate_secret(&a.ctx, &a.actor, &id, req).await?))
}

/// Revokes one secret now.
///
/// The last valid secret of an active confidential client cannot be revoked:
/// rotate, or disable the client first.
#[utoipa::path(
    delete, path = "/api/v1/clients/{client_id}/secrets/{secret_id}", tag = "secrets",
    params(("client_id" = String, Path, description = "The client's `client_id`"), ("secret_id" = String, Path, description = "The secret's `id`")),
    responses(
        (status = 204, description = "Revoked (or already expired)"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
    security(("bearer" = ["admin"]))
)]
async fn revoke_secret(
    State(s): State<AppState>,
    a: Admin,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    s.app.revoke_secret(&a.ctx, &a.actor, &id, &secret_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestRedirect {
    /// The redirect URI a client would send.
    uri: String,
}

/// Would this redirect URI match? The same matcher as the authorization endpoint, with the reason.
#[utoipa::path(
    post, path = "/api/v1/clients/{client_id}/test-redirect", tag = "clients",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    request_body(content = TestRedirect, content_type = "application/json", example = json!({"uri": "http://127.0.0.1:8400/callback"})),
    responses(
        (status = 200, description = "Whether it matches, which registered URI matched, and why", body = latchkey_core::redirect::MatchExplanation),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn test_redirect(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<TestRedirect>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::OK, &s.app.test_redirect(&a.ctx, &id, &req.uri).await?))
}

/// Lists audit events, newest first, filtered; one page at a time.
#[utoipa::path(
    get, path = "/api/v1/audit-events", tag = "audit",
    params(AuditSearch),
    responses(
        (status = 200, description = "One page of audit events", body = AuditPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn list_audit(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<AuditSearch>, QueryRejection>,
) -> Result<Response, Problem> {
    let (items, next_cursor) = s.app.search_audit(&a.ctx, &query(q)?).await?;
    Ok(ok(StatusCode::OK, &AuditPage { items, next_cursor }))
}

/// Lists the tenant's signing keys (public parts only).
#[utoipa::path(
    get, path = "/api/v1/keys", tag = "keys",
    responses(
        (status = 200, description = "Every signing key, retired ones included", body = KeyList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = ["admin:read"]))
)]
async fn list_keys(State(s): State<AppState>, a: Admin) -> Result<Response, Problem> {
    Ok(ok(StatusCode::OK, &KeyList { items: s.app.list_keys(&a.ctx).await? }))
}

/// Creates the next signing keys.
///
/// Each new key is published in the JWKS at once and signs from
/// `activated_at` on (600 s later unless `activate_in_seconds` says
/// otherwise); the key it replaces stays published until every token it
/// signed has expired. 409 while an earlier rotation waits for activation.
#[utoipa::path(
    post, path = "/api/v1/keys/rotate", tag = "keys",
    request_body(content = RotateKeys, content_type = "application/json",
        example = json!({"purpose": "access_token", "activate_in_seconds": 600})),
    responses(
        (status = 201, description = "The new keys", body = KeyList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("bearer" = ["admin"]))
)]
async fn rotate_keys(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<RotateKeys>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::CREATED, &KeyList { items: s.app.rotate_keys(&a.ctx, &a.actor, req).await? }))
}
