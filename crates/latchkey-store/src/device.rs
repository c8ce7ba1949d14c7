//! Device codes of the device authorization grant (RFC 8628): one row per
//! device request, keyed by the hash of its device code and findable by the
//! hash of its user code. Deciding (approve or deny) and redeeming are each
//! one conditional update whose row count says who won.

use async_trait::async_trait;
use latchkey_core::{TenantId, UnixTime};

use crate::{AuditRecord, FamilyRecord, RefreshRecord, Result};

/// Where a device code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

impl DeviceStatus {
    /// The stored text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    /// Parses the stored text.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Redeemed].into_iter().find(|v| v.as_str() == s)
    }
}

/// Who approved a device code, with what they hold at approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceApproval {
    pub user_id: String,
    /// The user's `token_epoch` at approval.
    pub user_epoch: i64,
    pub auth_time: UnixTime,
    pub sid: Option<String>,
}

/// A device request (hashes only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub device_hash: Vec<u8>,
    pub user_code_hash: Vec<u8>,
    pub client_id: String,
    pub scope: String,
    /// The address and user agent of the device's request, shown to the
    /// person approving it.
    pub device_ip: Option<String>,
    pub device_agent: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Seconds the device must keep between polls (raised by `slow_down`).
    pub interval: i64,
    pub last_polled_at: Option<UnixTime>,
    /// The client's `token_epoch` at the request.
    pub client_epoch: i64,
    pub status: DeviceStatus,
    /// Set when the code was approved.
    pub approval: Option<DeviceApproval>,
    /// The refresh family its redemption started (a redeemed code that
    /// started none has `None`).
    pub family_id: Option<String>,
}

/// Device codes.
#[async_trait]
pub trait DeviceRepo {
    /// Stores a new device request. `StoreError::Conflict` when the user
    /// code is taken in the tenant (the caller draws another).
    async fn insert_device_code(&self, tenant: &TenantId, d: &DeviceRecord) -> Result<()>;
    async fn get_device_code(&self, tenant: &TenantId, device_hash: &[u8]) -> Result<Option<DeviceRecord>>;
    /// The request a user code names, if it is still pending and unexpired
    /// at `now` (a used, decided or expired user code finds nothing).
    async fn find_pending_user_code(
        &self,
        tenant: &TenantId,
        user_code_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<DeviceRecord>>;
    /// Approves (`Some`) or denies (`None`) a pending, unexpired request
    /// and writes `audit` with it. Of concurrent calls exactly one returns
    /// `true`.
    async fn decide_device_code(
        &self,
        tenant: &TenantId,
        device_hash: &[u8],
        now: UnixTime,
        approval: Option<&DeviceApproval>,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Records a poll at `now` and the interval the device must keep from
    /// now on.
    async fn record_device_poll(
        &self,
        tenant: &TenantId,
        device_hash: &[u8],
        now: UnixTime,
        interval: i64,
    ) -> Result<()>;
    /// The device sign-ins that have not ended at `now`, of one client
    /// and/or one approving user, newest first, at most 200: unexpired
    /// requests waiting to be redeemed (pending or approved) and redeemed
    /// ones whose refresh family still lives (unrevoked, unexpired, its
    /// client and user active in the incarnations it was issued under).
    async fn list_open_device_codes(
        &self,
        tenant: &TenantId,
        client_id: Option<&str>,
        user_id: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<DeviceRecord>>;
    /// Denies a pending or approved (not yet redeemed) request, so its
    /// device's next poll hears `access_denied`, and writes `audit` with it.
    /// `false` when there was nothing open to revoke.
    async fn revoke_device_code(
        &self,
        tenant: &TenantId,
        device_hash: &[u8],
        now: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Redeems an approved, unexpired request and stores the refresh family
    /// it starts, in one transaction; the request then remembers the family
    /// and is kept as long as it. Of concurrent calls exactly one returns
    /// `true`.
    async fn redeem_device_code(
        &self,
        tenant: &TenantId,
        device_hash: &[u8],
        now: UnixTime,
        family: Option<(&FamilyRecord, &RefreshRecord)>,
    ) -> Result<bool>;
}
