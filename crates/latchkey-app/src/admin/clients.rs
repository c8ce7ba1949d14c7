//! Client management: create, read, search, update, enable/disable, delete.
//!
//! Create and update share one path: the request's fields are applied as a
//! JSON merge patch (RFC 7396) to a configuration document (the preset for
//! a create, the stored client for an update), and the result is checked by
//! the core rules as a whole — so the policy is always evaluated on the new
//! state, whatever the write path.

use latchkey_core::rules::check_identity;
use latchkey_core::token::Lifetime;
use latchkey_core::{Client, ClientConfig, ClientDraft, ClientId, ClientStatus, ClientType, FieldError};
use std::collections::HashSet;

use latchkey_store::{ClientInsert, SecretRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Actor, diff};
use crate::admin::users::USER_ID_PREFIX;
use crate::tenants::TenantContext;
use std::sync::Arc;

use crate::AppError;
use crate::kernel::Kernel;

mod batch;

/// A client to create. Besides the identity fields, any configuration field
/// of [`ClientConfig`] may be given; unset ones take the preset's defaults.
#[derive(Debug, Clone, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewClient {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub client_type: Option<ClientType>,
    /// Given only for imports and defaults; generated otherwise.
    pub client_id: Option<String>,
    /// An existing secret to import (at least 32 characters).
    pub secret: Option<String>,
    /// Set by declarative apply.
    pub managed_by: Option<String>,
    /// Configuration fields, as in the client view.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = ClientConfig))]
    pub config: Map<String, Value>,
}

/// Secret metadata: never the secret or its hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretView {
    pub id: String,
    pub label: Option<String>,
    pub hint: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl From<&SecretRecord> for SecretView {
    fn from(s: &SecretRecord) -> Self {
        Self {
            id: s.secret_id.clone(),
            label: s.label.clone(),
            hint: s.hint.clone(),
            created_at: s.created_at,
            expires_at: s.expires_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// Effective lifetimes and where each comes from.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveLifetimes {
    pub access_token: Lifetime,
    pub refresh_token: Lifetime,
    pub id_token: Lifetime,
}

/// A client as the admin API shows it: every field, the effective lifetimes
/// and where they come from, and secret metadata.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub client_type: ClientType,
    pub status: ClientStatus,
    pub protected: bool,
    pub managed_by: Option<String>,
    #[serde(flatten)]
    pub config: ClientConfig,
    pub effective_access_token_lifetime: Lifetime,
    pub effective_lifetimes: EffectiveLifetimes,
    /// Said openly: the secret (if any) is stored as an HMAC, never readable.
    pub secret_storage: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub last_used_at: Option<i64>,
    pub revision: i64,
    /// Secret metadata. Absent in list responses (read one client for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<SecretView>>,
}

impl ClientView {
    pub(crate) fn new(c: Client, secrets: &[SecretRecord], ctx: &TenantContext) -> Self {
        let s = &ctx.settings;
        let cfg = &c.config;
        let lifetimes = EffectiveLifetimes {
            access_token: Lifetime::effective(
                cfg.access_token_lifetime,
                s.default_access_token_lifetime,
                s.max_access_token_lifetime,
            ),
            refresh_token: Lifetime::effective(
                cfg.refresh_token_lifetime,
                s.default_refresh_token_lifetime,
                s.max_refresh_token_lifetime,
            ),
            id_token: Lifetime::effective(cfg.id_token_lifetime, s.default_id_token_lifetime, s.max_id_token_lifetime),
        };
        let secret_storage = match cfg.token_endpoint_auth_method {
            m if m.uses_secret() => "hmac-sha256",
            latchkey_core::TokenEndpointAuthMethod::PrivateKeyJwt => "none (private_key_jwt: the client's public keys)",
            _ => "none (public client)",
        };
        Self {
            client_id: c.client_id.to_string(),
            name: c.name,
            description: c.description,
            client_type: c.client_type,
            status: c.status,
            protected: c.protected,
            managed_by: c.managed_by,
            effective_access_token_lifetime: lifetimes.access_token,
            effective_lifetimes: lifetimes,
            secret_storage,
            config: c.config,
            created_at: c.created_at,
            updated_at: c.updated_at,
            created_by: c.created_by,
            last_used_at: c.last_used_at,
            revision: c.revision,
            secrets: Some(secrets.iter().map(SecretView::from).collect()),
        }
    }

    /// The view for list responses: no secret metadata is loaded there.
    pub(crate) fn summary(c: Client, ctx: &TenantContext) -> Self {
        Self { secrets: None, ..Self::new(c, &[], ctx) }
    }

    /// The view as audit material: every field, secrets as id and hint only.
    pub(crate) fn audit_doc(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(m) = v.as_object_mut() {
            for volatile in
                ["revision", "updated_at", "last_used_at", "effective_lifetimes", "effective_access_token_lifetime"]
            {
                m.remove(volatile);
            }
            let secrets: Vec<Value> = self
                .secrets
                .iter()
                .flatten()
                .map(|s| json!({"id": s.id, "hint": s.hint, "expires_at": s.expires_at}))
                .collect();
            m.insert("secrets".into(), Value::Array(secrets));
        }
        v
    }
}

/// The response to a create: the client, and its secret exactly once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    pub client_secret: Option<String>,
}

