//! Resolves the tenant a request addresses: `/t/{tenant}/…` or the default.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use latchkey_app::AppError;
use latchkey_app::tenants::TenantContext;
use latchkey_core::{TenantId, TokenError};

use crate::AppState;
use crate::error::{OAuthError, Problem};

/// The tenant of the request.
pub(crate) struct Tenant(pub Arc<TenantContext>);

/// Why no tenant could be resolved; rendered per the endpoint's error format
/// by the caller (`Tenant` rejects with a problem; OAuth handlers map it).
pub(crate) struct NoTenant(AppError);

impl IntoResponse for NoTenant {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::NotFound => Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such tenant").into_response(),
            other => Problem::from(other).into_response(),
        }
    }
}

impl NoTenant {
    pub(crate) fn into_oauth(self) -> OAuthError {
        match self.0 {
            AppError::NotFound => TokenError::invalid_request("no such tenant").into(),
            _ => TokenError::unavailable().into(),
        }
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = NoTenant;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state).await.ok();
        let named = params.and_then(|p| p.iter().find(|(k, _)| *k == "tenant").map(|(_, v)| v.to_owned()));
        let id = match named {
            Some(t) => TenantId::parse(&t).map_err(|_| NoTenant(AppError::NotFound))?,
            None => TenantId::default_tenant(),
        };
        state.app.kernel.tenant(&id).await.map(Tenant).map_err(NoTenant)
    }
}

/// The path parameters of a route without the `tenant` that `/t/{tenant}/…`
/// adds, so one handler serves every tenant: `Path<String>` for one
/// parameter, tuples of `String` for two or three. (axum's `Path` counts the
/// tenant too, and a count that does not match is a 500.)
pub(crate) struct Path<T>(pub T);

/// What a [`Path`] can be made of.
pub(crate) trait Segments: Sized {
    fn from_segments(values: Vec<String>) -> Option<Self>;
}

impl Segments for String {
    fn from_segments(values: Vec<String>) -> Option<Self> {
        let [a] = <[String; 1]>::try_from(values).ok()?;
        Some(a)
    }
}

impl Segments for (String, String) {
    fn from_segments(values: Vec<String>) -> Option<Self> {
        let [a, b] = <[String; 2]>::try_from(values).ok()?;
        Some((a, b))
    }
}

impl Segments for (String, String, String) {
    fn from_segments(values: Vec<String>) -> Option<Self> {
        let [a, b, c] = <[String; 3]>::try_from(values).ok()?;
        Some((a, b, c))
    }
}

impl<S: Send + Sync, T: Segments> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state).await.map_err(|_| {
            Problem::new(StatusCode::BAD_REQUEST, "Bad Request", "a path segment is not valid percent-encoded UTF-8")
        })?;
        let values = raw.iter().filter(|(k, _)| *k != "tenant").map(|(_, v)| v.to_owned()).collect();
        T::from_segments(values)
            .map(Path)
            .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such resource"))
    }
}

/// The caller's address, when the server was started with connect info.
pub(crate) struct Source(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string()),
        ))
    }
}
