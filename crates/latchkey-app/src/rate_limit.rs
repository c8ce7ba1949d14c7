//! Request rates per client and per source address (issue 15, "Overload";
//! ADR 0016), so one noisy caller cannot starve the others. Off unless
//! configured (`rate_limit_per_client`, `rate_limit_per_source`).
//!
//! Each key — a client (or, on the admin API, the user a token speaks
//! for) of a tenant, or a source address (IPv6 by its /64) — has a token
//! bucket: `burst` requests at once, refilled at `per_second`. A request
//! takes one token or is refused with the seconds until one is back. The
//! check is in memory: no database round trip on the token path.
//!
//! **Several nodes enforce one limit together.** Each bucket is this
//! node's view of the installation's bucket: besides its own requests it is
//! charged with the requests the other nodes admitted for the same key.
//! About once a second (`sync`) a node adds what it admitted to per-node,
//! per-minute counters in the database (one statement) and reads the other
//! nodes' counters (one query); what grew since its last look is taken
//! from its buckets. A key is thus over-admitted by at most what the other
//! nodes admit between two syncs. A single-node store (SQLite) skips all of
//! this: the node's buckets are the whole truth.
//!
//! The buckets of one node are bounded ([`MAX_KEYS`]): full, synced buckets
//! are dropped first; past the bound a new key is admitted uncounted (and
//! counted in the metrics) rather than refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::{TenantId, UnixTime};
use latchkey_store::StoreError;

use crate::kernel::Kernel;
use crate::metrics::LimitLabels;

/// Counters in the database are per node and per window of this length.
pub const WINDOW_SECONDS: i64 = 60;
/// Buckets one node keeps at most.
pub const MAX_KEYS: usize = 100_000;
/// The longest `Retry-After` a refusal names.
const MAX_WAIT: u32 = 3_600;

/// A rate: `per_second` requests per second on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// `None` (no limit) unless `per_second` is positive; a `burst` of 0
    /// means one second's worth (at least one request).
    #[must_use]
    pub fn new(per_second: f64, burst: u32) -> Option<Self> {
        if !per_second.is_finite() || per_second <= 0.0 {
            return None;
        }
        let burst = if burst == 0 { per_second.ceil().max(1.0) } else { f64::from(burst) };
        Some(Self { per_second, burst })
    }
}

/// The configured limits; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimits {
    /// Per authenticated client (token, introspection, revocation and device
    /// authorization endpoints; admin API and SCIM calls count for the
    /// token's client, or its user).
    pub per_client: Option<Rate>,
    /// Per source address (IPv6 by /64) on the same endpoints.
    pub per_source: Option<Rate>,
}

/// What a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Source,
}

impl Kind {
    const fn prefix(self) -> char {
        match self {
            Self::Client => 'c',
            Self::Source => 's',
        }
    }

    fn of(key: &str) -> Option<Self> {
        match key.chars().next()? {
            'c' => Some(Self::Client),
            's' => Some(Self::Source),
            _ => None,
        }
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Source => "source",
        }
    }
}

/// A key as stored: the kind, then a hash, so the counters hold no client
/// ids or addresses in the clear and have a fixed size.
fn stored_key(kind: Kind, parts: &[&str]) -> String {
    let mut text = String::from(kind.label());
    for p in parts {
        text.push('\u{0}');
        text.push_str(p);
    }
    format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(latchkey_crypto::secret::token_hash(&text)))
}

/// The address a source is limited by: IPv4 as is, IPv6 by its /64 (one
/// subscriber's network; a host has billions of addresses in it).
#[must_use]
pub fn source_prefix(source: &str) -> String {
    match source.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => source.to_owned(),
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: UnixTime,
    /// Admitted here since the last sync.
    unsent: i64,
}

impl Bucket {
    fn full(rate: Rate, now: UnixTime) -> Self {
        Self { tokens: rate.burst, at: now, unsent: 0 }
    }

