//! Client and secret usage, collected in memory on the token path (one
//! short lock, no I/O) and written in batches by [`TokenService::flush_usage`](crate::tokens::TokenService::flush_usage), which
//! the server calls every few seconds:
//!
//! - `last_used_at` of clients and secrets;
//! - per client and hour, access tokens issued and failed client
//!   authentications (SPEC §2.5), kept [`USAGE_RETENTION`] seconds and
//!   read by [`TokenService::usage_report`](crate::tokens::TokenService::usage_report) for the console's dashboard.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use latchkey_core::{TenantId, UnixTime};
use latchkey_store::{Usage, UsageCount};

use crate::AppError;
use crate::tenants::TenantContext;
use crate::tokens::TokenService;

/// (tenant, client id, secret id).
type UsageKey = (TenantId, String, Option<String>);
/// (tenant, client id, start of the hour).
type CountKey = (TenantId, String, UnixTime);

/// How long hourly counts are kept: 30 days.
pub const USAGE_RETENTION: i64 = 30 * 86_400;
/// Most distinct keys held in memory between two flushes.
const MAX_PENDING: usize = 100_000;

#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<UsageKey, UnixTime>>,
    /// (issued, failed) per client and hour since the last flush.
    counts: Mutex<HashMap<CountKey, (i64, i64)>>,
    last_purge: AtomicI64,
    /// Held for writing while a flush moves counts from memory to the
    /// database, and for reading while a report reads both: a report never
    /// sees a batch in neither place, or in both.
    flushing: tokio::sync::RwLock<()>,
}

/// The start of the hour `t` lies in.
#[must_use]
pub const fn hour_of(t: UnixTime) -> UnixTime {
    t - t.rem_euclid(3600)
}

impl UsageRecorder {
    pub(crate) fn record(&self, tenant: &TenantId, client_id: &str, secret_id: Option<&str>, at: UnixTime) {
        let Ok(mut p) = self.pending.lock() else { return };
        // Bounded: under a flood of distinct clients, drop the newest rather than grow.
        if p.len() >= MAX_PENDING {
            return;
        }
        let key = (tenant.clone(), client_id.to_owned(), secret_id.map(str::to_owned));
        let slot = p.entry(key).or_insert(at);
        *slot = (*slot).max(at);
    }

    /// Counts an issued token (`issued`) or a failed authentication.
    pub(crate) fn count(&self, tenant: &TenantId, client_id: &str, at: UnixTime, issued: bool) {
        let Ok(mut c) = self.counts.lock() else { return };
        let key = (tenant.clone(), client_id.to_owned(), hour_of(at));
        if c.len() >= MAX_PENDING && !c.contains_key(&key) {
            return;
        }
        let slot = c.entry(key).or_insert((0, 0));
        if issued {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
    }

    /// The latest use of a client seen since the last flush.
    fn pending_use(&self, tenant: &TenantId, client_id: &str) -> Option<UnixTime> {
        let p = self.pending.lock().ok()?;
        p.iter().filter(|((t, id, _), _)| t == tenant && id == client_id).map(|(_, at)| *at).max()
    }

    /// The uses seen since the last flush; they stay visible to
    /// [`Self::pending_use`] until [`Self::forget`] after they are stored.
    fn snapshot(&self) -> Vec<Usage> {
        let Ok(p) = self.pending.lock() else { return Vec::new() };
        p.iter()
            .map(|((tenant, client_id, secret_id), at)| Usage {
                tenant: tenant.clone(),
                client_id: client_id.clone(),
                secret_id: secret_id.clone(),
                at: *at,
            })
            .collect()
    }

    /// Drops the stored uses, unless a later use came in meanwhile.
    fn forget(&self, stored: &[Usage]) {
        let Ok(mut p) = self.pending.lock() else { return };
        for u in stored {
            let key = (u.tenant.clone(), u.client_id.clone(), u.secret_id.clone());
            if p.get(&key).is_some_and(|at| *at <= u.at) {
                p.remove(&key);
            }
        }
    }

    fn take_counts(&self) -> Vec<UsageCount> {
        let Ok(mut c) = self.counts.lock() else { return Vec::new() };
        c.drain()
            .map(|((tenant, client_id, hour), (issued, failed))| UsageCount { tenant, client_id, hour, issued, failed })
            .collect()
    }

    /// Counts not yet flushed, of one tenant (and client).
    fn unflushed(&self, tenant: &TenantId, client_id: Option<&str>) -> Vec<UsageCount> {
        let Ok(c) = self.counts.lock() else { return Vec::new() };
        c.iter()
            .filter(|((t, id, _), _)| t == tenant && client_id.is_none_or(|x| x == id))
            .map(|((t, id, hour), (issued, failed))| UsageCount {
                tenant: t.clone(),
                client_id: id.clone(),
                hour: *hour,
                issued: *issued,
                failed: *failed,
            })
            .collect()
    }
}

/// Usage over a span of hours, for the dashboard and the client panel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageReport {
    /// Start of each hour, oldest first, with the tokens issued and the
    /// failed authentications in it.
    pub hours: Vec<(UnixTime, i64, i64)>,
    /// Per client over the span: (client id, issued, failed), most issued first.
    pub clients: Vec<(String, i64, i64)>,
}

