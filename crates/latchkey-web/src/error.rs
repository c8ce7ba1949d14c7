//! Error responses: RFC 6749 §5.2 JSON on the protocol endpoints, RFC 9457
//! problem+json on the admin API. Internal details are logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_app::AppError;
use latchkey_core::{FieldError, TokenError, TokenErrorCode};
use serde::Serialize;

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// An RFC 6749 §5.2 error response.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OAuthErrorResponse)]
pub(crate) struct OAuthErrorBody<'a> {
    #[schema(value_type = latchkey_core::TokenErrorCode)]
    error: &'static str,
    /// Human-readable detail, for the developer; never localised.
    error_description: &'a str,
}

/// A protocol error, rendered per RFC 6749 §5.2. The status follows from
/// the code unless set explicitly (413 for an oversized body, 405).
#[derive(Debug)]
pub(crate) struct OAuthError(pub TokenError, pub Option<StatusCode>);

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        Self(e, None)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = self.1.unwrap_or(match (e.retry_after, e.code) {
            (Some(_), _) => StatusCode::TOO_MANY_REQUESTS,
            (None, TokenErrorCode::InvalidClient) => StatusCode::UNAUTHORIZED,
            (None, TokenErrorCode::TemporarilyUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        });
        let body = OAuthErrorBody { error: e.code.as_str(), error_description: e.description() };
        let mut r = no_store((status, Json(body)).into_response());
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"latchkey\", charset=\"UTF-8\""),
            );
        }
        if let Some(s) = e.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER));
        }
        r
    }
}

/// Seconds a caller is told to wait when the database does not answer.
const UNAVAILABLE_RETRY_AFTER: &str = "5";

/// `Retry-After: seconds` on a response.
pub(crate) fn with_retry_after(mut r: Response, seconds: u32) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Problem {
    /// Always `about:blank`: the status and title say what happened.
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    /// The HTTP status code, repeated.
    status: u16,
    /// What went wrong and what to do about it.
    detail: String,
    /// Per-field validation errors (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    /// Seconds for `Retry-After` (429, 503), when not the default.
    #[serde(skip)]
    #[schema(ignore)]
    retry_after: Option<u32>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// The same problem, telling the caller to retry after `seconds`.
    pub(crate) fn retry_after(self, seconds: u32) -> Self {
        Self { retry_after: Some(seconds), ..self }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (status, Json(&self)).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"latchkey\""));
        }
        if let Some(seconds) = self.retry_after {
            r = with_retry_after(r, seconds);
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER));
        }
        no_store(r)
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => Self::new(StatusCode::NOT_FOUND, "Not Found", "no such resource in this tenant"),
            AppError::Unauthorized(m) => Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", m),
            AppError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, "Forbidden", m),
            AppError::Conflict(m) => Self::new(StatusCode::CONFLICT, "Conflict", m),
            AppError::PreconditionFailed(rev) => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "Precondition Failed",
                format!("the resource was changed since you read it (now at revision {rev}); read it again and retry"),
            ),
            AppError::BadRequest(m) => Self::new(StatusCode::BAD_REQUEST, "Bad Request", m),
            AppError::Validation(errors) => Self {
                errors,
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation failed", "one or more fields are invalid")
            },
            AppError::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "the database is not reachable; retry later",
            ),
            AppError::Busy(seconds) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "the server is busy checking other passwords; retry in a moment",
            )
            .retry_after(seconds),
            AppError::TooManyRequests(seconds) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!("over the rate limit; retry in {seconds} seconds"),
            )
            .retry_after(seconds),
            AppError::Upstream(m) => Self::new(StatusCode::BAD_GATEWAY, "Bad Gateway", m),
            AppError::NeedsReauthorization(m) => Self::new(StatusCode::CONFLICT, "Needs Reauthorization", m),
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "an internal error occurred")
            }
        }
    }
}

/// 404 for every path we do not serve: a page for a browser (it asked
/// for HTML), problem+json for everyone else.
pub(crate) async fn not_found(headers: axum::http::HeaderMap) -> Response {
    let wants_html =
        headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',').any(|m| m.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html")))
        });
    if wants_html {
        let mut r = crate::pages::error_page(404, "There is no page at this address. Check the link, or start again.");
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such endpoint").into_response()
}

/// A path with a NUL byte (`%00`) names nothing: no stored name holds one,
/// and PostgreSQL refuses NUL in text, so a lookup with one failed as a
/// 500 (found by `scripts/http-fuzz.py`). Answered like any unknown address.
pub(crate) async fn refuse_nul_in_path(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.uri().path().contains("%00") {
        return not_found(req.headers().clone()).await;
    }
    next.run(req).await
}

/// A panic is a bug: answer 500 with no detail, log it.
pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "an internal error occurred")
        .into_response()
}
