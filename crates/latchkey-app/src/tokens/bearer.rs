//! From a bearer access token to the administrator it speaks for: the one
//! place a token becomes an [`Actor`] (admin API, console, vault).

use latchkey_core::AdminRole;

use super::TokenService;
use crate::AppError;
use crate::admin::actor::Actor;
use crate::tenants::TenantContext;

impl TokenService {
    /// Authenticates an admin API caller from a bearer access token issued
    /// by this tenant with scope `admin` or `admin:read`.
    ///
    /// # Errors
    /// `Unauthorized` for a missing, invalid, expired or revoked token;
    /// `Forbidden` for a valid token without an admin scope, or whose
    /// client or user holds no administrative role.
    pub async fn admin_actor(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Actor, AppError> {
        let claims = self.bearer_claims(ctx, bearer).await?;
        self.admin_actor_for(ctx, &claims, source_ip, request_id).await
    }

    /// [`admin_actor`](Self::admin_actor) for a call of the admin API:
    /// counted against the source's rate limit first, then against the
    /// caller's (the token's client, or its user).
    ///
    /// # Errors
    /// As `admin_actor`, and `TooManyRequests` over a rate limit.
    pub async fn api_actor(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Actor, AppError> {
        self.rate.check_source(source_ip.as_deref()).map_err(AppError::TooManyRequests)?;
        let actor = self.admin_actor(ctx, bearer, source_ip, request_id).await?;
        self.rate.check_client(&ctx.id, &actor.id).map_err(AppError::TooManyRequests)?;
        Ok(actor)
    }

    /// The live access token a request carries, or why not (`Unauthorized`:
    /// missing, invalid, expired or revoked; `Unavailable`: no database).
    ///
    /// # Errors
    /// As above.
    pub(crate) async fn bearer_claims(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
    ) -> Result<latchkey_core::AccessTokenClaims, AppError> {
        let token = bearer.ok_or_else(|| AppError::Unauthorized("a bearer token is required".into()))?;
        self.read_access_token(ctx, token)
            .await
            .map_err(|_| AppError::Unavailable)?
            .ok_or_else(|| AppError::Unauthorized("the access token is invalid, expired or revoked".into()))
    }

    /// The administrator a live access token speaks for: its client's or
    /// its user's role, narrowed by the token's scope. The one place a
    /// token becomes an [`Actor`].
    ///
    /// # Errors
    /// `Forbidden` without an admin scope or role; `Unauthorized` when the
    /// client or user is gone or disabled.
    pub(crate) async fn admin_actor_for(
        &self,
        ctx: &TenantContext,
        claims: &latchkey_core::AccessTokenClaims,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Actor, AppError> {
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        let can_write = scopes.contains(&"admin");
        if !can_write && !scopes.contains(&"admin:read") {
            return Err(AppError::Forbidden("the token has neither the admin nor the admin:read scope".into()));
        }
        let mut actor = if claims.sub == claims.client_id {
            // A client's own token: its admin_role decides, read from the
            // database so a narrowed role counts at once on every node.
            let id = latchkey_core::ClientId::parse(&claims.client_id)
                .map_err(|_| AppError::Unauthorized("the access token is invalid, expired or revoked".into()))?;
            let client = self
                .kernel
                .store
                .get_client(&ctx.id, &id)
                .await?
                .ok_or_else(|| AppError::Unauthorized("the client of this token no longer exists".into()))?;
            let role = client
                .config
                .admin_role
                .ok_or_else(|| AppError::Forbidden("this client has no administrative role in this tenant".into()))?;
            Actor::client(&claims.sub, role, can_write)
        } else {
            // A user's token: the user's role decides, narrowed by the scope.
            let user =
                self.kernel.store.get_user(&ctx.id, &claims.sub).await?.filter(|u| u.status.is_active()).ok_or_else(
                    || AppError::Unauthorized("the user of this token no longer exists or is disabled".into()),
                )?;
            let role = AdminRole::highest(&user.roles)
                .ok_or_else(|| AppError::Forbidden("this user has no administrative role in this tenant".into()))?;
            Actor::user(&claims.sub, role, can_write)
        };
        actor.source_ip = source_ip;
        actor.request_id = request_id;
        Ok(actor)
    }

    /// The provisioning connector a bearer token speaks for (SCIM): a
    /// client's own token with `users:write` (reads and writes) or
    /// `users:read` (reads only). The admin scopes play no part here.
    ///
    /// # Errors
    /// `Unauthorized` for a missing, invalid, expired or revoked token;
    /// `Forbidden` for a user's token or one without either scope;
    /// `TooManyRequests` over a rate limit (source, then client).
    pub async fn connector_actor(
        &self,
        ctx: &TenantContext,
        bearer: Option<&str>,
        source_ip: Option<String>,
        request_id: Option<String>,
    ) -> Result<Actor, AppError> {
        self.rate.check_source(source_ip.as_deref()).map_err(AppError::TooManyRequests)?;
        let claims = self.bearer_claims(ctx, bearer).await?;
        if claims.sub != claims.client_id {
            return Err(AppError::Forbidden("provisioning needs a client's own token (client_credentials)".into()));
        }
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        let can_write = scopes.contains(&"users:write");
        if !can_write && !scopes.contains(&"users:read") {
            return Err(AppError::Forbidden("the token has neither the users:read nor the users:write scope".into()));
        }
        self.rate.check_client(&ctx.id, &claims.client_id).map_err(AppError::TooManyRequests)?;
        let mut actor = Actor::connector(&claims.client_id, can_write);
        actor.source_ip = source_ip;
        actor.request_id = request_id;
        Ok(actor)
    }
}
