//! The device authorization grant (RFC 8628): issuing a device code and a
//! user code, a person deciding on the user code, and the device polling
//! the token endpoint until tokens are issued.
//!
//! Each step is load → `latchkey_core::device` → persist. Deciding and
//! redeeming are single conditional updates in the store
//! (`DeviceRepo::decide_device_code`, `DeviceRepo::redeem_device_code`), so
//! a code is decided once and redeemed once however many pollers race.
//! Both codes are stored only as hashes and never logged.

use latchkey_core::ScopeSet;
use latchkey_core::TokenError;
use latchkey_core::device::{
    self as core_device, DEVICE_CODE_LIFETIME, DeviceState, POLL_INTERVAL, PollDecision, StoredDevice, UserCode,
};
use latchkey_crypto::secret::token_hash;
use latchkey_store::{DeviceApproval, DeviceRecord, DeviceStatus, FamilyRecord, StoreError};

use super::TokenResponse;
use super::TokenService;
use super::client_auth::{AuthenticatedClient, PresentedAuth};
use super::grants::RefreshPlan;
use super::user::IdTokenInput;
use crate::tenants::TenantContext;
use crate::throttle;

/// Prefix of device codes.
pub const DEVICE_CODE_PREFIX: &str = "lkdc_";

fn bad_grant() -> TokenError {
    TokenError::invalid_grant("the grant is invalid, expired, revoked or was issued to another client")
}

fn unavailable<E>(_: E) -> TokenError {
    TokenError::unavailable()
}

/// What the device said about itself, shown to the person deciding.
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// RFC 8628 §3.2, without the verification URIs (the web layer knows them).
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// `XXXX-XXXX`.
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// A pending request a person is about to decide on.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    /// `XXXX-XXXX`.
    pub user_code: String,
    pub client_id: String,
    pub client_name: String,
    pub scope: ScopeSet,
    pub device_ip: Option<String>,
    pub device_agent: Option<String>,
}

/// Why a user code cannot be decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCodeError {
    /// Unknown, used, decided or expired (indistinguishable on purpose).
    Unknown,
    /// The client admits only certain groups, and the person is in none.
    NotInAllowedGroup,
    /// Too many wrong codes from this source: retry after this many seconds.
    Throttled(u32),
    /// The server cannot answer now.
    Unavailable,
}

/// The person deciding, from their browser session.
#[derive(Debug, Clone)]
pub struct Decider<'a> {
    pub user_id: &'a str,
    pub auth_time: i64,
    pub sid: Option<&'a str>,
    pub source: Option<&'a str>,
}

impl TokenService {
    /// The device authorization endpoint (RFC 8628 §3.1–3.2), with client
    /// authentication as at the token endpoint.
    ///
    /// # Errors
    /// An RFC 6749 §5.2 error.
    pub async fn device_authorization(
        &self,
        ctx: &TenantContext,
        auth: &PresentedAuth,
        scope: Option<&str>,
        device: DeviceInfo,
        source: Option<&str>,
    ) -> Result<DeviceAuthorization, TokenError> {
        let authed = self.authenticate_client(ctx, auth, source).await?;
        let requested = match scope {
            Some(s) => Some(ScopeSet::parse_param(s).map_err(|e| TokenError::invalid_scope(&e.message))?),
            None => None,
        };
        let scope = core_device::start(&authed.client, requested.as_ref(), &authed.allowed_scope)?;
        let now = self.kernel.now();
        let device_code = self.kernel.new_secret_handle(DEVICE_CODE_PREFIX).ok_or_else(TokenError::unavailable)?;
        // A user code taken in the tenant (about one in 2^34) is drawn again.
        for _ in 0..4 {
            let user_code = self.new_user_code();
            let rec = DeviceRecord {
                device_hash: token_hash(&device_code),
                user_code_hash: token_hash(user_code.as_str()),
                client_id: authed.client.client_id.as_str().to_owned(),
                scope: scope.to_string(),
                device_ip: device.ip.clone(),
                device_agent: device.user_agent.clone(),
                created_at: now,
                expires_at: now + DEVICE_CODE_LIFETIME,
                interval: POLL_INTERVAL,
                last_polled_at: None,
                client_epoch: authed.client.token_epoch,
                status: DeviceStatus::Pending,
                approval: None,
                family_id: None,
            };
            match self.kernel.store.insert_device_code(&ctx.id, &rec).await {
                Ok(()) => {
                    return Ok(DeviceAuthorization {
                        device_code,
                        user_code: user_code.display(),
                        expires_in: DEVICE_CODE_LIFETIME,
                        interval: POLL_INTERVAL,
                    });
                }
                Err(StoreError::Conflict(_)) => {}
                Err(_) => return Err(TokenError::unavailable()),
            }
        }
        Err(TokenError::unavailable())
    }

