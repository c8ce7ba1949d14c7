//! SCIM provisioning storage (issue 14 item 3, ADR 0015): the
//! connector's `externalId` of users, deleting users, and SCIM groups.

use async_trait::async_trait;
use latchkey_core::TenantId;

use crate::{AuditRecord, Result, UserRecord};

/// What SCIM keeps of a user beyond the user row: the connector's
/// `externalId`, and the `name` object and `emails` list as it wrote them
/// (JSON), so they read back as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimAttributes {
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub emails: Option<String>,
}

/// A SCIM group. Its members are the users whose `groups` hold its
/// `display_name` (`user_groups`), so clients' `allowed_groups` see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupRecord {
    pub group_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A SCIM request a connector had refused, as its client page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimErrorRecord {
    pub error_id: String,
    pub occurred_at: i64,
    pub method: String,
    /// The request path (no query: a filter may name people).
    pub path: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: String,
}

/// How many refused requests are kept per connector.
pub const SCIM_ERRORS_KEPT: i64 = 20;

/// SCIM provisioning (issue 14 item 3): the connector's `externalId` of
/// a user, and deleting users. Users themselves are `UserRepo`'s.
#[async_trait]
pub trait ScimRepo {
    /// `(user_id, attributes)` of every user of the tenant that has any.
    async fn scim_attributes_all(&self, tenant: &TenantId) -> Result<Vec<(String, ScimAttributes)>>;
    /// A user's SCIM attributes (empty when it has none).
    async fn scim_attributes(&self, tenant: &TenantId, user_id: &str) -> Result<ScimAttributes>;
    /// Inserts a user with its SCIM attributes, in one transaction.
    ///
    /// # Errors
    /// `Conflict` when the username is taken (case-insensitively).
    async fn insert_scim_user(
        &self,
        tenant: &TenantId,
        user: &UserRecord,
        attributes: &ScimAttributes,
        audit: &AuditRecord,
    ) -> Result<()>;
    /// As `UserRepo::update_user`, and also sets the username and the
    /// SCIM attributes. Returns `false` when there is no such user.
    ///
    /// # Errors
    /// `Conflict` when the new username is taken.
    async fn update_scim_user(
        &self,
        tenant: &TenantId,
        user: &UserRecord,
        attributes: &ScimAttributes,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Deletes a user with its roles, groups, sessions, consents, links and
    /// `externalId`. Returns `false` when there is no such user. Tokens
    /// issued to it name an epoch no user holds any more, so none counts.
    async fn delete_user(&self, tenant: &TenantId, user_id: &str, audit: &AuditRecord) -> Result<bool>;
    /// Every SCIM group of the tenant, by display name.
    async fn list_scim_groups(&self, tenant: &TenantId) -> Result<Vec<ScimGroupRecord>>;
    async fn get_scim_group(&self, tenant: &TenantId, group_id: &str) -> Result<Option<ScimGroupRecord>>;
    /// `(user_id, username)` of the users holding the group name, by username.
    async fn group_members(&self, tenant: &TenantId, name: &str) -> Result<Vec<(String, String)>>;
    /// Inserts a group and makes `members` (user ids of the tenant) exactly
    /// the users holding its name.
    ///
    /// # Errors
    /// `Conflict` when the display name is taken.
    async fn insert_scim_group(
        &self,
        tenant: &TenantId,
        group: &ScimGroupRecord,
        members: &[String],
        audit: &AuditRecord,
    ) -> Result<()>;
    /// Replaces a group (renamed from `old_name`) and its members, as
    /// `insert_scim_group`. Returns `false` when there is no such group.
    ///
    /// # Errors
    /// `Conflict` when the new display name is taken.
    async fn update_scim_group(
        &self,
        tenant: &TenantId,
        group: &ScimGroupRecord,
        old_name: &str,
        members: &[String],
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Deletes a group and takes its name from every user holding it.
    /// Returns `false` when there is no such group.
    async fn delete_scim_group(&self, tenant: &TenantId, group_id: &str, audit: &AuditRecord) -> Result<bool>;
    /// Records a refused request of a connector, keeping only its latest
    /// [`SCIM_ERRORS_KEPT`]. Nothing is recorded for a client that is not there.
    async fn record_scim_error(&self, tenant: &TenantId, client_id: &str, error: &ScimErrorRecord) -> Result<()>;
    /// A connector's latest refused requests, newest first.
    async fn list_scim_errors(&self, tenant: &TenantId, client_id: &str) -> Result<Vec<ScimErrorRecord>>;
}
