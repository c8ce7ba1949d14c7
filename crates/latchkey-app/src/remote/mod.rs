//! Latchkey as the client of other authorization servers (SPEC §8):
//! providers (upstream servers), remote clients (credentials registered
//! there, known here by namespace and name) and the authorizations they
//! obtain ([`authorizations`]).
//!
//! Remote-client secrets and upstream tokens are envelope-encrypted under
//! the master key's `remote-credentials` subkey, bound to tenant, namespace
//! and name. A secret is write-only: no response, audit event or log shows
//! it after entry; only `has_secret` and, for long secrets, a four-character
//! hint.

pub mod authorizations;
mod checks;
pub mod code_flow;
pub mod federation;
pub mod http;
mod moves;
#[cfg(test)]
mod moves_tests;

#[cfg(test)]
mod code_flow_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use latchkey_core::remote::check_name;
use latchkey_store::{ProviderRecord, RemoteClientRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::admin::{Actor, diff};
use crate::tenants::TenantContext;
use std::sync::Arc;

use crate::AppError;
use crate::kernel::Kernel;
use crate::tokens::TokenService;
use checks::{
    Discovered, check_client_id, check_params, check_secret, check_settings, check_url, issuer_matches, upstream_error,
};
use http::UpstreamRequest;

/// How Latchkey authenticates at a provider's token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RemoteAuthMethod {
    /// HTTP Basic (RFC 6749 §2.3.1).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A client assertion (RFC 7523 §2.2) signed with the tenant's ID-token
    /// key; the provider verifies it with the tenant's JWKS, so no secret
    /// is stored. Its single `aud` is the provider's issuer.
    PrivateKeyJwt,
}

impl RemoteAuthMethod {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// A provider's settings as stored (JSON) and shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderSettings {
    /// The provider's issuer identifier (from discovery, or given).
    pub issuer: Option<String>,
    /// Where the endpoints were discovered, if they were.
    pub discovery_url: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub token_endpoint_auth_method: RemoteAuthMethod,
    /// Use PKCE (S256) in authorization-code flows.
    pub pkce: bool,
    /// Scopes requested when a remote client names none.
    pub default_scopes: Vec<String>,
    /// RFC 9207: the provider names itself (`iss`) in authorization
    /// responses, so a response without it is refused (from discovery).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Offered as "Sign in with …" on the login page when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<federation::SignInSettings>,
    /// The algorithms the provider accepts for client assertions (from
    /// discovery; empty when it does not say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
}

/// A new provider: a discovery URL, explicit endpoints, or both (explicit
/// endpoints win over discovered ones).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProvider {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    )]
    pub name: String,
    /// `…/.well-known/openid-configuration` or `…/.well-known/oauth-authorization-server`.
    pub discovery_url: Option<String>,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub token_endpoint_auth_method: Option<RemoteAuthMethod>,
    /// Default `true`.
    pub pkce: Option<bool>,
    pub default_scopes: Option<Vec<String>>,
    /// Offer this provider on the login page (federated sign-in).
    pub sign_in: Option<federation::SignInSettings>,
}

/// Changes to a provider; absent fields stay. A `discovery_url` is fetched
/// again; `null` clears an optional endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    pub discovery_url: Option<String>,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub token_endpoint_auth_method: Option<RemoteAuthMethod>,
    pub pkce: Option<bool>,
    pub default_scopes: Option<Vec<String>>,
    /// Sign-in settings; `null` stops offering the provider on the login page.
    #[serde(default, deserialize_with = "present")]
    pub sign_in: Option<Option<federation::SignInSettings>>,
    /// Needed to change where the provider lives (issuer, discovery URL,
    /// an endpoint) while its remote clients hold secrets or tokens: they
    /// are cleared (and their authorizations need to be obtained again)
    /// rather than sent to the new address.
    #[serde(default)]
    pub reset_credentials: bool,
}

