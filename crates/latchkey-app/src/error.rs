//! Errors of the admin services, mapped to problem+json by the web layer.

use latchkey_core::FieldError;
use latchkey_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// No or bad credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Conflict(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Forbidden(String),
    /// `If-Match` named a revision that is no longer current (412).
    #[error("the resource was changed since it was read (now at revision {0})")]
    PreconditionFailed(i64),
    /// The request is not well-formed for this resource (400).
    #[error("{0}")]
    BadRequest(String),
    #[error("storage unavailable")]
    Unavailable,
    /// Too much work at once on this node (every password hashing slot
    /// taken): retry after this many seconds (503).
    #[error("the server is busy; retry in a moment")]
    Busy(u32),
    /// The caller is over its rate limit: retry after this many seconds (429).
    #[error("too many requests; retry in {0} seconds")]
    TooManyRequests(u32),
    /// A provider could not be reached or answered badly (502).
    #[error("{0}")]
    Upstream(String),
    /// An upstream authorization was refused for good and must be obtained again.
    #[error("{0}")]
    NeedsReauthorization(String),
    /// A bug or corrupt data: logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(format!("a resource with this {what} already exists")),
            StoreError::Unavailable(_) => Self::Unavailable,
            StoreError::Internal(m) => Self::Internal(m),
        }
    }
}

impl AppError {
    #[must_use]
    pub fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}