    fn new_user_code(&self) -> UserCode {
        loop {
            let mut bytes = [0u8; 32];
            self.kernel.rng.fill(&mut bytes);
            if let Some(code) = UserCode::from_random(&bytes) {
                return code;
            }
        }
    }

    /// The pending request a typed user code names. Wrong codes count
    /// against the source (RFC 8628 §5.1).
    ///
    /// # Errors
    /// See [`UserCodeError`].
    pub async fn pending_device(
        &self,
        ctx: &TenantContext,
        typed: &str,
        source: Option<&str>,
    ) -> Result<(PendingDevice, Vec<u8>), UserCodeError> {
        self.find_pending(ctx, typed, source).await.map(|(p, hash, _)| (p, hash))
    }

    /// The pending request a typed user code names, for this person to
    /// decide on: refused when the client's groups do not admit them.
    ///
    /// # Errors
    /// See [`UserCodeError`].
    pub async fn pending_device_for(
        &self,
        ctx: &TenantContext,
        typed: &str,
        user_id: &str,
        source: Option<&str>,
    ) -> Result<PendingDevice, UserCodeError> {
        let (pending, _, client) = self.find_pending(ctx, typed, source).await?;
        let user = self.live_user(ctx, user_id).await.map_err(|_| UserCodeError::Unavailable)?;
        let Some(user) = user else { return Err(UserCodeError::Unknown) };
        if !core_device::may_approve(&client, &user.groups) {
            return Err(UserCodeError::NotInAllowedGroup);
        }
        Ok(pending)
    }

    async fn find_pending(
        &self,
        ctx: &TenantContext,
        typed: &str,
        source: Option<&str>,
    ) -> Result<(PendingDevice, Vec<u8>, latchkey_core::Client), UserCodeError> {
        let key = throttle::user_code_key(source);
        let keys = [(key.as_str(), throttle::USER_CODE)];
        if let Some(wait) = self.throttle.throttle_wait(&ctx.id, &keys).await.map_err(|_| UserCodeError::Unavailable)? {
            return Err(UserCodeError::Throttled(wait));
        }
        let now = self.kernel.now();
        let found = match UserCode::parse(typed) {
            Some(code) => self
                .kernel
                .store
                .find_pending_user_code(&ctx.id, &token_hash(code.as_str()), now)
                .await
                .map_err(|_| UserCodeError::Unavailable)?
                .map(|rec| (code, rec)),
            None => None,
        };
        let client = match &found {
            Some((_, rec)) => self.live_client(ctx, &rec.client_id, rec.client_epoch).await?,
            None => None,
        };
        let (Some((code, rec)), Some(client)) = (found, client) else {
            self.throttle.throttle_fail(&ctx.id, &keys).await.map_err(|_| UserCodeError::Unavailable)?;
            return Err(UserCodeError::Unknown);
        };
        let scope = ScopeSet::parse_param(&rec.scope).map_err(|_| UserCodeError::Unknown)?;
        let pending = PendingDevice {
            user_code: code.display(),
            client_id: rec.client_id,
            client_name: client.name.clone(),
            scope,
            device_ip: rec.device_ip,
            device_agent: rec.device_agent,
        };
        Ok((pending, rec.device_hash, client))
    }

    async fn live_client(
        &self,
        ctx: &TenantContext,
        client_id: &str,
        epoch: i64,
    ) -> Result<Option<latchkey_core::Client>, UserCodeError> {
        let Ok(id) = latchkey_core::ClientId::parse(client_id) else { return Ok(None) };
        let client = self.kernel.store.get_client(&ctx.id, &id).await.map_err(|_| UserCodeError::Unavailable)?;
        Ok(client.filter(|c| c.is_active() && c.token_epoch == epoch))
    }

