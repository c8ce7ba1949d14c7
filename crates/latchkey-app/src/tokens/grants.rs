//! The grants that act for a user: `authorization_code` (RFC 6749 §4.1.3,
//! RFC 7636), `refresh_token` (§6, rotation with reuse detection) and the
//! legacy `password` grant (§4.3).
//!
//! Single use is the database's decision (`CodeRepo::redeem_code`,
//! `RefreshRepo::rotate_refresh`): a check here followed by a write would be
//! a race. Checks that only the legitimate client can pass (client binding,
//! redirect URI, PKCE verifier) come first, so a thief replaying a code with
//! bad credentials cannot revoke the legitimate tokens (checklist item 32).

use latchkey_core::token::refresh_scope;
use latchkey_core::user_grant::{
    self as user_grant, CodeDecision, Redemption, RefreshDecision, StoredCode, StoredRefresh, redeem_code, use_refresh,
};
use latchkey_core::{Client, GrantType, Lifetime, ScopeSet, TokenError, UnixTime};
use latchkey_crypto::jws::pkce_s256;
use latchkey_crypto::secret::token_hash;
use latchkey_store::{CodeRecord, FamilyRecord, RefreshRecord};
use serde::{Deserialize, Serialize};

use super::TokenResponse;
use super::TokenService;
use super::user::IdTokenInput;
use crate::tenants::TenantContext;
use crate::throttle;
use crate::tokens::client_auth::AuthenticatedClient;

/// Prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "lkrt_";

fn bad_grant() -> TokenError {
    TokenError::invalid_grant("the grant is invalid, expired, revoked or was issued to another client")
}

fn unavailable<E>(_: E) -> TokenError {
    TokenError::unavailable()
}

fn param<'a>(v: Option<&'a String>, name: &str) -> Result<&'a str, TokenError> {
    v.map(String::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| TokenError::invalid_request(&format!("{name} is required")))
}

/// What a rotation answered, kept (sealed) with the rotated token.
#[derive(Serialize, Deserialize)]
struct Successor {
    access_token: String,
    access_exp: UnixTime,
    scope: Option<String>,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

/// Associated data of a sealed successor: a different domain from opaque
/// access tokens (`lkat/…`) under the same subkey.
fn successor_aad(ctx: &TenantContext, family_id: &str, old_hash: &[u8]) -> Vec<u8> {
    crate::sealing::refresh_successor_aad(ctx.id.as_str(), family_id, old_hash)
}

/// What the core's refresh decision needs of a loaded token and family.
fn stored_refresh<'a>(t: &'a RefreshRecord, f: &'a FamilyRecord) -> StoredRefresh<'a> {
    StoredRefresh {
        client_id: &f.client_id,
        family_revoked: f.revoked_at.is_some(),
        expires_at: t.expires_at,
        family_expires_at: f.expires_at,
        created_at: t.created_at,
        used_at: t.used_at,
        client_epoch: f.client_epoch,
        user_epoch: f.user_epoch,
    }
}

/// What a new refresh token is issued for.
pub(super) struct RefreshPlan {
    pub(super) family: FamilyRecord,
    pub(super) token: RefreshRecord,
    pub(super) handle: String,
}

impl TokenService {
    pub(super) fn refresh_lifetime(ctx: &TenantContext, client: &Client) -> i64 {
        let s = &ctx.settings;
        i64::from(
            Lifetime::effective(
                client.config.refresh_token_lifetime,
                s.default_refresh_token_lifetime,
                s.max_refresh_token_lifetime,
            )
            .seconds,
        )
    }

    pub(super) fn new_refresh(
        &self,
        family_id: &str,
        expires_at: UnixTime,
        access: (&str, UnixTime),
    ) -> Result<(String, RefreshRecord), TokenError> {
        let handle = self.kernel.new_secret_handle(REFRESH_PREFIX).ok_or_else(TokenError::unavailable)?;
        let record = RefreshRecord {
            token_hash: token_hash(&handle),
            family_id: family_id.to_owned(),
            created_at: self.kernel.now(),
            expires_at,
            used_at: None,
            access_jti: access.0.to_owned(),
            access_exp: access.1,
            successor: None,
        };
        Ok((handle, record))
    }