    #[allow(clippy::cast_precision_loss)] // seconds: far below 2^52
    fn refill(&mut self, rate: Rate, now: UnixTime) {
        if now > self.at {
            self.tokens = (self.tokens + (now - self.at) as f64 * rate.per_second).min(rate.burst);
            self.at = now;
        }
    }
}

#[derive(Debug)]
struct State {
    buckets: HashMap<String, Bucket>,
    /// Other nodes' counters as last read: (key, window, node) → admitted.
    seen: HashMap<(String, UnixTime, String), i64>,
    /// [`MAX_KEYS`], smaller in tests.
    capacity: usize,
}

impl Default for State {
    fn default() -> Self {
        Self { buckets: HashMap::new(), seen: HashMap::new(), capacity: MAX_KEYS }
    }
}

/// The rate limits of one node.
pub struct RateLimiter {
    kernel: Arc<Kernel>,
    limits: RateLimits,
    /// Whether other nodes may share the limits (not on a single-node store).
    shared: bool,
    /// This process's name among the nodes (random).
    node: String,
    state: Mutex<State>,
}

impl RateLimiter {
    pub(crate) fn new(kernel: Arc<Kernel>, limits: RateLimits) -> Self {
        let shared = !kernel.store.is_exclusive();
        Self::with_sharing(kernel, limits, shared)
    }

    /// A limiter that exchanges counts with other nodes when `shared`,
    /// whatever the store (tests run "two nodes" on SQLite too).
    pub(crate) fn with_sharing(kernel: Arc<Kernel>, limits: RateLimits, shared: bool) -> Self {
        let node = kernel.random_id(12);
        Self { kernel, limits, shared, node, state: Mutex::default() }
    }

