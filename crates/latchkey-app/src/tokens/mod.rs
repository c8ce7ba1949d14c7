//! The token, introspection and revocation services.
//!
//! Token path: authenticate the client (cached, no database round trip),
//! let the core decide the grant, then either sign a JWT with a pre-parsed
//! key or seal an opaque token. Neither writes anything: both formats carry
//! their claims, and both are checked the same way at introspection
//! (signature or seal, expiry, revoked `jti`, the client's current state).
//! See ADR 0002.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::token::{self, ClientCredentialsRequest, Issuance};
use latchkey_core::{AccessTokenClaims, AccessTokenFormat, GrantType, ScopeSet, TokenError, UnixTime};
use latchkey_crypto::jws;
use latchkey_store::ClientState;

mod bearer;
pub mod client_assertion;
#[cfg(test)]
mod client_assertion_tests;
pub mod client_auth;
pub mod cors;
pub mod device;
#[cfg(test)]
mod device_tests;
mod grants;
pub(crate) mod state;
pub mod usage;
pub(crate) mod user;
use serde::Serialize;
pub use user::IdTokenClaims;

use std::sync::Arc;

use latchkey_crypto::Envelope;

use crate::kernel::Kernel;
use crate::metrics::IssueLabels;
use crate::rate_limit::RateLimiter;
use crate::tenants::TenantContext;
use crate::throttle::Throttle;
use crate::tokens::client_auth::PresentedAuth;

/// Prefix of opaque access tokens.
pub const OPAQUE_PREFIX: &str = "lkat_";

/// The parameters of a token request, as strings (already checked for
/// duplicates by the web layer).
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
    /// `authorization_code`: the code, the redirect URI and the PKCE verifier.
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
    pub device_code: Option<String>,
    /// The legacy `password` grant.
    pub username: Option<String>,
    pub password: Option<String>,
}

/// RFC 6749 §5.1 success response.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A refresh token (RFC 6749 §6), rotated on every use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token, when the scope has `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// RFC 7662 §2.2 response. Inactive tokens carry nothing but `active`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<IntrospectionDetails>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntrospectionDetails {
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    pub aud: String,
    pub iss: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    /// Access tokens only (a refresh token has no `jti` of its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    pub token_type: &'static str,
}

/// Grant types this build of the token endpoint serves (advertised in
/// discovery, and nothing else). `password` is legacy: served (and
/// advertised) only where the tenant enables legacy grants.
pub const SUPPORTED_GRANTS: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::ClientCredentials,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
    GrantType::Password,
];

/// The grant types a tenant's token endpoint serves.
#[must_use]
pub fn grants_for(settings: &latchkey_core::TenantSettings) -> Vec<GrantType> {
    SUPPORTED_GRANTS.iter().copied().filter(|g| !g.is_legacy() || settings.legacy_grants_enabled).collect()
}

fn parse_grant(s: Option<&str>, settings: &latchkey_core::TenantSettings) -> Result<GrantType, TokenError> {
    let s = s.filter(|s| !s.is_empty()).ok_or_else(|| TokenError::invalid_request("grant_type is required"))?;
    s.parse::<GrantType>()
        .ok()
        .filter(|g| grants_for(settings).contains(g))
        .ok_or_else(|| TokenError::unsupported_grant_type("this grant type is not supported"))
}

/// The token endpoint's grants, introspection, revocation, client
/// authentication, CORS for token calls and usage counting.
pub struct TokenService {
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) throttle: Arc<Throttle>,
    pub(crate) rate: Arc<RateLimiter>,
    /// Seals opaque access tokens (its own subkey of the master key).
    pub(crate) opaque: Envelope,
    pub(crate) revocations: state::LazyIndex,
    pub(crate) client_jwks: crate::tokens::client_assertion::JwksCache,
    /// Whether an origin is registered by some client, per tenant (CORS
    /// preflights), with the time of the answer.
    pub(crate) cors_origins:
        std::sync::Mutex<std::collections::HashMap<(latchkey_core::TenantId, String), (bool, i64)>>,
    pub(crate) usage: crate::tokens::usage::UsageRecorder,
}

impl TokenService {
    pub(crate) fn new(kernel: Arc<Kernel>, throttle: Arc<Throttle>, rate: Arc<RateLimiter>, opaque: Envelope) -> Self {
        Self {
            kernel,
            throttle,
            rate,
            opaque,
            revocations: state::LazyIndex::new(),
            client_jwks: crate::tokens::client_assertion::JwksCache::default(),
            cors_origins: std::sync::Mutex::default(),
            usage: crate::tokens::usage::UsageRecorder::default(),
        }
    }
}

