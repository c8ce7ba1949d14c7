//! `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9): a client proves who it
//! is with a JWT signed by a key of its registered JWK Set (`jwks`, or
//! `jwks_uri` fetched through the outbound HTTP client with its SSRF guard).
//!
//! Rules (checklist 42):
//! - the signature verifies with one of the client's keys, with the
//!   algorithm that key implies (no `none`, no HMAC, no substitution);
//! - `typ`, when present, is `JWT` or `client-authentication+jwt`;
//! - `iss` = `sub` = the client id;
//! - `aud` is **one string**: this tenant's issuer identifier (the value
//!   draft-ietf-oauth-rfc7523bis requires) or its token endpoint URL (what
//!   OIDC Core §9 names). Arrays are refused, so an assertion meant for
//!   several servers is no good here;
//! - `exp` is required, in the future and at most [`MAX_LIFETIME`] away;
//! - `nbf` and `iat` may lie up to [`FUTURE_SKEW`] in the future;
//! - `jti` is required and used once until `exp` (stored per client).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use latchkey_core::{Client, TokenError, UnixTime};
use latchkey_crypto::jws::Verifier;
use serde::Deserialize;
use serde_json::Value;

use crate::remote::http::JwksError;
use crate::tenants::TenantContext;
use crate::tokens::TokenService;

/// RFC 7523 §2.2.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest accepted assertion, in bytes.
pub const MAX_ASSERTION: usize = 8 * 1024;
/// Seconds `nbf`/`iat` may be ahead of this server's clock.
pub const FUTURE_SKEW: i64 = 60;
/// Seconds an assertion may be valid for at most (its `jti` is kept that long).
pub const MAX_LIFETIME: i64 = 3600;
/// Seconds a fetched `jwks_uri` is used before it is fetched again.
const JWKS_TTL: i64 = 300;
/// Seconds between refetches for an unknown `kid`.
const JWKS_MIN_REFETCH: i64 = 30;

/// Client JWK Sets, parsed: inline ones per client revision, fetched ones
/// per tenant, client and URL.
#[derive(Default)]
pub struct JwksCache {
    map: Mutex<HashMap<String, (UnixTime, Arc<Verifier>)>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwksCache")
    }
}

impl JwksCache {
    fn put(&self, key: String, now: UnixTime, v: Arc<Verifier>) {
        if let Ok(mut m) = self.map.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(key, (now, v));
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

/// The client an assertion claims to come from (`sub`, else `iss`),
/// unverified: only to know whose keys to check it with.
#[must_use]
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("sub").or_else(|| v.get("iss")).and_then(Value::as_str).map(str::to_owned)
}

fn refused(why: &str) -> TokenError {
    TokenError::invalid_client(&format!("client assertion refused: {why}"))
}

impl TokenService {
    /// Checks a client assertion from `client` (its method is
    /// `private_key_jwt`); the `jti` is spent when everything else holds.
    pub(crate) async fn verify_client_assertion(
        &self,
        ctx: &TenantContext,
        client: &Client,
        assertion: &str,
        now: UnixTime,
    ) -> Result<(), TokenError> {
        if assertion.len() > MAX_ASSERTION {
            return Err(refused("too long"));
        }
        let keys = self.client_keys(ctx, client, assertion, now).await?;
        let (typ, payload) = keys.verify(assertion).map_err(|_| refused("the signature does not verify"))?;
        if typ
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("JWT") && !t.eq_ignore_ascii_case("client-authentication+jwt"))
        {
            return Err(refused("typ must be JWT or client-authentication+jwt"));
        }
        let c: Claims = serde_json::from_slice(&payload).map_err(|_| refused("the claims are not valid"))?;
        let id = client.client_id.as_str();
        if c.iss.as_deref() != Some(id) || c.sub.as_deref() != Some(id) {
            return Err(refused("iss and sub must both be the client_id"));
        }
        let token_endpoint = format!("{}/oauth2/token", ctx.issuer);
        match c.aud.as_ref().and_then(Value::as_str) {
            Some(a) if a == ctx.issuer || a == token_endpoint => {}
            _ => return Err(refused("aud must be this server's issuer identifier (or token endpoint), as one string")),
        }
        let exp = c.exp.ok_or_else(|| refused("exp is required"))?;
        if exp <= now {
            return Err(refused("expired"));
        }
        if exp > now + MAX_LIFETIME {
            return Err(refused("exp is more than an hour away"));
        }
        if c.nbf.is_some_and(|t| t > now + FUTURE_SKEW) || c.iat.is_some_and(|t| t > now + FUTURE_SKEW) {
            return Err(refused("nbf or iat is too far in the future"));
        }
        let jti = c.jti.filter(|j| !j.is_empty() && j.len() <= 256).ok_or_else(|| refused("jti is required"))?;
        let fresh =
            self.kernel.store.use_assertion_jti(&ctx.id, id, &jti, exp).await.map_err(|_| TokenError::unavailable())?;
        if !fresh {
            return Err(refused("this assertion was used already"));
        }
        Ok(())
    }

    /// The client's public keys: its inline `jwks`, or its `jwks_uri`
    /// (cached; fetched again when the assertion names an unknown `kid`).
    async fn client_keys(
        &self,
        ctx: &TenantContext,
        client: &Client,
        assertion: &str,
        now: UnixTime,
    ) -> Result<Arc<Verifier>, TokenError> {
        if let Some(j) = &client.config.jwks {
            // Parsed once per revision of the client, not per request.
            let key = format!("{}\u{0}{}\u{0}inline\u{0}{}", ctx.id, client.client_id, client.revision);
            if let Some((_, v)) = self.client_jwks.map.lock().ok().and_then(|m| m.get(&key).cloned()) {
                return Ok(v);
            }
            let v: Value = serde_json::from_str(j).map_err(|_| refused("the client's jwks is not valid"))?;
            let verifier = Arc::new(Verifier::from_jwks(&v));
            self.client_jwks.put(key, now, verifier.clone());
            return Ok(verifier);
        }
        let uri = client.config.jwks_uri.as_deref().ok_or_else(|| refused("the client has no keys"))?;
        let key = format!("{}\u{0}{}\u{0}{uri}", ctx.id, client.client_id);
        let cached = self.client_jwks.map.lock().ok().and_then(|m| m.get(&key).cloned());
        let kid = latchkey_crypto::jws::peek_kid(assertion);
        if let Some((at, v)) = &cached {
            let unknown_kid = kid.as_deref().is_some_and(|k| !v.knows(k));
            if now < at + JWKS_TTL && (!unknown_kid || now < at + JWKS_MIN_REFETCH) {
                return Ok(v.clone());
            }
        }
        let verifier =
            Arc::new(crate::remote::http::fetch_jwks(&*self.kernel.upstream(), uri).await.map_err(|e| match e {
                JwksError::Fetch(_) => refused("the client's jwks_uri cannot be fetched"),
                JwksError::NotJwks => refused("the client's jwks_uri holds no JWK Set"),
            })?);
        self.client_jwks.put(key, now, verifier.clone());
        Ok(verifier)
    }
}