    /// A smaller bound, so a test can overflow it quickly.
    #[cfg(test)]
    pub(crate) fn set_capacity(&self, capacity: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.capacity = capacity;
        }
    }

    /// Whether any limit is configured.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.limits.per_client.is_some() || self.limits.per_source.is_some()
    }

    fn rate(&self, kind: Kind) -> Option<Rate> {
        match kind {
            Kind::Client => self.limits.per_client,
            Kind::Source => self.limits.per_source,
        }
    }

    /// Counts a request from `source`.
    ///
    /// # Errors
    /// The seconds to wait, when the source is over its limit.
    pub fn check_source(&self, source: Option<&str>) -> Result<(), u32> {
        match (self.limits.per_source, source) {
            (Some(_), Some(source)) => self.take(Kind::Source, stored_key(Kind::Source, &[&source_prefix(source)])),
            _ => Ok(()),
        }
    }

    /// Counts a request of `caller` (a client id, or a user id on the admin
    /// API) of `tenant`.
    ///
    /// # Errors
    /// The seconds to wait, when the caller is over its limit.
    pub fn check_client(&self, tenant: &TenantId, caller: &str) -> Result<(), u32> {
        if self.limits.per_client.is_none() {
            return Ok(());
        }
        self.take(Kind::Client, stored_key(Kind::Client, &[tenant.as_str(), caller]))
    }

    fn take(&self, kind: Kind, key: String) -> Result<(), u32> {
        let Some(rate) = self.rate(kind) else { return Ok(()) };
        let now = self.kernel.now();
        let Ok(mut state) = self.state.lock() else { return Ok(()) };
        if !state.buckets.contains_key(&key) && state.buckets.len() >= state.capacity {
            self.prune(&mut state, now);
            if state.buckets.len() >= state.capacity {
                self.kernel.metrics.rate_limit_overflows.inc();
                return Ok(());
            }
        }
        let bucket = state.buckets.entry(key).or_insert_with(|| Bucket::full(rate, now));
        bucket.refill(rate, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            if self.shared {
                bucket.unsent += 1;
            }
            return Ok(());
        }
        self.kernel.metrics.rate_limited.get_or_create(&LimitLabels { limit: kind.label().to_owned() }).inc();
        Err(wait(rate, bucket.tokens))
    }

    /// Drops the buckets that are full again and have nothing to send.
    fn prune(&self, state: &mut State, now: UnixTime) {
        state.buckets.retain(|key, b| {
            let Some(rate) = Kind::of(key).and_then(|k| self.rate(k)) else { return false };
            b.refill(rate, now);
            b.unsent > 0 || b.tokens < rate.burst
        });
    }

    /// Adds what this node admitted to the shared counters and charges
    /// its buckets with what the other nodes admitted since the last sync.
    /// Nothing to do on a single-node store or without limits.
    ///
    /// # Errors
    /// When the database cannot be reached (the counts are kept for the next sync).
    pub async fn sync(&self) -> Result<(), StoreError> {
        if !self.shared || !self.enabled() {
            return Ok(());
        }
        let now = self.kernel.now();
        let window = now - now.rem_euclid(WINDOW_SECONDS);
        let added: Vec<(String, UnixTime, i64)> = match self.state.lock() {
            Ok(mut state) => state
                .buckets
                .iter_mut()
                .filter(|(_, b)| b.unsent > 0)
                .map(|(k, b)| (k.clone(), window, std::mem::take(&mut b.unsent)))
                .collect(),
            Err(_) => return Ok(()),
        };
        let since = window - WINDOW_SECONDS;
        let others = match self.kernel.store.exchange_rate_counts(&self.node, &added, since).await {
            Ok(rows) => rows,
            Err(e) => {
                if let Ok(mut state) = self.state.lock() {
                    for (key, _, n) in added {
                        if let Some(b) = state.buckets.get_mut(&key) {
                            b.unsent += n;
                        }
                    }
                }
                return Err(e);
            }
        };
        let Ok(mut state) = self.state.lock() else { return Ok(()) };
        for row in others {
            let Some(rate) = Kind::of(&row.key).and_then(|k| self.rate(k)) else { continue };
            let key = row.key.clone();
            let before = state.seen.insert((row.key, row.window, row.node), row.admitted).unwrap_or(0);
            let grown = row.admitted - before;
            if grown <= 0 || (!state.buckets.contains_key(&key) && state.buckets.len() >= state.capacity) {
                continue;
            }
            let bucket = state.buckets.entry(key).or_insert_with(|| Bucket::full(rate, now));
            bucket.refill(rate, now);
            #[allow(clippy::cast_precision_loss)] // request counts: far below 2^52
            let charged = bucket.tokens - grown as f64;
            bucket.tokens = charged.max(-rate.burst);
        }
        state.seen.retain(|(_, w, _), _| *w >= since);
        self.kernel.metrics.rate_limit_syncs.inc();
        Ok(())
    }

    /// Drops full buckets and, in the database, counters of windows past use.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn purge(&self) -> Result<u64, StoreError> {
        let now = self.kernel.now();
        if let Ok(mut state) = self.state.lock() {
            self.prune(&mut state, now);
        }
        if !self.shared {
            return Ok(0);
        }
        self.kernel.store.purge_rate_counts(now - 5 * WINDOW_SECONDS).await
    }

    /// How many buckets this node holds (bounded by [`MAX_KEYS`]).
    #[must_use]
    pub fn buckets(&self) -> usize {
        self.state.lock().map_or(0, |s| s.buckets.len())
    }
}

/// Whole seconds until a bucket holding `tokens` has one again.
fn wait(rate: Rate, tokens: f64) -> u32 {
    #[allow(clippy::cast_possible_truncation)] // clamped to 1..=MAX_WAIT first
    let secs = ((1.0 - tokens) / rate.per_second).ceil().clamp(1.0, f64::from(MAX_WAIT)) as i64;
    u32::try_from(secs).unwrap_or(MAX_WAIT)
}

#[cfg(test)]
#[path = "rate_limit_tests.rs"]
mod tests;
