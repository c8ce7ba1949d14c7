//! Is an access token's `jti` revoked, and is its client still active?
//!
//! On a store shared by several nodes (PostgreSQL) this is one database
//! round trip, so a revocation or a disable on any node counts at once
//! everywhere. On an exclusive store (SQLite: one node, this process the
//! only writer) the answer comes from memory: a revocation index loaded once
//! and updated by every revocation this process commits, and the client
//! cache, which every client mutation invalidates before it returns.

use std::collections::HashMap;
use std::sync::RwLock;

use latchkey_core::{AccessTokenClaims, ClientId, TenantId, UnixTime};
use latchkey_store::{ClientState, StoreError};
use tokio::sync::OnceCell;

use super::TokenService;

/// Revoked token ids with their expiry, per tenant.
#[derive(Debug, Default)]
pub struct RevocationIndex {
    map: RwLock<HashMap<(TenantId, String), UnixTime>>,
}

impl RevocationIndex {
    fn contains(&self, tenant: &TenantId, jti: &str) -> bool {
        // The common case, nothing revoked at all, allocates nothing.
        self.map.read().is_ok_and(|m| !m.is_empty() && m.contains_key(&(tenant.clone(), jti.to_owned())))
    }

    fn insert(&self, tenant: &TenantId, jti: &str, expires_at: UnixTime) {
        if let Ok(mut m) = self.map.write() {
            m.insert((tenant.clone(), jti.to_owned()), expires_at);
        }
    }

    pub(crate) fn purge(&self, now: UnixTime) {
        if let Ok(mut m) = self.map.write() {
            m.retain(|_, exp| *exp > now);
        }
    }
}

/// Set on exclusive stores only; loaded on first use.
pub(crate) type LazyIndex = OnceCell<RevocationIndex>;

impl TokenService {
    async fn revocation_index(&self) -> Result<Option<&RevocationIndex>, StoreError> {
        if !self.kernel.store.is_exclusive() {
            return Ok(None);
        }
        let index = self
            .revocations
            .get_or_try_init(|| async {
                let index = RevocationIndex::default();
                for (tenant, jti, exp) in self.kernel.store.list_revoked_jtis(self.kernel.now()).await? {
                    if let Ok(t) = TenantId::parse(&tenant) {
                        index.insert(&t, &jti, exp);
                    }
                }
                Ok::<_, StoreError>(index)
            })
            .await?;
        Ok(Some(index))
    }

    /// The state of a token's client and whether the token is revoked: its
    /// `jti`, or the user it acts for being disabled, deleted or another
    /// incarnation. A client that is another incarnation than the token
    /// names, or was disabled and enabled again since it was issued, counts
    /// as disabled for this token.
    pub(crate) async fn token_state(
        &self,
        tenant: &TenantId,
        claims: &AccessTokenClaims,
    ) -> Result<(ClientState, bool), StoreError> {
        // A client's own token names the client as subject; any other
        // subject is a user (client ids never take the user prefix).
        let user = (claims.sub != claims.client_id).then_some((claims.sub.as_str(), claims.user_epoch));
        let index = match self.revocation_index().await? {
            // A user's token: one query answers for the client, the jti
            // and the user (revocations reach the database before the index).
            Some(index) if user.is_none() => index,
            _ => {
                return self
                    .kernel
                    .store
                    .jwt_state(tenant, &claims.client_id, &claims.jti, claims.iat, claims.client_epoch, user)
                    .await;
            }
        };
        let revoked = index.contains(tenant, &claims.jti);
        let state = match ClientId::parse(&claims.client_id) {
            Err(_) => ClientState::Missing,
            Ok(id) => match self.kernel.client_for_auth(tenant, &id).await? {
                None => ClientState::Missing,
                Some(c) if c.client.honours_token(claims.iat, claims.client_epoch) => ClientState::Active,
                Some(_) => ClientState::Disabled,
            },
        };
        Ok((state, revoked))
    }

    /// Records a revocation in the database and, on exclusive stores, in
    /// the index (after the write succeeded, never before).
    pub(crate) async fn record_revocation(
        &self,
        tenant: &TenantId,
        jti: &str,
        client_id: &str,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.kernel.store.revoke_jti(tenant, jti, client_id, expires_at, self.kernel.now()).await?;
        if let Some(index) = self.revocation_index().await? {
            index.insert(tenant, jti, expires_at);
        }
        Ok(())
    }

    /// Drops expired revocation records (database and index), sessions,
    /// codes, refresh tokens and throttle counters.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.kernel.now();
        if let Some(index) = self.revocations.get() {
            index.purge(now);
        }
        let flows = self.kernel.store.purge_expired_flows(now).await?;
        self.throttle.memory().purge(now);
        let throttle = self.kernel.store.purge_throttle(now - crate::throttle::WINDOW_SECONDS).await?;
        Ok(self.kernel.store.purge_expired(now).await? + flows + throttle)
    }
}
