//! Slowing guessing down without letting a stranger lock anyone out
//! (issue "trust", item 7; RFC 9700 §4.16 leaves the means open).
//!
//! Failures count per **(account, source address)**: a wrong password for
//! `alice` from one address delays that address for `alice`, never alice
//! herself elsewhere. Past a few free failures the delay doubles with each
//! further failure (1 s, 2 s, 4 s, … up to 15 min), counted from the last
//! failure; a success from the same (account, source) forgets them. A
//! source that fails against many accounts (password spraying) is delayed
//! for every account past a larger allowance.
//!
//! The counters live in the database (`ThrottleRepo`), so every node sees
//! the same counts. Password sign-ins read them on every attempt (argon2
//! dominates that path anyway). Client authentication is the benchmarked
//! hot path: a node reads the counter of a (client, source) only once it
//! has seen that key fail itself, so a success path stays free of database
//! round trips, and a guesser spreading over `n` nodes gains at most one
//! unchecked attempt per node. The set of keys a node has seen fail is
//! bounded; when a flood of distinct names overflows it, the node checks
//! the database for every attempt until the window has passed.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::{TenantId, UnixTime};
use latchkey_store::{StoreError, ThrottleState};

use std::sync::Arc;

use crate::kernel::Kernel;
use crate::remote::http::AllowList;

/// A window ends this long after its last failure.
pub const WINDOW_SECONDS: i64 = 3_600;
/// The longest delay.
pub const MAX_DELAY_SECONDS: i64 = 900;
/// Keys of failed client authentications one node remembers.
pub const MAX_LOCAL_KEYS: usize = 50_000;

/// How many failures a kind of key may have before delays begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub free: u32,
}

/// A password for one account from one source.
pub const PASSWORD: Policy = Policy { free: 5 };
/// One source, whatever the account (password spraying).
pub const SOURCE: Policy = Policy { free: 100 };
/// A client's credentials from one source.
pub const CLIENT: Policy = Policy { free: 10 };
/// User codes of the device grant typed from one source (RFC 8628 §5.1).
pub const USER_CODE: Policy = Policy { free: 5 };

/// Seconds to wait at `now` after `state`, if any: nothing for the first
/// `free` failures, then 1 s doubling per failure up to the maximum.
#[must_use]
pub fn wait(policy: Policy, state: ThrottleState, now: UnixTime) -> Option<u32> {
    if state.failures < policy.free {
        return None;
    }
    let doublings = (state.failures - policy.free).min(20);
    let delay = (1_i64 << doublings).min(MAX_DELAY_SECONDS);
    let left = state.last_failure_at + delay - now;
    (left > 0).then(|| u32::try_from(left).unwrap_or(1))
}

/// A stored key: a hash, so counters hold no usernames or addresses in
/// the clear and have a fixed size whatever was typed.
fn stored_key(kind: &str, parts: &[&str]) -> String {
    let mut text = kind.to_owned();
    for p in parts {
        text.push('\u{0}');
        text.push_str(p);
    }
    URL_SAFE_NO_PAD.encode(latchkey_crypto::secret::token_hash(&text))
}

/// The key of a password for `username` from `source`.
#[must_use]
pub fn password_key(username: &str, source: Option<&str>) -> String {
    stored_key("password", &[&username.to_lowercase(), source.unwrap_or("-")])
}

/// The key of every password attempt from `source`.
#[must_use]
pub fn source_key(source: Option<&str>) -> String {
    stored_key("source", &[source.unwrap_or("-")])
}

/// The key of every user code typed from `source`.
#[must_use]
pub fn user_code_key(source: Option<&str>) -> String {
    stored_key("user_code", &[source.unwrap_or("-")])
}

/// The key of `client_id`'s credentials from `source`.
#[must_use]
pub fn client_key(client_id: &str, source: Option<&str>) -> String {
    stored_key("client", &[client_id, source.unwrap_or("-")])
}

/// The keys this node has seen fail (client authentication only).
#[derive(Debug, Default)]
pub struct FailedKeys {
    seen: Mutex<Seen>,
}

#[derive(Debug)]
struct Seen {
    keys: HashMap<(TenantId, String), UnixTime>,
    /// After an overflow: check the database for every key until then.
    check_all_until: UnixTime,
    capacity: usize,
}

impl Default for Seen {
    fn default() -> Self {
        Self { keys: HashMap::new(), check_all_until: 0, capacity: MAX_LOCAL_KEYS }
    }
}

impl FailedKeys {
    /// Nothing failed on this node lately: no key needs a look.
    fn quiet(&self, now: UnixTime) -> bool {
        self.seen.lock().is_ok_and(|s| s.keys.is_empty() && s.check_all_until <= now)
    }

    fn must_check(&self, tenant: &TenantId, key: &str, now: UnixTime) -> bool {
        let Ok(seen) = self.seen.lock() else { return true };
        seen.check_all_until > now
            || (!seen.keys.is_empty()
                && seen.keys.get(&(tenant.clone(), key.to_owned())).is_some_and(|t| t + WINDOW_SECONDS > now))
    }

    fn note(&self, tenant: &TenantId, key: &str, now: UnixTime) {
        let Ok(mut seen) = self.seen.lock() else { return };
        seen.keys.insert((tenant.clone(), key.to_owned()), now);
        if seen.keys.len() > seen.capacity {
            seen.keys.retain(|_, t| *t + WINDOW_SECONDS > now);
            if seen.keys.len() > seen.capacity {
                seen.keys.clear();
                seen.check_all_until = now + WINDOW_SECONDS;
            }
        }
    }

