//! Federated sign-in (SPEC §8, issue 6 item 5): a provider enabled as a
//! sign-in option shows a "Sign in with …" button on the login page.
//!
//! The button posts the sealed authorization transaction (with the login
//! form's CSRF token) to `/federation/start`, which starts an upstream
//! code flow ([`super::code_flow`]) bound to the login page's anchor
//! cookie, with the transaction sealed in the flow. At the callback the ID
//! token is checked (signature, `iss`, `aud`, `exp`, `nonce`), then the
//! upstream account (provider and `sub`) is resolved to a user: an existing
//! link; else the user named by `username_claim` (a claim the administrator
//! trusts at this provider); else, with `link_by_email` (off by default),
//! the one active user with that email **when the provider says it is
//! verified** (`email_verified: true`) — never an account holding a
//! writing admin role (owner, tenant-admin); else, with
//! `provision`, a new user (no password). Groups from `groups_claim`
//! (mapped by `group_map` when it is not empty) are added to the user; with
//! a `group_map`, the groups it maps to are the provider's to manage, so
//! one the person no longer has upstream is removed at the next sign-in
//! (when the claim is present). Without a map, groups are only added.
//! Then a session starts and the authorization request continues as after
//! a password sign-in.

use std::collections::BTreeMap;

use latchkey_store::{FederatedLinkRecord, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ProviderSettings;
use super::code_flow::{CallbackOutcome, FlowData, FlowStart, KIND_SIGN_IN, provider_settings};
pub use crate::oidc::interaction::SignInOption;
use crate::oidc::interaction::{BrowserCookies, Page};
use crate::tenants::TenantContext;
use crate::{App, AppError};

/// A provider's sign-in settings (part of its settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignInSettings {
    /// The button reads "Sign in with {display_name}".
    pub display_name: String,
    /// The remote client (registered at this provider, with the callback
    /// `{issuer}/remote/callback/{provider}`) that signs people in.
    pub namespace: String,
    pub name: String,
    /// Trust this provider's verified email addresses: link to the one
    /// user with the same email when the provider marks it verified
    /// (`email_verified: true`). Default `false`: only for a provider that
    /// owns the addresses it vouches for.
    #[serde(default)]
    pub link_by_email: bool,
    /// Trust this claim of this provider: link to the user whose username
    /// is its value. Default none.
    #[serde(default)]
    pub username_claim: Option<String>,
    /// Create a user when none matches (just-in-time provisioning).
    #[serde(default)]
    pub provision: bool,
    /// A claim holding the person's groups (an array of strings).
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// Upstream group → Latchkey group. Empty: groups are taken as named
    /// and only ever added; otherwise only mapped groups are applied, and
    /// the groups it maps to follow the provider (removed when the person
    /// no longer has them there).
    #[serde(default)]
    pub group_map: BTreeMap<String, String>,
}

/// An upstream account linked to a user (the user signs in with it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FederatedLinkView {
    pub provider: String,
    /// The account's `sub` at the provider.
    pub subject: String,
    pub created_at: i64,
}

/// The "Sign in with …" form as submitted.
#[derive(Debug, Clone, Default)]
pub struct FederatedStartForm {
    pub tx: String,
    pub csrf: String,
    pub provider: String,
}

