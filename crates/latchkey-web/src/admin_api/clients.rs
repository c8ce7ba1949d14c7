//! `/api/v1/clients`: create (one or a batch), read, search, update with a
//! JSON merge patch (`ETag`/`If-Match`), disable, enable, delete, and the
//! redirect-URI tester.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::admin::client_search::ClientSearch;
use latchkey_app::admin::clients::{ClientView, CreatedClient, NewClient, UpdatedClient};
use latchkey_core::{ClientConfig, ClientStatus, ClientType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use super::{Admin, ApiJson, ok, query};
use crate::AppState;
use crate::error::Problem;
use crate::tenant::Path;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients:batch", post(create_clients))
        .route("/clients/{client_id}", get(get_client).patch(update_client).delete(delete_client))
        .route("/clients/{client_id}/disable", post(disable_client))
        .route("/clients/{client_id}/enable", post(enable_client))
        .route("/clients/{client_id}/test-redirect", post(test_redirect))
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

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct BatchQuery {
    /// Check the batch as a create would (and that no `client_id` is taken), write nothing: 200 with the clients as they would be, without secrets.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct UpdateQuery {
    /// Needed to change a protected default client or a declaratively managed one.
    #[serde(default)]
    force: bool,
    /// Check the change as an update would, write nothing: 200 with the client as it would be.
    #[serde(default)]
    dry_run: bool,
}

/// A page of clients.
#[derive(Serialize, ToSchema)]
pub(crate) struct ClientPage {
    items: Vec<ClientView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
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
///
/// Filters combine: free text over name, description and `client_id`, the
/// preset, a grant type, the status, a label, clients unused for N days and
/// clients whose secret expires within N days. Follow `next_cursor` for the
/// next page. Items are summaries without secret metadata.
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
    security(("oauth2" = ["admin:read"]))
)]
async fn list_clients(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<ClientSearch>, QueryRejection>,
) -> Result<Response, Problem> {
    let (items, next_cursor) = s.app.clients.search_clients(&a.ctx, &query(q)?).await?;
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
        (status = 201, description = "The client, with its secret shown once", body = CreatedClient, headers(("ETag" = String, description = "The client's revision, quoted: send it back in `If-Match`"), ("Location" = String, description = "The new client's address"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn create_client(
    State(s): State<AppState>,
    a: Admin,
    body: Result<ApiJson<NewClient>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(new) = body?;
    let created = s.app.clients.create_client(&a.ctx, &a.actor, new).await?;
    let rev = created.client.revision;
    Ok(with_etag(super::created(&a.ctx, &["clients", &created.client.client_id], &created), rev))
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
/// request per client would dominate the time. The answer has no `Location`:
/// each created client's address is `/api/v1/clients/{client_id}`. With
/// `dry_run=true` nothing is written (200): what `latchkey plan` checks.
#[utoipa::path(
    post, path = "/api/v1/clients:batch", tag = "clients",
    params(BatchQuery),
    request_body(content = NewClients, content_type = "application/json",
        example = json!({"items": [{"name": "Billing service", "type": "m2m"}, {"name": "Reports", "type": "m2m"}]})),
    responses(
        (status = 200, description = "`dry_run`: the clients as they would be created; nothing written, no secret", body = CreatedClients),
        (status = 201, description = "The clients, with their secrets shown once", body = CreatedClients),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    ),
    security(("oauth2" = ["admin"]))
)]
async fn create_clients(
    State(s): State<AppState>,
    a: Admin,
    q: Result<Query<BatchQuery>, QueryRejection>,
    body: Result<ApiJson<NewClients>, Problem>,
) -> Result<Response, Problem> {
    let dry_run = query(q)?.dry_run;
    let ApiJson(NewClients { items }) = body?;
    if dry_run {
        let items = s.app.clients.check_clients(&a.ctx, &a.actor, items).await?;
        return Ok(ok(StatusCode::OK, &CreatedClients { items }));
    }
    let items = s.app.clients.create_clients(&a.ctx, &a.actor, items).await?;
    Ok(ok(StatusCode::CREATED, &CreatedClients { items }))
}

/// Reads one client: every field, effective lifetimes and secret metadata.
///
/// `effective_lifetimes` says which lifetime applies and where it comes
/// from (the client or the tenant's default). The `ETag` is the client's
/// revision, for `If-Match` on a later update.
#[utoipa::path(
    get, path = "/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client's `client_id`")),
    responses(
        (status = 200, description = "The client", body = ClientView, headers(("ETag" = String, description = "The client's revision, quoted: send it back in `If-Match`"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("oauth2" = ["admin:read"]))
)]
async fn get_client(State(s): State<AppState>, a: Admin, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = s.app.clients.get_client(&a.ctx, &id).await?;
    let rev = c.revision;
    Ok(with_etag(ok(StatusCode::OK, &c), rev))
}

/// Updates a client with a JSON merge patch (RFC 7396) of its fields.
///
/// `null` resets a field to its default. With `If-Match`, a stale revision gets
/// 412. Protected and declaratively managed clients need `force=true`.
/// With `dry_run=true` the change is checked and nothing is written.
#[utoipa::path(
    patch, path = "/api/v1/clients/{client_id}", tag = "clients",
    params(
        ("client_id" = String, Path, description = "The client's `client_id`"),
        UpdateQuery,
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
    security(("oauth2" = ["admin"]))
)]
async fn update_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<UpdateQuery>, QueryRejection>,
    body: Result<ApiJson<Map<String, Value>>, Problem>,
) -> Result<Response, Problem> {
    let UpdateQuery { force, dry_run } = query(q)?;
    let expected = if_match(&headers)?;
    let ApiJson(patch) = body?;
    if dry_run {
        let checked = s.app.clients.check_client_update(&a.ctx, &a.actor, &id, &patch, expected, force).await?;
        return Ok(ok(StatusCode::OK, &checked));
    }
    let updated = s.app.clients.update_client(&a.ctx, &a.actor, &id, &patch, expected, force).await?;
    let rev = updated.client.revision;
    Ok(with_etag(ok(StatusCode::OK, &updated), rev))
}

