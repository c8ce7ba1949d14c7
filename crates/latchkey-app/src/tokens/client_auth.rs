//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3, SPEC §3).
//!
//! A client must use exactly the method it registered. Unknown client, wrong
//! secret, expired secret and disabled client all get the same answer, so
//! the response is no oracle. Failures are counted per client and source
//! address (see [`crate::throttle`]); past a few, the caller gets 429 with
//! `Retry-After`, for a delay that doubles with each further failure.
//! Requests count against the source's rate limit before anything else, and
//! against the client's once it has authenticated (see [`crate::rate_limit`]).

use latchkey_core::{Client, ClientId, TokenEndpointAuthMethod, TokenError, UnixTime};
use latchkey_crypto::secret::{SECRET_PREFIX, looks_generated_but_corrupt};

use crate::tenants::TenantContext;
use crate::tokens::TokenService;

/// Credentials as the request presented them.
#[derive(Clone)]
pub enum PresentedAuth {
    /// HTTP Basic (`client_secret_basic`), already form-url-decoded.
    Basic { client_id: String, secret: String },
    /// `client_id` and `client_secret` in the form body.
    Post { client_id: String, secret: String },
    /// Only `client_id` (public clients).
    None { client_id: String },
    /// A signed JWT (`private_key_jwt`, RFC 7523 §2.2).
    Assertion { client_id: String, assertion: String },
}

impl std::fmt::Debug for PresentedAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, id) = match self {
            Self::Basic { client_id, .. } => ("basic", client_id),
            Self::Post { client_id, .. } => ("post", client_id),
            Self::None { client_id } => ("none", client_id),
            Self::Assertion { client_id, .. } => ("assertion", client_id),
        };
        write!(f, "PresentedAuth::{kind}({id})")
    }
}

impl PresentedAuth {
    #[must_use]
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::None { client_id }
            | Self::Assertion { client_id, .. } => client_id,
        }
    }

    fn method(&self) -> TokenEndpointAuthMethod {
        match self {
            Self::Basic { .. } => TokenEndpointAuthMethod::ClientSecretBasic,
            Self::Post { .. } => TokenEndpointAuthMethod::ClientSecretPost,
            Self::None { .. } => TokenEndpointAuthMethod::None,
            Self::Assertion { .. } => TokenEndpointAuthMethod::PrivateKeyJwt,
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Self::Basic { secret, .. } | Self::Post { secret, .. } => Some(secret),
            Self::None { .. } | Self::Assertion { .. } => None,
        }
    }
}

/// A client that proved who it is.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: Client,
    /// The union of its scopes and its security classes' scopes.
    pub allowed_scope: latchkey_core::ScopeSet,
    /// The secret that matched, for usage tracking.
    pub secret_id: Option<String>,
}

fn failed() -> TokenError {
    TokenError::invalid_client("client authentication failed")
}

impl TokenService {
    /// Authenticates the calling client.
    ///
    /// # Errors
    /// `invalid_client` (401) for any failure, with `retry_after` set when the
    /// caller is over the failure limit; `temporarily_unavailable` when the
    /// database is down.
    pub async fn authenticate_client(
        &self,
        ctx: &TenantContext,
        auth: &PresentedAuth,
        source: Option<&str>,
    ) -> Result<AuthenticatedClient, TokenError> {
        let now = self.kernel.now();
        let unavailable = |_| TokenError::unavailable();
        let id = auth.client_id();
        self.rate.check_source(source).map_err(TokenError::rate_limited)?;
        if let Some(wait) = self.throttle.client_throttle_wait(&ctx.id, id, source).await.map_err(unavailable)? {
            return Err(TokenError::slowed_down(wait));
        }
        match self.check_credentials(ctx, auth, now).await {
            Ok(c) => {
                self.throttle.client_throttle_clear(&ctx.id, id, source).await.map_err(unavailable)?;
                // Only a client that proved itself spends its own budget: a
                // stranger naming it cannot, and a public client (no
                // credential, many devices) is limited per source only.
                if !matches!(auth, PresentedAuth::None { .. }) {
                    self.rate.check_client(&ctx.id, id).map_err(TokenError::rate_limited)?;
                }
                Ok(c)
            }
            Err(e) if e.code == latchkey_core::TokenErrorCode::InvalidClient => {
                self.throttle.client_throttle_fail(&ctx.id, id, source).await.map_err(unavailable)?;
                self.kernel.metrics.client_auth_failures.inc();
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn check_credentials(
        &self,
        ctx: &TenantContext,
        auth: &PresentedAuth,
        now: UnixTime,
    ) -> Result<AuthenticatedClient, TokenError> {
        let id = ClientId::parse(auth.client_id()).map_err(|_| failed())?;
        // A generated secret with a broken checksum cannot match: no lookup.
        if auth.secret().is_some_and(|s| looks_generated_but_corrupt(SECRET_PREFIX, s)) {
            return Err(failed());
        }
        let cached = self
            .kernel
            .client_for_auth(&ctx.id, &id)
            .await
            .map_err(|_| TokenError::unavailable())?
            .ok_or_else(failed)?;
        let (client, secrets) = (&cached.client, &cached.secrets);
        // Failures of a known client count in its usage figures (unknown
        // ids do not: they would let anyone grow the table).
        let refuse = || {
            self.usage.count(&ctx.id, client.client_id.as_str(), now, false);
            failed()
        };
        if !client.is_active() || client.config.token_endpoint_auth_method != auth.method() {
            return Err(refuse());
        }
        if let PresentedAuth::Assertion { assertion, .. } = auth {
            self.verify_client_assertion(ctx, client, assertion, now).await.map_err(|e| {
                if e.code != latchkey_core::TokenErrorCode::InvalidClient {
                    return e;
                }
                // The same answer as any other failure (no oracle); the
                // reason goes to the log, which holds no assertion.
                tracing::info!(client_id = %client.client_id, reason = %e.description(), "client assertion refused");
                refuse()
            })?;
        }
        let secret_id = match auth.secret() {
            None => None,
            Some(presented) => {
                let hasher = self.kernel.hasher();
                let matched = secrets
                    .iter()
                    .filter(|s| s.is_valid_at(now))
                    .find(|s| hasher.verify(presented, &s.secret_hash))
                    .ok_or_else(refuse)?;
                Some(matched.secret_id.clone())
            }
        };
        self.usage.record(&ctx.id, client.client_id.as_str(), secret_id.as_deref(), now);
        Ok(AuthenticatedClient { client: client.clone(), allowed_scope: cached.allowed_scope.clone(), secret_id })
    }
}
