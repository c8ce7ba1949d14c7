//! Tenant policy: the bounds every client setting lives within.

use serde::{Deserialize, Serialize};

/// A tenant's settings. Unset client lifetimes inherit the defaults here and
/// every client lifetime must lie within the bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TenantSettings {
    /// Access-token lifetime in seconds for clients that set none.
    pub default_access_token_lifetime: u32,
    /// Longest access-token lifetime a client may have, in seconds.
    pub max_access_token_lifetime: u32,
    /// Refresh-token lifetime in seconds for clients that set none.
    pub default_refresh_token_lifetime: u32,
    /// Longest refresh-token lifetime a client may have, in seconds.
    pub max_refresh_token_lifetime: u32,
    /// ID-token lifetime in seconds for clients that set none.
    pub default_id_token_lifetime: u32,
    /// Longest ID-token lifetime a client may have, in seconds.
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

impl TenantSettings {
    /// The rules settings must satisfy, one message per field.
    #[must_use]
    pub fn check(&self) -> Vec<crate::FieldError> {
        let mut errors = Vec::new();
        for (name, default, max) in [
            ("access_token", self.default_access_token_lifetime, self.max_access_token_lifetime),
            ("refresh_token", self.default_refresh_token_lifetime, self.max_refresh_token_lifetime),
            ("id_token", self.default_id_token_lifetime, self.max_id_token_lifetime),
        ] {
            if max < MIN_TOKEN_LIFETIME {
                errors.push(crate::FieldError::new(
                    &format!("max_{name}_lifetime"),
                    &format!("must be at least {MIN_TOKEN_LIFETIME} seconds"),
                ));
            } else if default < MIN_TOKEN_LIFETIME || default > max {
                errors.push(crate::FieldError::new(
                    &format!("default_{name}_lifetime"),
                    &format!("must lie between {MIN_TOKEN_LIFETIME} and max_{name}_lifetime ({max})"),
                ));
            }
        }
        for parent in &self.approved_wildcard_parents {
            let ok = parent.contains('.')
                && parent.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                });
            if !ok {
                errors.push(crate::FieldError::new(
                    "approved_wildcard_parents",
                    &format!("{parent:?} is not a lowercase domain name with at least two labels"),
                ));
            }
        }
        if self.secret_max_age_days == Some(0) {
            errors.push(crate::FieldError::new("secret_max_age_days", "must be at least 1 day (or absent)"));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::TenantSettings;

    #[test]
    fn settings_bounds_are_checked_per_field() {
        assert!(TenantSettings::default().check().is_empty());
        let s = TenantSettings { default_access_token_lifetime: 59, ..TenantSettings::default() };
        assert_eq!(s.check()[0].field, "default_access_token_lifetime");
        let s = TenantSettings { default_id_token_lifetime: 3601, ..TenantSettings::default() };
        assert_eq!(s.check()[0].field, "default_id_token_lifetime");
        let s = TenantSettings { max_refresh_token_lifetime: 10, ..TenantSettings::default() };
        assert_eq!(s.check()[0].field, "max_refresh_token_lifetime");
        let s = TenantSettings { approved_wildcard_parents: vec!["com".into()], ..TenantSettings::default() };
        assert_eq!(s.check()[0].field, "approved_wildcard_parents");
        let s =
            TenantSettings { approved_wildcard_parents: vec!["apps.example.com".into()], ..TenantSettings::default() };
        assert!(s.check().is_empty());
    }
}

/// JWS algorithms Latchkey signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SigningAlg {
    /// `ES256`: ECDSA with P-256 and SHA-256 (RFC 7518 §3.4); the default for
    /// access tokens.
    #[serde(rename = "ES256")]
    Es256,
    /// `RS256`: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); always used for
    /// ID tokens.
    #[serde(rename = "RS256")]
    Rs256,
    /// `EdDSA`: Ed25519 signatures (RFC 8037).
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlg {
    /// The JWS `alg` header value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}