/// Deletes a client and its secrets; its tokens stop working at once.
///
/// A client created again with the same `client_id` does not bring its
/// predecessor's tokens back. Protected and declaratively managed clients
/// need `force=true`.
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
    security(("oauth2" = ["admin"]))
)]
async fn delete_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    s.app.clients.delete_client(&a.ctx, &a.actor, &id, query(q)?.force).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_status(s: &AppState, a: &Admin, id: &str, force: bool, status: ClientStatus) -> Result<Response, Problem> {
    let c = s.app.clients.set_client_status(&a.ctx, &a.actor, id, status, force).await?;
    let rev = c.revision;
    Ok(with_etag(ok(StatusCode::OK, &c), rev))
}

/// Disables a client.
///
/// It gets `invalid_client` from then on and every token issued to it stops
/// working at once (introspection, userinfo), and stays dead after it is
/// enabled again. Protected and declaratively managed clients need
/// `force=true`.
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
    security(("oauth2" = ["admin"]))
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
///
/// It may obtain tokens again; the tokens it held when it was disabled stay
/// dead.
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
    security(("oauth2" = ["admin"]))
)]
async fn enable_client(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    q: Result<Query<ForceQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    set_status(&s, &a, &id, query(q)?.force, ClientStatus::Active).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestRedirect {
    /// The redirect URI a client would send.
    uri: String,
}

/// Tests a redirect URI against the client's registered ones.
///
/// The same matcher as the authorization endpoint: whether it matches,
/// which registered URI matched and why (or why none did). Changes nothing,
/// so scope `admin:read` is enough.
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
    security(("oauth2" = ["admin:read"]))
)]
async fn test_redirect(
    State(s): State<AppState>,
    a: Admin,
    Path(id): Path<String>,
    body: Result<ApiJson<TestRedirect>, Problem>,
) -> Result<Response, Problem> {
    let ApiJson(req) = body?;
    Ok(ok(StatusCode::OK, &s.app.clients.test_redirect(&a.ctx, &id, &req.uri).await?))
}
