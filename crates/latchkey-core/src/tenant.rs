//! Tenant policy: the bounds every client setting lives within.

use serde::{Deserialize, Serialize};

use crate::token::SigningAlg;

/// A tenant's settings. Unset client lifetimes inherit the defaults here and
/// every client lifetime must lie within the bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    pub default_access_token_lifetime: u32,
    pub max_access_token_lifetime: u32,
    pub default_refresh_token_lifetime: u32,
    pub max_refresh_token_lifetime: u32,
    pub default_id_token_lifetime: u32,
    pub max_id_token_lifetime: u32,
    /// Algorithm for access tokens (ID tokens are RS256 as OIDC requires).
    pub access_token_alg: SigningAlg,
    /// RFC 9700 §2.4: `password` and `implicit` stay refused unless this is on.
    pub legacy_grants_enabled: bool,
    /// Parent domains under which `https://*.parent/...` redirect URIs may be
    /// registered (SPEC §2.1). Empty: no wildcard at all.
    pub approved_wildcard_parents: Vec<String>,
    /// Maximum age of a client secret in days; `None` means no limit.
    pub secret_max_age_days: Option<u32>,
}

/// The smallest lifetime any token may have, in seconds.
pub const MIN_TOKEN_LIFETIME: u32 = 60;

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            default_access_token_lifetime: 3600,
            max_access_token_lifetime: 3600,
            default_refresh_token_lifetime: 30 * 24 * 3600,
            max_refresh_token_lifetime: 90 * 24 * 3600,
            default_id_token_lifetime: 3600,
            max_id_token_lifetime: 3600,
            access_token_alg: SigningAlg::Es256,
            legacy_grants_enabled: false,
            approved_wildcard_parents: Vec::new(),
            secret_max_age_days: None,
        }
    }
}