    /// Revokes a refresh family and every live access token issued in it.
    async fn revoke_family_and_tokens(
        &self,
        ctx: &TenantContext,
        family_id: &str,
        client_id: &str,
        action: &str,
    ) -> Result<(), TokenError> {
        let mut audit = self.kernel.flow_audit(client_id, action, "refresh_family", family_id, None);
        audit.actor_type = "client".to_owned();
        let live = self
            .kernel
            .store
            .revoke_family(&ctx.id, family_id, self.kernel.now(), &audit)
            .await
            .map_err(unavailable)?;
        for (jti, exp) in live {
            self.record_revocation(&ctx.id, &jti, client_id, exp).await.map_err(unavailable)?;
        }
        Ok(())
    }

    /// A replayed code: revoke what its redemption produced (RFC 6749 §4.1.2).
    async fn revoke_code_products(&self, ctx: &TenantContext, code: &CodeRecord) -> Result<(), TokenError> {
        if let (Some(jti), Some(exp)) = (&code.access_jti, code.access_exp)
            && exp > self.kernel.now()
        {
            self.record_revocation(&ctx.id, jti, &code.client_id, exp).await.map_err(unavailable)?;
        }
        if let Some(f) = &code.family_id {
            self.revoke_family_and_tokens(ctx, f, &code.client_id, "code.replay").await?;
        }
        Ok(())
    }

    /// The user, when they exist and are active (the one lookup every user
    /// grant and refresh-token check makes).
    pub(super) async fn live_user(
        &self,
        ctx: &TenantContext,
        user_id: &str,
    ) -> Result<Option<latchkey_store::UserRecord>, TokenError> {
        Ok(self.kernel.store.get_user(&ctx.id, user_id).await.map_err(unavailable)?.filter(|u| u.status.is_active()))
    }

