//! Application services: load → decide (core) → persist in one transaction
//! → audit. The admin API, the console and the CLI all call these services.
//!
//! **Architecture invariant:** this is the only layer that owns the clock
//! ([`Clock`]) and randomness ([`Rng`]); the core gets both as parameters.
//! No type from the web framework appears here.

use std::sync::Arc;

use latchkey_crypto::{MasterKey, SecretHasher};
use latchkey_store::Store;

/// `Debug` for a service: its name only (its fields hold keys and caches).
macro_rules! service_debug {
    ($($t:ty),+) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )+};
}

pub mod admin;
pub mod bootstrap;
pub mod client_cache;
mod clock;
pub mod console;
pub mod error;
pub mod kernel;
pub mod keys;
pub mod metrics;
pub mod oidc;
pub mod rate_limit;
pub mod remote;
mod rng;
pub mod scim;
pub mod sealing;
pub mod telemetry;
pub mod tenants;
pub mod throttle;
pub mod tokens;

#[cfg(test)]
pub(crate) mod test_world;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::AppError;
pub use kernel::Kernel;
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
    /// Password hashes run at once (`password_hash_concurrency`; at least 1).
    pub password_hash_concurrency: usize,
    /// How long a password check waits for a hashing slot before it is
    /// refused as busy (`password_hash_queue_ms`).
    pub password_hash_queue: std::time::Duration,
    /// Request rates per client and per source (`rate_limit_*`); off by default.
    pub rate_limits: rate_limit::RateLimits,
}

impl Default for AppOptions {
    /// The configuration's defaults (tests override what they need).
    fn default() -> Self {
        Self {
            public_url: String::new(),
            password_cost: latchkey_crypto::password::PasswordCost::default(),
            remote_allow_private: Vec::new(),
            trusted_proxies: Vec::new(),
            password_hash_concurrency: default_password_hash_concurrency(),
            password_hash_queue: std::time::Duration::from_secs(2),
            rate_limits: rate_limit::RateLimits::default(),
        }
    }
}

/// One password hash per core.
#[must_use]
pub fn default_password_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The application: the services, wired once. Each service holds the
/// [`Kernel`] and the services it calls, so its dependencies are its
/// fields; callers reach a service through its field here.
pub struct App {
    pub kernel: Arc<Kernel>,
    pub throttle: Arc<throttle::Throttle>,
    pub rate: Arc<rate_limit::RateLimiter>,
    pub tokens: Arc<tokens::TokenService>,
    pub sign_in: Arc<oidc::SignInService>,
    pub remote: Arc<remote::RemoteService>,
    pub clients: Arc<admin::clients::ClientAdmin>,
    pub users: Arc<admin::users::UserAdmin>,
    pub scopes: Arc<admin::scopes::ScopeAdmin>,
    pub tenants: Arc<admin::tenants::TenantAdmin>,
    pub audit: Arc<admin::AuditLog>,
    pub scim: Arc<scim::ScimService>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.kernel.store.backend())
            .field("options", &self.kernel.options)
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
        let internal = |e: latchkey_crypto::EnvelopeError| AppError::Internal(e.to_string());
        let allow = remote::http::AllowList::parse(&options.remote_allow_private).map_err(AppError::Internal)?;
        let upstream: Arc<dyn remote::http::UpstreamHttp> =
            Arc::new(remote::http::GuardedHttp::new(allow).map_err(AppError::Internal)?);
        let trusted_proxies = remote::http::AllowList::parse(&options.trusted_proxies)
            .map_err(|e| AppError::Internal(format!("trusted_proxies: {e}")))?;
        let options = AppOptions { public_url: options.public_url.trim_end_matches('/').to_owned(), ..options.clone() };
        let kernel = Arc::new(Kernel::new(store, clock, rng, master, options, upstream)?);
        let throttle = Arc::new(throttle::Throttle::new(kernel.clone(), trusted_proxies));
        let rate = Arc::new(rate_limit::RateLimiter::new(kernel.clone(), kernel.options.rate_limits));
        let tokens = Arc::new(tokens::TokenService::new(
            kernel.clone(),
            throttle.clone(),
            rate.clone(),
            master.envelope_for("opaque-access-token").map_err(internal)?,
        ));
        let remote = Arc::new(remote::RemoteService::new(
            kernel.clone(),
            tokens.clone(),
            master.envelope_for("remote-credentials").map_err(internal)?,
        ));
        let sign_in = Arc::new(oidc::SignInService::new(
            kernel.clone(),
            throttle.clone(),
            tokens.clone(),
            remote.clone(),
            SecretHasher::new(&master.derive("csrf-token")),
        ));
        let clients = Arc::new(admin::clients::ClientAdmin::new(kernel.clone()));
        let users = Arc::new(admin::users::UserAdmin::new(kernel.clone(), tokens.clone()));
        Ok(Arc::new(Self {
            throttle,
            rate,
            sign_in,
            remote,
            scim: Arc::new(scim::ScimService::new(kernel.clone(), users.clone())),
            users,
            scopes: Arc::new(admin::scopes::ScopeAdmin::new(kernel.clone())),
            tenants: Arc::new(admin::tenants::TenantAdmin::new(kernel.clone(), clients.clone())),
            audit: Arc::new(admin::AuditLog::new(kernel.clone())),
            clients,
            tokens,
            kernel,
        }))
    }
}

service_debug!(
    Kernel,
    throttle::Throttle,
    rate_limit::RateLimiter,
    tokens::TokenService,
    oidc::SignInService,
    remote::RemoteService,
    admin::clients::ClientAdmin,
    admin::users::UserAdmin,
    admin::scopes::ScopeAdmin,
    admin::tenants::TenantAdmin,
    admin::AuditLog,
    scim::ScimService
);
