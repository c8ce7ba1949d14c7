//! Signing in through a provider: the "Sign in with …" buttons, the start
//! of the upstream code flow and, at its callback, resolving the upstream
//! account to a user (the rules are in `crate::remote::federation`).

use latchkey_store::{FederatedLinkRecord, UserRecord};
use serde_json::{Value, json};

use super::SignInService;
use super::device_page::{DEVICE_TX, typed_code};
use super::interaction::{BrowserCookies, Interaction, Outcome, Page, SignInOption};
use crate::AppError;
use crate::remote::ProviderSettings;
use crate::remote::code_flow::{
    Callback, CallbackOutcome, CallbackParams, FlowData, FlowStart, KIND_SIGN_IN, provider_settings,
};
use crate::remote::federation::{FederatedStartForm, SignInSettings, managed_groups, mapped_groups, next_groups};
use crate::tenants::TenantContext;

impl SignInService {
    /// `GET {issuer}/remote/callback/{provider}`: finishes an upstream code
    /// flow (see `crate::remote::code_flow`); a sign-in flow then resolves
    /// the upstream account to a user and continues the authorization.
    pub async fn remote_callback(
        &self,
        ctx: &TenantContext,
        provider: &str,
        p: &CallbackParams,
        binder: Option<&str>,
        cookies: &BrowserCookies,
        source: Option<&str>,
    ) -> CallbackOutcome {
        match self.remote.callback(ctx, provider, p, binder, cookies).await {
            Callback::Done(outcome) => outcome,
            Callback::SignIn(a) => {
                self.finish_federated_sign_in(ctx, &a.provider, &a.settings, &a.claims, &a.data, cookies, source).await
            }
        }
    }

