//! What the token path observes about clients, written in batches.

use async_trait::async_trait;
use latchkey_core::{TenantId, UnixTime};

use crate::Result;

/// One observed use of a client (and the secret it used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub tenant: TenantId,
    pub client_id: String,
    pub secret_id: Option<String>,
    pub at: UnixTime,
}

/// Per-client counts of one hour (SPEC §2.5): access tokens issued and
/// failed client authentications. Written as increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    pub tenant: TenantId,
    pub client_id: String,
    /// Unix time of the start of the hour.
    pub hour: UnixTime,
    pub issued: i64,
    pub failed: i64,
}

/// Usage of clients: `last_used_at` and hourly counts (SPEC §2.5).
#[async_trait]
pub trait UsageRepo {
    /// Records usage (batched by the caller): `last_used_at` of clients and
    /// secrets only ever moves forward.
    async fn record_usage(&self, usage: &[Usage]) -> Result<()>;
    /// Adds hourly counts to the stored ones (one row per tenant, client and hour).
    async fn add_usage_counts(&self, counts: &[UsageCount]) -> Result<()>;
    /// Hourly counts from `since` on, oldest first; of one client, or of
    /// every client of the tenant.
    async fn usage_counts(
        &self,
        tenant: &TenantId,
        client_id: Option<&str>,
        since: UnixTime,
    ) -> Result<Vec<UsageCount>>;
    /// Deletes the counts of hours before `before`, in every tenant.
    async fn purge_usage_counts(&self, before: UnixTime) -> Result<u64>;
}
