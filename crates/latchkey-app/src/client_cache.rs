//! A per-node cache of clients and their secret hashes for client
//! authentication, so the token path makes no database round trip.
//!
//! Consistency: every client mutation on this node drops the entry before
//! the service returns; mutations on other nodes arrive through the store's
//! invalidation stream (PostgreSQL `NOTIFY`, sent in the mutation's
//! transaction). A generation counter stops a load that raced with an
//! invalidation from re-inserting stale data. Entries also expire after
//! [`TTL`] seconds, a bound should a notification ever be missed.
//! Introspection never trusts this cache for a token's client: it reads the
//! client's state from the database, so a disabled client's tokens are
//! inactive at once on every node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use latchkey_core::{Client, ClientId, ScopeSet, TenantId, UnixTime};
use latchkey_store::{SecretRecord, StoreError};

use crate::App;

/// Seconds an entry may be served without a reload.
pub const TTL: i64 = 30;
/// Entries kept at most; past it the cache starts over.
const MAX_ENTRIES: usize = 100_000;

/// A client ready for authentication and token decisions.
#[derive(Debug)]
pub struct ClientEntry {
    pub client: Client,
    pub secrets: Vec<SecretRecord>,
    /// The client's scopes and its security classes' scopes.
    pub allowed_scope: ScopeSet,
}

pub type CachedClient = Arc<ClientEntry>;

#[derive(Debug, Default)]
pub struct ClientCache {
    map: RwLock<HashMap<(TenantId, ClientId), (CachedClient, UnixTime)>>,
    generation: AtomicU64,
}

impl ClientCache {
    fn get(&self, key: &(TenantId, ClientId), now: UnixTime) -> Option<CachedClient> {
        let map = self.map.read().ok()?;
        let (c, at) = map.get(key)?;
        (now - at < TTL).then(|| c.clone())
    }

    fn insert_if_unchanged(&self, key: (TenantId, ClientId), value: CachedClient, now: UnixTime, generation: u64) {
        let Ok(mut map) = self.map.write() else { return };
        // Checked under the write lock: an invalidation takes the same lock.
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (value, now));
    }

    pub(crate) fn invalidate(&self, tenant: &TenantId, id: &ClientId) {
        if let Ok(mut map) = self.map.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            map.remove(&(tenant.clone(), id.clone()));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            map.clear();
        }
    }
}

impl App {
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
