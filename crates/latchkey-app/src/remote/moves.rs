//! A secret is sent only where it was registered (checklist 56, the
//! pattern of CVE-2026-15943). Changing where a provider lives (its
//! issuer, discovery URL or any endpoint, re-discovery included), or moving
//! a remote client to another provider, would send the stored client
//! secrets and upstream tokens to the new address. Such a change is refused
//! while credentials are stored, unless the caller asks to clear them in
//! the same request (`reset_credentials`): the secrets are removed, the
//! authorizations' tokens dropped and their status set to
//! `needs_reauthorization`, each audited, before the change is written.

use latchkey_store::{AuthorizationRecord, RemoteClientRecord};
use serde_json::json;

use super::RemoteService;
use super::authorizations::NEEDS_REAUTHORIZATION;
use super::{ProviderSettings, target};
use crate::AppError;
use crate::admin::Actor;
use crate::tenants::TenantContext;

/// A remote client whose credentials a move would carry, with its
/// authorizations.
pub(crate) struct AtStake {
    client: RemoteClientRecord,
    authorizations: Vec<AuthorizationRecord>,
}

/// Whether any address a provider's credentials are sent to differs.
pub(crate) fn moved(before: &ProviderSettings, after: &ProviderSettings) -> bool {
    let places = |s: &ProviderSettings| {
        [
            s.discovery_url.clone(),
            s.issuer.clone(),
            s.authorization_endpoint.clone(),
            s.token_endpoint.clone(),
            s.revocation_endpoint.clone(),
            s.userinfo_endpoint.clone(),
            s.jwks_uri.clone(),
        ]
    };
    places(before) != places(after)
}

impl RemoteService {
    /// The remote clients chosen by `which` that hold a secret or tokens.
    pub(crate) async fn credentials_at_stake(
        &self,
        ctx: &TenantContext,
        which: impl Fn(&RemoteClientRecord) -> bool,
    ) -> Result<Vec<AtStake>, AppError> {
        let authorizations = self.kernel.store.list_authorizations(&ctx.id).await?;
        let mut out = Vec::new();
        for client in self.kernel.store.list_remote_clients(&ctx.id).await?.into_iter().filter(|c| which(c)) {
            let auths: Vec<AuthorizationRecord> = authorizations
                .iter()
                .filter(|a| a.namespace == client.namespace && a.name == client.name && !a.sealed_tokens.is_empty())
                .cloned()
                .collect();
            if client.sealed_secret.is_some() || !auths.is_empty() {
                out.push(AtStake { client, authorizations: auths });
            }
        }
        Ok(out)
    }

    /// Refuses a move while credentials are at stake, or (with `reset`)
    /// clears them first.
    pub(crate) async fn guard_move(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        stake: Vec<AtStake>,
        reset: bool,
        what: &str,
    ) -> Result<(), AppError> {
        if stake.is_empty() {
            return Ok(());
        }
        if !reset {
            let names: Vec<String> = stake.iter().map(|s| target(&s.client.namespace, &s.client.name)).collect();
            return Err(AppError::Conflict(format!(
                "{what} would send the stored secrets and tokens of {} to another address: repeat with \
                 reset_credentials=true to clear them (their authorizations then need to be obtained again), \
                 then set the secrets again",
                names.join(", ")
            )));
        }
        for s in stake {
            let tgt = target(&s.client.namespace, &s.client.name);
            if s.client.sealed_secret.is_some() {
                let next = RemoteClientRecord {
                    sealed_secret: None,
                    secret_hint: None,
                    updated_at: self.kernel.now(),
                    ..s.client.clone()
                };
                let changes = json!({ "secret": { "before": s.client.secret_hint, "after": null }, "reason": what });
                let audit =
                    self.kernel.audit_record(actor, "remote_client.secret_cleared", "remote_client", &tgt, &changes);
                if !self.kernel.store.update_remote_client(&ctx.id, &next, &audit).await? {
                    return Err(AppError::Conflict("the remote client changed meanwhile; try again".into()));
                }
            }
            for a in s.authorizations {
                let next = AuthorizationRecord {
                    status: NEEDS_REAUTHORIZATION.into(),
                    sealed_tokens: Vec::new(),
                    expires_at: None,
                    last_error: Some(format!("{what}; obtain the authorization again")),
                    generation: a.generation + 1,
                    updated_at: self.kernel.now(),
                    ..a.clone()
                };
                let changes =
                    json!({ "status": { "before": a.status, "after": NEEDS_REAUTHORIZATION }, "reason": what });
                let audit = self.kernel.audit_record(actor, "authorization.reset", "authorization", &tgt, &changes);
                if !self.kernel.store.update_authorization(&ctx.id, &next, &audit).await? {
                    return Err(AppError::Conflict("the authorization was renewed meanwhile; try again".into()));
                }
            }
        }
        Ok(())
    }
}
