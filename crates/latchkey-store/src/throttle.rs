//! Failed sign-ins and client authentications, counted per key (an
//! account and a source address, or a source alone) in the database, so
//! every node of an installation sees the same counts.

use async_trait::async_trait;
use latchkey_core::{TenantId, UnixTime};

use crate::Result;

/// The failures of one key within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures since the window began (a window ends `window` seconds
    /// after the last failure).
    pub failures: u32,
    pub last_failure_at: UnixTime,
}

/// Throttle counters (shared by every node).
#[async_trait]
pub trait ThrottleRepo {
    /// Counts one failure of `key` at `now` and returns the new state. A
    /// key whose last failure is `window` seconds old or older starts again at 1.
    async fn record_failure(&self, tenant: &TenantId, key: &str, now: UnixTime, window: i64) -> Result<ThrottleState>;
    /// The state of `key`, or `None` when it has no failure within `window`.
    async fn throttle_state(
        &self,
        tenant: &TenantId,
        key: &str,
        now: UnixTime,
        window: i64,
    ) -> Result<Option<ThrottleState>>;
    /// Forgets `key` (a success from it).
    async fn clear_throttle(&self, tenant: &TenantId, key: &str) -> Result<()>;
    /// Deletes every counter whose last failure is before `before`.
    async fn purge_throttle(&self, before: UnixTime) -> Result<u64>;
}
