//! Token decisions: what a grant yields, for how long, with which claims.
//!
//! Pure functions over the client, the tenant policy and the request. The
//! caller supplies `now` and the random `jti`.

use serde::{Deserialize, Serialize};

use crate::client::{AccessTokenFormat, Client};
use crate::error::TokenError;
use crate::grant::GrantType;
use crate::scope::ScopeSet;
use crate::tenant::{MIN_TOKEN_LIFETIME, TenantSettings};

pub use crate::tenant::SigningAlg;
pub use crate::time::UnixTime;

/// Where an effective lifetime comes from, so the API can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LifetimeSource {
    /// `client`: the client set its own lifetime.
    Client,
    /// `tenant`: the client set none and inherits the tenant default.
    Tenant,
}

/// An effective lifetime in seconds and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lifetime {
    /// The lifetime in seconds, within the tenant's bounds.
    pub seconds: u32,
    /// Whether the client or the tenant chose it.
    pub source: LifetimeSource,
}

impl Lifetime {
    /// The client's own value when set, the tenant default otherwise; always
    /// clamped into `[60, max]` so a policy tightened after a client was
    /// saved still holds.
    #[must_use]
    pub fn effective(client_value: Option<u32>, tenant_default: u32, tenant_max: u32) -> Self {
        let (raw, source) = match client_value {
            Some(v) => (v, LifetimeSource::Client),
            None => (tenant_default, LifetimeSource::Tenant),
        };
        Self { seconds: raw.clamp(MIN_TOKEN_LIFETIME, tenant_max.max(MIN_TOKEN_LIFETIME)), source }
    }
}

/// The claims of a JWT access token (RFC 9068 §2.2). The opaque format keeps
/// the same data server-side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// `iss`: the tenant's issuer URL.
    pub iss: String,
    /// `sub`: the user the token acts for, or the client id for a client's own
    /// token.
    pub sub: String,
    /// `aud`: the resource the token is for (RFC 8707), or the issuer when the
    /// client has no audiences.
    pub aud: String,
    /// `client_id`: the client the token was issued to.
    pub client_id: String,
    /// `scope`: the granted scopes, space-delimited; left out when empty.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub scope: String,
    /// `exp`: when the token expires.
    pub exp: UnixTime,
    /// `iat`: when the token was issued.
    pub iat: UnixTime,
    /// `jti`: the token's unique random id, by which it is revoked.
    pub jti: String,
    /// The epoch of the client when the token was issued: the token is
    /// honoured only while the client still has it (not deleted and
    /// re-created, not disabled since). 0 in tokens from before epochs.
    #[serde(rename = "lk_cep", default)]
    pub client_epoch: i64,
    /// The same for the user the token acts for (0 for a client's own token).
    #[serde(rename = "lk_uep", default, skip_serializing_if = "is_zero")]
    pub user_epoch: i64,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// What the token endpoint should issue for a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// The claims to sign (JWT) or seal (opaque).
    pub claims: AccessTokenClaims,
    /// The granted scope, for the response's `scope`.
    pub scope: ScopeSet,
    /// Whether to issue a JWT or an opaque token.
    pub format: AccessTokenFormat,
    /// The response's `expires_in`, in seconds.
    pub expires_in: u32,
}

/// Inputs of a client_credentials request, after client authentication.
#[derive(Debug)]
pub struct ClientCredentialsRequest<'a> {
    /// The authenticated client.
    pub client: &'a Client,
    /// The union of the client's scopes and its security classes' scopes.
    pub allowed_scope: &'a ScopeSet,
    /// `None` when the request carried no `scope`.
    pub requested_scope: Option<&'a ScopeSet>,
    /// RFC 8707 `resource`, when given.
    pub resource: Option<&'a str>,
    /// The tenant's issuer URL: `iss`, and `aud` when the client has no
    /// audiences.
    pub issuer: &'a str,
    /// The tenant's policy, for the token lifetime.
    pub settings: &'a TenantSettings,
    /// The current time, from the caller's clock.
    pub now: UnixTime,
    /// A fresh random id for the token, from the caller.
    pub jti: String,
}

/// Scopes that only make sense with a user; never granted by default to a
/// machine client.
const USER_ONLY_SCOPES: [&str; 2] = ["openid", "offline_access"];

