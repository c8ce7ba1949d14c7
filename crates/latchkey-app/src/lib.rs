//! Application services: load → decide (core) → persist in one transaction
//! → audit. The admin API, the console and the CLI all call these services.
//!
//! **Architecture invariant:** this is the only layer that owns the clock
//! ([`Clock`]) and randomness ([`Rng`]); the core gets both as parameters.
//! No type from the web framework appears here.

use std::sync::Arc;

use latchkey_crypto::{Envelope, MasterKey, SecretHasher};
use latchkey_store::Store;

pub mod admin;
pub mod bootstrap;
pub mod client_assertion;
#[cfg(test)]
mod client_assertion_tests;
pub mod client_auth;
pub mod client_cache;
mod clock;
pub mod console;
pub mod cors;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod oidc;
pub mod remote;
mod rng;
pub mod tenants;
pub mod throttle;
pub mod tokens;
pub mod usage;

#[cfg(test)]
pub(crate) mod test_world;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::AppError;
pub use rng::{OsRng, Rng};

/// Settings the services need from the configuration.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The public base URL; the default tenant's issuer.
    pub public_url: String,
    /// argon2id cost for user passwords.
    pub password_cost: latchkey_crypto::password::PasswordCost,
    /// Non-public addresses providers may live at (`remote_allow_private`):
    /// IP addresses or CIDR networks. Empty: only public addresses.
    pub remote_allow_private: Vec<String>,
    /// Reverse proxies (`trusted_proxies`) whose `X-Forwarded-For` is
    /// believed: IP addresses or CIDR networks. Empty: none.
    pub trusted_proxies: Vec<String>,
}

