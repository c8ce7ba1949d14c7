//! CORS for the token, userinfo, introspection and revocation endpoints
//! (SPEC §2.1 `allowed_cors_origins`): only origins a client registered.
//!
//! A preflight names no client, so it is answered for an origin that some
//! client of the tenant registered (cached for a short while); the actual
//! request is then answered with CORS headers only when the *calling*
//! client registered the origin.

use latchkey_core::{ClientId, TenantId};

use crate::tenants::TenantContext;
use crate::tokens::TokenService;

/// Seconds a preflight answer is cached per tenant and origin.
const PREFLIGHT_TTL: i64 = 30;
const MAX_ENTRIES: usize = 10_000;

impl TokenService {
    /// Whether a preflight from `origin` may be allowed.
    pub async fn cors_preflight_allowed(&self, ctx: &TenantContext, origin: &str) -> bool {
        if origin.len() > 300 || latchkey_core::redirect::CorsOrigin::parse(origin).is_err() {
            return false;
        }
        let now = self.kernel.now();
        let key = (ctx.id.clone(), origin.to_owned());
        if let Some((ok, at)) = self.cors_origins.lock().ok().and_then(|m| m.get(&key).copied())
            && now - at < PREFLIGHT_TTL
        {
            return ok;
        }
        let Ok(ok) = self.kernel.store.cors_origin_registered(&ctx.id, origin).await else { return false };
        if let Ok(mut m) = self.cors_origins.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(key, (ok, now));
        }
        ok
    }

    /// Whether `client_id` registered `origin`.
    pub async fn cors_allowed_for_client(&self, tenant: &TenantId, client_id: &str, origin: &str) -> bool {
        let Ok(id) = ClientId::parse(client_id) else { return false };
        match self.kernel.client_for_auth(tenant, &id).await {
            Ok(Some(c)) => {
                c.client.is_active() && c.client.config.allowed_cors_origins.iter().any(|o| o.matches(origin))
            }
            _ => false,
        }
    }
}
