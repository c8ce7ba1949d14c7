//! The storage port of the outbound side (SPEC §8): providers, remote
//! clients and the authorizations they obtain.

use async_trait::async_trait;
use latchkey_core::{TenantId, UnixTime};

use crate::{AuditRecord, Result};

/// An upstream authorization server (SPEC §8). `settings` is JSON text
/// the application owns (endpoints, auth method, PKCE, default scopes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub name: String,
    pub settings: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A client registered at a provider, known here by namespace and name.
/// The secret is an envelope (never plaintext); `params` is JSON text
/// (the optional token-request parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteClientRecord {
    pub namespace: String,
    pub name: String,
    pub provider: String,
    pub client_id: String,
    pub sealed_secret: Option<Vec<u8>>,
    /// The last four characters of the secret, to tell secrets apart.
    pub secret_hint: Option<String>,
    pub params: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// The grant a remote client obtained: its tokens as one envelope.
/// `generation` grows with every token change, so concurrent callers can
/// tell that another one already refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRecord {
    pub namespace: String,
    pub name: String,
    pub grant_type: String,
    /// `active` or `needs_reauthorization`.
    pub status: String,
    pub sealed_tokens: Vec<u8>,
    pub scope: Option<String>,
    pub expires_at: Option<UnixTime>,
    pub generation: i64,
    /// Why the upstream refused, for the administrator (never a secret).
    pub last_error: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Providers, remote clients and the authorizations they obtain (SPEC §8).
#[async_trait]
pub trait RemoteRepo {
    /// # Errors
    /// `Conflict` when the name is taken in this tenant.
    async fn insert_provider(&self, tenant: &TenantId, p: &ProviderRecord, audit: &AuditRecord) -> Result<()>;
    async fn get_provider(&self, tenant: &TenantId, name: &str) -> Result<Option<ProviderRecord>>;
    async fn list_providers(&self, tenant: &TenantId) -> Result<Vec<ProviderRecord>>;
    /// Replaces the settings. Returns `false` when there is no such provider.
    async fn update_provider(&self, tenant: &TenantId, p: &ProviderRecord, audit: &AuditRecord) -> Result<bool>;
    /// Returns `false` when there is no such provider.
    ///
    /// # Errors
    /// `Conflict("reference")` while a remote client uses it.
    async fn delete_provider(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool>;

    /// # Errors
    /// `Conflict` when namespace and name are taken in this tenant, or the
    /// provider does not exist (`reference`).
    async fn insert_remote_client(&self, tenant: &TenantId, c: &RemoteClientRecord, audit: &AuditRecord) -> Result<()>;
    async fn get_remote_client(
        &self,
        tenant: &TenantId,
        namespace: &str,
        name: &str,
    ) -> Result<Option<RemoteClientRecord>>;
    /// By namespace and name.
    async fn list_remote_clients(&self, tenant: &TenantId) -> Result<Vec<RemoteClientRecord>>;
    /// Replaces provider, client id, secret and parameters. Returns `false`
    /// when there is no such remote client.
    async fn update_remote_client(
        &self,
        tenant: &TenantId,
        c: &RemoteClientRecord,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Deletes the remote client and its authorization. Returns `false`
    /// when there is no such remote client.
    async fn delete_remote_client(
        &self,
        tenant: &TenantId,
        namespace: &str,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<bool>;

    /// Inserts or replaces the authorization of a remote client.
    ///
    /// # Errors
    /// `Conflict("reference")` when the remote client does not exist.
    async fn put_authorization(&self, tenant: &TenantId, a: &AuthorizationRecord, audit: &AuditRecord) -> Result<()>;
    async fn get_authorization(
        &self,
        tenant: &TenantId,
        namespace: &str,
        name: &str,
    ) -> Result<Option<AuthorizationRecord>>;
    async fn list_authorizations(&self, tenant: &TenantId) -> Result<Vec<AuthorizationRecord>>;
    /// Writes new tokens or a new status if the stored generation is still
    /// `a.generation - 1`, together with `audit`. Returns `false` when the
    /// authorization is gone or another node changed it first.
    async fn update_authorization(
        &self,
        tenant: &TenantId,
        a: &AuthorizationRecord,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Returns `false` when there is no such authorization.
    async fn delete_authorization(
        &self,
        tenant: &TenantId,
        namespace: &str,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Writes an audit event on its own (a token retrieval changes nothing).
    async fn record_audit(&self, tenant: &TenantId, audit: &AuditRecord) -> Result<()>;
}
