//! Who acts: the caller of an admin operation, with the role it acts
//! with. A leaf: everything that takes an actor (keys, tenants, the admin
//! services) imports it from here.

use latchkey_core::AdminRole;
use latchkey_core::role::may_act_on;

use crate::AppError;

/// The caller of an admin operation.
///
/// Users and clients alike act with an administrative role
/// ([`AdminRole`]): a user's highest role, a client's `admin_role`. The
/// token's scope narrows it: `admin` may write (if the role writes),
/// `admin:read` only reads. The system (bootstrap, maintenance) is an owner.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Client id or user id.
    pub id: String,
    /// `client` (an admin token from client_credentials), `user` or `system`.
    pub kind: &'static str,
    /// May change things.
    pub can_write: bool,
    /// The actor's role (`owner`, `tenant-admin`, `viewer`).
    pub role: Option<AdminRole>,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The server itself (bootstrap, maintenance).
    #[must_use]
    pub fn system() -> Self {
        Self {
            id: "latchkey".into(),
            kind: "system",
            can_write: true,
            role: Some(AdminRole::Owner),
            source_ip: None,
            request_id: None,
        }
    }

    /// The role this actor acts with.
    #[must_use]
    pub fn authority(&self) -> Option<AdminRole> {
        self.role
    }

    /// # Errors
    /// `Forbidden` for read-only callers.
    pub fn require_write(&self) -> Result<(), AppError> {
        if self.can_write {
            Ok(())
        } else if self.role == Some(AdminRole::Viewer) {
            Err(AppError::Forbidden("viewers may read but not change anything".into()))
        } else {
            Err(AppError::Forbidden("this operation needs the admin scope; the token has admin:read only".into()))
        }
    }

    /// The rule that keeps delegation from growing authority: a writer may
    /// create, change or take credentials of something only when its own
    /// role is at least the authority that thing holds (`target`).
    ///
    /// # Errors
    /// `Forbidden` for read-only callers and for targets above the caller.
    pub fn require_authority_over(&self, target: Option<AdminRole>, what: &str) -> Result<(), AppError> {
        self.require_write()?;
        if may_act_on(self.authority(), target) {
            Ok(())
        } else {
            let held = self.authority().map_or("no role", AdminRole::as_str);
            let needed = target.map_or("", AdminRole::as_str);
            Err(AppError::Forbidden(format!("{what} holds the {needed} role, above this caller's ({held})")))
        }
    }

    /// Only owners (users or clients with the owner role, and the system)
    /// may hand out the owner role.
    #[must_use]
    pub fn may_grant_owner(&self) -> bool {
        self.can_write && self.authority() == Some(AdminRole::Owner)
    }

    /// A user actor with a role, as a signed-in console user acts.
    #[must_use]
    pub fn user(id: &str, role: AdminRole, token_allows_write: bool) -> Self {
        Self {
            id: id.to_owned(),
            kind: "user",
            can_write: token_allows_write && role.writes(),
            role: Some(role),
            source_ip: None,
            request_id: None,
        }
    }

    /// A provisioning connector (SCIM): a client acting with the
    /// `users:read` / `users:write` scopes and no administrative role, so
    /// it may never act on a user who holds one.
    #[must_use]
    pub fn connector(id: &str, can_write: bool) -> Self {
        Self { id: id.to_owned(), kind: "client", can_write, role: None, source_ip: None, request_id: None }
    }

    /// A client actor acting with its `admin_role`.
    #[must_use]
    pub fn client(id: &str, role: AdminRole, token_allows_write: bool) -> Self {
        Self {
            id: id.to_owned(),
            kind: "client",
            can_write: token_allows_write && role.writes(),
            role: Some(role),
            source_ip: None,
            request_id: None,
        }
    }
}