/// The application: every service hangs off this, shared behind an `Arc`.
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    pub(crate) hasher: SecretHasher,
    pub(crate) envelope: Envelope,
    pub(crate) options: AppOptions,
    pub(crate) tenants: tenants::Tenants,
    /// Seals opaque access tokens (its own subkey of the master key).
    pub(crate) opaque: Envelope,
    /// Seals authorization transactions between the sign-in pages.
    pub(crate) tx_seal: Envelope,
    /// MACs CSRF tokens.
    pub(crate) csrf: SecretHasher,
    /// Whether an origin is registered by some client, per tenant (CORS
    /// preflights), with the time of the answer.
    pub(crate) cors_origins:
        std::sync::Mutex<std::collections::HashMap<(latchkey_core::TenantId, String), (bool, i64)>>,
    pub(crate) throttle: throttle::Throttle,
    trusted_proxies: remote::http::AllowList,
    pub(crate) client_jwks: client_assertion::JwksCache,
    pub(crate) clients: client_cache::ClientCache,
    pub(crate) revocations: tokens::state::LazyIndex,
    pub(crate) usage: usage::UsageRecorder,
    /// Seals remote-client secrets and upstream tokens (its own subkey).
    pub(crate) remote_envelope: Envelope,
    /// The HTTP client for providers; replaceable so tests can count requests.
    upstream: std::sync::RwLock<Arc<dyn remote::http::UpstreamHttp>>,
    pub(crate) remote_flights: remote::authorizations::Flights,
    event_seq: std::sync::atomic::AtomicU32,
    pub metrics: metrics::Metrics,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.store.backend())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the application.
    ///
    /// # Errors
    /// When the master key cannot produce its subkeys.
    pub fn new(
        store: Arc<dyn Store>,
        master: &MasterKey,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        options: &AppOptions,
    ) -> Result<Arc<Self>, AppError> {
        let envelope = master.envelope().map_err(|e| AppError::Internal(e.to_string()))?;
        let hasher = SecretHasher::new(&master.derive("client-secret-hmac"));
        let opaque = master.envelope_for("opaque-access-token").map_err(|e| AppError::Internal(e.to_string()))?;
        let tx_seal = master.envelope_for("authorize-transaction").map_err(|e| AppError::Internal(e.to_string()))?;
        let csrf = SecretHasher::new(&master.derive("csrf-token"));
        let remote_envelope =
            master.envelope_for("remote-credentials").map_err(|e| AppError::Internal(e.to_string()))?;
        let allow = remote::http::AllowList::parse(&options.remote_allow_private).map_err(AppError::Internal)?;
        let upstream: Arc<dyn remote::http::UpstreamHttp> =
            Arc::new(remote::http::GuardedHttp::new(allow).map_err(AppError::Internal)?);
        let options = AppOptions { public_url: options.public_url.trim_end_matches('/').to_owned(), ..options.clone() };
        Ok(Arc::new(Self {
            store,
            clock,
            rng,
            hasher,
            envelope,
            tenants: tenants::Tenants::default(),
            opaque,
            tx_seal,
            csrf,
            cors_origins: std::sync::Mutex::default(),
            throttle: throttle::Throttle::default(),
            trusted_proxies: remote::http::AllowList::parse(&options.trusted_proxies)
                .map_err(|e| AppError::Internal(format!("trusted_proxies: {e}")))?,
            client_jwks: client_assertion::JwksCache::default(),
            clients: client_cache::ClientCache::default(),
            revocations: tokens::state::LazyIndex::new(),
            usage: usage::UsageRecorder::default(),
            remote_envelope,
            upstream: std::sync::RwLock::new(upstream),
            remote_flights: remote::authorizations::Flights::default(),
            event_seq: std::sync::atomic::AtomicU32::new(0),
            metrics: metrics::Metrics::default(),
            options,
        }))
    }

    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    #[must_use]
    pub fn now(&self) -> latchkey_core::UnixTime {
        self.clock.now()
    }

    #[must_use]
    pub fn options(&self) -> &AppOptions {
        &self.options
    }

    /// The HTTP client for providers.
    pub(crate) fn upstream(&self) -> Arc<dyn remote::http::UpstreamHttp> {
        self.upstream.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the HTTP client for providers (tests wrap the real one to
    /// count requests).
    pub fn set_upstream_http(&self, http: Arc<dyn remote::http::UpstreamHttp>) {
        *self.upstream.write().unwrap_or_else(std::sync::PoisonError::into_inner) = http;
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

    /// `true` when the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// A random, URL-safe identifier with `bytes` bytes of entropy.
    /// A fresh incarnation for a new client or user (see
    /// `Client::token_epoch`): random, so an object re-created with the
    /// same id never shares one with its predecessor (2^-52 chance).
    /// Below 2^53, so the `lk_cep`/`lk_uep` claims stay exact in
    /// JavaScript's numbers.
    pub(crate) fn new_epoch(&self) -> i64 {
        let mut buf = [0u8; 8];
        self.rng.fill(&mut buf);
        // Positive, far from the +1 steps disables make, and JSON-safe.
        i64::from_le_bytes(buf).rem_euclid(1 << 52) + (1 << 40)
    }

    pub(crate) fn random_id(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.rng.fill(&mut buf);
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    }

    /// A generated client id: 24 base62 characters (143 bits), so it never
    /// starts with '-' or needs quoting anywhere.
    pub(crate) fn random_client_id(&self) -> Result<String, AppError> {
        let mut buf = [0u8; 48];
        self.rng.fill(&mut buf);
        latchkey_crypto::secret::random_base62(&buf, 24)
            .ok_or_else(|| AppError::Internal("random source returned too few usable bytes".into()))
    }

    /// An event id that sorts by time, then by order of creation in this
    /// process: hex seconds, a per-process sequence, a random suffix.
    /// A fresh id for a request that came without `X-Request-Id`:
    /// unique per node and unpredictable across nodes.
    #[must_use]
    pub fn request_id(&self) -> String {
        self.event_id()
    }

    pub(crate) fn event_id(&self) -> String {
        let seq = self.event_seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{:012x}{seq:08x}-{}", self.now(), self.random_id(6))
    }
}
