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
        state.app.tenant(&id).await.map(Tenant).map_err(NoTenant)
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