    /// A person allows (`allow`) or denies the request a user code names.
    /// Returns `false` when it was no longer pending (decided meanwhile,
    /// expired).
    ///
    /// # Errors
    /// See [`UserCodeError`].
    pub async fn decide_device(
        &self,
        ctx: &TenantContext,
        typed: &str,
        decider: &Decider<'_>,
        allow: bool,
    ) -> Result<bool, UserCodeError> {
        let (pending, device_hash, client) = self.find_pending(ctx, typed, decider.source).await?;
        let user = self.live_user(ctx, decider.user_id).await.map_err(|_| UserCodeError::Unavailable)?;
        let Some(user) = user else { return Err(UserCodeError::Unknown) };
        if !core_device::may_approve(&client, &user.groups) {
            return Err(UserCodeError::NotInAllowedGroup);
        }
        let approval = DeviceApproval {
            user_id: user.user_id.clone(),
            user_epoch: user.token_epoch,
            auth_time: decider.auth_time,
            sid: decider.sid.map(str::to_owned),
        };
        let action = if allow { "device.approve" } else { "device.deny" };
        let audit = self.kernel.flow_audit(&user.user_id, action, "client", &pending.client_id, decider.source);
        let approval = allow.then_some(&approval);
        self.kernel
            .store
            .decide_device_code(&ctx.id, &device_hash, self.kernel.now(), approval, &audit)
            .await
            .map_err(|_| UserCodeError::Unavailable)
    }

    /// The token endpoint with `grant_type=urn:ietf:params:oauth:grant-type:device_code`
    /// (RFC 8628 §3.4–3.5).
    pub(super) async fn device_code_grant(
        &self,
        ctx: &TenantContext,
        authed: &AuthenticatedClient,
        req: &super::TokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let client = &authed.client;
        let code = req
            .device_code
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TokenError::invalid_request("device_code is required"))?;
        let hash = token_hash(code);
        let now = self.kernel.now();
        let rec =
            self.kernel.store.get_device_code(&ctx.id, &hash).await.map_err(unavailable)?.ok_or_else(bad_grant)?;
        let user = match &rec.approval {
            Some(a) => self.live_user(ctx, &a.user_id).await?,
            None => None,
        };
        let state = match (rec.status, &rec.approval) {
            (DeviceStatus::Pending, _) => DeviceState::Pending,
            (DeviceStatus::Approved, Some(a)) => DeviceState::Approved { user_epoch: a.user_epoch },
            (DeviceStatus::Denied, _) => DeviceState::Denied,
            (DeviceStatus::Redeemed | DeviceStatus::Approved, _) => DeviceState::Redeemed,
        };
        let stored = StoredDevice {
            client_id: &rec.client_id,
            state,
            created_at: rec.created_at,
            expires_at: rec.expires_at,
            interval: rec.interval,
            last_polled_at: rec.last_polled_at,
            client_epoch: rec.client_epoch,
        };
        let decision = core_device::poll(&stored, client, user.as_ref().map(|u| u.token_epoch), now)?;
        if let Some(error) = decision.error() {
            let interval = match decision {
                PollDecision::SlowDown { interval } => interval,
                _ => rec.interval,
            };
            self.kernel.store.record_device_poll(&ctx.id, &hash, now, interval).await.map_err(unavailable)?;
            return Err(error);
        }
        let (Some(user), Some(approval)) = (user, rec.approval.as_ref()) else { return Err(bad_grant()) };
        let scope = ScopeSet::parse_param(&rec.scope).map_err(|_| bad_grant())?;
        let access = self.user_access_token(ctx, client, (&user.user_id, user.token_epoch), &scope, "device_code")?;
        let plan = if client.config.grant_types.contains(&latchkey_core::GrantType::RefreshToken) {
            let family_id = self.kernel.random_id(16);
            let expires_at = now + Self::refresh_lifetime(ctx, client);
            let (handle, token) = self.new_refresh(&family_id, expires_at, (&access.jti, access.exp))?;
            let family = FamilyRecord {
                family_id,
                client_id: client.client_id.as_str().to_owned(),
                user_id: user.user_id.clone(),
                scope: rec.scope.clone(),
                auth_time: approval.auth_time,
                sid: approval.sid.clone(),
                created_at: now,
                expires_at,
                revoked_at: None,
                client_epoch: client.token_epoch,
                user_epoch: user.token_epoch,
            };
            Some(RefreshPlan { family, token, handle })
        } else {
            None
        };
        let redeemed = self
            .kernel
            .store
            .redeem_device_code(&ctx.id, &hash, now, plan.as_ref().map(|p| (&p.family, &p.token)))
            .await
            .map_err(unavailable)?;
        if !redeemed {
            // Another poll redeemed it first.
            return Err(bad_grant());
        }
        let id_token = if scope.contains("openid") {
            Some(self.id_token(
                ctx,
                client,
                &IdTokenInput {
                    user_id: &user.user_id,
                    auth_time: approval.auth_time,
                    nonce: None,
                    sid: approval.sid.as_deref(),
                    access_token: Some(&access.token),
                    code: None,
                },
            )?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            scope: (!scope.is_empty()).then(|| scope.to_string()),
            refresh_token: plan.map(|p| p.handle),
            id_token,
        })
    }
}
