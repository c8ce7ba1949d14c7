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
pub mod remote;
mod rng;
pub mod scim;
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
}

/// The application: the services, wired once. Each service holds the
/// [`Kernel`] and the services it calls, so its dependencies are its
/// fields; callers reach a service through its field here.
pub struct App {
    pub kernel: Arc<Kernel>,
    pub throttle: Arc<throttle::Throttle>,
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
        let tokens = Arc::new(tokens::TokenService::new(
            kernel.clone(),
            throttle.clone(),
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