/// An update's result; a secret appears only when the update made a public
/// client confidential (it then needs one, shown once).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A checked change: the client before and after, its secrets, and the
/// view it would have.
struct Update {
    current: Client,
    next: Client,
    secrets: Vec<SecretRecord>,
    after: ClientView,
}

/// RFC 7396 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Applies configuration fields to a configuration, giving the draft that
/// [`Catalog::validate`] checks. Unknown fields and values of the wrong
/// shape are field errors.
pub(crate) fn apply_config_fields(base: &ClientConfig, fields: &Map<String, Value>) -> Result<ClientDraft, AppError> {
    let mut doc = serde_json::to_value(base).map_err(|e| AppError::Internal(e.to_string()))?;
    let known: Vec<String> = doc.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let mut errors: Vec<FieldError> =
        fields.keys().filter(|k| !known.contains(k)).map(|k| FieldError::new(k, "unknown field")).collect();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    merge_patch(&mut doc, &Value::Object(fields.clone()));
    serde_json::from_value(doc).map_err(|_| {
        // Find the offending field(s) by trying each alone.
        for (k, v) in fields {
            if let Err(e) = serde_json::from_value::<ClientDraft>(json!({ k: v })) {
                let msg = e.to_string();
                let msg = msg.split(" at line").next().unwrap_or(&msg).to_owned();
                errors.push(FieldError::new(k, &msg));
            }
        }
        if errors.is_empty() {
            errors.push(FieldError::new("config", "the configuration is not valid"));
        }
        AppError::Validation(errors)
    })
}

/// Most clients one batch create may hold.
pub const MAX_BATCH: usize = 500;

/// The names a client configuration may refer to: the tenant's scope
/// catalogue and security classes, loaded once per request.
pub(crate) struct Catalog {
    scopes: HashSet<String>,
    classes: HashSet<String>,
    /// Security classes that carry `admin` or `admin:read`.
    admin_classes: HashSet<String>,
}

/// Scopes that let a token act in the admin API.
const ADMIN_SCOPES: [&str; 2] = ["admin", "admin:read"];

impl Catalog {
    /// The authority a client with this configuration holds (see
    /// [`ClientConfig::authority`]): whoever changes it must hold at least this.
    pub(crate) fn authority(&self, c: &ClientConfig) -> Option<latchkey_core::AdminRole> {
        let admin_scope = ADMIN_SCOPES.iter().any(|s| c.scopes.contains(s))
            || c.security_classes.iter().any(|k| self.admin_classes.contains(k));
        c.authority(admin_scope)
    }

