//! `/scim/v2` (RFC 7644): the SCIM service provider a provisioning
//! connector calls with a client_credentials token carrying `users:read`
//! or `users:write`. Every answer, errors included, is
//! `application/scim+json`; errors carry SCIM's `status`, `scimType` and
//! `detail`. Discovery (`ServiceProviderConfig`, `ResourceTypes`,
//! `Schemas`) needs no token.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::admin::Actor;
use latchkey_app::scim::{ListQuery, ScimError, ScimResource, discovery};
use latchkey_app::tenants::TenantContext;
use serde_json::Value;

use crate::AppState;
use crate::tenant::{Path, Source, Tenant};

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/scim/v2/Users", get(list_users).post(create_user))
        .route("/scim/v2/.search", post(search_all))
        .route("/scim/v2/Users/.search", post(search_users))
        .route("/scim/v2/Users/{id}", get(get_user).put(replace_user).patch(patch_user).delete(delete_user))
        .route("/scim/v2/Groups", get(list_groups).post(create_group))
        .route("/scim/v2/Groups/.search", post(search_groups))
        .route("/scim/v2/Groups/{id}", get(get_group).put(replace_group).patch(patch_group).delete(delete_group))
        .route("/scim/v2/ServiceProviderConfig", get(service_provider_config))
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{id}", get(schema))
        .route("/scim/v2/{*rest}", axum::routing::any(no_such_endpoint))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), record_refusals))
}

/// Filled by [`Connector`] once the caller is known as a connector.
#[derive(Clone, Default)]
struct ConnectorSlot(Arc<OnceLock<(Arc<TenantContext>, Actor)>>);

/// Remembers a connector's refused requests (4xx after it authenticated)
/// for its client page. The path is kept without the query (a filter may
/// name people); the error is SCIM's own `detail`, never the request body.
async fn record_refusals(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = ConnectorSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    if let (Some(err), Some((ctx, actor))) = (res.extensions().get::<ScimError>(), slot.0.get())
        && (400..500).contains(&err.status)
        && err.status != 401
        && let Err(e) = s.app.scim.record_refusal(ctx, actor, &method, &path, err).await
    {
        tracing::warn!(error = %e, "could not record a refused SCIM request");
    }
    res
}

const SCIM_JSON: &str = "application/scim+json";

/// A SCIM error as a response.
pub(crate) struct ScimFail(ScimError);

impl From<ScimError> for ScimFail {
    fn from(e: ScimError) -> Self {
        Self(e)
    }
}

