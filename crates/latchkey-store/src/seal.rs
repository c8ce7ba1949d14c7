//! Every value sealed under the master key, listed and replaced one by one,
//! so `latchkey master-key rotate` can re-seal them under a new key; and the
//! installation keys that must outlive a rotation (ADR 0017).
//!
//! The store neither opens nor seals: it hands out the sealed bytes with the
//! row's keys (from which the application rebuilds the associated data) and
//! replaces a value only while it is still the one handed out, so a value
//! changed meanwhile (a secret rotated, a token refreshed) is never
//! overwritten with an older one.

use async_trait::async_trait;
use latchkey_core::UnixTime;

use crate::Result;

/// The columns that hold sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedKind {
    /// `tenants.key_check`: proves the master key at start.
    TenantKeyCheck,
    /// `signing_keys.sealed_private`.
    SigningKey,
    /// `remote_clients.sealed_secret`: a client secret at a provider.
    RemoteClientSecret,
    /// `remote_authorizations.sealed_tokens`: the vault.
    RemoteTokens,
    /// `remote_flows.sealed_data`: sign-ins at a provider in flight.
    RemoteFlow,
    /// `refresh_tokens.successor`: the answer a rotation gave, kept for the
    /// reuse grace window.
    RefreshSuccessor,
}

impl SealedKind {
    pub const ALL: [Self; 6] = [
        Self::TenantKeyCheck,
        Self::SigningKey,
        Self::RemoteClientSecret,
        Self::RemoteTokens,
        Self::RemoteFlow,
        Self::RefreshSuccessor,
    ];

    /// A name for reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantKeyCheck => "tenant key checks",
            Self::SigningKey => "signing keys",
            Self::RemoteClientSecret => "provider client secrets",
            Self::RemoteTokens => "vault authorizations",
            Self::RemoteFlow => "provider sign-ins in flight",
            Self::RefreshSuccessor => "refresh token rotations in their grace window",
        }
    }
}

/// One sealed value and the keys of its row.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub kind: SealedKind,
    pub tenant_id: String,
    /// The row's other key columns, in the kind's order: signing keys
    /// `[kid]`; provider secrets and vault entries `[namespace, name]`;
    /// flows `[state_hash]`; refresh successors `[family_id]`.
    pub keys: Vec<String>,
    /// The binary key column (refresh successors: the token hash).
    pub hash: Option<Vec<u8>>,
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedValue")
            .field("kind", &self.kind)
            .field("tenant_id", &self.tenant_id)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// Sealed values and installation keys.
#[async_trait]
pub trait SealRepo {
    /// Every value of `kind`, across tenants.
    async fn sealed_values(&self, kind: SealedKind) -> Result<Vec<SealedValue>>;
    /// Replaces `value.sealed` with `resealed` if the row still holds
    /// `value.sealed`; `false` when it changed or went away meanwhile.
    async fn replace_sealed(&self, value: &SealedValue, resealed: &[u8]) -> Result<bool>;
    /// The sealed installation key of `purpose`, if one was kept.
    async fn installation_key(&self, purpose: &str) -> Result<Option<Vec<u8>>>;
    /// Keeps `sealed` as the installation key of `purpose` if the stored one
    /// is still `expected` (`None`: there is none yet); `false` otherwise.
    async fn put_installation_key(
        &self,
        purpose: &str,
        expected: Option<&[u8]>,
        sealed: &[u8],
        now: UnixTime,
    ) -> Result<bool>;
}
