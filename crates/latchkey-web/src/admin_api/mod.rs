//! The admin REST API (`/api/v1`, SPEC §5). Bearer tokens issued by this
//! tenant with scope `admin` (write) or `admin:read` (read). Errors are
//! RFC 9457 problem+json; clients carry an `ETag` (their revision) and
//! updates honour `If-Match` (412 when stale).
//!
//! One file per resource, each with its routes, handlers and the list
//! types they answer with; this file holds the router and what they share
//! (the [`Admin`] caller, the [`ApiJson`] body, the JSON answer).
//! `responses` names the problem+json responses the handlers' annotations
//! refer to; the OpenAPI document (`crate::openapi`) is built from the
//! handlers, and the handlers read it back from the state (to serve it and
//! to check bodies against it), so nothing here imports it.

pub(crate) mod audit;
pub(crate) mod authorizations;
pub(crate) mod classes;
pub(crate) mod clients;
pub(crate) mod keys;
pub(crate) mod meta;
pub(crate) mod providers;
pub(crate) mod remote_clients;
pub(crate) mod responses;
pub(crate) mod scopes;
pub(crate) mod secrets;
pub(crate) mod tenants;
pub(crate) mod users;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use latchkey_app::admin::Actor;
use latchkey_app::tenants::TenantContext;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{Problem, no_store};
use crate::tenant::{Source, Tenant};

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(clients::routes())
        .merge(secrets::routes())
        .merge(audit::routes())
        .merge(keys::routes())
        .merge(scopes::routes())
        .merge(classes::routes())
        .merge(users::routes())
        .merge(tenants::routes())
        .merge(providers::routes())
        .merge(remote_clients::routes())
        .merge(authorizations::routes())
        .merge(meta::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::json_body::refuse_unknown_query))
        .fallback(crate::error::not_found)
}

/// The tenant and the authenticated caller of an admin request.
pub(crate) struct Admin {
    pub(crate) ctx: Arc<TenantContext>,
    pub(crate) actor: Actor,
}

/// The bearer token of `Authorization`, if any.
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
        let actor = state.app.tokens.api_actor(&ctx, bearer(&parts.headers), source, request_id(parts)).await?;
        Ok(Self { ctx, actor })
    }
}

/// The caller's `X-Request-Id` (as given or as generated), for the audit event.
fn request_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().filter(|c| !c.is_control()).take(64).collect())
}

/// A JSON body whose errors are problem+json.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
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
        let errors = crate::json_body::field_errors(&state.api.value, &method, route.as_deref(), &value);
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

/// What a path segment may not hold unescaped (RFC 3986 §3.3), and `%`.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The absolute address of an admin resource of the tenant: its issuer,
/// `/api/v1`, then `segments`, each percent-encoded.
pub(crate) fn resource_url(ctx: &TenantContext, segments: &[&str]) -> String {
    let mut url = format!("{}/api/v1", ctx.issuer.trim_end_matches('/'));
    for s in segments {
        url.push('/');
        url.extend(percent_encoding::utf8_percent_encode(s, SEGMENT));
    }
    url
}

/// 201 Created with `body` and the new resource's address in `Location`
/// (RFC 9110 §15.3.2): `segments` below `/api/v1`, e.g. `["clients", id]`.
pub(crate) fn created<T: Serialize>(ctx: &TenantContext, segments: &[&str], body: &T) -> Response {
    let mut r = ok(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(&resource_url(ctx, segments)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}
