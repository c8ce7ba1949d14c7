//! Administrative roles: how much an actor may do in the admin API, for
//! users and clients alike.
//!
//! Roles are ordered: `viewer` < `tenant-admin` < `owner`. The rule that
//! keeps delegation from growing authority is [`may_act_on`]: an actor may
//! create, change or take credentials of something only when its own role
//! is at least as high as the authority that thing holds (before and after
//! the change).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An administrative role in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AdminRole {
    /// Reads everything, changes nothing.
    Viewer,
    /// Manages the tenant's clients, users (up to tenant-admin), scopes,
    /// keys, settings and providers.
    TenantAdmin,
    /// Everything a tenant-admin does, and manages owners; in the default
    /// tenant also the other tenants.
    Owner,
}

impl AdminRole {
    /// Every role, lowest first.
    pub const ALL: [Self; 3] = [Self::Viewer, Self::TenantAdmin, Self::Owner];

    /// The role's name on the wire: `viewer`, `tenant-admin` or `owner`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::TenantAdmin => "tenant-admin",
            Self::Owner => "owner",
        }
    }

    /// # Errors
    /// For anything but `viewer`, `tenant-admin` or `owner`.
    pub fn parse(s: &str) -> Result<Self, crate::grant::UnknownValue> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or(crate::grant::UnknownValue)
    }

    /// Whether this role may change things at all.
    #[must_use]
    pub const fn writes(self) -> bool {
        matches!(self, Self::TenantAdmin | Self::Owner)
    }

    /// The highest of the roles held; `None` when none is.
    #[must_use]
    pub fn highest(roles: &[Self]) -> Option<Self> {
        roles.iter().copied().max()
    }
}

impl fmt::Display for AdminRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// May an actor holding `actor` act on something that holds `target`
/// authority (`None`: no administrative authority at all)?
#[must_use]
pub fn may_act_on(actor: Option<AdminRole>, target: Option<AdminRole>) -> bool {
    match (actor, target) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(t)) => a >= t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(AdminRole::Viewer < AdminRole::TenantAdmin && AdminRole::TenantAdmin < AdminRole::Owner);
        for r in AdminRole::ALL {
            assert_eq!(AdminRole::parse(r.as_str()), Ok(r));
            assert_eq!(serde_json::to_value(r).ok(), Some(serde_json::Value::String(r.as_str().into())));
        }
        assert!(AdminRole::parse("admin").is_err());
        assert!(serde_json::from_value::<AdminRole>(serde_json::json!("Owner")).is_err(), "exact words only");
        assert_eq!(
            AdminRole::highest(&[AdminRole::Viewer, AdminRole::Owner, AdminRole::TenantAdmin]),
            Some(AdminRole::Owner)
        );
        assert_eq!(AdminRole::highest(&[]), None);
    }

    #[test]
    fn authority_never_grows_through_delegation() {
        let all = [None, Some(AdminRole::Viewer), Some(AdminRole::TenantAdmin), Some(AdminRole::Owner)];
        for a in all {
            for t in all {
                let rank = |r: Option<AdminRole>| r.map_or(0, |r| r as u8 + 1);
                assert_eq!(may_act_on(a, t), rank(a) >= rank(t), "{a:?} on {t:?}");
            }
        }
    }
}
