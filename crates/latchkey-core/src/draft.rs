//! The boundary between a caller's client configuration and the typed
//! [`ClientConfig`]: redirect URIs and CORS origins arrive as text, are
//! parsed once here against the tenant's policy, and every bad entry becomes
//! a field error (SPEC §2.1) instead of a refusal of the whole document.

use serde::Deserialize;

use crate::client::ClientConfig;
use crate::error::FieldError;
use crate::rules::{UriLists, check_all};
use crate::tenant::TenantSettings;

/// A client configuration as a caller wrote it (admin API, declarative file,
/// console form): every field of [`ClientConfig`], with the redirect URIs and
/// CORS origins still unparsed. [`ClientDraft::check`] turns it into a
/// `ClientConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientDraft {
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    allowed_cors_origins: Vec<String>,
    /// Every other field; its URI lists are empty and replaced by `check`.
    #[serde(flatten)]
    rest: ClientConfig,
}

impl ClientDraft {
    /// Checks every rule of [`check_config`](crate::rules::check_config) and
    /// parses the URI lists with the tenant's wildcard policy.
    ///
    /// Returns the configuration and every violation, per field, in the
    /// order `check_config` reports them. The configuration holds only the
    /// entries that parsed: use it only when there are no errors (callers
    /// with checks of their own run them on it first, to report everything
    /// at once).
    #[must_use]
    pub fn check(self, settings: &TenantSettings) -> (ClientConfig, Vec<FieldError>) {
        let lists = UriLists {
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            allowed_cors_origins: self.allowed_cors_origins,
        };
        let mut errors = Vec::new();
        let config = check_all(self.rest, &lists, settings, &mut errors);
        (config, errors)
    }
}

#[cfg(test)]
mod tests;