    /// Scopes and classes named by a configuration must exist.
    fn check_references(&self, c: &ClientConfig) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let unknown: Vec<&str> =
            c.scopes.iter().map(latchkey_core::Scope::as_str).filter(|s| !self.scopes.contains(*s)).collect();
        if !unknown.is_empty() {
            errors.push(FieldError::new(
                "scopes",
                &format!("not in this tenant's scope catalogue: {}", unknown.join(", ")),
            ));
        }
        let unknown: Vec<&str> =
            c.security_classes.iter().map(String::as_str).filter(|s| !self.classes.contains(*s)).collect();
        if !unknown.is_empty() {
            errors
                .push(FieldError::new("security_classes", &format!("no such security class: {}", unknown.join(", "))));
        }
        errors
    }

    /// Every check a client must pass before it is written; the draft's
    /// URIs are parsed here, once.
    fn validate(
        &self,
        ctx: &TenantContext,
        name: &str,
        description: &str,
        draft: ClientDraft,
    ) -> Result<ClientConfig, AppError> {
        let mut errors = Vec::new();
        check_identity(name, description, &mut errors);
        let (c, config_errors) = draft.check(&ctx.settings);
        errors.extend(config_errors);
        errors.extend(self.check_references(&c));
        if let Some(j) = &c.jwks {
            let usable = serde_json::from_str::<serde_json::Value>(j)
                .is_ok_and(|v| !latchkey_crypto::jws::Verifier::from_jwks(&v).is_empty());
            if !usable {
                errors.push(latchkey_core::FieldError::new(
                    "jwks",
                    "a JWK Set with at least one RSA, EC P-256 or Ed25519 signing key",
                ));
            }
        }
        if errors.is_empty() { Ok(c) } else { Err(AppError::Validation(errors)) }
    }
}

/// Managing clients: create, change, search, secrets, redirect testing.
pub struct ClientAdmin {
    pub(crate) kernel: Arc<Kernel>,
}

impl ClientAdmin {
    pub(crate) fn new(kernel: Arc<Kernel>) -> Self {
        Self { kernel }
    }
}

impl ClientAdmin {
    pub(crate) async fn catalog(&self, ctx: &TenantContext) -> Result<Catalog, AppError> {
        let scopes = self.kernel.store.list_scopes(&ctx.id).await?.into_iter().map(|s| s.name).collect();
        let records = self.kernel.store.list_classes(&ctx.id).await?;
        let admin_classes = records
            .iter()
            .filter(|c| c.scopes.iter().any(|s| ADMIN_SCOPES.contains(&s.as_str())))
            .map(|c| c.name.clone())
            .collect();
        let classes = records.into_iter().map(|c| c.name).collect();
        Ok(Catalog { scopes, classes, admin_classes })
    }

    /// Loads a client for a change by `actor`: refused unless the actor
    /// holds at least the client's authority (authority never grows
    /// through delegation: no one changes, or takes credentials of, a
    /// client that can act above them).
    pub(crate) async fn client_for_change(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
    ) -> Result<(Client, Vec<SecretRecord>, Catalog), AppError> {
        actor.require_write()?;
        let (client, secrets) = self.load_client(ctx, client_id).await?;
        let catalog = self.catalog(ctx).await?;
        actor.require_authority_over(catalog.authority(&client.config), "this client")?;
        Ok((client, secrets, catalog))
    }

