//! The storage port and its two adapters.
//!
//! [`Store`] is the one interface the application layer sees. It is composed
//! of small capability traits (tenants, clients, keys, tokens, scopes, users,
//! audit). Both adapters run the same SQL text (sqlx binds `$N` on SQLite
//! too); the only per-backend code is connecting, migrations and how a write
//! transaction begins (`BEGIN IMMEDIATE` on SQLite).
//!
//! **Architecture invariant:** only this crate knows SQL, and every method
//! takes the tenant: no query can reach another tenant's rows.
//! The `conformance` suite (feature `testing`) is the contract both adapters
//! must pass.

use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::{Client, ClientId, ClientStatus, TenantId, TenantSettings, UnixTime};

#[cfg(feature = "testing")]
pub mod conformance;
mod device;
mod federation;
mod postgres;
mod rate;
mod remote;
mod scim;
mod seal;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
mod usage;

pub use device::{DeviceApproval, DeviceRecord, DeviceRepo, DeviceStatus};
pub use federation::{FederatedLinkRecord, FederationRepo, RemoteFlowRecord};
pub use postgres::PgStore;
pub use rate::{RateCount, RateRepo};
pub use remote::{AuthorizationRecord, ProviderRecord, RemoteClientRecord, RemoteRepo};
pub use scim::{SCIM_ERRORS_KEPT, ScimAttributes, ScimErrorRecord, ScimGroupRecord, ScimRepo};
pub use seal::{SealRepo, SealedKind, SealedValue};
pub use sqlite::{SqliteStore, sqlite_backup};
pub use throttle::{ThrottleRepo, ThrottleState};
pub use usage::{Usage, UsageCount, UsageRepo};

/// What can go wrong in storage, as the application needs to tell it apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. a client name already in use).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database cannot be reached or is overloaded: answer 503, retry.
    #[error("storage unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: a bug or corrupt data. Logged, never shown to clients.
    #[error("storage error: {0}")]
    Internal(String),
}

impl StoreError {
    pub(crate) fn from_sqlx(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict(if db.message().contains("name") { "name" } else { "id" })
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => Self::Conflict("reference"),
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => Self::Unavailable(e),
            sqlx::Error::Database(db) if is_transient(db.code().as_deref()) => Self::Unavailable(e),
            _ => Self::Internal(e.to_string()),
        }
    }
}

/// Errors of the database's environment rather than of the request or the
/// data, answered with 503 and `Retry-After` (and logged for the operator):
/// SQLite BUSY, LOCKED, READONLY (a read-only data directory), IOERR,
/// FULL (disk full) and CANTOPEN, with their extended codes; PostgreSQL's
/// connection (08), insufficient-resources (53: disk full, out of memory,
/// too many connections) and operator-intervention (57P) classes, and a
/// read-only transaction (25006: a standby or a read-only database).
fn is_transient(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    // PostgreSQL's SQLSTATEs have five characters; SQLite's (extended)
    // result codes at most four digits.
    if code.len() == 5 {
        return code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "25006";
    }
    code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod error_tests {
    use super::is_transient;

    #[test]
    fn environment_errors_are_transient_and_data_errors_are_not() {
        // SQLite: BUSY, LOCKED, READONLY_DIRECTORY, IOERR_WRITE, FULL, CANTOPEN.
        for code in ["5", "6", "1544", "778", "13", "14", "8"] {
            assert!(is_transient(Some(code)), "{code}");
        }
        // SQLite: CONSTRAINT_UNIQUE, CORRUPT, MISMATCH; no code.
        for code in ["2067", "11", "20"] {
            assert!(!is_transient(Some(code)), "{code}");
        }
        assert!(!is_transient(None));
        // PostgreSQL: connection failure, disk full, too many connections,
        // admin shutdown, read-only transaction; unique violation, syntax.
        for code in ["08006", "53100", "53300", "57P01", "25006"] {
            assert!(is_transient(Some(code)), "{code}");
        }
        for code in ["23505", "42601", "22P02"] {
            assert!(!is_transient(Some(code)), "{code}");
        }
    }
}

/// A tenant as stored.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub tenant_id: TenantId,
    pub display_name: String,
    pub status: latchkey_core::TenantStatus,
    pub settings: TenantSettings,
    /// A value sealed with the master key at creation, to detect a node
    /// started with the wrong master key before it serves anything.
    pub key_check: Vec<u8>,
    pub created_at: UnixTime,
}