    /// The providers offered on this tenant's login page.
    pub(crate) async fn sign_in_options(&self, ctx: &TenantContext) -> Vec<SignInOption> {
        let providers = self.kernel.store.list_providers(&ctx.id).await.unwrap_or_default();
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
        let anchor = cookies.anchor.as_deref().unwrap_or_default();
        // From the device page the form is bound to the browser alone; from
        // the login page to the authorization transaction as well.
        let (tx, device) = if let Some(code) = &form.device {
            if anchor.is_empty() || !self.csrf_ok(ctx, "device-sign-in", DEVICE_TX, anchor, &form.csrf) {
                return Err(Page::error(403, "This form is no longer valid. Open the device page again."));
            }
            (None, Some(typed_code(code)))
        } else {
            let expired =
                "This sign-in request has expired or is not valid. Go back to the application and start again.";
            let tx = self.open_tx(ctx, &form.tx).ok_or_else(|| Page::error(400, expired))?;
            if anchor.is_empty() || !self.csrf_ok(ctx, "login", &tx.id, anchor, &form.csrf) {
                return Err(Page::error(
                    403,
                    "This form is no longer valid. Go back to the application and start again.",
                ));
            }
            (Some(form.tx.clone()), None)
        };
        let unavailable = |e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "starting a federated sign-in failed");
            Page::error(503, "The service is temporarily unavailable. Please try again in a moment.")
        };
        let not_offered = || Page::error(400, "This sign-in option is not offered.");
        let provider = self.kernel.store.get_provider(&ctx.id, &form.provider).await.map_err(|e| unavailable(&e))?;
        let provider = provider.ok_or_else(not_offered)?;
        let settings = provider_settings(&provider.settings).map_err(|e| unavailable(&e))?;
        let si = settings.sign_in.clone().ok_or_else(not_offered)?;
        let rc =
            self.kernel.store.get_remote_client(&ctx.id, &si.namespace, &si.name).await.map_err(|e| unavailable(&e))?;
        let rc = rc.filter(|rc| rc.provider == provider.name).ok_or_else(not_offered)?;
        let start = FlowStart {
            kind: KIND_SIGN_IN,
            rc: &rc,
            settings: &settings,
            browser_secret: anchor,
            started_by: ("anonymous", "user"),
            tx,
            device,
            default_scope: Some("openid email profile"),
        };
        self.remote.begin_flow(ctx, start, None).await.map_err(|e| unavailable(&e))
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
        let unavailable = "The service is temporarily unavailable. Try again in a moment.";
        let tx = match (&data.device, data.tx.as_deref().and_then(|t| self.open_tx(ctx, t))) {
            (Some(_), _) => None,
            (None, Some(tx)) => Some(tx),
            (None, None) => {
                return fail(400, "This sign-in request has expired. Go back to the application and start again.");
            }
        };
        let user = match self.federated_user(ctx, provider, si, claims, source).await {
            Ok(Ok(user)) => user,
            Ok(Err(message)) => return fail(403, &message),
            Err(AppError::Unavailable) => return fail(503, unavailable),
            Err(e) => {
                tracing::warn!(provider, error = %e, "federated sign-in failed");
                return fail(400, "Your account at this provider could not be linked. Ask an administrator.");
            }
        };
        if let Some(tx) = tx {
            return CallbackOutcome::SignIn(Box::new(self.sign_in_user(ctx, tx, &user.user_id, cookies, source).await));
        }
        // Signed in for the device page: a browser session, and back to the
        // page with the code typed there.
        let Ok(session) = self.new_session(ctx, &user.user_id, cookies, source).await else {
            return fail(503, unavailable);
        };
        let code = data.device.as_deref().unwrap_or_default();
        let path = if code.is_empty() {
            "/device".to_owned()
        } else {
            format!("/device?user_code={}", form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>())
        };
        CallbackOutcome::SignIn(Box::new(Interaction {
            outcome: Outcome::Continue(path),
            set_session: Some(session.handle),
            set_anchor: None,
            clear_session: false,
        }))
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
        if let Some(link) = self.kernel.store.get_federated_link(&ctx.id, provider, sub).await? {
            let Some(user) = self.kernel.store.get_user(&ctx.id, &link.user_id).await? else {
                return Ok(Err(no_account));
            };
            if !user.status.is_active() {
                return Ok(Err("Your account is disabled.".into()));
            }
            return Ok(Ok(self.sync_groups(ctx, user, (&groups, &managed), provider, source).await?));
        }
        let mut found = None;
        let mut how = "username";
        if let Some(name) = si.username_claim.as_deref().and_then(&s) {
            found = self.kernel.store.get_user_by_username(&ctx.id, name).await?;
        }
        let email = s("email");
        // Only an address the provider vouches for links an account.
        let verified = claims.get("email_verified").and_then(Value::as_bool) == Some(true);
        if found.is_none()
            && si.link_by_email
            && verified
            && let Some(e) = email
        {
            let ids = self.kernel.store.users_with_email(&ctx.id, e).await?;
            if let [only] = ids.as_slice() {
                found = self.kernel.store.get_user(&ctx.id, only).await?;
                how = "verified_email";
            }
        }
        let now = self.kernel.now();
        let link = |user_id: &str| FederatedLinkRecord {
            provider: provider.to_owned(),
            subject: sub.to_owned(),
            user_id: user_id.to_owned(),
            created_at: now,
        };
        let audit = |action: &str, user_id: &str, how: &str| {
            let mut a = self.kernel.flow_audit(user_id, action, "user", user_id, source);
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
            self.kernel.store.record_audit(&ctx.id, &a).await?;
            return Ok(Err(format!(
                "Your {} account matches an administrator's account here, which is never linked automatically. \
                 Sign in with your password.",
                si.display_name
            )));
        }
        if let Some(user) = found.filter(|u| u.status.is_active()) {
            let a = audit("federation.link", &user.user_id, how);
            self.kernel.store.insert_federated_link(&ctx.id, &link(&user.user_id), None, &a).await?;
            return Ok(Ok(self.sync_groups(ctx, user, (&groups, &managed), provider, source).await?));
        }
        if !si.provision {
            return Ok(Err(no_account));
        }
        let username = s("preferred_username")
            .filter(|u| u.len() <= 64 && u.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_@".contains(&b)))
            .map_or_else(|| format!("{provider}-{}", self.kernel.random_id(6)), str::to_owned);
        let user = UserRecord {
            user_id: format!("usr_{}", self.kernel.random_id(12)),
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
            token_epoch: self.kernel.new_epoch(),
        };
        let a = audit("federation.provision", &user.user_id, "provision");
        match self.kernel.store.insert_federated_link(&ctx.id, &link(&user.user_id), Some(&user), &a).await {
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
        next.updated_at = self.kernel.now();
        let mut audit = self.kernel.flow_audit(&user.user_id, "user.update", "user", &user.user_id, source);
        audit.changes =
            json!({ "groups": { "before": user.groups, "after": next.groups }, "provider": provider }).to_string();
        self.kernel.store.update_user(&ctx.id, &next, &audit).await?;
        Ok(next)
    }
}