/// Decides a client_credentials grant (RFC 6749 §4.4).
///
/// # Errors
/// `unauthorized_client` when the client may not use the grant,
/// `invalid_scope` when it asks for scopes it was not given,
/// `invalid_target` when the resource is not one of its audiences.
pub fn client_credentials(req: ClientCredentialsRequest<'_>) -> Result<Issuance, TokenError> {
    let client = req.client;
    if !client.config.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(TokenError::unauthorized_client("this client is not allowed to use the client_credentials grant"));
    }
    let scope = match req.requested_scope {
        Some(asked) if !asked.is_empty() => {
            if !asked.is_subset(req.allowed_scope) {
                let missing = asked.difference(req.allowed_scope).join(" ");
                return Err(TokenError::invalid_scope(&format!("scope not allowed for this client: {missing}")));
            }
            asked.clone()
        }
        _ => {
            let mut s = req.allowed_scope.clone();
            s.retain(|x| !USER_ONLY_SCOPES.contains(&x.as_str()));
            s
        }
    };
    let aud = audience(client, req.resource, req.issuer)?;
    let lifetime = Lifetime::effective(
        client.config.access_token_lifetime,
        req.settings.default_access_token_lifetime,
        req.settings.max_access_token_lifetime,
    );
    let claims = AccessTokenClaims {
        iss: req.issuer.to_owned(),
        sub: client.client_id.as_str().to_owned(),
        aud,
        client_id: client.client_id.as_str().to_owned(),
        scope: scope.to_string(),
        exp: req.now + i64::from(lifetime.seconds),
        iat: req.now,
        jti: req.jti,
        client_epoch: client.token_epoch,
        user_epoch: 0,
    };
    Ok(Issuance { claims, scope, format: client.config.access_token_format, expires_in: lifetime.seconds })
}

/// The scope of a refreshed token (RFC 6749 §6): the requested scope when it
/// lies within the granted one, else the granted one; never wider.
///
/// # Errors
/// `invalid_scope` when the request asks for more than was granted.
pub fn narrow_scope(requested: Option<&ScopeSet>, granted: &ScopeSet) -> Result<ScopeSet, TokenError> {
    match requested {
        Some(r) if !r.is_empty() => {
            if r.is_subset(granted) {
                Ok(r.clone())
            } else {
                Err(TokenError::invalid_scope(&format!(
                    "a refresh may only narrow the scope; not granted: {}",
                    r.difference(granted).join(" ")
                )))
            }
        }
        _ => Ok(granted.clone()),
    }
}

/// The scope of a refreshed token: [`narrow_scope`] of what the family was
/// granted, then cut to what the client may still have (`allowed_now`: its
/// scopes and its classes' today) and, when the client requires consent,
/// to what the user's consent still covers. A refresh never returns a
/// scope the client or the consent lost since the grant; asking for one
/// explicitly is `invalid_scope`.
///
/// # Errors
/// `invalid_scope` when the request asks for more than may be had now.
pub fn refresh_scope(
    requested: Option<&ScopeSet>,
    granted: &ScopeSet,
    allowed_now: &ScopeSet,
    consented: Option<&ScopeSet>,
) -> Result<ScopeSet, TokenError> {
    let mut still = granted.clone();
    still.retain(|s| allowed_now.contains(s.as_str()) && consented.is_none_or(|c| c.contains(s.as_str())));
    match requested {
        Some(r) if !r.is_empty() && r.is_subset(granted) && !r.is_subset(&still) => Err(TokenError::invalid_scope(
            &format!("no longer allowed for this client: {}", r.difference(&still).join(" ")),
        )),
        _ => narrow_scope(requested, granted).map(|narrowed| {
            let mut out = narrowed;
            out.retain(|s| still.contains(s.as_str()));
            out
        }),
    }
}

/// RFC 8707: a requested resource must be one of the client's audiences; with
/// none requested the first audience is used, and a client without audiences
/// gets the issuer (RFC 9068 requires an `aud`).
fn audience(client: &Client, resource: Option<&str>, issuer: &str) -> Result<String, TokenError> {
    match resource {
        Some(r) if client.config.audiences.iter().any(|a| a == r) => Ok(r.to_owned()),
        Some(_) => Err(TokenError::new(
            crate::error::TokenErrorCode::InvalidTarget,
            "the requested resource is not an audience of this client",
        )),
        None => Ok(client.config.audiences.first().map_or_else(|| issuer.to_owned(), Clone::clone)),
    }
}

#[cfg(test)]
mod tests;