impl UsageReport {
    #[must_use]
    pub fn issued(&self) -> i64 {
        self.hours.iter().map(|h| h.1).sum()
    }

    #[must_use]
    pub fn failed(&self) -> i64 {
        self.hours.iter().map(|h| h.2).sum()
    }
}

impl TokenService {
    /// Writes the usage collected since the last flush, and drops hourly
    /// counts older than [`USAGE_RETENTION`] (at most once an hour).
    /// Returns the number of `last_used_at` rows written.
    ///
    /// # Errors
    /// When the database cannot be written (the batch is then dropped:
    /// usage is informative, and the next uses record it again).
    pub async fn flush_usage(&self) -> Result<usize, latchkey_store::StoreError> {
        let _gate = self.usage.flushing.write().await;
        let batch = self.usage.snapshot();
        let n = batch.len();
        let stored = self.kernel.store.record_usage(&batch).await;
        self.usage.forget(&batch);
        stored?;
        self.kernel.store.add_usage_counts(&self.usage.take_counts()).await?;
        let now = self.kernel.now();
        let last = self.usage.last_purge.load(Ordering::Relaxed);
        if now - last >= 3600 {
            self.usage.last_purge.store(now, Ordering::Relaxed);
            self.kernel.store.purge_usage_counts(hour_of(now - USAGE_RETENTION)).await?;
        }
        Ok(n)
    }

    /// When a client was last used: the stored time or, if later, a use
    /// this node has seen but not flushed yet.
    #[must_use]
    pub fn last_use(&self, ctx: &TenantContext, client_id: &str, stored: Option<UnixTime>) -> Option<UnixTime> {
        stored.max(self.usage.pending_use(&ctx.id, client_id))
    }

    /// When a client was last used, read so that a flush cannot fall
    /// between the stored time and this node's unflushed uses (the use
    /// would then be in neither): both are read while no flush runs.
    ///
    /// # Errors
    /// `NotFound` for an unknown client; `Unavailable` when the database
    /// cannot answer.
    pub async fn last_use_now(&self, ctx: &TenantContext, client_id: &str) -> Result<Option<UnixTime>, AppError> {
        let id = latchkey_core::ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let _gate = self.usage.flushing.read().await;
        let (c, _) = self.kernel.store.get_client_with_secrets(&ctx.id, &id).await?.ok_or(AppError::NotFound)?;
        Ok(self.last_use(ctx, client_id, c.last_used_at))
    }

    /// Tokens issued and failed authentications per hour over the last
    /// `hours` hours (this one included), of one client or of the tenant;
    /// this node's counts not yet flushed included.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot answer.
    pub async fn usage_report(
        &self,
        ctx: &TenantContext,
        client_id: Option<&str>,
        hours: u32,
    ) -> Result<UsageReport, AppError> {
        let hours = i64::from(hours.clamp(1, 24 * 30));
        let now_hour = hour_of(self.kernel.now());
        let since = now_hour - (hours - 1) * 3600;
        let _gate = self.usage.flushing.read().await;
        let mut rows = self.kernel.store.usage_counts(&ctx.id, client_id, since).await?;
        rows.extend(self.usage.unflushed(&ctx.id, client_id).into_iter().filter(|c| c.hour >= since));
        let mut per_hour: BTreeMap<UnixTime, (i64, i64)> = (0..hours).map(|i| (since + i * 3600, (0, 0))).collect();
        let mut per_client: HashMap<String, (i64, i64)> = HashMap::new();
        for r in rows {
            if let Some(h) = per_hour.get_mut(&r.hour) {
                h.0 += r.issued;
                h.1 += r.failed;
            }
            let c = per_client.entry(r.client_id).or_insert((0, 0));
            c.0 += r.issued;
            c.1 += r.failed;
        }
        let mut clients: Vec<(String, i64, i64)> = per_client.into_iter().map(|(k, (i, f))| (k, i, f)).collect();
        clients.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        Ok(UsageReport { hours: per_hour.into_iter().map(|(h, (i, f))| (h, i, f)).collect(), clients })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("default").unwrap()
    }

    #[test]
    fn a_use_stays_visible_until_it_is_stored_and_a_later_use_survives_the_flush() {
        let r = UsageRecorder::default();
        r.record(&tenant(), "c1", None, 100);
        let batch = r.snapshot();
        // Between the snapshot and the write the use is still seen.
        assert_eq!(r.pending_use(&tenant(), "c1"), Some(100));
        // A use that arrives while the batch is written is not lost.
        r.record(&tenant(), "c1", None, 105);
        r.forget(&batch);
        assert_eq!(r.pending_use(&tenant(), "c1"), Some(105));
        let again = r.snapshot();
        r.forget(&again);
        assert_eq!(r.pending_use(&tenant(), "c1"), None);
    }
}
