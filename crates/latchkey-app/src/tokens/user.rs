//! Tokens issued to a client on behalf of a user: the access token (same
//! format and checks as every access token, `sub` = the user) and the
//! OpenID Connect ID token (RS256 with the tenant's current ID-token key).

use latchkey_core::{AccessTokenClaims, Client, Lifetime, ScopeSet, TokenError, UnixTime};
use latchkey_crypto::jws;
use serde::{Deserialize, Serialize};

use super::TokenService;
use crate::tenants::TenantContext;

/// An access token as issued, with what is recorded about it.
#[derive(Debug, Clone)]
pub(crate) struct IssuedAccess {
    pub token: String,
    pub jti: String,
    pub exp: UnixTime,
    pub expires_in: u32,
}

/// What an ID token says beyond the client and the clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdTokenInput<'a> {
    pub user_id: &'a str,
    pub auth_time: UnixTime,
    pub nonce: Option<&'a str>,
    pub sid: Option<&'a str>,
    /// The access token issued with it (`at_hash`).
    pub access_token: Option<&'a str>,
    /// The code issued with it (`c_hash`, hybrid flow).
    pub code: Option<&'a str>,
}

/// The claims of an ID token (OIDC Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub c_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
}

impl TokenService {
    /// An access token for `user` (id and `token_epoch`) with `scope`, in
    /// the client's format and lifetime, bound to the client's and the
    /// user's current epochs. Writes nothing.
    pub(crate) fn user_access_token(
        &self,
        ctx: &TenantContext,
        client: &Client,
        (user_id, user_epoch): (&str, i64),
        scope: &ScopeSet,
        grant: &str,
    ) -> Result<IssuedAccess, TokenError> {
        let now = self.kernel.now();
        let s = &ctx.settings;
        let lifetime = Lifetime::effective(
            client.config.access_token_lifetime,
            s.default_access_token_lifetime,
            s.max_access_token_lifetime,
        );
        let jti = self.kernel.random_id(16);
        let claims = AccessTokenClaims {
            iss: ctx.issuer.clone(),
            sub: user_id.to_owned(),
            aud: client.config.audiences.first().map_or_else(|| ctx.issuer.clone(), Clone::clone),
            client_id: client.client_id.as_str().to_owned(),
            scope: scope.to_string(),
            exp: now + i64::from(lifetime.seconds),
            iat: now,
            jti: jti.clone(),
            client_epoch: client.token_epoch,
            user_epoch,
        };
        let token = self.encode_access(ctx, &claims, client.config.access_token_format)?;
        self.count_issued(ctx, client.client_id.as_str(), grant, client.config.access_token_format);
        Ok(IssuedAccess { token, jti, exp: claims.exp, expires_in: lifetime.seconds })
    }

    /// Signs an ID token with the tenant's current ID-token key (RS256).
    pub(crate) fn id_token(
        &self,
        ctx: &TenantContext,
        client: &Client,
        i: &IdTokenInput<'_>,
    ) -> Result<String, TokenError> {
        let now = self.kernel.now();
        let s = &ctx.settings;
        let lifetime =
            Lifetime::effective(client.config.id_token_lifetime, s.default_id_token_lifetime, s.max_id_token_lifetime);
        let claims = IdTokenClaims {
            iss: ctx.issuer.clone(),
            sub: i.user_id.to_owned(),
            aud: client.client_id.as_str().to_owned(),
            azp: client.client_id.as_str().to_owned(),
            exp: now + i64::from(lifetime.seconds),
            iat: now,
            auth_time: i.auth_time,
            nonce: i.nonce.map(str::to_owned),
            at_hash: i.access_token.map(jws::half_hash),
            c_hash: i.code.map(jws::half_hash),
            sid: i.sid.map(str::to_owned),
        };
        let key = ctx.keys.id_token_key(self.kernel.now()).map_err(|_| TokenError::unavailable())?;
        let payload = serde_json::to_vec(&claims).map_err(|_| TokenError::unavailable())?;
        jws::sign(key, "JWT", &payload).map_err(|_| TokenError::unavailable())
    }

    /// Verifies an ID token this tenant issued (any key of its ring, by
    /// `kid`), expired or not, for `id_token_hint`.
    pub(crate) async fn read_id_token(&self, ctx: &TenantContext, token: &str) -> Option<IdTokenClaims> {
        let claims: IdTokenClaims = serde_json::from_slice(&self.verify_own_jws(ctx, token, "JWT").await?).ok()?;
        (claims.iss == ctx.issuer).then_some(claims)
    }
}