    /// Validates and builds a client from a creation request.
    pub(crate) fn build_client(
        &self,
        ctx: &TenantContext,
        catalog: &Catalog,
        actor: &Actor,
        new: &NewClient,
    ) -> Result<Client, AppError> {
        let client_type = new.client_type.unwrap_or(ClientType::Custom);
        let mut preset = client_type.preset();
        // Derive response types from the grants unless given.
        if !new.config.contains_key("response_types")
            && preset.response_types.is_empty()
            && new
                .config
                .get("grant_types")
                .and_then(Value::as_array)
                .is_some_and(|g| g.iter().any(|x| x == "authorization_code"))
        {
            preset.response_types = vec!["code".into()];
        }
        let draft = apply_config_fields(&preset, &new.config)?;
        let config = catalog.validate(ctx, &new.name, &new.description, draft)?;
        actor.require_authority_over(catalog.authority(&config), "a client with this configuration")?;
        if config.is_public() && new.secret.is_some() {
            return Err(AppError::field("secret", "public clients have no secret"));
        }
        let client_id = match &new.client_id {
            Some(id) if id.starts_with(USER_ID_PREFIX) => {
                return Err(AppError::field(
                    "client_id",
                    &format!("client ids never start with {USER_ID_PREFIX}: that prefix is reserved for user subjects"),
                ));
            }
            Some(id) => ClientId::parse(id).map_err(|e| AppError::Validation(vec![e]))?,
            None => ClientId::parse(&self.kernel.random_client_id()?).map_err(|e| AppError::Internal(e.to_string()))?,
        };
        let now = self.kernel.now();
        Ok(Client {
            tenant: ctx.id.clone(),
            client_id,
            name: new.name.trim().to_owned(),
            description: new.description.clone(),
            client_type,
            status: ClientStatus::Active,
            protected: false,
            managed_by: new.managed_by.clone().filter(|m| !m.is_empty()),
            created_at: now,
            updated_at: now,
            created_by: actor.id.clone(),
            last_used_at: None,
            revision: 1,
            tokens_valid_after: None,
            token_epoch: self.kernel.new_epoch(),
            config,
        })
    }

    /// Builds a validated client with its first secret (if it uses one),
    /// its view and its audit event: everything a create writes.
    fn prepare_create(
        &self,
        ctx: &TenantContext,
        catalog: &Catalog,
        actor: &Actor,
        new: NewClient,
    ) -> Result<(ClientInsert, CreatedClient), AppError> {
        let client = self.build_client(ctx, catalog, actor, &new)?;
        let (secret, records) = if client.config.token_endpoint_auth_method.uses_secret() {
            let (s, r) = self.new_secret(new.secret, None, self.max_age_expiry(ctx, None))?;
            (Some(s), vec![r])
        } else {
            (None, Vec::new())
        };
        let view = ClientView::new(client.clone(), &records, ctx);
        let audit = self.kernel.audit_record(
            actor,
            "client.create",
            "client",
            client.client_id.as_str(),
            &diff(&json!({}), &view.audit_doc()),
        );
        let created = CreatedClient { client: view, client_secret: secret.map(|s| s.expose().to_owned()) };
        Ok((ClientInsert { client, secrets: records, audit }, created))
    }