/// A field that is present (possibly `null`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderView {
    pub name: String,
    #[serde(flatten)]
    pub settings: ProviderSettings,
    /// For `private_key_jwt`: the JWKS URL to register at the provider for
    /// this tenant's remote clients (the tenant's own `jwks_uri`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_jwks_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Optional parameters of every token request a remote client makes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenParams {
    /// Space-separated scopes; default: the provider's default scopes.
    pub scope: Option<String>,
    pub audience: Option<String>,
    /// RFC 8707 resource indicator.
    pub resource: Option<String>,
    /// Further form fields, sent as they are.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRemoteClient {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    )]
    pub namespace: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    )]
    pub name: String,
    /// The provider's name.
    pub provider: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// Write-only: stored encrypted, never shown again.
    pub client_secret: Option<String>,
    #[serde(default)]
    pub params: TokenParams,
}

/// Changes to a remote client; absent fields stay. The secret changes only
/// through its own call.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RemoteClientPatch {
    pub provider: Option<String>,
    pub client_id: Option<String>,
    pub params: Option<TokenParams>,
    /// Needed to move a remote client holding a secret or tokens to another
    /// provider: they are cleared rather than sent there.
    #[serde(default)]
    pub reset_credentials: bool,
}

/// A new secret for a remote client (after rotating it at the provider).
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RemoteSecret {
    /// Write-only: stored encrypted, never shown again.
    pub client_secret: String,
}

// The secret never reaches a log through `Debug`.
impl std::fmt::Debug for NewRemoteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRemoteClient")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "****"))
            .field("params", &self.params)
            .finish()
    }
}

impl std::fmt::Debug for RemoteSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteSecret(****)")
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoteClientView {
    pub namespace: String,
    pub name: String,
    pub provider: String,
    pub client_id: String,
    /// Whether a secret is stored (it is never shown).
    pub has_secret: bool,
    /// The secret's last four characters, for secrets of 16 or more.
    pub secret_hint: Option<String>,
    pub params: TokenParams,
    pub created_at: i64,
    pub updated_at: i64,
}

