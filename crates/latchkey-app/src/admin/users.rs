//! Users: people who sign in at the login page (argon2id passwords),
//! with roles (`owner`, `tenant-admin`, `viewer`) and groups.

use latchkey_core::AdminRole;
use latchkey_store::{DeviceStatus, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Actor, diff};
use crate::tenants::TenantContext;
use std::sync::Arc;

use crate::AppError;
use crate::kernel::Kernel;
use crate::tokens::TokenService;

/// Every user id (a token's `sub`) starts with this; client ids never do,
/// so a client's own tokens can never carry a user's subject.
pub const USER_ID_PREFIX: &str = "usr_";
pub use crate::kernel::MIN_PASSWORD;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    /// Generated (and returned once) when absent.
    pub password: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub roles: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// Generated (and returned once) when absent.
    pub password: Option<String>,
}

/// A user as the API shows it: never the password hash.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub status: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.user_id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            status: u.status.as_str().to_owned(),
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            groups: u.groups.clone(),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A created user, and the generated password once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

pub(crate) fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// Checks the fields and returns the roles, parsed, without repeats and in
/// the order of their names (as the store lists them).
pub(crate) fn check_fields(
    email: Option<&str>,
    display_name: &str,
    roles: &[String],
    groups: &[String],
    actor: &Actor,
) -> Result<Vec<AdminRole>, AppError> {
    let mut errors = Vec::new();
    if email.is_some_and(|e| e.len() > 254 || !e.contains('@') || e.chars().any(|c| c.is_control() || c == ' ')) {
        errors.push(latchkey_core::FieldError::new("email", "not an email address"));
    }
    if display_name.chars().count() > 200 || display_name.chars().any(char::is_control) {
        errors.push(latchkey_core::FieldError::new("display_name", "at most 200 characters"));
    }
    let parsed: Result<Vec<AdminRole>, &String> = roles.iter().map(|r| AdminRole::parse(r).map_err(|_| r)).collect();
    if let Err(r) = &parsed {
        errors
            .push(latchkey_core::FieldError::new("roles", &format!("unknown role {r}: owner, tenant-admin or viewer")));
    }
    if groups.len() > 100 || !groups.iter().all(|g| is_name(g, 100)) {
        errors.push(latchkey_core::FieldError::new("groups", "group names are 1-100 letters, digits and . _ - @"));
    }
    let mut roles = match parsed {
        Ok(roles) if errors.is_empty() => roles,
        _ => return Err(AppError::Validation(errors)),
    };
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    actor.require_authority_over(user_authority(&roles), "a user with these roles")?;
    Ok(roles)
}

/// The administrative authority a user with these roles holds.
pub(crate) fn user_authority(roles: &[AdminRole]) -> Option<AdminRole> {
    AdminRole::highest(roles)
}

/// Managing users: accounts, roles, passwords, sessions, consents and
/// federated links.
pub struct UserAdmin {
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) tokens: Arc<TokenService>,
}

impl UserAdmin {
    pub(crate) fn new(kernel: Arc<Kernel>, tokens: Arc<TokenService>) -> Self {
        Self { kernel, tokens }
    }
}