/// One client of a batch insert: the client, its secrets, its audit event.
#[derive(Debug, Clone)]
pub struct ClientInsert {
    pub client: Client,
    pub secrets: Vec<SecretRecord>,
    pub audit: AuditRecord,
}

/// A client secret as stored: never the plaintext (see ADR 0003).
#[derive(Debug, Clone)]
pub struct SecretRecord {
    pub secret_id: String,
    pub secret_hash: Vec<u8>,
    /// Envelope-encrypted plaintext, only for `client_secret_jwt`.
    pub sealed_secret: Option<Vec<u8>>,
    pub hint: String,
    pub label: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
}

impl SecretRecord {
    #[must_use]
    pub fn is_valid_at(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// What a signing key is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    AccessToken,
    IdToken,
}

impl KeyPurpose {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::IdToken => "id_token",
        }
    }
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access_token" => Some(Self::AccessToken),
            "id_token" => Some(Self::IdToken),
            _ => None,
        }
    }
}

/// A signing key as stored: the private part sealed with the master key.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: latchkey_core::SigningAlg,
    pub purpose: KeyPurpose,
    pub sealed_private: Vec<u8>,
    pub public_jwk: String,
    pub created_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    pub retired_at: Option<UnixTime>,
}

/// What introspection needs to know about a token's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    Active,
    Disabled,
    Missing,
}

impl From<Option<ClientStatus>> for ClientState {
    fn from(s: Option<ClientStatus>) -> Self {
        match s {
            Some(ClientStatus::Active) => Self::Active,
            Some(ClientStatus::Disabled) => Self::Disabled,
            None => Self::Missing,
        }
    }
}

/// A scope of the tenant's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRecord {
    pub name: String,
    pub description: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A user (password as an argon2id PHC string).
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user_id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub status: latchkey_core::UserStatus,
    /// Stored as their names (`owner`, `tenant-admin`, `viewer`).
    pub roles: Vec<latchkey_core::AdminRole>,
    pub groups: Vec<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// The user's incarnation: random when created, changed by every
    /// status or password change (in the database, by `update_user`).
    /// Tokens name it and die when it changes.
    pub token_epoch: i64,
}

/// One audit event: who did what to which object, with the field diff.
/// Secrets appear only as id and hint (the app layer builds `changes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub event_id: String,
    pub occurred_at: UnixTime,
    pub actor: String,
    pub actor_type: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    /// JSON object: `{ field: { "before": …, "after": … } }`.
    pub changes: String,
}

/// A named bundle of scopes assigned to clients (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityClassRecord {
    pub name: String,
    pub description: String,
    pub scopes: latchkey_core::ScopeSet,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Orders of the client list. Each has a keyset cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientSort {
    #[default]
    CreatedAsc,
    CreatedDesc,
    NameAsc,
    NameDesc,
    LastUsedDesc,
}

/// Where a page starts: the sort key of the last row seen and its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Int(i64),
    Text(String),
}

/// A search over a tenant's clients. Every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct ClientQuery {
    /// Case-insensitive substring of name, client id, description or a
    /// redirect URI.
    pub q: Option<String>,
    pub client_type: Option<String>,
    pub grant_type: Option<String>,
    pub status: Option<String>,
    /// `key=value`.
    pub label: Option<String>,
    /// Not used since this time (never used counts from creation).
    pub unused_since: Option<UnixTime>,
    /// Has a secret expiring between `.0` and `.1`.
    pub secret_expires_between: Option<(UnixTime, UnixTime)>,
    pub sort: ClientSort,
    pub after: Option<(SortKey, String)>,
    pub limit: u32,
}

/// A search over a tenant's audit log, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// A substring of the actor, the action or the target id (any case).
    pub q: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<UnixTime>,
    pub until: Option<UnixTime>,
    /// Actions left out (e.g. the sign-in events the console hides by default).
    pub exclude_actions: Vec<String>,
    /// `(occurred_at, event_id)` of the last event seen.
    pub before: Option<(UnixTime, String)>,
    pub limit: u32,
}