fn remote_client_view(r: RemoteClientRecord) -> RemoteClientView {
    RemoteClientView {
        namespace: r.namespace,
        name: r.name,
        provider: r.provider,
        client_id: r.client_id,
        has_secret: r.sealed_secret.is_some(),
        secret_hint: r.secret_hint,
        params: serde_json::from_str(&r.params).unwrap_or_default(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn provider_view(ctx: &TenantContext, r: ProviderRecord) -> ProviderView {
    let settings: ProviderSettings = serde_json::from_str(&r.settings).unwrap_or_default();
    let client_jwks_uri = (settings.token_endpoint_auth_method == RemoteAuthMethod::PrivateKeyJwt)
        .then(|| format!("{}/oauth2/jwks", ctx.issuer));
    ProviderView { name: r.name, settings, client_jwks_uri, created_at: r.created_at, updated_at: r.updated_at }
}

/// Remote providers and clients, the authorizations vault and upstream
/// code flows.
pub struct RemoteService {
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) tokens: Arc<TokenService>,
    /// Seals remote-client secrets and upstream tokens (its own subkey).
    pub(crate) remote_envelope: latchkey_crypto::Envelope,
    pub(crate) remote_flights: authorizations::Flights,
}

impl RemoteService {
    pub(crate) fn new(
        kernel: Arc<Kernel>,
        tokens: Arc<TokenService>,
        remote_envelope: latchkey_crypto::Envelope,
    ) -> Self {
        Self { kernel, tokens, remote_envelope, remote_flights: authorizations::Flights::default() }
    }
}

impl RemoteService {
    async fn discover(&self, url: &str) -> Result<Discovered, AppError> {
        let resp = self
            .kernel
            .upstream()
            .send(UpstreamRequest::get(url))
            .await
            .map_err(|e| upstream_error("discovery_url", &e))?;
        if resp.status != 200 {
            return Err(AppError::field("discovery_url", &format!("the provider answered HTTP {}", resp.status)));
        }
        let d: Discovered = serde_json::from_slice(&resp.body)
            .map_err(|_| AppError::field("discovery_url", "the document is not a valid discovery document"))?;
        if !issuer_matches(url, &d.issuer) {
            return Err(AppError::field(
                "discovery_url",
                "the document's issuer does not match its URL (RFC 8414 §3.3)",
            ));
        }
        Ok(d)
    }

    /// Applies a discovery document under the explicit settings.
    async fn apply_discovery(&self, s: &mut ProviderSettings, explicit_method: bool) -> Result<(), AppError> {
        let Some(url) = s.discovery_url.clone() else { return Ok(()) };
        check_url("discovery_url", Some(&url))?;
        let d = self.discover(&url).await?;
        s.issuer = Some(d.issuer);
        s.authorization_endpoint = s.authorization_endpoint.take().or(d.authorization_endpoint);
        s.token_endpoint = s.token_endpoint.take().or(d.token_endpoint);
        s.revocation_endpoint = s.revocation_endpoint.take().or(d.revocation_endpoint);
        s.userinfo_endpoint = s.userinfo_endpoint.take().or(d.userinfo_endpoint);
        s.jwks_uri = s.jwks_uri.take().or(d.jwks_uri);
        s.authorization_response_iss_parameter_supported = d.authorization_response_iss_parameter_supported;
        s.token_endpoint_auth_signing_alg_values_supported = d.token_endpoint_auth_signing_alg_values_supported;
        let supports = |m: &str| d.token_endpoint_auth_methods_supported.iter().any(|x| x == m);
        if !explicit_method && !supports("client_secret_basic") {
            if supports("client_secret_post") {
                s.token_endpoint_auth_method = RemoteAuthMethod::ClientSecretPost;
            } else if supports("private_key_jwt") {
                s.token_endpoint_auth_method = RemoteAuthMethod::PrivateKeyJwt;
            }
        }
        Ok(())
    }

    /// Registers a provider, from its discovery document or explicit endpoints.
    ///
    /// # Errors
    /// `Validation` (also for a discovery URL that is refused, cannot be
    /// fetched or holds no valid document), `Conflict` when the name is taken.
    pub async fn create_provider(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        new: NewProvider,
    ) -> Result<ProviderView, AppError> {
        actor.require_write()?;
        check_name(&new.name).map_err(|m| AppError::field("name", m))?;
        let mut s = ProviderSettings {
            issuer: new.issuer,
            discovery_url: new.discovery_url,
            authorization_endpoint: new.authorization_endpoint,
            token_endpoint: new.token_endpoint,
            revocation_endpoint: new.revocation_endpoint,
            userinfo_endpoint: new.userinfo_endpoint,
            jwks_uri: new.jwks_uri,
            token_endpoint_auth_method: new.token_endpoint_auth_method.unwrap_or_default(),
            pkce: new.pkce.unwrap_or(true),
            default_scopes: new.default_scopes.unwrap_or_default(),
            authorization_response_iss_parameter_supported: false,
            sign_in: new.sign_in,
            token_endpoint_auth_signing_alg_values_supported: Vec::new(),
        };
        // Before discovery: what discovery will fill in is not missing yet.
        check_settings(&ProviderSettings {
            token_endpoint: Some("https://x.test/".into()),
            issuer: s.issuer.clone().or_else(|| s.discovery_url.as_ref().map(|_| "https://x.test/".into())),
            sign_in: None,
            ..s.clone()
        })?;
        self.apply_discovery(&mut s, new.token_endpoint_auth_method.is_some()).await?;
        check_settings(&s)?;
        let now = self.kernel.now();
        let rec = ProviderRecord { name: new.name, settings: to_json(&s)?, created_at: now, updated_at: now };
        let view = provider_view(ctx, rec.clone());
        let audit = self.kernel.audit_record(actor, "provider.create", "provider", &rec.name, &json!(view.settings));
        self.kernel.store.insert_provider(&ctx.id, &rec, &audit).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => AppError::Conflict("a provider with this name exists".into()),
            other => other.into(),
        })?;
        Ok(view)
    }

    /// # Errors
    /// `Unavailable` when the database is down.
    pub async fn list_providers(&self, ctx: &TenantContext) -> Result<Vec<ProviderView>, AppError> {
        Ok(self.kernel.store.list_providers(&ctx.id).await?.into_iter().map(|r| provider_view(ctx, r)).collect())
    }

    /// # Errors
    /// `NotFound`.
    pub async fn get_provider(&self, ctx: &TenantContext, name: &str) -> Result<ProviderView, AppError> {
        self.kernel.store.get_provider(&ctx.id, name).await?.map(|r| provider_view(ctx, r)).ok_or(AppError::NotFound)
    }

    /// # Errors
    /// `NotFound`, `Validation` (also for a discovery URL that cannot be used).
    pub async fn update_provider(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        name: &str,
        p: ProviderPatch,
    ) -> Result<ProviderView, AppError> {
        actor.require_write()?;
        let rec = self.kernel.store.get_provider(&ctx.id, name).await?.ok_or(AppError::NotFound)?;
        let before = provider_view(ctx, rec.clone());
        let mut s = before.settings.clone();
        let rediscover = p.discovery_url.is_some();
        if rediscover {
            // Endpoints come from the document again unless given now.
            s.authorization_endpoint = None;
            s.token_endpoint = None;
            s.revocation_endpoint = None;
            s.userinfo_endpoint = None;
            s.jwks_uri = None;
            s.discovery_url = p.discovery_url;
        }
        let set = |slot: &mut Option<String>, v: Option<String>| {
            if v.is_some() {
                *slot = v;
            }
        };
        set(&mut s.issuer, p.issuer);
        set(&mut s.authorization_endpoint, p.authorization_endpoint);
        set(&mut s.token_endpoint, p.token_endpoint);
        set(&mut s.revocation_endpoint, p.revocation_endpoint);
        set(&mut s.userinfo_endpoint, p.userinfo_endpoint);
        set(&mut s.jwks_uri, p.jwks_uri);
        if let Some(m) = p.token_endpoint_auth_method {
            s.token_endpoint_auth_method = m;
        }
        if let Some(v) = p.pkce {
            s.pkce = v;
        }
        if let Some(v) = p.default_scopes {
            s.default_scopes = v;
        }
        if let Some(v) = p.sign_in {
            s.sign_in = v;
        }
        // A move is refused (or its credentials cleared) before anything is
        // fetched from the new address; a re-discovery is checked again after.
        let mut cleared = false;
        let asked = ProviderSettings {
            discovery_url: s.discovery_url.clone(),
            issuer: s.issuer.clone(),
            authorization_endpoint: s.authorization_endpoint.clone().or(before.settings.authorization_endpoint.clone()),
            token_endpoint: s.token_endpoint.clone().or(before.settings.token_endpoint.clone()),
            revocation_endpoint: s.revocation_endpoint.clone().or(before.settings.revocation_endpoint.clone()),
            userinfo_endpoint: s.userinfo_endpoint.clone().or(before.settings.userinfo_endpoint.clone()),
            jwks_uri: s.jwks_uri.clone().or(before.settings.jwks_uri.clone()),
            ..before.settings.clone()
        };
        if moves::moved(&before.settings, &asked) {
            let stake = self.credentials_at_stake(ctx, |c| c.provider == name).await?;
            self.guard_move(ctx, actor, stake, p.reset_credentials, &format!("moving provider {name}")).await?;
            cleared = true;
        }
        if rediscover {
            // Before discovery: what discovery will fill in is not missing yet.
            check_settings(&ProviderSettings {
                token_endpoint: Some("https://x.test/".into()),
                issuer: s.issuer.clone().or_else(|| s.discovery_url.as_ref().map(|_| "https://x.test/".into())),
                sign_in: None,
                ..s.clone()
            })?;
            self.apply_discovery(&mut s, p.token_endpoint_auth_method.is_some()).await?;
        }
        check_settings(&s)?;
        if !cleared && moves::moved(&before.settings, &s) {
            let stake = self.credentials_at_stake(ctx, |c| c.provider == name).await?;
            self.guard_move(ctx, actor, stake, p.reset_credentials, &format!("moving provider {name}")).await?;
        }
        let rec = ProviderRecord { settings: to_json(&s)?, updated_at: self.kernel.now(), ..rec };
        let view = provider_view(ctx, rec.clone());
        let changes = diff(&json!(before.settings), &json!(view.settings));
        let audit = self.kernel.audit_record(actor, "provider.update", "provider", name, &changes);
        if !self.kernel.store.update_provider(&ctx.id, &rec, &audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(view)
    }

    /// # Errors
    /// `NotFound`; `Conflict` while a remote client uses the provider.
    pub async fn delete_provider(&self, ctx: &TenantContext, actor: &Actor, name: &str) -> Result<(), AppError> {
        actor.require_write()?;
        let audit = self.kernel.audit_record(actor, "provider.delete", "provider", name, &json!({}));
        match self.kernel.store.delete_provider(&ctx.id, name, &audit).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(AppError::NotFound),
            Err(latchkey_store::StoreError::Conflict(_)) => Err(AppError::Conflict(format!(
                "the provider {name} is still used by remote clients; delete or move them first"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    fn seal_remote_secret(&self, ctx: &TenantContext, ns: &str, name: &str, secret: &str) -> Result<Vec<u8>, AppError> {
        self.remote_envelope
            .seal(secret.as_bytes(), secret_aad(ctx, ns, name).as_bytes())
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    pub(crate) fn open_remote_secret(
        &self,
        ctx: &TenantContext,
        r: &RemoteClientRecord,
    ) -> Result<Option<String>, AppError> {
        let Some(sealed) = &r.sealed_secret else { return Ok(None) };
        let plain = self
            .remote_envelope
            .open(sealed, secret_aad(ctx, &r.namespace, &r.name).as_bytes())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        String::from_utf8(plain).map(Some).map_err(|_| AppError::Internal("stored remote secret is not UTF-8".into()))
    }

    /// # Errors
    /// `Validation`, `Conflict` (namespace and name taken), `Forbidden`.
    pub async fn create_remote_client(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        new: NewRemoteClient,
    ) -> Result<RemoteClientView, AppError> {
        actor.require_write()?;
        check_name(&new.namespace).map_err(|m| AppError::field("namespace", m))?;
        check_name(&new.name).map_err(|m| AppError::field("name", m))?;
        check_client_id(&new.client_id)?;
        check_params(&new.params)?;
        if self.kernel.store.get_provider(&ctx.id, &new.provider).await?.is_none() {
            return Err(AppError::field("provider", "no provider of this name in this tenant"));
        }
        let (sealed, hint) = match new.client_secret.as_deref() {
            Some(s) => {
                check_secret(s)?;
                (Some(self.seal_remote_secret(ctx, &new.namespace, &new.name, s)?), hint_of(s))
            }
            None => (None, None),
        };
        let now = self.kernel.now();
        let rec = RemoteClientRecord {
            namespace: new.namespace,
            name: new.name,
            provider: new.provider,
            client_id: new.client_id,
            sealed_secret: sealed,
            secret_hint: hint,
            params: to_json(&new.params)?,
            created_at: now,
            updated_at: now,
        };
        let view = remote_client_view(rec.clone());
        let target = format!("{}/{}", view.namespace, view.name);
        let audit = self.kernel.audit_record(actor, "remote_client.create", "remote_client", &target, &json!(view));
        self.kernel.store.insert_remote_client(&ctx.id, &rec, &audit).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => {
                AppError::Conflict("a remote client with this namespace and name exists".into())
            }
            other => other.into(),
        })?;
        Ok(view)
    }

    /// # Errors
    /// `Unavailable` when the database is down.
    pub async fn list_remote_clients(&self, ctx: &TenantContext) -> Result<Vec<RemoteClientView>, AppError> {
        Ok(self.kernel.store.list_remote_clients(&ctx.id).await?.into_iter().map(remote_client_view).collect())
    }

    /// # Errors
    /// `NotFound`.
    pub async fn get_remote_client(
        &self,
        ctx: &TenantContext,
        namespace: &str,
        name: &str,
    ) -> Result<RemoteClientView, AppError> {
        self.kernel
            .store
            .get_remote_client(&ctx.id, namespace, name)
            .await?
            .map(remote_client_view)
            .ok_or(AppError::NotFound)
    }

    /// # Errors
    /// `NotFound`, `Validation`.
    pub async fn update_remote_client(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        namespace: &str,
        name: &str,
        p: RemoteClientPatch,
    ) -> Result<RemoteClientView, AppError> {
        actor.require_write()?;
        let rec = self.kernel.store.get_remote_client(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
        let before = remote_client_view(rec.clone());
        let mut next = rec;
        if let Some(provider) = p.provider {
            if self.kernel.store.get_provider(&ctx.id, &provider).await?.is_none() {
                return Err(AppError::field("provider", "no provider of this name in this tenant"));
            }
            if provider != next.provider {
                let stake = self.credentials_at_stake(ctx, |c| c.namespace == namespace && c.name == name).await?;
                let what = format!("moving {} to provider {provider}", target(namespace, name));
                self.guard_move(ctx, actor, stake, p.reset_credentials, &what).await?;
                // The secret (if any) is gone now: start from the cleared record.
                next =
                    self.kernel.store.get_remote_client(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
            }
            next.provider = provider;
        }
        if let Some(id) = p.client_id {
            check_client_id(&id)?;
            next.client_id = id;
        }
        if let Some(params) = p.params {
            check_params(&params)?;
            next.params = to_json(&params)?;
        }
        next.updated_at = self.kernel.now();
        let view = remote_client_view(next.clone());
        let changes = diff(&json!(before), &json!(view));
        let audit = self.kernel.audit_record(
            actor,
            "remote_client.update",
            "remote_client",
            &target(namespace, name),
            &changes,
        );
        if !self.kernel.store.update_remote_client(&ctx.id, &next, &audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(view)
    }

    /// Replaces the stored secret (after it was rotated at the provider).
    ///
    /// # Errors
    /// `NotFound`, `Validation`.
    pub async fn set_remote_secret(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        namespace: &str,
        name: &str,
        s: RemoteSecret,
    ) -> Result<RemoteClientView, AppError> {
        actor.require_write()?;
        check_secret(&s.client_secret)?;
        let rec = self.kernel.store.get_remote_client(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
        let next = RemoteClientRecord {
            sealed_secret: Some(self.seal_remote_secret(ctx, namespace, name, &s.client_secret)?),
            secret_hint: hint_of(&s.client_secret),
            updated_at: self.kernel.now(),
            ..rec
        };
        let view = remote_client_view(next.clone());
        let changes = json!({ "secret": { "hint": view.secret_hint } });
        let audit = self.kernel.audit_record(
            actor,
            "remote_client.secret.rotate",
            "remote_client",
            &target(namespace, name),
            &changes,
        );
        if !self.kernel.store.update_remote_client(&ctx.id, &next, &audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(view)
    }

    /// Deletes the remote client and its authorization.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_remote_client(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        namespace: &str,
        name: &str,
    ) -> Result<(), AppError> {
        actor.require_write()?;
        let audit = self.kernel.audit_record(
            actor,
            "remote_client.delete",
            "remote_client",
            &target(namespace, name),
            &json!({}),
        );
        if self.kernel.store.delete_remote_client(&ctx.id, namespace, name, &audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

pub(crate) fn target(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

fn secret_aad(ctx: &TenantContext, ns: &str, name: &str) -> String {
    crate::sealing::remote_secret_aad(ctx.id.as_str(), ns, name)
}

fn to_json<T: Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(|e| AppError::Internal(e.to_string()))
}

/// The last four characters, only for secrets long enough that four
/// characters give little away.
fn hint_of(s: &str) -> Option<String> {
    let n = s.chars().count();
    (n >= 16).then(|| s.chars().skip(n - 4).collect())
}