impl UserAdmin {
    /// Checks a username and password (for the login page, next). Runs the
    /// hash even for unknown users so timing does not reveal which exist.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn verify_password(
        &self,
        ctx: &TenantContext,
        username: &str,
        password: &str,
    ) -> Result<Option<UserView>, AppError> {
        Ok(self.kernel.verify_password_record(ctx, username, password).await?.as_ref().map(UserView::from))
    }

    /// # Errors
    /// `Validation`, `Conflict` (username taken), `Forbidden`.
    pub async fn create_user(&self, ctx: &TenantContext, actor: &Actor, new: NewUser) -> Result<CreatedUser, AppError> {
        actor.require_write()?;
        if !is_name(&new.username, 64) {
            return Err(AppError::field("username", "1-64 letters, digits and . _ - @"));
        }
        let roles = check_fields(new.email.as_deref(), &new.display_name, &new.roles, &new.groups, actor)?;
        let generated = new.password.is_none();
        let password = new.password.unwrap_or_else(|| self.kernel.random_id(18));
        let hash = self.kernel.hash_password(&password).await?;
        let now = self.kernel.now();
        let rec = UserRecord {
            user_id: format!("{USER_ID_PREFIX}{}", self.kernel.random_id(12)),
            username: new.username,
            email: new.email,
            display_name: new.display_name,
            password_hash: hash,
            status: latchkey_core::UserStatus::Active,
            roles,
            groups: new.groups,
            created_at: now,
            updated_at: now,
            token_epoch: self.kernel.new_epoch(),
        };
        let view = UserView::from(&rec);
        let audit = self.kernel.audit_record(
            actor,
            "user.create",
            "user",
            &rec.user_id,
            &diff(&json!({}), &serde_json::to_value(&view).unwrap_or_default()),
        );
        self.kernel.store.insert_user(&ctx.id, &rec, &audit).await.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict("a user with this username already exists".into()),
            other => other,
        })?;
        Ok(CreatedUser { user: view, password: generated.then_some(password) })
    }

    async fn load_user(&self, ctx: &TenantContext, user_id: &str) -> Result<UserRecord, AppError> {
        self.kernel.store.get_user(&ctx.id, user_id).await?.ok_or(AppError::NotFound)
    }

    /// Loads a user for a change by `actor`: refused unless the actor
    /// writes and holds at least the user's highest role.
    pub(crate) async fn user_for_change(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        user_id: &str,
    ) -> Result<UserRecord, AppError> {
        actor.require_write()?;
        let user = self.load_user(ctx, user_id).await?;
        actor.require_authority_over(user_authority(&user.roles), "this user")?;
        Ok(user)
    }

    /// # Errors
    /// `NotFound`.
    pub async fn get_user(&self, ctx: &TenantContext, user_id: &str) -> Result<UserView, AppError> {
        Ok(UserView::from(&self.load_user(ctx, user_id).await?))
    }

    /// Users by username, with the cursor of the next page.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn list_users(
        &self,
        ctx: &TenantContext,
        q: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<(Vec<UserView>, Option<String>), AppError> {
        let limit = super::page_size(limit)?;
        let rows = self.kernel.store.list_users(&ctx.id, q, cursor.filter(|c| !c.is_empty()), limit + 1).await?;
        let more = rows.len() > limit as usize;
        let items: Vec<UserView> = rows.iter().take(limit as usize).map(UserView::from).collect();
        let next = if more { items.last().map(|u| u.username.to_lowercase()) } else { None };
        Ok((items, next))
    }

    async fn write_user(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        before: &UserRecord,
        after: UserRecord,
        action: &str,
    ) -> Result<UserView, AppError> {
        let (b, a) = (UserView::from(before), UserView::from(&after));
        let mut changes =
            diff(&serde_json::to_value(&b).unwrap_or_default(), &serde_json::to_value(&a).unwrap_or_default());
        if before.password_hash != after.password_hash
            && let Value::Object(m) = &mut changes
        {
            m.insert("password".into(), json!({"before": "(set)", "after": "(changed)"}));
        }
        let audit = self.kernel.audit_record(actor, action, "user", &before.user_id, &changes);
        if !self.kernel.store.update_user(&ctx.id, &after, &audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(a)
    }

    /// # Errors
    /// `NotFound`, `Validation`, `Forbidden`.
    pub async fn update_user(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        user_id: &str,
        patch: UserPatch,
    ) -> Result<UserView, AppError> {
        actor.require_write()?;
        let before = self.load_user(ctx, user_id).await?;
        let mut after = before.clone();
        if let Some(e) = patch.email {
            after.email = Some(e).filter(|e| !e.is_empty());
        }
        if let Some(d) = patch.display_name {
            after.display_name = d;
        }
        let roles = patch.roles.unwrap_or_else(|| before.roles.iter().map(|r| r.as_str().to_owned()).collect());
        if let Some(g) = patch.groups {
            after.groups = g;
        }
        after.roles = check_fields(after.email.as_deref(), &after.display_name, &roles, &after.groups, actor)?;
        actor.require_authority_over(user_authority(&before.roles), "this user")?;
        after.updated_at = self.kernel.now();
        self.write_user(ctx, actor, &before, after, "user.update").await
    }

    /// Disables or enables a user (a disabled user cannot sign in).
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`.
    pub async fn set_user_status(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        user_id: &str,
        active: bool,
    ) -> Result<UserView, AppError> {
        actor.require_write()?;
        let before = self.load_user(ctx, user_id).await?;
        actor.require_authority_over(user_authority(&before.roles), "this user")?;
        let mut after = before.clone();
        after.status = latchkey_core::UserStatus::from_active(active);
        after.updated_at = self.kernel.now();
        let view =
            self.write_user(ctx, actor, &before, after, if active { "user.enable" } else { "user.disable" }).await?;
        if !active {
            self.sign_out_everywhere(ctx, user_id).await?;
        }
        Ok(view)
    }

    /// Ends a user's sessions and revokes every refresh token and the access
    /// tokens issued with them: after a disable or a password reset nothing
    /// obtained before keeps working.
    pub(crate) async fn sign_out_everywhere(&self, ctx: &TenantContext, user_id: &str) -> Result<(), AppError> {
        for (client_id, jti, exp) in self.kernel.store.sign_out_user(&ctx.id, user_id, self.kernel.now()).await? {
            self.tokens.record_revocation(&ctx.id, &jti, &client_id, exp).await?;
        }
        Ok(())
    }

    /// Deletes a user: ends its sessions and refresh families first, then
    /// removes it with its roles, groups, consents and links. Its tokens
    /// name an epoch no user holds any more, so none counts again.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden`.
    pub async fn delete_user(&self, ctx: &TenantContext, actor: &Actor, user_id: &str) -> Result<(), AppError> {
        let before = self.user_for_change(ctx, actor, user_id).await?;
        self.sign_out_everywhere(ctx, user_id).await?;
        let view = serde_json::to_value(UserView::from(&before)).unwrap_or_default();
        let audit = self.kernel.audit_record(actor, "user.delete", "user", user_id, &diff(&view, &json!({})));
        if !self.kernel.store.delete_user(&ctx.id, user_id, &audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    /// Sets a new password (generated and returned once when none is given).
    ///
    /// # Errors
    /// `NotFound`, `Validation`, `Forbidden`.
    pub async fn reset_password(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        user_id: &str,
        req: PasswordReset,
    ) -> Result<Option<String>, AppError> {
        actor.require_write()?;
        let before = self.load_user(ctx, user_id).await?;
        actor.require_authority_over(user_authority(&before.roles), "this user")?;
        let generated = req.password.is_none();
        let password = req.password.unwrap_or_else(|| self.kernel.random_id(18));
        let mut after = before.clone();
        after.password_hash = self.kernel.hash_password(&password).await?;
        after.updated_at = self.kernel.now();
        self.write_user(ctx, actor, &before, after, "user.password_reset").await?;
        self.sign_out_everywhere(ctx, user_id).await?;
        Ok(generated.then_some(password))
    }
}

/// A user's remembered consent to a client (SPEC §1 "Grant").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConsentView {
    pub client_id: String,
    /// The scopes the user approved for this client.
    pub scopes: Vec<String>,
    pub granted_at: i64,
    pub updated_at: i64,
}

impl UserAdmin {
    /// The clients a user has consented to, with the scopes.
    ///
    /// # Errors
    /// `NotFound` for an unknown user.
    pub async fn list_consents(&self, ctx: &TenantContext, user_id: &str) -> Result<Vec<ConsentView>, AppError> {
        self.load_user(ctx, user_id).await?;
        Ok(self
            .kernel
            .store
            .list_consents(&ctx.id, user_id)
            .await?
            .into_iter()
            .map(|c| ConsentView {
                client_id: c.client_id,
                scopes: c.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                granted_at: c.granted_at,
                updated_at: c.updated_at,
            })
            .collect())
    }

    /// Revokes a consent: the user is asked again next time, and the
    /// refresh tokens (with their access tokens) issued under it stop working.
    ///
    /// # Errors
    /// `NotFound` when there is no such consent; `Forbidden` for read-only callers.
    pub async fn revoke_consent(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        user_id: &str,
        client_id: &str,
    ) -> Result<(), AppError> {
        self.user_for_change(ctx, actor, user_id).await?;
        let audit =
            self.kernel.audit_record(actor, "consent.revoke", "user", user_id, &json!({"client_id": client_id}));
        if !self.kernel.store.delete_consent(&ctx.id, user_id, client_id, &audit).await? {
            return Err(AppError::NotFound);
        }
        // What was granted under the consent stops working too.
        for (jti, exp) in self.kernel.store.revoke_families_of(&ctx.id, user_id, client_id, self.kernel.now()).await? {
            self.tokens.record_revocation(&ctx.id, &jti, client_id, exp).await?;
        }
        Ok(())
    }
}

/// A device sign-in (RFC 8628) that has not ended: pending, approved by a
/// user and waiting for its device's next poll, or redeemed with its
/// refresh tokens still alive. Neither the device code nor the user code is
/// kept, so neither is shown; `id` names the request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeviceSignInView {
    pub id: String,
    pub client_id: String,
    /// The user who approved it (`None` while pending).
    pub user_id: Option<String>,
    /// `pending`, `approved` or `signed-in` (redeemed, its refresh tokens alive).
    pub status: &'static str,
    pub scopes: Vec<String>,
    /// The address and user agent the device asked from.
    pub device_ip: Option<String>,
    pub device_agent: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

impl UserAdmin {
    /// The device sign-ins of a client and/or a user that have not ended,
    /// newest first.
    ///
    /// # Errors
    /// `Unavailable` without a database.
    pub async fn list_device_sign_ins(
        &self,
        ctx: &TenantContext,
        client_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<DeviceSignInView>, AppError> {
        let now = self.kernel.now();
        Ok(self
            .kernel
            .store
            .list_open_device_codes(&ctx.id, client_id, user_id, now)
            .await?
            .into_iter()
            .map(|d| DeviceSignInView {
                id: hex(&d.device_hash),
                client_id: d.client_id,
                user_id: d.approval.map(|a| a.user_id),
                status: if d.status == DeviceStatus::Redeemed { "signed-in" } else { d.status.as_str() },
                scopes: d.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                device_ip: d.device_ip,
                device_agent: d.device_agent,
                created_at: d.created_at,
                expires_at: d.expires_at,
            })
            .collect())
    }

    /// Ends a device sign-in. A pending or approved one is denied: its
    /// device's next poll hears `access_denied` and it never yields tokens.
    /// A signed-in one loses its refresh family and every access token
    /// issued in it, at once. Anything approved counts as a change to the
    /// user who approved it (the caller must hold at least that user's role).
    ///
    /// # Errors
    /// `NotFound` when nothing open has that id; `Forbidden` for read-only
    /// callers and users above the caller.
    pub async fn revoke_device_sign_in(&self, ctx: &TenantContext, actor: &Actor, id: &str) -> Result<(), AppError> {
        actor.require_write()?;
        let hash = unhex(id).ok_or(AppError::NotFound)?;
        let d = self.kernel.store.get_device_code(&ctx.id, &hash).await?.ok_or(AppError::NotFound)?;
        if let Some(a) = &d.approval {
            self.user_for_change(ctx, actor, &a.user_id).await?;
        }
        let before = if d.status == DeviceStatus::Redeemed { "signed-in" } else { d.status.as_str() };
        let changes = json!({
            "status": {"before": before, "after": if d.status == DeviceStatus::Redeemed { "revoked" } else { "denied" }},
            "user_id": d.approval.as_ref().map(|a| a.user_id.clone()),
            "scope": d.scope,
        });
        let audit = self.kernel.audit_record(actor, "device.revoke", "client", &d.client_id, &changes);
        let now = self.kernel.now();
        if d.status != DeviceStatus::Redeemed {
            if !self.kernel.store.revoke_device_code(&ctx.id, &hash, now, &audit).await? {
                return Err(AppError::NotFound);
            }
            return Ok(());
        }
        // Only a sign-in that has not ended is there to revoke.
        let user = d.approval.as_ref().map(|a| a.user_id.as_str());
        let open = self.kernel.store.list_open_device_codes(&ctx.id, Some(&d.client_id), user, now).await?;
        let (Some(family), true) = (&d.family_id, open.iter().any(|o| o.device_hash == hash)) else {
            return Err(AppError::NotFound);
        };
        let live = self.kernel.store.revoke_family(&ctx.id, family, now, &audit).await?;
        for (jti, exp) in live {
            self.tokens.record_revocation(&ctx.id, &jti, &d.client_id, exp).await?;
        }
        Ok(())
    }
}