    /// Creates a client; confidential clients get a secret, returned once.
    ///
    /// # Errors
    /// `Validation` with per-field messages, `Conflict` for a taken name or
    /// id, `Forbidden` for read-only callers.
    pub async fn create_client(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        new: NewClient,
    ) -> Result<CreatedClient, AppError> {
        actor.require_write()?;
        let catalog = self.catalog(ctx).await?;
        let (insert, created) = self.prepare_create(ctx, &catalog, actor, new)?;
        let inserted = self.kernel.store.insert_client(&insert.client, &insert.secrets, &insert.audit).await;
        self.kernel.clients.invalidate(&ctx.id, &insert.client.client_id);
        inserted.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => {
                AppError::Conflict("a client with this name or client_id already exists in this tenant".into())
            }
            other => other,
        })?;
        Ok(created)
    }

    pub(crate) async fn load_client(
        &self,
        ctx: &TenantContext,
        client_id: &str,
    ) -> Result<(Client, Vec<SecretRecord>), AppError> {
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        self.kernel.store.get_client_with_secrets(&ctx.id, &id).await?.ok_or(AppError::NotFound)
    }

    /// # Errors
    /// `NotFound` when there is no such client in this tenant.
    pub async fn get_client(&self, ctx: &TenantContext, client_id: &str) -> Result<ClientView, AppError> {
        let (c, secrets) = self.load_client(ctx, client_id).await?;
        Ok(ClientView::new(c, &secrets, ctx))
    }

    /// Updates a client with a merge patch of its fields.
    ///
    /// `if_match` is the revision the caller last saw (412 when stale).
    /// Protected and declaratively managed clients need `force`.
    ///
    /// # Errors
    /// `Validation`, `Conflict`, `PreconditionFailed`, `Forbidden`, `NotFound`.
    pub async fn update_client(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        patch: &Map<String, Value>,
        if_match: Option<i64>,
        force: bool,
    ) -> Result<UpdatedClient, AppError> {
        let Update { current, next, secrets, after } =
            self.prepare_update(ctx, actor, client_id, patch, if_match, force).await?;
        let became_confidential = current.config.is_public() && !next.config.is_public();
        let became_public = !current.config.is_public() && next.config.is_public();
        let before = ClientView::new(current.clone(), &secrets, ctx);
        let audit = self.kernel.audit_record(
            actor,
            "client.update",
            "client",
            client_id,
            &diff(&before.audit_doc(), &after.audit_doc()),
        );
        let written = self.kernel.store.update_client(&next, current.revision, &audit).await;
        self.kernel.clients.invalidate(&ctx.id, &current.client_id);
        if !written.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::field("name", "another client of this tenant already has this name"),
            other => other,
        })? {
            let now_rev = self.load_client(ctx, client_id).await.map(|(c, _)| c.revision).unwrap_or(current.revision);
            return Err(AppError::PreconditionFailed(now_rev));
        }
        let mut client_secret = None;
        if became_confidential {
            let (created, _) = self.add_secret_internal(ctx, actor, client_id, None, None, None).await?;
            client_secret = Some(created);
        }
        if became_public && !secrets.is_empty() {
            let ids: Vec<String> = secrets.iter().map(|s| s.secret_id.clone()).collect();
            self.expire_secret_ids(ctx, actor, client_id, &ids, self.kernel.now(), "client.secrets_revoked").await?;
        }
        Ok(UpdatedClient { client: self.get_client(ctx, client_id).await?, client_secret })
    }

    /// A dry run of [`ClientAdmin::update_client`](crate::admin::clients::ClientAdmin::update_client): the same checks, nothing
    /// written; the client as it would be (without a new secret).
    ///
    /// # Errors
    /// As `update_client`, but for a name taken by another client.
    pub async fn check_client_update(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        patch: &Map<String, Value>,
        if_match: Option<i64>,
        force: bool,
    ) -> Result<UpdatedClient, AppError> {
        let u = self.prepare_update(ctx, actor, client_id, patch, if_match, force).await?;
        Ok(UpdatedClient { client: u.after, client_secret: None })
    }

    /// Checks a change and computes the changed client.
    async fn prepare_update(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        patch: &Map<String, Value>,
        if_match: Option<i64>,
        force: bool,
    ) -> Result<Update, AppError> {
        let (current, secrets, catalog) = self.client_for_change(ctx, actor, client_id).await?;
        if let Some(rev) = if_match
            && rev != current.revision
        {
            return Err(AppError::PreconditionFailed(current.revision));
        }
        if current.protected && !force {
            return Err(AppError::Forbidden(
                "this is a protected default client: repeat with force to change it".into(),
            ));
        }
        // Only the declarative file that manages the client re-applies it
        // without force (it names itself in the same patch).
        let same_manager =
            patch.get("managed_by").and_then(Value::as_str).is_some_and(|m| current.managed_by.as_deref() == Some(m));
        if current.managed_by.is_some() && !force && !same_manager {
            return Err(AppError::Forbidden(
                "this client is managed by a declarative file; the next apply would undo a manual change: repeat with force".into(),
            ));
        }
        let mut next = current.clone();
        let mut config_fields = Map::new();
        for (k, v) in patch {
            match k.as_str() {
                "name" => {
                    let name = v.as_str().ok_or_else(|| AppError::field("name", "must be a string"))?;
                    next.name = name.trim().to_owned();
                }
                "description" => next.description = v.as_str().map(str::to_owned).unwrap_or_default(),
                "managed_by" => next.managed_by = v.as_str().map(str::to_owned).filter(|s| !s.is_empty()),
                "type" => {
                    next.client_type = serde_json::from_value(v.clone())
                        .map_err(|_| AppError::field("type", "unknown client type"))?;
                }
                "client_id" | "status" | "protected" | "created_at" | "updated_at" | "created_by" | "revision"
                | "secrets" | "last_used_at" => {
                    return Err(AppError::field(k, "cannot be changed here"));
                }
                _ => {
                    config_fields.insert(k.clone(), v.clone());
                }
            }
        }
        let draft = apply_config_fields(&current.config, &config_fields)?;
        next.config = catalog.validate(ctx, &next.name, &next.description, draft)?;
        actor.require_authority_over(catalog.authority(&next.config), "the changed client")?;
        next.updated_at = self.kernel.now();
        let after = ClientView::new(next.clone(), &secrets, ctx);
        Ok(Update { current, next, secrets, after })
    }

    /// Enables or disables a client, at once: a disabled client's tokens
    /// stop introspecting as active and it cannot obtain new ones.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden` (read-only caller, or a protected client without `force`).
    pub async fn set_client_status(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        status: ClientStatus,
        force: bool,
    ) -> Result<ClientView, AppError> {
        let (client, secrets, _) = self.client_for_change(ctx, actor, client_id).await?;
        let before = ClientView::new(client, &secrets, ctx);
        if before.protected && !force {
            return Err(AppError::Forbidden(
                "this is a protected default client: repeat with force to change it".into(),
            ));
        }
        let changes = json!({ "status": { "before": before.status, "after": status } });
        let action = if status == ClientStatus::Active { "client.enable" } else { "client.disable" };
        let audit = self.kernel.audit_record(actor, action, "client", client_id, &changes);
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let changed = self.kernel.store.set_client_status(&ctx.id, &id, status, self.kernel.now(), &audit).await?;
        self.kernel.clients.invalidate(&ctx.id, &id);
        if !changed {
            return Err(AppError::NotFound);
        }
        self.get_client(ctx, client_id).await
    }

    /// Deletes a client with its secrets, at once: every token it holds
    /// becomes inactive.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden` (read-only caller, or a protected client without `force`).
    pub async fn delete_client(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        client_id: &str,
        force: bool,
    ) -> Result<(), AppError> {
        let (client, secrets, _) = self.client_for_change(ctx, actor, client_id).await?;
        let before = ClientView::new(client, &secrets, ctx);
        if before.protected && !force {
            return Err(AppError::Forbidden(
                "this is a protected default client: repeat with force to delete it".into(),
            ));
        }
        let audit = self.kernel.audit_record(
            actor,
            "client.delete",
            "client",
            client_id,
            &diff(&before.audit_doc(), &Value::Null),
        );
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let deleted = self.kernel.store.delete_client(&ctx.id, &id, &audit).await?;
        self.kernel.clients.invalidate(&ctx.id, &id);
        if deleted { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// "Would this redirect URI match?" — the same matcher as the authorize endpoint.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn test_redirect(
        &self,
        ctx: &TenantContext,
        client_id: &str,
        candidate: &str,
    ) -> Result<latchkey_core::redirect::MatchExplanation, AppError> {
        let (c, _) = self.load_client(ctx, client_id).await?;
        let parents = &ctx.settings.approved_wildcard_parents;
        Ok(latchkey_core::redirect::explain_match(&c.config.redirect_uris, candidate, parents))
    }
}