    fn forget(&self, tenant: &TenantId, key: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.keys.remove(&(tenant.clone(), key.to_owned()));
        }
    }

    /// A smaller bound, so a test can overflow it quickly.
    #[cfg(test)]
    pub(crate) fn set_capacity(&self, capacity: usize) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.capacity = capacity;
        }
    }

    /// How many keys this node remembers (bounded by [`MAX_LOCAL_KEYS`]).
    #[must_use]
    pub fn remembered(&self) -> usize {
        self.seen.lock().map_or(0, |s| s.keys.len())
    }

    /// Drops what is older than the window.
    pub(crate) fn purge(&self, now: UnixTime) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.keys.retain(|_, t| *t + WINDOW_SECONDS > now);
        }
    }
}

/// Slows down guessing: failed sign-ins and client authentications,
/// counted in the database per key, with this node's memory of the keys
/// that failed lately so a quiet node asks the database nothing.
pub struct Throttle {
    kernel: Arc<Kernel>,
    memory: FailedKeys,
    trusted_proxies: AllowList,
}

impl Throttle {
    pub(crate) fn new(kernel: Arc<Kernel>, trusted_proxies: AllowList) -> Self {
        Self { kernel, memory: FailedKeys::default(), trusted_proxies }
    }

    /// The address a request came from: the socket's peer, unless the peer
    /// is a trusted proxy; then the rightmost `X-Forwarded-For` address that
    /// is not a trusted proxy (entries left of it could be forged by the
    /// client). Unparseable entries end the walk at the last trusted hop.
    #[must_use]
    pub fn client_address(&self, peer: std::net::IpAddr, forwarded_for: &[&str]) -> std::net::IpAddr {
        let mut addr = peer;
        for entry in forwarded_for.iter().flat_map(|h| h.split(',')).rev() {
            if !self.trusted_proxies.allows(addr) {
                break;
            }
            match entry.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => addr = ip,
                Err(_) => break,
            }
        }
        addr
    }

    /// The longest wait `keys` impose now (database counters).
    pub(crate) async fn throttle_wait(
        &self,
        tenant: &TenantId,
        keys: &[(&str, Policy)],
    ) -> Result<Option<u32>, StoreError> {
        let now = self.kernel.now();
        let mut longest = None;
        for (key, policy) in keys {
            if let Some(state) = self.kernel.store.throttle_state(tenant, key, now, WINDOW_SECONDS).await? {
                longest = longest.max(wait(*policy, state, now));
            }
        }
        Ok(longest)
    }

    /// Counts a failure of each key.
    pub(crate) async fn throttle_fail(&self, tenant: &TenantId, keys: &[(&str, Policy)]) -> Result<(), StoreError> {
        let now = self.kernel.now();
        for (key, _) in keys {
            self.kernel.store.record_failure(tenant, key, now, WINDOW_SECONDS).await?;
        }
        Ok(())
    }

    /// A client's credentials from a source: the wait in force, read from
    /// the database only when this node has seen the key fail.
    pub(crate) async fn client_throttle_wait(
        &self,
        tenant: &TenantId,
        client_id: &str,
        source: Option<&str>,
    ) -> Result<Option<u32>, StoreError> {
        if self.memory.quiet(self.kernel.now()) {
            return Ok(None);
        }
        let key = client_key(client_id, source);
        if !self.memory.must_check(tenant, &key, self.kernel.now()) {
            return Ok(None);
        }
        self.throttle_wait(tenant, &[(&key, CLIENT)]).await
    }

    pub(crate) async fn client_throttle_fail(
        &self,
        tenant: &TenantId,
        client_id: &str,
        source: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = client_key(client_id, source);
        self.memory.note(tenant, &key, self.kernel.now());
        self.throttle_fail(tenant, &[(&key, CLIENT)]).await
    }

    /// A success: the key's failures are forgotten (nothing to do when
    /// this node never saw it fail).
    pub(crate) async fn client_throttle_clear(
        &self,
        tenant: &TenantId,
        client_id: &str,
        source: Option<&str>,
    ) -> Result<(), StoreError> {
        if self.memory.quiet(self.kernel.now()) {
            return Ok(());
        }
        let key = client_key(client_id, source);
        if !self.memory.must_check(tenant, &key, self.kernel.now()) {
            return Ok(());
        }
        self.memory.forget(tenant, &key);
        self.kernel.store.clear_throttle(tenant, &key).await
    }

    /// This node's memory of failed keys, for tests and metrics.
    #[must_use]
    pub fn memory(&self) -> &FailedKeys {
        &self.memory
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_begin_after_the_free_failures_and_double() {
        let at = |failures| ThrottleState { failures, last_failure_at: 1_000 };
        assert_eq!(wait(PASSWORD, at(4), 1_000), None);
        assert_eq!(wait(PASSWORD, at(5), 1_000), Some(1));
        assert_eq!(wait(PASSWORD, at(5), 1_001), None);
        assert_eq!(wait(PASSWORD, at(6), 1_000), Some(2));
        assert_eq!(wait(PASSWORD, at(9), 1_000), Some(16));
        assert_eq!(wait(PASSWORD, at(200), 1_000), Some(900), "capped");
        assert_eq!(wait(PASSWORD, at(200), 1_900), None);
    }

    #[test]
    fn keys_are_fixed_size_and_distinct() {
        let long = "x".repeat(10_000);
        assert_eq!(password_key(&long, Some("10.0.0.1")).len(), password_key("a", None).len());
        assert_ne!(password_key("alice", Some("10.0.0.1")), password_key("alice", Some("10.0.0.2")));
        assert_eq!(password_key("Alice", Some("10.0.0.1")), password_key("alice", Some("10.0.0.1")));
        assert_ne!(client_key("alice", Some("1")), password_key("alice", Some("1")));
    }
}
