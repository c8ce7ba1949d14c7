//! Client and secret usage (`last_used_at`), collected in memory on the
//! token path (one short lock, no I/O) and written in batches by
//! [`App::flush_usage`], which the server calls every few seconds.

use std::collections::HashMap;
use std::sync::Mutex;

use latchkey_core::{TenantId, UnixTime};
use latchkey_store::Usage;

use crate::App;

/// (tenant, client id, secret id).
type UsageKey = (TenantId, String, Option<String>);

#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<UsageKey, UnixTime>>,
}

impl UsageRecorder {
    pub(crate) fn record(&self, tenant: &TenantId, client_id: &str, secret_id: Option<&str>, at: UnixTime) {
        let Ok(mut p) = self.pending.lock() else { return };
        // Bounded: under a flood of distinct clients, drop the newest rather than grow.
        if p.len() >= 100_000 {
            return;
        }
        let key = (tenant.clone(), client_id.to_owned(), secret_id.map(str::to_owned));
        let slot = p.entry(key).or_insert(at);
        *slot = (*slot).max(at);
    }

    fn take(&self) -> Vec<Usage> {
        let Ok(mut p) = self.pending.lock() else { return Vec::new() };
        p.drain().map(|((tenant, client_id, secret_id), at)| Usage { tenant, client_id, secret_id, at }).collect()
    }
}

impl App {
    /// Writes the usage collected since the last flush.
    ///
    /// # Errors
    /// When the database cannot be written (the batch is then dropped:
    /// usage is informative, and the next uses record it again).
    pub async fn flush_usage(&self) -> Result<usize, latchkey_store::StoreError> {
        let batch = self.usage.take();
        let n = batch.len();
        self.store.record_usage(&batch).await?;
        Ok(n)
    }
}
