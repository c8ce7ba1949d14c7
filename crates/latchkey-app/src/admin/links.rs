//! The upstream accounts linked to a user (federated sign-in).

use serde_json::json;

use super::users::UserAdmin;
use crate::AppError;
use crate::remote::federation::FederatedLinkView;
use crate::tenants::TenantContext;

impl UserAdmin {
    /// The upstream accounts linked to a user.
    ///
    /// # Errors
    /// `NotFound` for an unknown user.
    pub async fn list_federated_links(
        &self,
        ctx: &TenantContext,
        user_id: &str,
    ) -> Result<Vec<FederatedLinkView>, AppError> {
        self.kernel.store.get_user(&ctx.id, user_id).await?.ok_or(AppError::NotFound)?;
        let links = self.kernel.store.list_federated_links(&ctx.id, user_id).await?;
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
        let link = self.kernel.store.get_federated_link(&ctx.id, provider, subject).await?;
        link.filter(|l| l.user_id == user_id).ok_or(AppError::NotFound)?;
        let changes = json!({ "provider": provider, "subject": subject });
        let audit = self.kernel.audit_record(actor, "federation.unlink", "user", user_id, &changes);
        if self.kernel.store.delete_federated_link(&ctx.id, provider, subject, &audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