impl From<latchkey_app::AppError> for ScimFail {
    fn from(e: latchkey_app::AppError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ScimFail {
    fn into_response(self) -> Response {
        if self.0.status >= 500 {
            tracing::warn!(status = self.0.status, "scim request failed");
        }
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = answer(status, &self.0.body());
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(v) = self.0.retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r.extensions_mut().insert(self.0);
        r
    }
}

fn answer(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn resource(status: StatusCode, res: &ScimResource) -> Response {
    let mut r = answer(status, &res.body);
    if let Ok(v) = HeaderValue::from_str(&res.version) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&res.location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn no_such_endpoint() -> ScimFail {
    ScimFail(ScimError::new(404, None, "no such SCIM endpoint"))
}

/// The tenant, as a SCIM error when there is none.
struct ScimTenant(Arc<TenantContext>);

impl FromRequestParts<AppState> for ScimTenant {
    type Rejection = ScimFail;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Tenant::from_request_parts(parts, state)
            .await
            .map(|Tenant(ctx)| Self(ctx))
            .map_err(|_| ScimFail(ScimError::new(404, None, "no such tenant")))
    }
}

/// The tenant and the provisioning connector calling.
struct Connector {
    ctx: Arc<TenantContext>,
    actor: Actor,
}

impl FromRequestParts<AppState> for Connector {
    type Rejection = ScimFail;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ScimTenant(ctx) = ScimTenant::from_request_parts(parts, state).await?;
        let Ok(Source(source)) = Source::from_request_parts(parts, state).await;
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().filter(|c| !c.is_control()).take(64).collect());
        let bearer = crate::admin_api::bearer(&parts.headers);
        let actor = state.app.tokens.connector_actor(&ctx, bearer, source, request_id).await?;
        if let Some(slot) = parts.extensions.get::<ConnectorSlot>() {
            let _ = slot.0.set((ctx.clone(), actor.clone()));
        }
        Ok(Self { ctx, actor })
    }
}

/// A JSON body sent as `application/scim+json` or `application/json`.
struct ScimBody(Value);

impl FromRequest<AppState> for ScimBody {
    type Rejection = ScimFail;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Self::Rejection> {
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = ctype.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case(SCIM_JSON) && !essence.eq_ignore_ascii_case("application/json") {
            return Err(ScimFail(ScimError::new(415, None, "send the body as application/scim+json")));
        }
        let bytes = axum::body::to_bytes(req.into_body(), crate::MAX_BODY)
            .await
            .map_err(|_| ScimFail(ScimError::new(413, Some("tooMany"), "the body is larger than 1 MiB")))?;
        serde_json::from_slice(&bytes)
            .map(ScimBody)
            .map_err(|_| ScimFail(ScimError::invalid_syntax("the body is not JSON")))
    }
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

/// The list parameters (names ignore case, RFC 7644 §3.4.2).
fn list_query(raw: Option<&str>) -> Result<ListQuery, ScimFail> {
    let mut q = ListQuery::default();
    let number = |k: &str, v: &str| {
        v.trim().parse::<i64>().map_err(|_| ScimFail(ScimError::invalid_value(format!("{k} is an integer"))))
    };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "filter" => q.filter = Some(v.into_owned()),
            "startindex" => q.start_index = Some(number("startIndex", &v)?),
            "count" => q.count = Some(number("count", &v)?),
            "sortby" => q.sort_by = Some(v.into_owned()),
            "sortorder" => q.sort_order = Some(v.into_owned()),
            "attributes" => q.attributes = Some(v.into_owned()),
            "excludedattributes" => q.excluded_attributes = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(q)
}

/// A SearchRequest body (RFC 7644 §3.4.3) as list parameters.
fn search_query(body: &Value) -> Result<ListQuery, ScimFail> {
    let m = body.as_object().ok_or_else(|| ScimFail(ScimError::invalid_syntax("a SearchRequest is a JSON object")))?;
    let field = |k: &str| m.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v).filter(|v| !v.is_null());
    let text = |k: &str| match field(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            Ok(Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
        }
        Some(_) => Err(ScimFail(ScimError::invalid_value(format!("{k} is a string")))),
    };
    let number = |k: &str| match field(k) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| ScimFail(ScimError::invalid_value(format!("{k} is an integer")))),
    };
    Ok(ListQuery {
        filter: text("filter")?,
        start_index: number("startIndex")?,
        count: number("count")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        attributes: text("attributes")?,
        excluded_attributes: text("excludedAttributes")?,
    })
}

async fn search_users(State(s): State<AppState>, c: Connector, ScimBody(body): ScimBody) -> Result<Response, ScimFail> {
    let q = search_query(&body)?;
    Ok(answer(StatusCode::OK, &s.app.scim.list_users(&c.ctx, &q).await?))
}

async fn search_all(State(s): State<AppState>, c: Connector, ScimBody(body): ScimBody) -> Result<Response, ScimFail> {
    let q = search_query(&body)?;
    Ok(answer(StatusCode::OK, &s.app.scim.search_all(&c.ctx, &q).await?))
}