impl TokenService {
    /// The token endpoint (RFC 6749 §3.2).
    ///
    /// # Errors
    /// An RFC 6749 §5.2 error.
    pub async fn token(
        &self,
        ctx: &TenantContext,
        auth: &PresentedAuth,
        req: &TokenRequest,
        source: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let grant = parse_grant(req.grant_type.as_deref(), &ctx.settings)?;
        let authed = self.authenticate_client(ctx, auth, source).await?;
        match grant {
            GrantType::ClientCredentials => {
                if authed.client.config.is_public() {
                    return Err(TokenError::unauthorized_client("public clients cannot use client_credentials"));
                }
                let requested = match req.scope.as_deref() {
                    Some(s) => Some(ScopeSet::parse_param(s).map_err(|e| TokenError::invalid_scope(&e.message))?),
                    None => None,
                };
                let allowed = authed.allowed_scope.clone();
                let issuance = token::client_credentials(ClientCredentialsRequest {
                    client: &authed.client,
                    allowed_scope: &allowed,
                    requested_scope: requested.as_ref(),
                    resource: req.resource.as_deref().filter(|r| !r.is_empty()),
                    issuer: &ctx.issuer,
                    settings: &ctx.settings,
                    now: self.kernel.now(),
                    jti: self.kernel.random_id(16),
                })?;
                self.issue(ctx, issuance, grant).await
            }
            GrantType::AuthorizationCode => self.authorization_code_grant(ctx, &authed, req).await,
            GrantType::RefreshToken => self.refresh_token_grant(ctx, &authed, req).await,
            GrantType::Password => self.password_grant(ctx, &authed, req, source).await,
            GrantType::DeviceCode => self.device_code_grant(ctx, &authed, req).await,
            _ => Err(TokenError::unsupported_grant_type("this grant type is not supported")),
        }
    }

    /// Signs (JWT) or seals (opaque) an access token.
    pub(crate) fn encode_access(
        &self,
        ctx: &TenantContext,
        claims: &AccessTokenClaims,
        format: AccessTokenFormat,
    ) -> Result<String, TokenError> {
        match format {
            AccessTokenFormat::Jwt => {
                let key = ctx.keys.access_key(self.kernel.now()).map_err(|_| TokenError::unavailable())?;
                let payload = serde_json::to_vec(claims).map_err(|_| TokenError::unavailable())?;
                jws::sign(key, "at+jwt", &payload).map_err(|_| TokenError::unavailable())
            }
            AccessTokenFormat::Opaque => self.seal_opaque(ctx, claims).ok_or_else(TokenError::unavailable),
        }
    }

    /// Counts an issued access token: in the metrics, and per client and
    /// hour for the console's usage figures (in memory; flushed in batches).
    pub(crate) fn count_issued(&self, ctx: &TenantContext, client_id: &str, grant: &str, format: AccessTokenFormat) {
        self.usage.count(&ctx.id, client_id, self.kernel.now(), true);
        let format = match format {
            AccessTokenFormat::Jwt => "jwt",
            AccessTokenFormat::Opaque => "opaque",
        };
        self.kernel
            .metrics
            .tokens_issued
            .get_or_create(&IssueLabels { grant_type: grant.to_owned(), format: format.to_owned() })
            .inc();
    }