    pub(super) async fn authorization_code_grant(
        &self,
        ctx: &TenantContext,
        authed: &AuthenticatedClient,
        req: &super::TokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let client = &authed.client;
        if !client.config.grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(TokenError::unauthorized_client("this client may not use the authorization_code grant"));
        }
        let code = param(req.code.as_ref(), "code")?;
        let now = self.kernel.now();
        let hash = token_hash(code);
        // Load, decide (latchkey_core::user_grant), persist.
        let rec = self.kernel.store.get_code(&ctx.id, &hash).await.map_err(unavailable)?.ok_or_else(bad_grant)?;
        let user = self.live_user(ctx, &rec.user_id).await?;
        let verifier = req.code_verifier.as_deref().filter(|v| !v.is_empty());
        let verifier_s256 = verifier.map(pkce_s256);
        let stored = StoredCode {
            client_id: &rec.client_id,
            redirect_uri: &rec.redirect_uri,
            redirect_uri_given: rec.redirect_uri_given,
            code_challenge: rec.code_challenge.as_deref(),
            expires_at: rec.expires_at,
            used: rec.used_at.is_some(),
            client_epoch: rec.client_epoch,
            user_epoch: rec.user_epoch,
        };
        let redemption = Redemption {
            client,
            redirect_uri: req.redirect_uri.as_deref().filter(|r| !r.is_empty()),
            code_verifier: verifier,
            verifier_s256: verifier_s256.as_deref(),
            user_epoch: user.as_ref().map(|u| u.token_epoch),
            now,
        };
        if redeem_code(&stored, &redemption)? == CodeDecision::Replay {
            self.revoke_code_products(ctx, &rec).await?;
            return Err(TokenError::invalid_grant("the code was already used; the tokens it produced are revoked"));
        }
        let user = user.ok_or_else(bad_grant)?;
        let scope = ScopeSet::parse_param(&rec.scope).map_err(|_| bad_grant())?;
        let access =
            self.user_access_token(ctx, client, (&user.user_id, user.token_epoch), &scope, "authorization_code")?;
        let plan = if client.config.grant_types.contains(&GrantType::RefreshToken) {
            let family_id = self.kernel.random_id(16);
            let expires_at = now + Self::refresh_lifetime(ctx, client);
            let (handle, token) = self.new_refresh(&family_id, expires_at, (&access.jti, access.exp))?;
            let family = FamilyRecord {
                family_id,
                client_id: client.client_id.as_str().to_owned(),
                user_id: user.user_id.clone(),
                scope: rec.scope.clone(),
                auth_time: rec.auth_time,
                sid: rec.sid.clone(),
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
            .redeem_code(&ctx.id, &hash, now, (&access.jti, access.exp), plan.as_ref().map(|p| (&p.family, &p.token)))
            .await
            .map_err(unavailable)?;
        if !redeemed {
            // Lost a race with another redemption of the same code.
            if let Some(current) = self.kernel.store.get_code(&ctx.id, &hash).await.map_err(unavailable)? {
                self.revoke_code_products(ctx, &current).await?;
            }
            return Err(TokenError::invalid_grant("the code was already used"));
        }
        let id_token = if scope.contains("openid") {
            Some(self.id_token(
                ctx,
                client,
                &IdTokenInput {
                    user_id: &user.user_id,
                    auth_time: rec.auth_time,
                    nonce: rec.nonce.as_deref(),
                    sid: rec.sid.as_deref(),
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

    pub(super) async fn refresh_token_grant(
        &self,
        ctx: &TenantContext,
        authed: &AuthenticatedClient,
        req: &super::TokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let client = &authed.client;
        if !client.config.grant_types.contains(&GrantType::RefreshToken) {
            return Err(TokenError::unauthorized_client("this client may not use the refresh_token grant"));
        }
        let presented = param(req.refresh_token.as_ref(), "refresh_token")?;
        let now = self.kernel.now();
        let hash = token_hash(presented);
        // Load, decide (latchkey_core::user_grant), persist.
        let (token, family) =
            self.kernel.store.get_refresh(&ctx.id, &hash).await.map_err(unavailable)?.ok_or_else(bad_grant)?;
        let user = self.live_user(ctx, &family.user_id).await?;
        let rotate =
            match use_refresh(&stored_refresh(&token, &family), client, user.as_ref().map(|u| u.token_epoch), now)? {
                RefreshDecision::Issue { rotate } => rotate,
                reuse => return self.refresh_reuse(ctx, client, &token, &family, &reuse).await,
            };
        let user = user.ok_or_else(bad_grant)?;
        let granted = ScopeSet::parse_param(&family.scope).map_err(|_| bad_grant())?;
        let requested = match req.scope.as_deref() {
            Some(s) => Some(ScopeSet::parse_param(s).map_err(|e| TokenError::invalid_scope(&e.message))?),
            None => None,
        };
        let consented = if client.config.require_consent {
            let c = self
                .kernel
                .store
                .get_consent(&ctx.id, &user.user_id, client.client_id.as_str())
                .await
                .map_err(unavailable)?
                .ok_or_else(bad_grant)?;
            Some(ScopeSet::parse_param(&c.scope).map_err(|_| bad_grant())?)
        } else {
            None
        };
        let scope = refresh_scope(requested.as_ref(), &granted, &authed.allowed_scope, consented.as_ref())?;
        let access = self.user_access_token(ctx, client, (&user.user_id, user.token_epoch), &scope, "refresh_token")?;
        let id_token = if scope.contains("openid") {
            Some(self.id_token(
                ctx,
                client,
                &IdTokenInput {
                    user_id: &user.user_id,
                    auth_time: family.auth_time,
                    nonce: None,
                    sid: family.sid.as_deref(),
                    access_token: Some(&access.token),
                    code: None,
                },
            )?)
        } else {
            None
        };
        let mut response = TokenResponse {
            access_token: access.token.clone(),
            token_type: "Bearer",
            expires_in: access.expires_in,
            scope: (!scope.is_empty()).then(|| scope.to_string()),
            refresh_token: None,
            id_token,
        };
        let (handle, mut record) = self.new_refresh(&family.family_id, family.expires_at, (&access.jti, access.exp))?;
        let sealed = if rotate {
            response.refresh_token = Some(handle);
            Some(self.seal_successor(ctx, &family.family_id, &hash, &response, access.exp)?)
        } else {
            // Without rotation the presented token stays the family's one
            // live refresh token; a used row records the access token, so
            // revoking the family revokes it too.
            record.used_at = Some(now);
            response.refresh_token = Some(presented.to_owned());
            None
        };
        let used = self
            .kernel
            .store
            .rotate_refresh(&ctx.id, &hash, now, rotate, &record, sealed.as_deref())
            .await
            .map_err(unavailable)?;
        if used {
            return Ok(response);
        }
        // Another request used it first (or the family was revoked
        // meanwhile): this access token never leaves.
        self.record_revocation(&ctx.id, &access.jti, client.client_id.as_str(), access.exp)
            .await
            .map_err(unavailable)?;
        let (t, f) = self.kernel.store.get_refresh(&ctx.id, &hash).await.map_err(unavailable)?.ok_or_else(bad_grant)?;
        // The token is used now, so the decision is reuse (or a refusal);
        // the user epoch only matters for an unused token and is passed
        // through unchanged. A successor's user is checked before replay.
        match use_refresh(&stored_refresh(&t, &f), client, Some(f.user_epoch), now)? {
            RefreshDecision::Issue { .. } => Err(bad_grant()),
            reuse => self.refresh_reuse(ctx, client, &t, &f, &reuse).await,
        }
    }

    /// A rotated refresh token presented again. Inside the client's grace
    /// window, while the successor it was rotated to is still unused, the
    /// answer is the one that rotation gave (same access and refresh token):
    /// parallel retries never mint new live members of the family. Anything
    /// else is reuse (RFC 9700 §4.14.2): the whole family is revoked.
    async fn refresh_reuse(
        &self,
        ctx: &TenantContext,
        client: &Client,
        token: &RefreshRecord,
        family: &FamilyRecord,
        decision: &RefreshDecision,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.kernel.now();
        if *decision == RefreshDecision::ReplaySuccessor
            && let Some(sealed) = &token.successor
            && let Some(answer) = self.open_successor(ctx, &family.family_id, &token.token_hash, sealed, now)
            && self.successor_is_live(ctx, family, &answer).await?
        {
            return Ok(answer);
        }
        self.revoke_family_and_tokens(ctx, &family.family_id, client.client_id.as_str(), "refresh.reuse").await?;
        Err(TokenError::invalid_grant("the refresh token was already used; its family is revoked"))
    }

    /// The successor refresh token is unused, its family live and its user
    /// still the incarnation the family was granted to.
    async fn successor_is_live(
        &self,
        ctx: &TenantContext,
        family: &FamilyRecord,
        answer: &TokenResponse,
    ) -> Result<bool, TokenError> {
        let Some(next) = answer.refresh_token.as_deref() else { return Ok(false) };
        let Some((t, f)) = self.kernel.store.get_refresh(&ctx.id, &token_hash(next)).await.map_err(unavailable)? else {
            return Ok(false);
        };
        if t.used_at.is_some() || f.revoked_at.is_some() || f.family_id != family.family_id {
            return Ok(false);
        }
        Ok(self.live_user(ctx, &family.user_id).await?.is_some_and(|u| u.token_epoch == family.user_epoch))
    }

    /// The answer of a rotation, sealed under the master key and bound to
    /// the tenant, the family and the rotated token.
    fn seal_successor(
        &self,
        ctx: &TenantContext,
        family_id: &str,
        old_hash: &[u8],
        response: &TokenResponse,
        access_exp: UnixTime,
    ) -> Result<Vec<u8>, TokenError> {
        let kept = Successor {
            access_token: response.access_token.clone(),
            access_exp,
            scope: response.scope.clone(),
            refresh_token: response.refresh_token.clone(),
            id_token: response.id_token.clone(),
        };
        let plain = serde_json::to_vec(&kept).map_err(unavailable)?;
        self.opaque.seal(&plain, &successor_aad(ctx, family_id, old_hash)).map_err(unavailable)
    }

    fn open_successor(
        &self,
        ctx: &TenantContext,
        family_id: &str,
        old_hash: &[u8],
        sealed: &[u8],
        now: UnixTime,
    ) -> Option<TokenResponse> {
        let plain = self.opaque.open(sealed, &successor_aad(ctx, family_id, old_hash)).ok()?;
        let kept: Successor = serde_json::from_slice(&plain).ok()?;
        Some(TokenResponse {
            access_token: kept.access_token,
            token_type: "Bearer",
            expires_in: u32::try_from((kept.access_exp - now).max(0)).unwrap_or(0),
            scope: kept.scope,
            refresh_token: kept.refresh_token,
            id_token: kept.id_token,
        })
    }

    /// The legacy resource-owner password grant (RFC 6749 §4.3; RFC 9700
    /// §2.4 says not to use it): only where the tenant enables legacy grants
    /// and the client has it, and slowed down like the login page.
    pub(super) async fn password_grant(
        &self,
        ctx: &TenantContext,
        authed: &AuthenticatedClient,
        req: &super::TokenRequest,
        source: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let client = &authed.client;
        let requested = match req.scope.as_deref() {
            Some(s) => Some(ScopeSet::parse_param(s).map_err(|e| TokenError::invalid_scope(&e.message))?),
            None => None,
        };
        let scope = user_grant::password(
            client,
            ctx.settings.legacy_grants_enabled,
            requested.as_ref(),
            &authed.allowed_scope,
        )?;
        let username = param(req.username.as_ref(), "username")?;
        let password = param(req.password.as_ref(), "password")?;
        let user_key = throttle::password_key(username, source);
        let source_key = throttle::source_key(source);
        let keys = [(user_key.as_str(), throttle::PASSWORD), (source_key.as_str(), throttle::SOURCE)];
        if let Some(wait) = self.throttle.throttle_wait(&ctx.id, &keys).await.map_err(unavailable)? {
            let mut e = TokenError::invalid_grant("too many failed attempts; retry later");
            e.retry_after = Some(wait);
            return Err(e);
        }
        let checked = self.kernel.verify_password_record(ctx, username, password).await.map_err(|e| match e {
            crate::AppError::Busy(_) => TokenError::busy(),
            _ => TokenError::unavailable(),
        })?;
        let Some(user) = checked else {
            self.throttle.throttle_fail(&ctx.id, &keys).await.map_err(unavailable)?;
            return Err(TokenError::invalid_grant("the username or password is not correct"));
        };
        self.kernel.store.clear_throttle(&ctx.id, &user_key).await.map_err(unavailable)?;
        let access = self.user_access_token(ctx, client, (&user.user_id, user.token_epoch), &scope, "password")?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            scope: (!scope.is_empty()).then(|| scope.to_string()),
            refresh_token: None,
            id_token: None,
        })
    }

    /// RFC 7009 for refresh tokens: revoking one revokes its family and the
    /// family's access tokens. Only the client it was issued to may.
    /// Introspection of a refresh token (RFC 7662 covers every token the
    /// server issues): active only to the client it was issued to, while it
    /// is unexpired, not yet rotated away, its family unrevoked and its user
    /// active. Anyone else learns only `active: false`.
    pub(super) async fn introspect_refresh(
        &self,
        ctx: &TenantContext,
        caller_id: &str,
        token: &str,
    ) -> Result<Option<super::IntrospectionDetails>, TokenError> {
        let Some((t, family)) =
            self.kernel.store.get_refresh(&ctx.id, &token_hash(token)).await.map_err(unavailable)?
        else {
            return Ok(None);
        };
        let now = self.kernel.now();
        if family.client_id != caller_id
            || family.revoked_at.is_some()
            || t.used_at.is_some()
            || t.expires_at.min(family.expires_at) <= now
            || self
                .live_user(ctx, &family.user_id)
                .await
                .ok()
                .flatten()
                .is_none_or(|u| u.token_epoch != family.user_epoch)
        {
            return Ok(None);
        }
        let client = match latchkey_core::ClientId::parse(caller_id) {
            Ok(id) => self.kernel.client_for_auth(&ctx.id, &id).await.map_err(unavailable)?,
            Err(_) => None,
        };
        if !client.is_some_and(|c| c.client.honours_token(t.created_at, family.client_epoch)) {
            return Ok(None);
        }
        Ok(Some(super::IntrospectionDetails {
            scope: family.scope,
            aud: family.client_id.clone(),
            client_id: family.client_id,
            sub: family.user_id,
            iss: ctx.issuer.clone(),
            exp: t.expires_at.min(family.expires_at),
            iat: t.created_at,
            jti: None,
            token_type: "refresh_token",
        }))
    }

    pub(super) async fn revoke_refresh(
        &self,
        ctx: &TenantContext,
        client_id: &str,
        token: &str,
    ) -> Result<(), TokenError> {
        let Some((_, family)) =
            self.kernel.store.get_refresh(&ctx.id, &token_hash(token)).await.map_err(unavailable)?
        else {
            return Ok(());
        };
        if family.client_id == client_id && family.revoked_at.is_none() {
            self.revoke_family_and_tokens(ctx, &family.family_id, client_id, "refresh.revoke").await?;
        }
        Ok(())
    }
}
