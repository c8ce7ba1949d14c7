//! Upstream authorization-code flows and federated sign-in links (SPEC §8).
//! Kept apart from `RemoteRepo` so that the remote side's trait stays the
//! size of one screen.

use async_trait::async_trait;
use latchkey_core::{TenantId, UnixTime};

use crate::{AuditRecord, Result, UserRecord};

/// An upstream authorization-code flow in progress: an administrator
/// obtaining an authorization (`kind` = `authorization`) or a person
/// signing in with a provider (`sign_in`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFlowRecord {
    /// SHA-256 (hex) of the random `state` sent upstream.
    pub state_hash: String,
    pub kind: String,
    /// The provider the flow was started with: a response is accepted only
    /// at that provider's callback.
    pub provider: String,
    /// SHA-256 (hex) of the cookie value that binds the flow to the browser.
    pub browser_hash: String,
    /// PKCE verifier, nonce and what to do on return: an envelope.
    pub sealed_data: Vec<u8>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// An upstream account (provider and `sub`) that signs in as a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedLinkRecord {
    pub provider: String,
    pub subject: String,
    pub user_id: String,
    pub created_at: UnixTime,
}

#[async_trait]
pub trait FederationRepo {
    /// Stores a new flow (with `audit` when an administrator started it).
    async fn insert_remote_flow(
        &self,
        tenant: &TenantId,
        f: &RemoteFlowRecord,
        audit: Option<&AuditRecord>,
    ) -> Result<()>;
    /// Marks the flow used and returns it, if it exists, was not used and
    /// has not expired at `now`: a flow is taken once, whatever the
    /// concurrency (one `UPDATE … WHERE used_at IS NULL`).
    async fn take_remote_flow(
        &self,
        tenant: &TenantId,
        state_hash: &str,
        now: UnixTime,
    ) -> Result<Option<RemoteFlowRecord>>;
    /// Deletes flows that expired before `before`; returns how many.
    async fn purge_remote_flows(&self, tenant: &TenantId, before: UnixTime) -> Result<u64>;

    async fn get_federated_link(
        &self,
        tenant: &TenantId,
        provider: &str,
        subject: &str,
    ) -> Result<Option<FederatedLinkRecord>>;
    /// The links of one user, by provider.
    async fn list_federated_links(&self, tenant: &TenantId, user_id: &str) -> Result<Vec<FederatedLinkRecord>>;
    /// Links an upstream account to a user, creating the user first when
    /// `new_user` is given (just-in-time provisioning), in one transaction
    /// with `audit`.
    ///
    /// # Errors
    /// `Conflict` when the upstream account is linked already, the username
    /// is taken, or the provider or user does not exist (`reference`).
    async fn insert_federated_link(
        &self,
        tenant: &TenantId,
        link: &FederatedLinkRecord,
        new_user: Option<&UserRecord>,
        audit: &AuditRecord,
    ) -> Result<()>;
    /// Returns `false` when there was no such link.
    async fn delete_federated_link(
        &self,
        tenant: &TenantId,
        provider: &str,
        subject: &str,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Active users whose email is `email` (compared without case), at most two:
    /// linking by email needs exactly one.
    async fn users_with_email(&self, tenant: &TenantId, email: &str) -> Result<Vec<String>>;
}
