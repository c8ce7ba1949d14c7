//! Authorizations: the grant a remote client obtains (by
//! client_credentials here, by the authorization-code flow in
//! [`super::code_flow`]) and the current access token internal callers fetch.
//!
//! Fetching a token: read the stored authorization; if its token is not yet
//! due for renewal (`latchkey_core::remote::refresh_due`), return it. If it
//! is, take this authorization's lock (one per tenant, namespace and name,
//! in this process) and look again: when the generation moved while we
//! waited, another caller renewed it and its token is returned; otherwise
//! renew it upstream (refresh token if the provider gave one, else
//! client_credentials again) and write the new tokens — a rotated refresh
//! token included — in one update guarded by the generation (so a rotated
//! refresh token is written in the same transaction as the access token
//! that came with it). Concurrent callers thus cause one upstream request. When the provider refuses for
//! good (`invalid_grant`, `invalid_client`, `unauthorized_client`), the
//! authorization becomes `needs_reauthorization`. Every retrieval writes an
//! audit event, without the token.

use std::collections::HashMap;
use std::sync::Arc;

use latchkey_core::remote::refresh_due;
use latchkey_store::{AuthorizationRecord, RemoteClientRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::RemoteService;
use super::http::{UpstreamError, UpstreamRequest};
use super::{ProviderSettings, RemoteAuthMethod, TokenParams, target};
use crate::AppError;
use crate::admin::Actor;
use crate::tenants::TenantContext;

pub const ACTIVE: &str = "active";
pub const NEEDS_REAUTHORIZATION: &str = "needs_reauthorization";

/// RFC 7523 §2.2.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Seconds a client assertion is valid: long enough for one request.
const ASSERTION_LIFETIME: i64 = 60;

/// Which remote client should obtain an authorization.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAuthorization {
    pub namespace: String,
    pub name: String,
    /// Only `client_credentials` for now (the default).
    pub grant_type: Option<String>,
}

/// An authorization as shown: never its tokens.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationView {
    pub namespace: String,
    pub name: String,
    pub grant_type: String,
    /// `active`, or `needs_reauthorization` when the provider refused for good.
    pub status: String,
    pub scope: Option<String>,
    /// When the current access token expires (Unix seconds), if known.
    pub expires_at: Option<i64>,
    pub has_refresh_token: bool,
    /// The provider's last refusal (an RFC 6749 error code and description).
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A current access token of an authorization.
// `Debug` is written by hand below: it hides the token.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationToken {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until it expires, if known.
    pub expires_in: Option<i64>,
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for AuthorizationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationToken")
            .field("access_token", &"****")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What is sealed in `sealed_tokens`.
#[derive(Serialize, Deserialize)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    token_type: String,
    pub(crate) refresh_token: Option<String>,
}

/// The provider's RFC 6749 §5.1 answer.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: String,
    pub(crate) token_type: Option<String>,
    pub(crate) expires_in: Option<i64>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) scope: Option<String>,
    /// OIDC: present when `openid` was requested in a code flow.
    pub(crate) id_token: Option<String>,
}

/// How asking the provider went.
pub(crate) enum Outcome {
    Tokens(TokenAnswer),
    /// The provider refused for good: an RFC 6749 error code and detail.
    Refused(String),
}