async fn search_groups(
    State(s): State<AppState>,
    c: Connector,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFail> {
    let q = search_query(&body)?;
    Ok(answer(StatusCode::OK, &s.app.scim.list_groups(&c.ctx, &q).await?))
}

async fn list_users(State(s): State<AppState>, c: Connector, RawQuery(raw): RawQuery) -> Result<Response, ScimFail> {
    let q = list_query(raw.as_deref())?;
    Ok(answer(StatusCode::OK, &s.app.scim.list_users(&c.ctx, &q).await?))
}

async fn create_user(State(s): State<AppState>, c: Connector, ScimBody(body): ScimBody) -> Result<Response, ScimFail> {
    Ok(resource(StatusCode::CREATED, &s.app.scim.create_user(&c.ctx, &c.actor, &body).await?))
}

async fn get_user(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimFail> {
    let q = list_query(raw.as_deref())?;
    let mut res = s.app.scim.get_user(&c.ctx, &id).await?;
    latchkey_app::scim::project(&mut res.body, q.attributes.as_deref(), q.excluded_attributes.as_deref())?;
    Ok(resource(StatusCode::OK, &res))
}

async fn replace_user(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFail> {
    Ok(resource(StatusCode::OK, &s.app.scim.replace_user(&c.ctx, &c.actor, &id, &body, if_match(&headers)).await?))
}

async fn patch_user(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFail> {
    Ok(resource(StatusCode::OK, &s.app.scim.patch_user(&c.ctx, &c.actor, &id, &body, if_match(&headers)).await?))
}

async fn delete_user(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimFail> {
    s.app.scim.delete_user(&c.ctx, &c.actor, &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_groups(State(s): State<AppState>, c: Connector, RawQuery(raw): RawQuery) -> Result<Response, ScimFail> {
    let q = list_query(raw.as_deref())?;
    Ok(answer(StatusCode::OK, &s.app.scim.list_groups(&c.ctx, &q).await?))
}

async fn create_group(State(s): State<AppState>, c: Connector, ScimBody(body): ScimBody) -> Result<Response, ScimFail> {
    Ok(resource(StatusCode::CREATED, &s.app.scim.create_group(&c.ctx, &c.actor, &body).await?))
}

async fn get_group(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimFail> {
    let q = list_query(raw.as_deref())?;
    let mut res = s.app.scim.get_group(&c.ctx, &id).await?;
    latchkey_app::scim::project(&mut res.body, q.attributes.as_deref(), q.excluded_attributes.as_deref())?;
    Ok(resource(StatusCode::OK, &res))
}

async fn replace_group(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFail> {
    Ok(resource(StatusCode::OK, &s.app.scim.replace_group(&c.ctx, &c.actor, &id, &body, if_match(&headers)).await?))
}

async fn patch_group(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimFail> {
    Ok(resource(StatusCode::OK, &s.app.scim.patch_group(&c.ctx, &c.actor, &id, &body, if_match(&headers)).await?))
}

async fn delete_group(
    State(s): State<AppState>,
    c: Connector,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimFail> {
    s.app.scim.delete_group(&c.ctx, &c.actor, &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn service_provider_config(ScimTenant(ctx): ScimTenant) -> Response {
    answer(StatusCode::OK, &discovery::service_provider_config(&ctx))
}

async fn resource_types(ScimTenant(ctx): ScimTenant) -> Response {
    answer(StatusCode::OK, &discovery::list_of(&discovery::resource_types(&ctx)))
}

async fn resource_type(ScimTenant(ctx): ScimTenant, Path(id): Path<String>) -> Result<Response, ScimFail> {
    let found = discovery::find(discovery::resource_types(&ctx), &id);
    found
        .map(|v| answer(StatusCode::OK, &v))
        .ok_or_else(|| ScimFail(ScimError::new(404, None, "no such resource type")))
}

async fn schemas(ScimTenant(ctx): ScimTenant) -> Response {
    answer(StatusCode::OK, &discovery::list_of(&discovery::schemas(&ctx)))
}

async fn schema(ScimTenant(ctx): ScimTenant, Path(id): Path<String>) -> Result<Response, ScimFail> {
    let found = discovery::find(discovery::schemas(&ctx), &id);
    found.map(|v| answer(StatusCode::OK, &v)).ok_or_else(|| ScimFail(ScimError::new(404, None, "no such schema")))
}