/// A signed-in browser session. The cookie holds the session id; the store
/// keeps only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub session_hash: Vec<u8>,
    /// The public session id for ID tokens (`sid`): not a credential.
    pub sid: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// An authorization code (hash only), bound to what it was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    /// Whether the authorization request carried `redirect_uri` (then the
    /// token request must carry the same value, RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    /// The S256 PKCE challenge.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    pub auth_time: UnixTime,
    pub sid: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    /// What the redemption produced, for revocation on replay.
    pub access_jti: Option<String>,
    pub access_exp: Option<UnixTime>,
    pub family_id: Option<String>,
    /// The client's and the user's `token_epoch` when the code was issued.
    pub client_epoch: i64,
    pub user_epoch: i64,
}

/// A refresh-token family: the tokens rotated from one authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRecord {
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The scope granted: refreshed tokens may only narrow it.
    pub scope: String,
    pub auth_time: UnixTime,
    pub sid: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// The client's and the user's `token_epoch` when the family began.
    pub client_epoch: i64,
    pub user_epoch: i64,
}

/// One refresh token (hash only) and the access token issued with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub token_hash: Vec<u8>,
    pub family_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    pub access_jti: String,
    pub access_exp: UnixTime,
    /// Set when the token was rotated: the answer of that rotation, sealed
    /// under the master key, for reuses inside the grace window.
    pub successor: Option<Vec<u8>>,
}

/// A user's remembered consent to a client for a set of scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub user_id: String,
    pub client_id: String,
    /// Space-delimited scopes.
    pub scope: String,
    pub granted_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Everything the first start of a tenant creates, written atomically.
#[derive(Debug, Clone)]
pub struct TenantBootstrap {
    pub tenant: TenantRecord,
    pub keys: Vec<SigningKeyRecord>,
    pub scopes: Vec<ScopeRecord>,
    pub clients: Vec<(Client, Vec<SecretRecord>)>,
    pub users: Vec<UserRecord>,
    pub audit: Vec<AuditRecord>,
    /// Events recorded in other tenants' logs in the same transaction (the
    /// creating owner's tenant).
    pub audit_elsewhere: Vec<(TenantId, AuditRecord)>,
}

#[async_trait]
pub trait TenantRepo {
    /// Writes the whole bundle in one transaction if the tenant does not
    /// exist yet. Returns `false` (and writes nothing) when it exists, also
    /// when another node created it concurrently.
    async fn bootstrap_tenant(&self, b: &TenantBootstrap) -> Result<bool>;
    async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<TenantRecord>>;
    /// Every tenant: the one listing above tenants, for the platform's owners.
    async fn list_tenants(&self) -> Result<Vec<TenantRecord>>;
    /// Changes name, status and settings; the audit event goes to tenant `by`
    /// (where the acting owner is). `false` when there is no such tenant.
    async fn update_tenant(&self, t: &TenantRecord, now: UnixTime, by: &TenantId, audit: &AuditRecord) -> Result<bool>;
    /// Deletes the tenant and everything in it; audited in tenant `by`.
    async fn delete_tenant(&self, tenant: &TenantId, by: &TenantId, audit: &AuditRecord) -> Result<bool>;
}