fn is_group(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub(crate) fn check_sign_in(s: &SignInSettings) -> Result<(), AppError> {
    let text_ok = |v: &str, max: usize| !v.trim().is_empty() && v.len() <= max && !v.chars().any(char::is_control);
    if !text_ok(&s.display_name, 100) {
        return Err(AppError::field("sign_in.display_name", "1-100 characters, no control characters"));
    }
    for (f, v) in [("sign_in.namespace", &s.namespace), ("sign_in.name", &s.name)] {
        latchkey_core::remote::check_name(v).map_err(|m| AppError::field(f, m))?;
    }
    for (f, v) in [("sign_in.username_claim", &s.username_claim), ("sign_in.groups_claim", &s.groups_claim)] {
        if v.as_deref().is_some_and(|c| !text_ok(c, 100)) {
            return Err(AppError::field(f, "1-100 characters, no control characters"));
        }
    }
    if s.group_map.len() > 100 || s.group_map.iter().any(|(k, v)| !text_ok(k, 200) || !is_group(v)) {
        return Err(AppError::field(
            "sign_in.group_map",
            "at most 100 entries; values are group names (A-Z a-z 0-9 . _ -)",
        ));
    }
    Ok(())
}

/// The groups the provider decides on for a person with these claims:
/// with a group map and the claim present, every group the map names;
/// otherwise none (groups are then only added).
fn managed_groups(s: &SignInSettings, claims: &Value) -> Vec<String> {
    let present = s.groups_claim.as_deref().and_then(|c| claims.get(c)).is_some_and(Value::is_array);
    if s.group_map.is_empty() || !present {
        return Vec::new();
    }
    s.group_map.values().cloned().collect()
}

/// A user's groups after a federated sign-in: `current` without the
/// managed groups the person no longer has, plus the mapped ones; sorted.
fn next_groups(current: &[String], mapped: &[String], managed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = current.iter().filter(|g| !managed.contains(g) || mapped.contains(g)).cloned().collect();
    out.extend(mapped.iter().cloned());
    out.sort();
    out.dedup();
    out
}

/// The groups a person's claims map to.
fn mapped_groups(s: &SignInSettings, claims: &Value) -> Vec<String> {
    let Some(claim) = s.groups_claim.as_deref() else { return Vec::new() };
    let upstream = claims.get(claim).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut out: Vec<String> = upstream
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|g| if s.group_map.is_empty() { Some(g) } else { s.group_map.get(g).map(String::as_str) })
        .filter(|g| is_group(g))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

impl App {
    /// The upstream accounts linked to a user.
    ///
    /// # Errors
    /// `NotFound` for an unknown user.
    pub async fn list_federated_links(
        &self,
        ctx: &TenantContext,
        user_id: &str,
    ) -> Result<Vec<FederatedLinkView>, AppError> {
        self.store.get_user(&ctx.id, user_id).await?.ok_or(AppError::NotFound)?;
        let links = self.store.list_federated_links(&ctx.id, user_id).await?;
        Ok(links
            .into_iter()
            .map(|l| FederatedLinkView { provider: l.provider, subject: l.subject, created_at: l.created_at })
            .collect())
    }

    /// Unlinks an upstream account from a user (it signs in as nobody until
    /// linked again, by the provider's rules). Audited.
    ///
    /// # Errors
    /// `NotFound` when the user has no such link; `Forbidden`.
    pub async fn unlink_federated(
        &self,
        ctx: &TenantContext,
        actor: &crate::admin::Actor,
        user_id: &str,
        provider: &str,
        subject: &str,
    ) -> Result<(), AppError> {
        self.user_for_change(ctx, actor, user_id).await?;
        let link = self.store.get_federated_link(&ctx.id, provider, subject).await?;
        link.filter(|l| l.user_id == user_id).ok_or(AppError::NotFound)?;
        let changes = json!({ "provider": provider, "subject": subject });
        let audit = self.audit_record(actor, "federation.unlink", "user", user_id, &changes);
        if self.store.delete_federated_link(&ctx.id, provider, subject, &audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The providers offered on this tenant's login page.
    pub(crate) async fn sign_in_options(&self, ctx: &TenantContext) -> Vec<SignInOption> {
        let providers = self.store.list_providers(&ctx.id).await.unwrap_or_default();
        providers
            .into_iter()
            .filter_map(|p| {
                let s: ProviderSettings = serde_json::from_str(&p.settings).ok()?;
                s.sign_in.map(|si| SignInOption { provider: p.name, display_name: si.display_name })
            })
            .collect()
    }

    /// `POST /federation/start`: the "Sign in with …" button. `Ok` is the
    /// provider's authorization URL; `Err` a page.
    pub async fn start_federated_sign_in(
        &self,
        ctx: &TenantContext,
        form: &FederatedStartForm,
        cookies: &BrowserCookies,
    ) -> Result<String, Page> {
        let expired = "This sign-in request has expired or is not valid. Go back to the application and start again.";
        let tx = self.open_tx(ctx, &form.tx).ok_or_else(|| Page::error(400, expired))?;
        let anchor = cookies.anchor.as_deref().unwrap_or_default();
        if anchor.is_empty() || !self.csrf_ok(ctx, "login", &tx.id, anchor, &form.csrf) {
            return Err(Page::error(403, "This form is no longer valid. Go back to the application and start again."));
        }
        let unavailable = |e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "starting a federated sign-in failed");
            Page::error(503, "The service is temporarily unavailable. Please try again in a moment.")
        };
        let not_offered = || Page::error(400, "This sign-in option is not offered.");
        let provider = self.store.get_provider(&ctx.id, &form.provider).await.map_err(|e| unavailable(&e))?;
        let provider = provider.ok_or_else(not_offered)?;
        let settings = provider_settings(&provider.settings).map_err(|e| unavailable(&e))?;
        let si = settings.sign_in.clone().ok_or_else(not_offered)?;
        let rc = self.store.get_remote_client(&ctx.id, &si.namespace, &si.name).await.map_err(|e| unavailable(&e))?;
        let rc = rc.filter(|rc| rc.provider == provider.name).ok_or_else(not_offered)?;
        let start = FlowStart {
            kind: KIND_SIGN_IN,
            rc: &rc,
            settings: &settings,
            browser_secret: anchor,
            started_by: ("anonymous", "user"),
            tx: Some(form.tx.clone()),
            default_scope: Some("openid email profile"),
        };
        self.begin_flow(ctx, start, None).await.map_err(|e| unavailable(&e))
    }

    /// The callback's end of a sign-in: see the module comment.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish_federated_sign_in(
        &self,
        ctx: &TenantContext,
        provider: &str,
        settings: &ProviderSettings,
        claims: &Value,
        data: &FlowData,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> CallbackOutcome {
        let fail = |status: u16, m: &str| CallbackOutcome::Failed { status, message: m.to_owned() };
        let Some(si) = settings.sign_in.as_ref() else {
            return fail(400, "Signing in with this provider is no longer offered.");
        };
        let Some(tx) = data.tx.as_deref().and_then(|t| self.open_tx(ctx, t)) else {
            return fail(400, "This sign-in request has expired. Go back to the application and start again.");
        };
        match self.federated_user(ctx, provider, si, claims, source).await {
            Ok(Ok(user)) => {
                CallbackOutcome::SignIn(Box::new(self.sign_in_user(ctx, tx, &user.user_id, cookies, source).await))
            }
            Ok(Err(message)) => fail(403, &message),
            Err(AppError::Unavailable) => fail(503, "The service is temporarily unavailable. Try again in a moment."),
            Err(e) => {
                tracing::warn!(provider, error = %e, "federated sign-in failed");
                fail(400, "Your account at this provider could not be linked. Ask an administrator.")
            }
        }
    }

    /// The user an upstream account signs in as (`Ok(Err)`: a message for
    /// the person), linking or provisioning as the settings say.
    async fn federated_user(
        &self,
        ctx: &TenantContext,
        provider: &str,
        si: &SignInSettings,
        claims: &Value,
        source: Option<&str>,
    ) -> Result<Result<UserRecord, String>, AppError> {
        let s = |k: &str| claims.get(k).and_then(Value::as_str);
        let sub = s("sub").unwrap_or_default();
        let groups = mapped_groups(si, claims);
        let managed = managed_groups(si, claims);
        let no_account = format!(
            "There is no account here for your {} account, and none may be created. Ask an administrator.",
            si.display_name
        );
        if let Some(link) = self.store.get_federated_link(&ctx.id, provider, sub).await? {
            let Some(user) = self.store.get_user(&ctx.id, &link.user_id).await? else { return Ok(Err(no_account)) };
            if !user.status.is_active() {
                return Ok(Err("Your account is disabled.".into()));
            }
            return Ok(Ok(self.sync_groups(ctx, user, (&groups, &managed), provider, source).await?));
        }
        let mut found = None;
        let mut how = "username";
        if let Some(name) = si.username_claim.as_deref().and_then(&s) {
            found = self.store.get_user_by_username(&ctx.id, name).await?;
        }
        let email = s("email");
        // Only an address the provider vouches for links an account.
        let verified = claims.get("email_verified").and_then(Value::as_bool) == Some(true);
        if found.is_none()
            && si.link_by_email
            && verified
            && let Some(e) = email
        {
            let ids = self.store.users_with_email(&ctx.id, e).await?;
            if let [only] = ids.as_slice() {
                found = self.store.get_user(&ctx.id, only).await?;
                how = "verified_email";
            }
        }
        let now = self.now();
        let link = |user_id: &str| FederatedLinkRecord {
            provider: provider.to_owned(),
            subject: sub.to_owned(),
            user_id: user_id.to_owned(),
            created_at: now,
        };
        let audit = |action: &str, user_id: &str, how: &str| {
            let mut a = self.flow_audit(user_id, action, "user", user_id, source);
            a.changes = json!({ "provider": provider, "subject": sub, "linked_by": how }).to_string();
            a
        };
        // Never link an administrator's account automatically: whoever
        // controls the upstream account (or a claim of it) would hold the
        // role. An administrator signs in with their password.
        if let Some(user) = found.as_ref().filter(|u| u.status.is_active())
            && latchkey_core::AdminRole::highest(&user.roles).is_some_and(latchkey_core::AdminRole::writes)
        {
            let a = audit("federation.link_refused", &user.user_id, how);
            self.store.record_audit(&ctx.id, &a).await?;
            return Ok(Err(format!(
                "Your {} account matches an administrator's account here, which is never linked automatically. \
                 Sign in with your password.",
                si.display_name
            )));
        }
        if let Some(user) = found.filter(|u| u.status.is_active()) {
            let a = audit("federation.link", &user.user_id, how);
            self.store.insert_federated_link(&ctx.id, &link(&user.user_id), None, &a).await?;
            return Ok(Ok(self.sync_groups(ctx, user, (&groups, &managed), provider, source).await?));
        }
        if !si.provision {
            return Ok(Err(no_account));
        }
        let username = s("preferred_username")
            .filter(|u| u.len() <= 64 && u.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_@".contains(&b)))
            .map_or_else(|| format!("{provider}-{}", self.random_id(6)), str::to_owned);
        let user = UserRecord {
            user_id: format!("usr_{}", self.random_id(12)),
            username,
            email: email.filter(|_| verified).map(str::to_owned),
            display_name: s("name").unwrap_or_default().chars().take(200).collect(),
            // Not a PHC string: no password signs this user in.
            password_hash: "!federated".into(),
            status: latchkey_core::UserStatus::Active,
            roles: Vec::new(),
            groups,
            created_at: now,
            updated_at: now,
            token_epoch: self.new_epoch(),
        };
        let a = audit("federation.provision", &user.user_id, "provision");
        match self.store.insert_federated_link(&ctx.id, &link(&user.user_id), Some(&user), &a).await {
            Ok(()) => Ok(Ok(user)),
            Err(latchkey_store::StoreError::Conflict(_)) => {
                Ok(Err("An account with your username exists already. Ask an administrator to link it.".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Brings a user's groups in line with the provider (audited when they
    /// change): see [`next_groups`].
    async fn sync_groups(
        &self,
        ctx: &TenantContext,
        user: UserRecord,
        groups: (&[String], &[String]),
        provider: &str,
        source: Option<&str>,
    ) -> Result<UserRecord, AppError> {
        let (mapped, managed) = groups;
        let after = next_groups(&user.groups, mapped, managed);
        let mut before = user.groups.clone();
        before.sort();
        if after == before {
            return Ok(user);
        }
        let mut next = user.clone();
        next.groups = after;
        next.updated_at = self.now();
        let mut audit = self.flow_audit(&user.user_id, "user.update", "user", &user.user_id, source);
        audit.changes =
            json!({ "groups": { "before": user.groups, "after": next.groups }, "provider": provider }).to_string();
        self.store.update_user(&ctx.id, &next, &audit).await?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn mapped_groups_follow_the_provider_and_others_stay() {
        let si: SignInSettings = serde_json::from_value(json!({
            "display_name": "Corp", "namespace": "login", "name": "corp", "groups_claim": "groups",
            "group_map": { "engineering": "eng", "admins": "ops" }
        }))
        .unwrap();
        let claims = json!({ "groups": ["engineering", "sales"] });
        let mapped = mapped_groups(&si, &claims);
        assert_eq!(mapped, v(&["eng"]));
        let managed = managed_groups(&si, &claims);
        // ops (managed, no longer upstream) goes; staff (not managed) stays.
        assert_eq!(next_groups(&v(&["staff", "ops"]), &mapped, &managed), v(&["eng", "staff"]));
        // Without the claim nothing is taken away.
        assert!(managed_groups(&si, &json!({})).is_empty());
        assert_eq!(next_groups(&v(&["ops"]), &[], &managed_groups(&si, &json!({}))), v(&["ops"]));
        // Without a map, groups are taken as named and only added.
        let plain: SignInSettings = serde_json::from_value(json!({
            "display_name": "Corp", "namespace": "login", "name": "corp", "groups_claim": "groups"
        }))
        .unwrap();
        let mapped = mapped_groups(&plain, &claims);
        assert_eq!(mapped, v(&["engineering", "sales"]));
        assert_eq!(
            next_groups(&v(&["ops"]), &mapped, &managed_groups(&plain, &claims)),
            v(&["engineering", "ops", "sales"])
        );
    }
}
