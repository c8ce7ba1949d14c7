//! Batch creation of clients (declarative imports), and its dry run.

use std::collections::HashSet;

use latchkey_core::FieldError;
use latchkey_store::ClientInsert;

use super::{ClientAdmin, CreatedClient, MAX_BATCH, NewClient};
use crate::AppError;
use crate::admin::Actor;
use crate::tenants::TenantContext;

impl ClientAdmin {
    /// Creates up to [`MAX_BATCH`] clients in one transaction: all of them or
    /// none. Each is validated exactly as [`ClientAdmin::create_client`](crate::admin::clients::ClientAdmin::create_client) does; field
    /// errors name the item (`items[3].redirect_uris`). Used by declarative
    /// imports, where one round trip per client would dominate.
    ///
    /// # Errors
    /// `Validation` (nothing written), `Conflict` when a name or id is taken
    /// (nothing written), `BadRequest` for an empty or oversized batch,
    /// `Forbidden` for read-only callers.
    pub async fn create_clients(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        items: Vec<NewClient>,
    ) -> Result<Vec<CreatedClient>, AppError> {
        let (inserts, created) = self.prepare_batch(ctx, actor, items).await?;
        self.kernel.store.insert_clients(&ctx.id, &inserts).await.map_err(|e| {
            match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(
                "a client of this batch has a name or client_id that already exists in this tenant; nothing was created"
                    .into(),
            ),
            other => other,
        }
        })?;
        Ok(created)
    }

    /// A dry run of [`ClientAdmin::create_clients`](crate::admin::clients::ClientAdmin::create_clients): the same checks (and a
    /// `client_id` already taken), nothing written. Returns the clients as
    /// they would be created, without a secret (none is made).
    ///
    /// # Errors
    /// As `create_clients`.
    pub async fn check_clients(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        items: Vec<NewClient>,
    ) -> Result<Vec<CreatedClient>, AppError> {
        let (inserts, mut created) = self.prepare_batch(ctx, actor, items).await?;
        for (i, insert) in inserts.iter().enumerate() {
            if self.kernel.store.get_client(&ctx.id, &insert.client.client_id).await?.is_some() {
                return Err(AppError::Conflict(format!("items[{i}]: a client with this client_id already exists")));
            }
        }
        for c in &mut created {
            c.client_secret = None;
            c.client.secrets = Some(Vec::new());
        }
        Ok(created)
    }

    /// Validates a batch and builds everything its creation writes.
    async fn prepare_batch(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        items: Vec<NewClient>,
    ) -> Result<(Vec<ClientInsert>, Vec<CreatedClient>), AppError> {
        actor.require_write()?;
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(AppError::BadRequest(format!("a batch holds 1 to {MAX_BATCH} clients")));
        }
        let catalog = self.catalog(ctx).await?;
        let mut errors = Vec::new();
        let mut inserts = Vec::with_capacity(items.len());
        let mut created = Vec::with_capacity(items.len());
        let (mut ids, mut names) = (HashSet::new(), HashSet::new());
        for (i, new) in items.into_iter().enumerate() {
            let item = |field: &str| format!("items[{i}].{field}");
            match self.prepare_create(ctx, &catalog, actor, new) {
                Ok((insert, view)) => {
                    if !ids.insert(insert.client.client_id.clone()) {
                        errors.push(FieldError::new(&item("client_id"), "appears twice in this batch"));
                    }
                    if !names.insert(insert.client.name.to_lowercase()) {
                        errors.push(FieldError::new(&item("name"), "appears twice in this batch"));
                    }
                    inserts.push(insert);
                    created.push(view);
                }
                Err(AppError::Validation(fields)) => {
                    errors.extend(fields.into_iter().map(|f| FieldError::new(&item(&f.field), &f.message)));
                }
                Err(other) => return Err(other),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok((inserts, created))
    }
}
