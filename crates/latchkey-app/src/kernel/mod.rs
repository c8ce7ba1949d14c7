//! What every service shares: the database, the clock, randomness, the
//! master key's subkeys, the caches of tenants and clients, the audit trail
//! and the metrics. A service holds an `Arc<Kernel>` and the parts only it
//! needs; nothing here calls a service.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_crypto::secret::{RANDOM_BYTES, new_handle};
use latchkey_crypto::{Envelope, SecretHasher, password};
use latchkey_store::{AuditRecord, Store, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::actor::Actor;
use crate::remote::http::UpstreamHttp;
use crate::tenants::TenantContext;
use crate::{AppError, AppOptions, Clock, Rng, client_cache, metrics, tenants};

mod load_clients;
mod load_tenants;
pub mod passwords;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// The shared base of every service.
pub struct Kernel {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    /// MACs client secrets (its own subkey of the master key).
    /// Client secrets' keyed hash: the current master key's subkey, or the
    /// installation key kept by a master-key rotation (loaded at start).
    hasher: std::sync::RwLock<Arc<SecretHasher>>,
    /// Opens the installation keys.
    installation: latchkey_crypto::Envelope,
    /// Seals tenant signing keys.
    pub(crate) envelope: Envelope,
    /// Seals values that travel through the browser (authorization
    /// transactions, console flows, start links).
    pub(crate) seal: Envelope,
    pub(crate) options: AppOptions,
    pub(crate) tenants: tenants::Tenants,
    pub(crate) clients: client_cache::ClientCache,
    event_seq: std::sync::atomic::AtomicU32,
    pub metrics: metrics::Metrics,
    /// The outbound HTTP client (providers, client JWKS); replaceable so
    /// tests can count requests.
    upstream: std::sync::RwLock<Arc<dyn UpstreamHttp>>,
    /// At most this many password hashes at once (argon2id's memory).
    passwords: passwords::PasswordSlots,
    /// Set when the node is about to stop (SIGTERM with a
    /// `shutdown_delay_seconds`): it still serves, but says it is not ready
    /// so a load balancer sends it nothing new.
    draining: std::sync::atomic::AtomicBool,
}

impl Kernel {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        master: &latchkey_crypto::MasterKey,
        options: AppOptions,
        upstream: Arc<dyn UpstreamHttp>,
    ) -> Result<Self, AppError> {
        let internal = |e: latchkey_crypto::EnvelopeError| AppError::Internal(e.to_string());
        Ok(Self {
            store,
            clock,
            rng,
            hasher: std::sync::RwLock::new(Arc::new(SecretHasher::new(
                &master.derive(crate::sealing::CLIENT_SECRET_HMAC),
            ))),
            installation: crate::sealing::installation_envelope(master)?,
            envelope: master.envelope().map_err(internal)?,
            seal: master.envelope_for("authorize-transaction").map_err(internal)?,
            tenants: tenants::Tenants::default(),
            clients: client_cache::ClientCache::default(),
            event_seq: std::sync::atomic::AtomicU32::new(0),
            metrics: metrics::Metrics::default(),
            upstream: std::sync::RwLock::new(upstream),
            passwords: passwords::PasswordSlots::new(options.password_hash_concurrency, options.password_hash_queue),
            draining: std::sync::atomic::AtomicBool::new(false),
            options,
        })
    }

    /// The keyed hash client secrets are stored and checked with.
    pub(crate) fn hasher(&self) -> Arc<SecretHasher> {
        self.hasher.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Loads the installation keys a master-key rotation kept (at start,
    /// after the master key was checked against the database).
    ///
    /// # Errors
    /// When a kept key exists that the master key does not open.
    pub async fn load_installation_keys(&self) -> Result<(), AppError> {
        if let Some(h) = crate::sealing::kept_client_secret_hasher(&*self.store, &self.installation).await? {
            *self.hasher.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(h);
        }
        Ok(())
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

    /// `true` when the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// From now on the node is leaving: `/readyz` says so (while every
    /// other request is still served) and connections are not kept alive.
    pub fn begin_draining(&self) {
        self.draining.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether [`begin_draining`](Self::begin_draining) was called.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
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

    pub(crate) fn audit_record(
        &self,
        actor: &Actor,
        action: &str,
        target_type: &str,
        target_id: &str,
        changes: &Value,
    ) -> AuditRecord {
        AuditRecord {
            event_id: self.event_id(),
            occurred_at: self.now(),
            actor: actor.id.clone(),
            actor_type: actor.kind.to_owned(),
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_owned(),
            source_ip: actor.source_ip.clone(),
            request_id: actor.request_id.clone(),
            changes: changes.to_string(),
        }
    }

    /// An audit record for something a person did in the browser flow.
    pub(crate) fn flow_audit(
        &self,
        user_id: &str,
        action: &str,
        target_type: &str,
        target_id: &str,
        source: Option<&str>,
    ) -> latchkey_store::AuditRecord {
        latchkey_store::AuditRecord {
            event_id: self.event_id(),
            occurred_at: self.now(),
            actor: user_id.to_owned(),
            actor_type: "user".to_owned(),
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_owned(),
            source_ip: source.map(str::to_owned),
            request_id: None,
            changes: "{}".to_owned(),
        }
    }

    pub(crate) fn seal_json<T: Serialize>(&self, ctx: &TenantContext, kind: &str, value: &T) -> Option<String> {
        let plain = serde_json::to_vec(value).ok()?;
        let sealed = self.seal.seal(&plain, format!("{kind}/{}", ctx.id).as_bytes()).ok()?;
        Some(URL_SAFE_NO_PAD.encode(sealed))
    }

    pub(crate) fn open_json<T: for<'de> Deserialize<'de>>(
        &self,
        ctx: &TenantContext,
        kind: &str,
        s: &str,
    ) -> Option<T> {
        if s.len() > 64 * 1024 {
            return None;
        }
        let sealed = URL_SAFE_NO_PAD.decode(s).ok()?;
        let plain = self.seal.open(&sealed, format!("{kind}/{}", ctx.id).as_bytes()).ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// A new secret handle (`lkss_`, `lkac_`, `lkrt_`…): 256+ random bits
    /// with a checksum.
    pub(crate) fn new_secret_handle(&self, prefix: &str) -> Option<String> {
        let mut random = [0u8; RANDOM_BYTES];
        self.rng.fill(&mut random);
        new_handle(prefix, &random)
    }

    /// An argon2id hash of a new password (at least 12 characters) at the
    /// configured cost, in one of the node's hashing slots.
    pub(crate) async fn hash_password(&self, password: &str) -> Result<String, AppError> {
        if password.chars().count() < MIN_PASSWORD {
            return Err(AppError::field("password", "must be at least 12 characters"));
        }
        let mut salt = [0u8; 16];
        self.rng.fill(&mut salt);
        let cost = self.options.password_cost;
        let pw = password.to_owned();
        self.passwords
            .run(move || password::hash(&pw, &salt, cost))
            .await
            .map_err(|_| self.busy())?
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Checks a username and password, running the hash even for unknown
    /// users so timing does not reveal which exist; the stored record of a
    /// live user whose password matched.
    ///
    /// # Errors
    /// `Busy` when no hashing slot came free in time; `Unavailable`
    /// without a database.
    pub(crate) async fn verify_password_record(
        &self,
        ctx: &TenantContext,
        username: &str,
        password: &str,
    ) -> Result<Option<UserRecord>, AppError> {
        const DUMMY: &str =
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Q6nyAg3X3rHtjB6N+Y1mVRmdWXHpGgqa6WqdgMA9pB0";
        let user = self.store.get_user_by_username(&ctx.id, username).await?;
        let phc = user.as_ref().map_or(DUMMY.to_owned(), |u| u.password_hash.clone());
        let pw = password.to_owned();
        let ok = self.passwords.run(move || password::verify(&pw, &phc)).await.map_err(|_| self.busy())?;
        Ok(user.filter(|u| ok && u.status.is_active()))
    }

    /// A refusal for want of a hashing slot, counted.
    fn busy(&self) -> AppError {
        self.metrics.password_hashes_refused.inc();
        tracing::warn!("refused a password check: every hashing slot is taken");
        AppError::Busy(passwords::BUSY_RETRY_AFTER)
    }

    /// The node's password hashing slots.
    #[must_use]
    pub fn password_slots(&self) -> &passwords::PasswordSlots {
        &self.passwords
    }

    /// The HTTP client for providers.
    pub(crate) fn upstream(&self) -> Arc<dyn UpstreamHttp> {
        self.upstream.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the HTTP client for providers (tests wrap the real one to
    /// count requests).
    pub fn set_upstream_http(&self, http: Arc<dyn UpstreamHttp>) {
        *self.upstream.write().unwrap_or_else(std::sync::PoisonError::into_inner) = http;
    }
}
