//! The userinfo endpoint (OIDC Core §5.3): claims about the user an access
//! token was issued for, by scope.

use serde_json::{Map, Value, json};

use super::SignInService;
use crate::tenants::TenantContext;

/// Why userinfo refuses (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoError {
    /// 401, `error="invalid_token"`.
    InvalidToken,
    /// 403, `error="insufficient_scope"`: the token lacks `openid`.
    InsufficientScope,
    /// 503.
    Unavailable,
}

/// The claims, and the client the token was issued to (for CORS).
#[derive(Debug, Clone)]
pub struct Userinfo {
    pub claims: Value,
    pub client_id: String,
}

impl SignInService {
    /// # Errors
    /// See [`UserinfoError`].
    pub async fn userinfo(&self, ctx: &TenantContext, token: &str) -> Result<Userinfo, UserinfoError> {
        let claims = self
            .tokens
            .read_access_token(ctx, token)
            .await
            .map_err(|_| UserinfoError::Unavailable)?
            .ok_or(UserinfoError::InvalidToken)?;
        if claims.sub == claims.client_id {
            // A client's own token (client_credentials) names no user.
            return Err(UserinfoError::InvalidToken);
        }
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        if !scopes.contains(&"openid") {
            return Err(UserinfoError::InsufficientScope);
        }
        let user = self
            .kernel
            .store
            .get_user(&ctx.id, &claims.sub)
            .await
            .map_err(|_| UserinfoError::Unavailable)?
            .filter(|u| u.status.is_active())
            .ok_or(UserinfoError::InvalidToken)?;
        let mut out = Map::new();
        out.insert("sub".into(), json!(user.user_id));
        if scopes.contains(&"profile") {
            let name = if user.display_name.is_empty() { &user.username } else { &user.display_name };
            out.insert("name".into(), json!(name));
            out.insert("preferred_username".into(), json!(user.username));
            out.insert("updated_at".into(), json!(user.updated_at));
            // The name parts a directory provisioned over SCIM.
            let attrs = self
                .kernel
                .store
                .scim_attributes(&ctx.id, &user.user_id)
                .await
                .map_err(|_| UserinfoError::Unavailable)?;
            if let Some(Value::Object(parts)) = crate::scim::users::written_name(&user, &attrs) {
                for (scim, claim) in
                    [("givenName", "given_name"), ("familyName", "family_name"), ("middleName", "middle_name")]
                {
                    if let Some(v) = parts.get(scim).and_then(Value::as_str) {
                        out.insert(claim.into(), json!(v));
                    }
                }
            }
        }
        if scopes.contains(&"email")
            && let Some(email) = &user.email
        {
            out.insert("email".into(), json!(email));
            // Latchkey does not verify addresses (yet): say so.
            out.insert("email_verified".into(), json!(false));
        }
        Ok(Userinfo { claims: Value::Object(out), client_id: claims.client_id })
    }
}
