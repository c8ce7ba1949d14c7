//! The client cache of the kernel: loading, local invalidation, and
//! following other nodes' invalidations.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use latchkey_core::{ClientId, TenantId};
use latchkey_store::StoreError;

use super::Kernel;
use crate::client_cache::{CachedClient, ClientEntry};

impl Kernel {
    /// The client with its secrets, from the cache or the database.
    pub(crate) async fn client_for_auth(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<CachedClient>, StoreError> {
        let now = self.now();
        let key = (tenant.clone(), id.clone());
        if let Some(c) = self.clients.get(&key, now) {
            return Ok(Some(c));
        }
        let generation = self.clients.generation.load(Ordering::SeqCst);
        let Some((client, secrets)) = self.store.get_client_with_secrets(tenant, id).await? else { return Ok(None) };
        let mut allowed_scope = client.config.scopes.clone();
        if !client.config.security_classes.is_empty() {
            for class in self.store.list_classes(tenant).await? {
                if client.config.security_classes.contains(&class.name) {
                    allowed_scope = allowed_scope.union(&class.scopes);
                }
            }
        }
        let value = Arc::new(ClientEntry { client, secrets, allowed_scope });
        self.clients.insert_if_unchanged(key, value.clone(), now, generation);
        Ok(Some(value))
    }

    /// Applies one invalidation message (`client:{tenant}/{client_id}` or
    /// `tenant:{tenant}`).
    pub fn apply_invalidation(&self, message: &str) {
        if let Some(t) = message.strip_prefix("tenant:").and_then(|t| TenantId::parse(t).ok()) {
            self.forget_tenant(&t);
            self.clients.clear();
            return;
        }
        let parsed = message
            .strip_prefix("client:")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(t, c)| Some((TenantId::parse(t).ok()?, ClientId::parse(c).ok()?)));
        match parsed {
            Some((t, c)) => self.clients.invalidate(&t, &c),
            // Unknown message: be safe.
            None => self.clients.clear(),
        }
    }

    /// Follows the store's invalidation stream for as long as the process
    /// runs, reconnecting after errors (and dropping the whole cache then,
    /// since messages may have been missed). Returns at once on SQLite.
    pub async fn follow_invalidations(self: Arc<Self>) {
        use futures_util::StreamExt;
        loop {
            match self.store.invalidations().await {
                Ok(None) => return,
                Ok(Some(mut stream)) => {
                    self.clients.clear();
                    while let Some(msg) = stream.next().await {
                        match msg {
                            Ok(m) => self.apply_invalidation(&m),
                            Err(e) => {
                                tracing::warn!(error = %e, "invalidation stream failed; reconnecting");
                                break;
                            }
                        }
                    }
                    self.clients.clear();
                }
                Err(e) => tracing::warn!(error = %e, "cannot listen for invalidations; retrying"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
