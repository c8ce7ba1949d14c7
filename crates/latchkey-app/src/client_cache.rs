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
use latchkey_store::SecretRecord;

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
    pub(crate) generation: AtomicU64,
}

impl ClientCache {
    pub(crate) fn get(&self, key: &(TenantId, ClientId), now: UnixTime) -> Option<CachedClient> {
        let map = self.map.read().ok()?;
        let (c, at) = map.get(key)?;
        (now - at < TTL).then(|| c.clone())
    }

    pub(crate) fn insert_if_unchanged(
        &self,
        key: (TenantId, ClientId),
        value: CachedClient,
        now: UnixTime,
        generation: u64,
    ) {
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
