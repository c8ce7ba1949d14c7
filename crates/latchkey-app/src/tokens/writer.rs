//! Group commit for opaque access tokens.
//!
//! Every issued opaque token must be stored before the response leaves
//! (otherwise introspection could not find it). One writer task drains a
//! queue: whatever arrived while the previous batch was being committed goes
//! into the next transaction, so under load many tokens share one commit,
//! and each request is answered only after its batch is durable.

use std::sync::Arc;

use latchkey_core::TenantId;
use latchkey_store::{OpaqueTokenRecord, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

type Ack = oneshot::Sender<Result<(), ()>>;

#[derive(Debug, Clone)]
pub struct TokenWriter {
    tx: mpsc::Sender<(TenantId, OpaqueTokenRecord, Ack)>,
}

const MAX_BATCH: usize = 512;

impl TokenWriter {
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(8192);
        tokio::spawn(run(store, rx));
        Self { tx }
    }

    /// Stores one token; returns once its batch is committed.
    ///
    /// # Errors
    /// When the batch could not be written.
    pub async fn write(&self, tenant: TenantId, record: OpaqueTokenRecord) -> Result<(), ()> {
        let (ack, done) = oneshot::channel();
        self.tx.send((tenant, record, ack)).await.map_err(|_| ())?;
        done.await.map_err(|_| ())?
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<(TenantId, OpaqueTokenRecord, Ack)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Group by tenant, keeping arrival order within a tenant.
        batch.sort_by(|a, b| a.0.cmp(&b.0));
        while !batch.is_empty() {
            let tenant = batch[0].0.clone();
            let n = batch.iter().take_while(|x| x.0 == tenant).count();
            let group: Vec<_> = batch.drain(..n).collect();
            let records: Vec<OpaqueTokenRecord> = group.iter().map(|x| x.1.clone()).collect();
            let result = write_with_retry(&*store, &tenant, &records).await;
            for (_, _, ack) in group {
                let _ = ack.send(result);
            }
        }
    }
}

async fn write_with_retry(store: &dyn Store, tenant: &TenantId, records: &[OpaqueTokenRecord]) -> Result<(), ()> {
    match store.insert_access_tokens(tenant, records).await {
        Ok(()) => Ok(()),
        Err(StoreError::Unavailable(_)) => store.insert_access_tokens(tenant, records).await.map_err(|_| ()),
        Err(e) => {
            tracing::error!(error = %e, "storing opaque tokens failed");
            Err(())
        }
    }
}