#[async_trait]
pub trait ClientRepo {
    /// # Errors
    /// `Conflict` when the id or the name is taken in this tenant.
    async fn insert_client(&self, client: &Client, secrets: &[SecretRecord], audit: &AuditRecord) -> Result<()>;
    /// Inserts many clients of one tenant, with their secrets and audit
    /// events, in one transaction: all or nothing.
    ///
    /// # Errors
    /// `Conflict` when any id or name is taken (nothing is written then).
    async fn insert_clients(&self, tenant: &TenantId, batch: &[ClientInsert]) -> Result<()>;
    async fn get_client(&self, tenant: &TenantId, id: &ClientId) -> Result<Option<Client>>;
    /// The client and its secrets, for client authentication.
    async fn get_client_with_secrets(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<(Client, Vec<SecretRecord>)>>;
    /// Clients in creation order after the given `(created_at, client_id)` cursor.
    async fn list_clients(
        &self,
        tenant: &TenantId,
        after: Option<(UnixTime, String)>,
        limit: u32,
    ) -> Result<Vec<Client>>;
    /// A filtered, sorted page of clients.
    async fn search_clients(&self, tenant: &TenantId, query: &ClientQuery, now: UnixTime) -> Result<Vec<Client>>;
    /// How many clients match the query's text and filters (its sort,
    /// cursor and limit do not matter), counting at most `cap + 1`: a larger
    /// answer than `cap` means "more than `cap`", at a bounded cost.
    async fn count_clients(&self, tenant: &TenantId, query: &ClientQuery, cap: u32) -> Result<u64>;
    /// Replaces a client's stored fields if its revision is still
    /// `expected_revision` (the revision is then bumped). Returns `false`
    /// when the client is gone or was changed meanwhile.
    async fn update_client(&self, client: &Client, expected_revision: i64, audit: &AuditRecord) -> Result<bool>;
    /// Adds a secret if the client then has at most `max_valid` unexpired
    /// secrets. `expire` first sets `expires_at` of the given secrets (a
    /// rotation: one transaction, one audit event); expired secrets are
    /// deleted then. Returns `false` when the limit would be exceeded or
    /// the client is gone (and nothing is written).
    #[allow(clippy::too_many_arguments)]
    async fn add_secret(
        &self,
        tenant: &TenantId,
        id: &ClientId,
        secret: &SecretRecord,
        expire: Option<(&[String], UnixTime)>,
        max_valid: usize,
        now: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Sets `expires_at` of the given secrets (rotation grace, revocation),
    /// and bumps the client's revision.
    async fn expire_secrets(
        &self,
        tenant: &TenantId,
        id: &ClientId,
        secret_ids: &[String],
        at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<()>;
    /// Ids of clients whose scopes or security classes name `value`.
    async fn clients_referencing(&self, tenant: &TenantId, field: &str, value: &str) -> Result<Vec<String>>;
    /// Sets the status. Returns `false` when there is no such client.
    async fn set_client_status(
        &self,
        tenant: &TenantId,
        id: &ClientId,
        status: ClientStatus,
        now: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Deletes the client with its secrets and opaque tokens. Returns `false`
    /// when there is no such client.
    async fn delete_client(&self, tenant: &TenantId, id: &ClientId, audit: &AuditRecord) -> Result<bool>;
}

#[async_trait]
pub trait KeyRepo {
    async fn insert_signing_key(&self, tenant: &TenantId, key: &SigningKeyRecord) -> Result<()>;
    async fn list_signing_keys(&self, tenant: &TenantId) -> Result<Vec<SigningKeyRecord>>;
    /// Adds `key`, which starts signing at its `activated_at`; the keys of
    /// its purpose still in use stop signing then (their `retired_at`).
    /// Returns `false` (and writes nothing) when a key of that purpose is
    /// already waiting for its activation at `now`.
    async fn rotate_signing_key(
        &self,
        tenant: &TenantId,
        key: &SigningKeyRecord,
        now: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool>;
}

#[async_trait]
pub trait TokenRepo {
    /// Records a revoked access token's id until the token would have expired.
    async fn revoke_jti(
        &self,
        tenant: &TenantId,
        jti: &str,
        client_id: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<()>;
    /// For an access token: the state of its client and whether the token
    /// is revoked, in one round trip. A client that is not the incarnation
    /// `client_epoch` names, or was disabled and enabled again since
    /// `issued_at`, counts as disabled for this token. A token acting for
    /// `user` (id, epoch) counts as revoked unless that user is active and
    /// still has that epoch.
    async fn jwt_state(
        &self,
        tenant: &TenantId,
        client_id: &str,
        jti: &str,
        issued_at: UnixTime,
        client_epoch: i64,
        user: Option<(&str, i64)>,
    ) -> Result<(ClientState, bool)>;
    /// Every revocation record of tokens still valid at `now`, as
    /// `(tenant, jti, expires_at)` (to build an in-memory index).
    async fn list_revoked_jtis(&self, now: UnixTime) -> Result<Vec<(String, String, UnixTime)>>;
    /// Records the `jti` of a client assertion until `expires_at`; `false`
    /// when that client used it already (a replay).
    async fn use_assertion_jti(
        &self,
        tenant: &TenantId,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<bool>;
    /// Deletes revocation and assertion records that expired before `before`.
    async fn purge_expired(&self, before: UnixTime) -> Result<u64>;
}

#[async_trait]
pub trait ScopeRepo {
    async fn insert_scope(&self, tenant: &TenantId, scope: &ScopeRecord, audit: &AuditRecord) -> Result<()>;
    async fn list_scopes(&self, tenant: &TenantId) -> Result<Vec<ScopeRecord>>;
    /// Returns `false` when there is no such scope.
    async fn update_scope(&self, tenant: &TenantId, scope: &ScopeRecord, audit: &AuditRecord) -> Result<bool>;
    /// Returns `false` when there is no such scope.
    async fn delete_scope(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool>;
    async fn insert_class(&self, tenant: &TenantId, class: &SecurityClassRecord, audit: &AuditRecord) -> Result<()>;
    async fn list_classes(&self, tenant: &TenantId) -> Result<Vec<SecurityClassRecord>>;
    /// Returns `false` when there is no such class.
    async fn update_class(&self, tenant: &TenantId, class: &SecurityClassRecord, audit: &AuditRecord) -> Result<bool>;
    /// Returns `false` when there is no such class.
    async fn delete_class(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool>;
}

#[async_trait]
pub trait UserRepo {
    async fn get_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<UserRecord>>;
    async fn get_user(&self, tenant: &TenantId, user_id: &str) -> Result<Option<UserRecord>>;
    /// # Errors
    /// `Conflict` when the username is taken (case-insensitively).
    async fn insert_user(&self, tenant: &TenantId, user: &UserRecord, audit: &AuditRecord) -> Result<()>;
    /// Users by username after the given one.
    async fn list_users(
        &self,
        tenant: &TenantId,
        q: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>>;
    /// Replaces email, display name, status, password hash, roles and groups.
    /// Returns `false` when there is no such user.
    async fn update_user(&self, tenant: &TenantId, user: &UserRecord, audit: &AuditRecord) -> Result<bool>;
}

#[async_trait]
pub trait AuditRepo {
    /// Newest first.
    async fn list_audit(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditRecord>>;
    /// Newest first, filtered.
    async fn search_audit(&self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>>;
}

#[async_trait]
pub trait SessionRepo {
    async fn insert_session(&self, tenant: &TenantId, s: &SessionRecord, audit: &AuditRecord) -> Result<()>;
    /// The session, if it exists and has not expired at `now`.
    async fn get_session(&self, tenant: &TenantId, session_hash: &[u8], now: UnixTime)
    -> Result<Option<SessionRecord>>;
    /// Returns `false` when there is no such session.
    async fn delete_session(&self, tenant: &TenantId, session_hash: &[u8], audit: &AuditRecord) -> Result<bool>;
    /// Deletes sessions, codes, device codes and refresh tokens that expired before
    /// `before`, in every tenant (housekeeping).
    async fn purge_expired_flows(&self, before: UnixTime) -> Result<u64>;
}

#[async_trait]
pub trait CodeRepo {
    async fn insert_code(&self, tenant: &TenantId, code: &CodeRecord) -> Result<()>;
    async fn get_code(&self, tenant: &TenantId, code_hash: &[u8]) -> Result<Option<CodeRecord>>;
    /// Redeems a code atomically: marks it used if it is unused and
    /// unexpired at `now`, records the access token it produced and stores
    /// the refresh-token family it starts, in one transaction. Of any
    /// number of concurrent calls exactly one returns `true`.
    async fn redeem_code(
        &self,
        tenant: &TenantId,
        code_hash: &[u8],
        now: UnixTime,
        access: (&str, UnixTime),
        family: Option<(&FamilyRecord, &RefreshRecord)>,
    ) -> Result<bool>;
}

#[async_trait]
pub trait RefreshRepo {
    /// A refresh token with its family (revoked or not).
    async fn get_refresh(&self, tenant: &TenantId, token_hash: &[u8]) -> Result<Option<(RefreshRecord, FamilyRecord)>>;
    /// Uses a refresh token atomically, when it is unused, unexpired and its
    /// family unrevoked: inserts `new` into the same family and, when
    /// `rotate`, marks `old_hash` used and keeps `successor` (the sealed
    /// answer, for reuses inside the grace window). Without rotation the old
    /// token stays unused and `new` only records the access token issued
    /// (the caller inserts it already used). Of concurrent rotations exactly
    /// one returns `true`: a used token never yields a second live successor.
    async fn rotate_refresh(
        &self,
        tenant: &TenantId,
        old_hash: &[u8],
        now: UnixTime,
        rotate: bool,
        new: &RefreshRecord,
        successor: Option<&[u8]>,
    ) -> Result<bool>;
    /// Revokes a family and returns `(jti, exp)` of the access tokens issued
    /// in it that are still unexpired at `now`, for the caller to revoke.
    async fn revoke_family(
        &self,
        tenant: &TenantId,
        family_id: &str,
        now: UnixTime,
        audit: &AuditRecord,
    ) -> Result<Vec<(String, UnixTime)>>;
    /// Revokes every unrevoked family of a user at a client (a revoked
    /// consent) and returns their live access tokens, as `revoke_family`.
    async fn revoke_families_of(
        &self,
        tenant: &TenantId,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<Vec<(String, UnixTime)>>;
    /// Ends everything a user holds (a password reset or a disabled
    /// account): deletes their browser sessions and revokes every unrevoked
    /// refresh family, returning `(client, jti, exp)` of the live access
    /// tokens issued in them, for the caller to revoke.
    async fn sign_out_user(
        &self,
        tenant: &TenantId,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Vec<(String, String, UnixTime)>>;
}

#[async_trait]
pub trait ConsentRepo {
    async fn get_consent(&self, tenant: &TenantId, user_id: &str, client_id: &str) -> Result<Option<ConsentRecord>>;
    /// Creates or replaces the consent of a user to a client.
    async fn upsert_consent(&self, tenant: &TenantId, c: &ConsentRecord, audit: &AuditRecord) -> Result<()>;
    async fn list_consents(&self, tenant: &TenantId, user_id: &str) -> Result<Vec<ConsentRecord>>;
    /// Returns `false` when there was no such consent.
    async fn delete_consent(
        &self,
        tenant: &TenantId,
        user_id: &str,
        client_id: &str,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Whether any client of the tenant lists `origin` in its allowed CORS
    /// origins (to answer CORS preflights, which name no client).
    async fn cors_origin_registered(&self, tenant: &TenantId, origin: &str) -> Result<bool>;
}

/// Change notifications between nodes: every mutation of a cached object
/// publishes `kind:tenant/id` in its transaction (PostgreSQL `NOTIFY`); each
/// node drops the named cache entry. SQLite is single-node: no stream.
pub type Invalidations = futures_util::stream::BoxStream<'static, Result<String>>;

/// The whole storage port.
#[async_trait]
pub trait Store:
    TenantRepo
    + ClientRepo
    + KeyRepo
    + TokenRepo
    + ScopeRepo
    + UserRepo
    + ScimRepo
    + AuditRepo
    + SessionRepo
    + CodeRepo
    + DeviceRepo
    + RefreshRepo
    + ConsentRepo
    + RemoteRepo
    + UsageRepo
    + FederationRepo
    + ThrottleRepo
    + RateRepo
    + SealRepo
    + Send
    + Sync
    + std::fmt::Debug
{
    /// A stream of invalidation messages from other nodes, or `None` where
    /// there can be no other node.
    async fn invalidations(&self) -> Result<Option<Invalidations>>;
    /// Applies pending migrations (safe when several nodes start at once).
    async fn migrate(&self) -> Result<()>;
    /// `true` when this process is by construction the only writer (SQLite:
    /// single node). Then in-memory indexes kept up to date by this process
    /// are exact, and the services may answer from them.
    fn is_exclusive(&self) -> bool;
    /// Periodic housekeeping (planner statistics on SQLite).
    async fn maintain(&self) -> Result<()>;
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// The database server's clock, in Unix seconds (`latchkey doctor`
    /// compares it with this machine's: expiries written by one node are
    /// read by others).
    async fn database_time(&self) -> Result<UnixTime>;
    /// Which backend this is, for logs and metrics.
    fn backend(&self) -> &'static str;
}

/// Connects to `sqlite://…` or `postgres://…`.
///
/// # Errors
/// When the URL names no supported database or the connection fails.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::Internal("database URL must start with sqlite: or postgres:".into()))
    }
}
