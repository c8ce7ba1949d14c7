//! Per-tenant context: issuer, policy and key ring, cached in memory and
//! reloaded from the database (periodically, and when a token names a key
//! this node has not seen, so keys rotated by another node are picked up).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use latchkey_core::{TenantId, TenantSettings};

use crate::keys::KeyRing;

#[derive(Debug)]
pub struct TenantContext {
    pub id: TenantId,
    pub issuer: String,
    pub settings: TenantSettings,
    pub keys: KeyRing,
    /// When this context was loaded.
    pub loaded_at: i64,
}

#[cfg(test)]
impl TenantContext {
    /// A copy whose policy a test may change.
    pub(crate) fn clone_for_test(&self) -> Self {
        Self {
            id: self.id.clone(),
            issuer: self.issuer.clone(),
            settings: self.settings.clone(),
            keys: crate::keys::KeyRing::empty_for_test(),
            loaded_at: self.loaded_at,
        }
    }
}

#[derive(Debug, Default)]
pub struct Tenants {
    pub(crate) map: RwLock<HashMap<TenantId, Arc<TenantContext>>>,
}
