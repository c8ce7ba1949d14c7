//! Admin services: who may do what, and the mutations themselves. The admin
//! API and (later) the console and CLI call exactly these functions.

pub mod client_search;
pub mod clients;
pub mod keys;
pub mod scopes;
pub mod secrets;
pub mod tenants;
pub mod users;

pub mod actor;
pub mod audit;
pub mod links;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod trust_tests;

pub use actor::Actor;
use serde_json::{Map, Value};

use crate::AppError;

/// Page size of a list when the request names none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page of a list (`limit`).
pub const MAX_PAGE_SIZE: u32 = 500;

/// The page size a list request asks for, or the default. A `limit` outside
/// 1-500 is refused, never silently clamped.
///
/// # Errors
/// `BadRequest` (400) outside 1-[`MAX_PAGE_SIZE`].
pub fn page_size(limit: Option<u32>) -> Result<u32, AppError> {
    match limit {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(n) => Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}), not {n}"
        ))),
    }
}

/// The before/after diff of every top-level field that changed.
#[must_use]
pub fn diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys()) {
        if out.contains_key(key) {
            continue;
        }
        let (x, y) = (b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
        if x != y {
            out.insert(key.clone(), serde_json::json!({ "before": x, "after": y }));
        }
    }
    Value::Object(out)
}

pub use audit::{AuditLog, AuditSearch, AuditView};