    async fn issue(&self, ctx: &TenantContext, i: Issuance, grant: GrantType) -> Result<TokenResponse, TokenError> {
        let access_token = self.encode_access(ctx, &i.claims, i.format)?;
        self.count_issued(ctx, &i.claims.client_id, grant.as_str(), i.format);
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: i.expires_in,
            scope: (!i.scope.is_empty()).then(|| i.scope.to_string()),
            refresh_token: None,
            id_token: None,
        })
    }

    /// `lkat_` + base64url(AES-256-GCM(claims)), bound to the tenant by the
    /// associated data; unreadable and unforgeable without the master key.
    fn seal_opaque(&self, ctx: &TenantContext, claims: &AccessTokenClaims) -> Option<String> {
        let plain = serde_json::to_vec(claims).ok()?;
        let sealed = self.opaque.seal(&plain, opaque_aad(ctx).as_bytes()).ok()?;
        Some(format!("{OPAQUE_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    fn open_opaque(&self, ctx: &TenantContext, token: &str) -> Option<AccessTokenClaims> {
        let body = token.strip_prefix(OPAQUE_PREFIX)?;
        if body.len() > 8 * 1024 {
            return None;
        }
        let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
        let plain = self.opaque.open(&sealed, opaque_aad(ctx).as_bytes()).ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// The claims of a well-formed token of this tenant (signature or seal
    /// checked), active or not.
    async fn decode_access_token(&self, ctx: &TenantContext, token: &str) -> Option<AccessTokenClaims> {
        if token.starts_with(OPAQUE_PREFIX) { self.open_opaque(ctx, token) } else { self.verify_jwt(ctx, token).await }
    }

    /// Reads an access token of this tenant, JWT or opaque, and says whether
    /// it is active now: signature or seal, expiry, revocation and the state
    /// of its client and user (the incarnations it names must still be
    /// current: tokens of disabled, deleted or re-created clients and of
    /// disabled, deleted or password-reset users are inactive at once).
    ///
    /// # Errors
    /// `temporarily_unavailable` when the database cannot answer.
    pub async fn read_access_token(
        &self,
        ctx: &TenantContext,
        token: &str,
    ) -> Result<Option<AccessTokenClaims>, TokenError> {
        let now = self.kernel.now();
        let Some(claims) = self.decode_access_token(ctx, token).await else { return Ok(None) };
        if claims.exp <= now || claims.iss != ctx.issuer {
            return Ok(None);
        }
        let (state, revoked) = self.token_state(&ctx.id, &claims).await.map_err(|_| TokenError::unavailable())?;
        Ok((state == ClientState::Active && !revoked).then_some(claims))
    }

    /// Verifies a JWT access token's signature and type; no state checks.
    async fn verify_jwt(&self, ctx: &TenantContext, token: &str) -> Option<AccessTokenClaims> {
        serde_json::from_slice(&self.verify_own_jws(ctx, token, "at+jwt").await?).ok()
    }

    /// The one verification of a JWS this tenant signed: size limit, the
    /// key by `kid` (reloading the tenant's key ring once when a `kid` is
    /// unknown, so keys rotated on another node count at once), the pinned
    /// algorithm, and the `typ` header. Returns the payload.
    pub(crate) async fn verify_own_jws(&self, ctx: &TenantContext, token: &str, typ: &str) -> Option<Vec<u8>> {
        if token.len() > 16 * 1024 {
            return None;
        }
        let kid = jws::peek_kid(token);
        let ctx_owned;
        let ctx = if kid.as_deref().is_some_and(|k| !ctx.keys.verifier().knows(k)) {
            ctx_owned = self.kernel.tenant_knowing_kid(self.kernel.tenant(&ctx.id).await.ok()?, kid.as_deref()).await;
            &*ctx_owned
        } else {
            ctx
        };
        let (found, payload) = ctx.keys.verifier().verify(token).ok()?;
        (found.as_deref() == Some(typ)).then_some(payload)
    }

    /// Token introspection (RFC 7662). The caller authenticates as a client
    /// of the tenant.
    ///
    /// # Errors
    /// `invalid_client` when the caller fails to authenticate.
    pub async fn introspect(
        &self,
        ctx: &TenantContext,
        auth: &PresentedAuth,
        token: &str,
        source: Option<&str>,
    ) -> Result<Introspection, TokenError> {
        let caller = self.authenticate_client(ctx, auth, source).await?;
        if caller.client.config.is_public() {
            return Err(TokenError::invalid_client("public clients cannot introspect tokens"));
        }
        self.kernel.metrics.introspections.inc();
        if token.starts_with(grants::REFRESH_PREFIX) {
            let details = self.introspect_refresh(ctx, caller.client.client_id.as_str(), token).await?;
            return Ok(Introspection { active: details.is_some(), details });
        }
        let Some(c) = self.read_access_token(ctx, token).await? else { return Ok(Introspection::default()) };
        Ok(Introspection {
            active: true,
            details: Some(IntrospectionDetails {
                scope: c.scope,
                client_id: c.client_id,
                sub: c.sub,
                aud: c.aud,
                iss: c.iss,
                exp: c.exp,
                iat: c.iat,
                jti: Some(c.jti),
                token_type: "Bearer",
            }),
        })
    }

    /// Token revocation (RFC 7009). A client revokes only its own tokens;
    /// anything else (unknown, foreign, already revoked) still answers 200.
    /// A storage fault is never reported as success.
    ///
    /// # Errors
    /// `invalid_client` when the caller fails to authenticate;
    /// `temporarily_unavailable` (503) when the revocation could not be stored.
    pub async fn revoke(
        &self,
        ctx: &TenantContext,
        auth: &PresentedAuth,
        token: &str,
        source: Option<&str>,
    ) -> Result<(), TokenError> {
        let caller = self.authenticate_client(ctx, auth, source).await?;
        self.kernel.metrics.revocations.inc();
        let caller_id = caller.client.client_id.as_str();
        let now = self.kernel.now();
        if token.starts_with(grants::REFRESH_PREFIX) {
            return self.revoke_refresh(ctx, caller_id, token).await;
        }
        if let Some(claims) = self.decode_access_token(ctx, token).await
            && claims.client_id == caller_id
            && claims.exp > now
        {
            self.record_revocation(&ctx.id, &claims.jti, caller_id, claims.exp)
                .await
                .map_err(|_| TokenError::unavailable())?;
        }
        Ok(())
    }
}

fn opaque_aad(ctx: &TenantContext) -> String {
    format!("lkat/v1/{}", ctx.id)
}

#[cfg(test)]
mod tests;