/// Per-authorization locks of this process (see the module comment).
#[derive(Debug, Default)]
pub(crate) struct Flights(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl Flights {
    pub(crate) fn lock_for(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(key).or_default().clone()
    }
}

fn view(r: &AuthorizationRecord, has_refresh: bool) -> AuthorizationView {
    AuthorizationView {
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        grant_type: r.grant_type.clone(),
        status: r.status.clone(),
        scope: r.scope.clone(),
        expires_at: r.expires_at,
        has_refresh_token: has_refresh,
        last_error: r.last_error.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn tokens_aad(ctx: &TenantContext, ns: &str, name: &str) -> String {
    crate::sealing::remote_tokens_aad(ctx.id.as_str(), ns, name)
}

/// An RFC 6749 error code, cut to its allowed characters (it is shown).
fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\').take(max).collect()
}

impl RemoteService {
    fn seal_tokens(&self, ctx: &TenantContext, ns: &str, name: &str, t: &Tokens) -> Result<Vec<u8>, AppError> {
        let plain = serde_json::to_vec(t).map_err(|e| AppError::Internal(e.to_string()))?;
        self.remote_envelope
            .seal(&plain, tokens_aad(ctx, ns, name).as_bytes())
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    pub(crate) fn open_tokens(&self, ctx: &TenantContext, r: &AuthorizationRecord) -> Result<Tokens, AppError> {
        let plain = self
            .remote_envelope
            .open(&r.sealed_tokens, tokens_aad(ctx, &r.namespace, &r.name).as_bytes())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|_| AppError::Internal("stored remote tokens are invalid".into()))
    }

    fn authorization_view(&self, ctx: &TenantContext, r: &AuthorizationRecord) -> AuthorizationView {
        let has_refresh = self.open_tokens(ctx, r).ok().is_some_and(|t| t.refresh_token.is_some());
        view(r, has_refresh)
    }

    /// Sends one token request for `rc` to its provider.
    pub(crate) async fn ask_provider(
        &self,
        ctx: &TenantContext,
        rc: &RemoteClientRecord,
        grant: &[(&str, &str)],
    ) -> Result<Outcome, AppError> {
        let provider = self.kernel.store.get_provider(&ctx.id, &rc.provider).await?.ok_or_else(|| {
            AppError::Conflict(format!("the provider {} of this remote client no longer exists", rc.provider))
        })?;
        let settings: ProviderSettings = serde_json::from_str(&provider.settings)
            .map_err(|_| AppError::Internal("stored provider is invalid".into()))?;
        let endpoint = settings
            .token_endpoint
            .clone()
            .ok_or_else(|| AppError::Conflict(format!("the provider {} has no token endpoint", rc.provider)))?;
        let params: TokenParams = serde_json::from_str(&rc.params).unwrap_or_default();
        let secret = self.open_remote_secret(ctx, rc)?;
        let mut form: Vec<(String, String)> = grant.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let is_cc = grant.iter().any(|(k, v)| *k == "grant_type" && *v == "client_credentials");
        if is_cc {
            let scope = params
                .scope
                .clone()
                .or_else(|| (!settings.default_scopes.is_empty()).then(|| settings.default_scopes.join(" ")));
            if let Some(s) = scope {
                form.push(("scope".into(), s));
            }
        }
        if let Some(a) = &params.audience {
            form.push(("audience".into(), a.clone()));
        }
        if let Some(r) = &params.resource {
            form.push(("resource".into(), r.clone()));
        }
        for (k, v) in &params.extra {
            form.push((k.clone(), v.clone()));
        }
        let basic = match (settings.token_endpoint_auth_method, secret) {
            (RemoteAuthMethod::PrivateKeyJwt, _) => {
                let assertion = self.client_assertion(ctx, &settings, &rc.client_id)?;
                form.push(("client_id".into(), rc.client_id.clone()));
                form.push(("client_assertion_type".into(), ASSERTION_TYPE.into()));
                form.push(("client_assertion".into(), assertion));
                None
            }
            (RemoteAuthMethod::ClientSecretBasic, Some(s)) => Some((rc.client_id.clone(), s)),
            (RemoteAuthMethod::ClientSecretPost, Some(s)) => {
                form.push(("client_id".into(), rc.client_id.clone()));
                form.push(("client_secret".into(), s));
                None
            }
            (_, None) => {
                form.push(("client_id".into(), rc.client_id.clone()));
                None
            }
        };
        let resp = self
            .kernel
            .upstream()
            .send(UpstreamRequest { url: endpoint, form: Some(form), basic, bearer: None })
            .await
            .map_err(|e| match e {
                UpstreamError::Refused(m) => {
                    AppError::Conflict(format!("the provider's token endpoint is refused: {m}"))
                }
                other => AppError::Upstream(other.to_string()),
            })?;
        if resp.status == 200 {
            let answer: TokenAnswer = serde_json::from_slice(&resp.body)
                .map_err(|_| AppError::Upstream("the provider's token response is not valid".into()))?;
            if answer.access_token.is_empty() {
                return Err(AppError::Upstream("the provider's token response has no access token".into()));
            }
            return Ok(Outcome::Tokens(answer));
        }
        let err: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        let code = err.get("error").and_then(|v| v.as_str()).unwrap_or("");
        let permanent = matches!(resp.status, 400 | 401)
            && matches!(code, "invalid_grant" | "invalid_client" | "unauthorized_client" | "invalid_scope");
        if permanent {
            let detail = err.get("error_description").and_then(|v| v.as_str()).unwrap_or("");
            let msg = if detail.is_empty() {
                clean(code, 64)
            } else {
                format!("{}: {}", clean(code, 64), clean(detail, 200))
            };
            Ok(Outcome::Refused(msg))
        } else {
            Err(AppError::Upstream(format!("the provider answered HTTP {}", resp.status)))
        }
    }

    /// A `private_key_jwt` client assertion (RFC 7523 §3) for `client_id`
    /// at this provider: `iss` = `sub` = the client id, the provider's
    /// issuer identifier as the single `aud` (never the token endpoint, so
    /// a provider cannot pass it on to another one: checklist 64), a
    /// one-time `jti` and one minute of validity, signed with the tenant's
    /// current ID-token key.
    fn client_assertion(
        &self,
        ctx: &TenantContext,
        settings: &ProviderSettings,
        client_id: &str,
    ) -> Result<String, AppError> {
        let aud = settings.issuer.as_deref().ok_or_else(|| {
            AppError::Conflict("private_key_jwt needs the provider's issuer, and this provider has none".into())
        })?;
        let now = self.kernel.now();
        let key = ctx.keys.id_token_key(now)?;
        let allowed = &settings.token_endpoint_auth_signing_alg_values_supported;
        let alg = key.alg().as_str();
        if !allowed.is_empty() && !allowed.iter().any(|a| a == alg) {
            return Err(AppError::Conflict(format!(
                "the provider accepts client assertions signed with {} only, and this tenant's ID-token key is {alg}",
                allowed.join(", ")
            )));
        }
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": aud,
            "jti": self.kernel.random_id(18),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        });
        let payload = serde_json::to_vec(&claims).map_err(|e| AppError::Internal(e.to_string()))?;
        latchkey_crypto::jws::sign(key, "JWT", &payload).map_err(|e| AppError::Internal(e.to_string()))
    }

    pub(crate) fn record_from_answer(
        &self,
        ctx: &TenantContext,
        rc: &RemoteClientRecord,
        grant_type: &str,
        a: TokenAnswer,
        old_refresh: Option<String>,
        base: Option<&AuthorizationRecord>,
    ) -> Result<AuthorizationRecord, AppError> {
        let now = self.kernel.now();
        let expires_at = a.expires_in.filter(|s| *s > 0).map(|s| now.saturating_add(s));
        let tokens = Tokens {
            access_token: a.access_token,
            token_type: a.token_type.unwrap_or_else(|| "Bearer".into()),
            // A provider that rotates refresh tokens sends a new one; one
            // that does not keeps the old one valid.
            refresh_token: a.refresh_token.or(old_refresh),
        };
        Ok(AuthorizationRecord {
            namespace: rc.namespace.clone(),
            name: rc.name.clone(),
            grant_type: grant_type.into(),
            status: ACTIVE.into(),
            sealed_tokens: self.seal_tokens(ctx, &rc.namespace, &rc.name, &tokens)?,
            scope: a.scope.or_else(|| base.and_then(|b| b.scope.clone())),
            expires_at,
            generation: base.map_or(1, |b| b.generation + 1),
            last_error: None,
            created_at: base.map_or(now, |b| b.created_at),
            updated_at: now,
        })
    }

    /// Obtains (or obtains again) the authorization of a remote client by
    /// client_credentials.
    ///
    /// # Errors
    /// `NotFound` for an unknown remote client, `Validation`, `Upstream`
    /// when the provider cannot be reached or refuses.
    pub async fn create_authorization(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        new: NewAuthorization,
    ) -> Result<AuthorizationView, AppError> {
        actor.require_write()?;
        if new.grant_type.as_deref().is_some_and(|g| g != "client_credentials") {
            return Err(AppError::field(
                "grant_type",
                "only client_credentials is obtained here; for authorization_code call \
                 POST /api/v1/authorizations/{namespace}/{name}/authorize and open the URL it returns",
            ));
        }
        let rc = self
            .kernel
            .store
            .get_remote_client(&ctx.id, &new.namespace, &new.name)
            .await?
            .ok_or_else(|| AppError::field("name", "no remote client with this namespace and name"))?;
        let lock = self.remote_flights.lock_for(format!("{}\0{}\0{}", ctx.id.as_str(), rc.namespace, rc.name));
        let _guard = lock.lock().await;
        let answer = match self.ask_provider(ctx, &rc, &[("grant_type", "client_credentials")]).await? {
            Outcome::Tokens(a) => a,
            Outcome::Refused(m) => return Err(AppError::Upstream(format!("the provider refused: {m}"))),
        };
        let rec = self.record_from_answer(ctx, &rc, "client_credentials", answer, None, None)?;
        let changes = json!({ "grant_type": rec.grant_type, "scope": rec.scope, "expires_at": rec.expires_at });
        let audit = self.kernel.audit_record(
            actor,
            "authorization.create",
            "authorization",
            &target(&rc.namespace, &rc.name),
            &changes,
        );
        self.kernel.store.put_authorization(&ctx.id, &rec, &audit).await?;
        let stored =
            self.kernel.store.get_authorization(&ctx.id, &rc.namespace, &rc.name).await?.ok_or(AppError::NotFound)?;
        Ok(self.authorization_view(ctx, &stored))
    }

    /// # Errors
    /// `Unavailable` when the database is down.
    pub async fn list_authorizations(&self, ctx: &TenantContext) -> Result<Vec<AuthorizationView>, AppError> {
        let rows = self.kernel.store.list_authorizations(&ctx.id).await?;
        Ok(rows.iter().map(|r| self.authorization_view(ctx, r)).collect())
    }

    /// # Errors
    /// `NotFound`.
    pub async fn get_authorization(
        &self,
        ctx: &TenantContext,
        namespace: &str,
        name: &str,
    ) -> Result<AuthorizationView, AppError> {
        let r = self.kernel.store.get_authorization(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
        Ok(self.authorization_view(ctx, &r))
    }

    /// Forgets the authorization (its tokens are not revoked upstream).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_authorization(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        namespace: &str,
        name: &str,
    ) -> Result<(), AppError> {
        actor.require_write()?;
        let audit = self.kernel.audit_record(
            actor,
            "authorization.delete",
            "authorization",
            &target(namespace, name),
            &json!({}),
        );
        if self.kernel.store.delete_authorization(&ctx.id, namespace, name, &audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    fn token_of(&self, ctx: &TenantContext, r: &AuthorizationRecord) -> Result<AuthorizationToken, AppError> {
        if r.status == NEEDS_REAUTHORIZATION {
            return Err(AppError::NeedsReauthorization(format!(
                "the provider refused to renew this authorization ({}); obtain it again",
                r.last_error.as_deref().unwrap_or("no detail")
            )));
        }
        let t = self.open_tokens(ctx, r)?;
        Ok(AuthorizationToken {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_in: r.expires_at.map(|e| (e - self.kernel.now()).max(0)),
            expires_at: r.expires_at,
            scope: r.scope.clone(),
        })
    }

    /// A current access token of the authorization, renewed first when it
    /// is due (see the module comment). Audited, without the token.
    ///
    /// # Errors
    /// `Forbidden` for read-only callers and namespaces outside a client's
    /// grant; `NotFound`; `NeedsReauthorization` when the provider refused for
    /// good; `Upstream` when it cannot be reached and the stored token has
    /// expired.
    pub async fn authorization_token(
        &self,
        ctx: &TenantContext,
        caller: &VaultCaller,
        namespace: &str,
        name: &str,
    ) -> Result<AuthorizationToken, AppError> {
        caller.permit(namespace)?;
        self.current_token(ctx, &caller.actor, namespace, name, false).await
    }

    /// Renews the authorization's tokens now, whether due or not (an
    /// administrator's "renew now"; the refresh token is used and, when the
    /// provider rotates it, replaced). Audited like a retrieval.
    ///
    /// # Errors
    /// As [`RemoteService::authorization_token`](crate::remote::RemoteService::authorization_token); `Forbidden` for read-only callers.
    pub async fn refresh_authorization(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        namespace: &str,
        name: &str,
    ) -> Result<AuthorizationView, AppError> {
        actor.require_write()?;
        self.current_token(ctx, actor, namespace, name, true).await?;
        self.get_authorization(ctx, namespace, name).await
    }

    async fn current_token(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        namespace: &str,
        name: &str,
        force: bool,
    ) -> Result<AuthorizationToken, AppError> {
        let tgt = target(namespace, name);
        let due = |r: &AuthorizationRecord| force || refresh_due(self.kernel.now(), r.updated_at, r.expires_at);
        let rec = self.kernel.store.get_authorization(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
        if rec.status != ACTIVE || !due(&rec) {
            let token = self.token_of(ctx, &rec)?;
            let audit = self.kernel.audit_record(actor, "authorization.token", "authorization", &tgt, &json!({}));
            self.kernel.store.record_audit(&ctx.id, &audit).await?;
            return Ok(token);
        }
        let seen = rec.generation;
        let lock = self.remote_flights.lock_for(format!("{}\0{namespace}\0{name}", ctx.id.as_str()));
        let _guard = lock.lock().await;
        let rec = self.kernel.store.get_authorization(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
        if rec.generation != seen || rec.status != ACTIVE || !due(&rec) {
            // Renewed (or refused) by another caller while we waited.
            let token = self.token_of(ctx, &rec)?;
            let audit = self.kernel.audit_record(actor, "authorization.token", "authorization", &tgt, &json!({}));
            self.kernel.store.record_audit(&ctx.id, &audit).await?;
            return Ok(token);
        }
        let rc = self.kernel.store.get_remote_client(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
        let old = self.open_tokens(ctx, &rec)?;
        let is_cc = rec.grant_type == "client_credentials";
        let mut outcome = match old.refresh_token.as_deref() {
            Some(rt) => self.ask_provider(ctx, &rc, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await,
            None if is_cc => self.ask_provider(ctx, &rc, &[("grant_type", "client_credentials")]).await,
            // An authorization-code grant without a refresh token cannot be
            // renewed without the administrator.
            None => Ok(Outcome::Refused("the provider gave no refresh token; authorize again".into())),
        };
        if is_cc && old.refresh_token.is_some() && matches!(outcome, Ok(Outcome::Refused(_))) {
            // A client_credentials grant does not depend on the refresh token.
            outcome = self.ask_provider(ctx, &rc, &[("grant_type", "client_credentials")]).await;
        }
        let next = match outcome {
            Ok(Outcome::Tokens(a)) => {
                self.record_from_answer(ctx, &rc, &rec.grant_type, a, old.refresh_token, Some(&rec))?
            }
            Ok(Outcome::Refused(msg)) => AuthorizationRecord {
                status: NEEDS_REAUTHORIZATION.into(),
                last_error: Some(msg),
                generation: rec.generation + 1,
                updated_at: self.kernel.now(),
                ..rec.clone()
            },
            Err(e) => {
                // Not reachable now: a token that has not expired yet still serves.
                if !force && rec.expires_at.is_some_and(|exp| self.kernel.now() < exp) {
                    tracing::warn!(authorization = %tgt, error = %e, "renewing an upstream token failed; using the current one");
                    let token = self.token_of(ctx, &rec)?;
                    let audit =
                        self.kernel.audit_record(actor, "authorization.token", "authorization", &tgt, &json!({}));
                    self.kernel.store.record_audit(&ctx.id, &audit).await?;
                    return Ok(token);
                }
                return Err(e);
            }
        };
        let changes = if next.status == ACTIVE {
            json!({ "renewed": true, "expires_at": { "before": rec.expires_at, "after": next.expires_at } })
        } else {
            json!({ "status": { "before": ACTIVE, "after": NEEDS_REAUTHORIZATION }, "last_error": next.last_error })
        };
        let audit = self.kernel.audit_record(actor, "authorization.token", "authorization", &tgt, &changes);
        if !self.kernel.store.update_authorization(&ctx.id, &next, &audit).await? {
            // Another node renewed it first: use its tokens.
            let cur = self.kernel.store.get_authorization(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
            return self.token_of(ctx, &cur);
        }
        self.token_of(ctx, &next)
    }

    /// The caller of the token endpoint of authorizations: an administrator
    /// with a writing role (a live upstream token is not something to
    /// read), or a client whose token carries `authorizations:token` (all
    /// namespaces) or `authorizations:token:<namespace>` (that namespace).
    ///
    /// Counted against the rate limits like any admin API call.
    ///
    /// # Errors
    /// `Unauthorized`, `Forbidden`, `TooManyRequests`.
    pub async fn authorization_token_actor(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<VaultCaller, AppError> {
        let caller = self.vault_caller(ctx, bearer, source_ip, request_id).await?;
        self.tokens.rate.check_client(&ctx.id, &caller.actor.id).map_err(AppError::TooManyRequests)?;
        Ok(caller)
    }

    async fn vault_caller(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<VaultCaller, AppError> {
        self.tokens.rate.check_source(source_ip.as_deref()).map_err(AppError::TooManyRequests)?;
        let claims = self.tokens.bearer_claims(ctx, bearer).await?;
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        if claims.sub == claims.client_id {
            let base = crate::bootstrap::AUTHORIZATIONS_TOKEN_SCOPE;
            let all = scopes.contains(&base);
            let prefix = format!("{base}:");
            let namespaces: Vec<String> =
                scopes.iter().filter_map(|s| s.strip_prefix(prefix.as_str())).map(str::to_owned).collect();
            if all || !namespaces.is_empty() {
                let actor =
                    Actor { id: claims.sub, kind: "client", can_write: false, role: None, source_ip, request_id };
                let access = if all { VaultAccess::Any } else { VaultAccess::Namespaces(namespaces) };
                return Ok(VaultCaller { actor, access });
            }
        }
        if scopes.contains(&"admin") || scopes.contains(&"admin:read") {
            let actor = self.tokens.admin_actor_for(ctx, &claims, source_ip, request_id).await?;
            if !actor.can_write {
                return Err(AppError::Forbidden(
                    "a live upstream token needs a writing role (tenant-admin or owner) and the admin scope".into(),
                ));
            }
            return Ok(VaultCaller { actor, access: VaultAccess::Any });
        }
        Err(AppError::Forbidden("fetching tokens needs the admin or the authorizations:token scope".into()))
    }
}

/// Which authorizations a caller of the token endpoint may take tokens of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultAccess {
    /// Every namespace: writers, and clients with `authorizations:token`.
    Any,
    /// Only these namespaces (`authorizations:token:<namespace>`).
    Namespaces(Vec<String>),
}

/// The checked caller of the token endpoint.
#[derive(Debug, Clone)]
pub struct VaultCaller {
    pub actor: Actor,
    pub access: VaultAccess,
}

impl From<Actor> for VaultCaller {
    /// A caller the server already trusts (system, tests): every namespace,
    /// when it may write.
    fn from(actor: Actor) -> Self {
        Self { actor, access: VaultAccess::Any }
    }
}

impl VaultCaller {
    /// # Errors
    /// `Forbidden` for read-only actors and namespaces outside the grant.
    fn permit(&self, namespace: &str) -> Result<(), AppError> {
        let allowed = match &self.access {
            VaultAccess::Any => true,
            VaultAccess::Namespaces(ns) => ns.iter().any(|n| n == namespace),
        };
        if !allowed {
            return Err(AppError::Forbidden(format!(
                "this client may take tokens of other namespaces only, not of {namespace:?}"
            )));
        }
        if self.actor.kind == "user" || self.actor.role.is_some() {
            self.actor.require_write()?;
        }
        Ok(())
    }
}
