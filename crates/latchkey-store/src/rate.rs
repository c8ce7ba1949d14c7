//! Requests admitted per rate-limit key, per node and per window, so the
//! nodes of an installation enforce one limit together (ADR 0016). Keys are
//! hashes of a client or a source address; they belong to no tenant's
//! objects (a source is limited across tenants), so these methods take none.

use async_trait::async_trait;
use latchkey_core::UnixTime;

use crate::Result;

/// The requests one node admitted for one key in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCount {
    pub key: String,
    /// The window's first second.
    pub window: UnixTime,
    pub node: String,
    pub admitted: i64,
}

/// Rate-limit counters (shared by every node).
#[async_trait]
pub trait RateRepo {
    /// Adds `node`'s newly admitted requests (`(key, window, admitted)`,
    /// each key and window at most once) to its counters, then returns every
    /// other node's counters of the windows from `since` on. One statement
    /// per 500 keys and one read.
    async fn exchange_rate_counts(
        &self,
        node: &str,
        added: &[(String, UnixTime, i64)],
        since: UnixTime,
    ) -> Result<Vec<RateCount>>;
    /// Deletes the counters of windows that began before `before`.
    async fn purge_rate_counts(&self, before: UnixTime) -> Result<u64>;
}
