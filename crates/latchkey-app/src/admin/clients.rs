//! Client management: create, read, list, enable/disable, delete.

use latchkey_core::token::Lifetime;
use latchkey_core::{
    AccessTokenFormat, Client, ClientConfig, ClientId, ClientStatus, ClientType, FieldError, GrantType, ScopeSet,
    TokenEndpointAuthMethod,
};
use latchkey_crypto::ClientSecret;
use latchkey_crypto::secret::{MIN_IMPORTED_LEN, SECRET_PREFIX};
use latchkey_store::SecretRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Actor, diff};
use crate::tenants::TenantContext;
use crate::{App, AppError};

/// A client to create. Unset fields take the preset's defaults.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
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
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<Vec<String>>,
    pub audiences: Option<Vec<String>>,
    pub access_token_format: Option<AccessTokenFormat>,
    pub access_token_lifetime: Option<u32>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Secret metadata: never the secret or its hash.
#[derive(Debug, Clone, Serialize)]
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

/// A client as the admin API shows it: every field, the effective
/// lifetime and where it comes from, and secret metadata.
#[derive(Debug, Clone, Serialize)]
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
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub last_used_at: Option<i64>,
    pub revision: i64,
    pub secrets: Vec<SecretView>,
}

impl ClientView {
    fn new(c: Client, secrets: &[SecretRecord], ctx: &TenantContext) -> Self {
        let s = &ctx.settings;
        let lifetime = Lifetime::effective(
            c.config.access_token_lifetime,
            s.default_access_token_lifetime,
            s.max_access_token_lifetime,
        );
        Self {
            client_id: c.client_id.to_string(),
            name: c.name,
            description: c.description,
            client_type: c.client_type,
            status: c.status,
            protected: c.protected,
            managed_by: c.managed_by,
            config: c.config,
            effective_access_token_lifetime: lifetime,
            created_at: c.created_at,
            updated_at: c.updated_at,
            created_by: c.created_by,
            last_used_at: c.last_used_at,
            revision: c.revision,
            secrets: secrets.iter().map(SecretView::from).collect(),
        }
    }
}

/// The response to a create: the client, and its secret exactly once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    pub client_secret: Option<String>,
}

fn validate_name(name: &str, errors: &mut Vec<FieldError>) {
    let n = name.trim().chars().count();
    if n == 0 || n > 200 {
        errors.push(FieldError::new("name", "must be 1-200 characters"));
    }
}

impl App {
    /// Builds a secret record for `secret`, or generates one.
    pub(crate) fn new_secret(&self, imported: Option<String>) -> Result<(ClientSecret, SecretRecord), AppError> {
        let secret = match imported {
            Some(s) if s.chars().count() < MIN_IMPORTED_LEN => {
                return Err(AppError::field("secret", "an imported secret must be at least 32 characters"));
            }
            Some(s) if s.chars().any(char::is_control) => {
                return Err(AppError::field("secret", "a secret must not contain control characters"));
            }
            Some(s) => ClientSecret::from_plaintext(s),
            None => {
                let mut r = [0u8; latchkey_crypto::secret::RANDOM_BYTES];
                self.rng.fill(&mut r);
                latchkey_crypto::secret::generate_client_secret(&r)
                    .ok_or_else(|| AppError::Internal("random source returned too few usable bytes".into()))?
            }
        };
        let rec = SecretRecord {
            secret_id: format!("sec_{}", self.random_id(9)),
            secret_hash: self.hasher.hash(&secret),
            sealed_secret: None,
            hint: secret.hint(),
            label: None,
            created_at: self.now(),
            expires_at: None,
            last_used_at: None,
        };
        Ok((secret, rec))
    }

    /// Validates and builds a client from a creation request (no I/O but the
    /// scope catalogue lookup).
    pub(crate) async fn build_client(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        new: &NewClient,
    ) -> Result<Client, AppError> {
        let mut errors = Vec::new();
        validate_name(&new.name, &mut errors);
        if new.description.chars().count() > 2000 {
            errors.push(FieldError::new("description", "must be at most 2000 characters"));
        }
        let client_type = new.client_type.unwrap_or(ClientType::Custom);
        let mut config = client_type.preset();
        if let Some(m) = new.token_endpoint_auth_method {
            config.token_endpoint_auth_method = m;
        }
        if let Some(g) = &new.grant_types {
            config.grant_types.clone_from(g);
        }
        if let Some(f) = new.access_token_format {
            config.access_token_format = f;
        }
        if let Some(a) = &new.audiences {
            config.audiences.clone_from(a);
        }
        config.labels.clone_from(&new.labels);
        config.access_token_lifetime = new.access_token_lifetime;
        if let Some(scopes) = &new.scopes {
            match ScopeSet::parse_param(&scopes.join(" ")) {
                Ok(s) => config.scopes = s,
                Err(e) => errors.push(FieldError::new("scopes", &e.message)),
            }
        }
        if config.grant_types.is_empty() {
            errors.push(FieldError::new("grant_types", "choose at least one grant type"));
        }
        if config.is_public() && config.grant_types.contains(&GrantType::ClientCredentials) {
            errors.push(FieldError::new("grant_types", "public clients cannot use client_credentials"));
        }
        if config.grant_types.iter().any(|g| g.is_legacy()) && !ctx.settings.legacy_grants_enabled {
            errors.push(FieldError::new("grant_types", "legacy grants are disabled in this tenant's settings"));
        }
        if let Some(l) = new.access_token_lifetime {
            let max = ctx.settings.max_access_token_lifetime;
            if !(latchkey_core::tenant::MIN_TOKEN_LIFETIME..=max).contains(&l) {
                errors.push(FieldError::new(
                    "access_token_lifetime",
                    &format!("must be between 60 and {max} seconds (the tenant's maximum)"),
                ));
            }
        }
        if config.is_public() && new.secret.is_some() {
            errors.push(FieldError::new("secret", "public clients have no secret"));
        }
        // Every scope must exist in the catalogue.
        let catalogue = self.store.list_scopes(&ctx.id).await?;
        let unknown: Vec<&str> = config
            .scopes
            .iter()
            .map(latchkey_core::Scope::as_str)
            .filter(|s| !catalogue.iter().any(|c| c.name == *s))
            .collect();
        if !unknown.is_empty() {
            errors.push(FieldError::new("scopes", &format!("unknown scopes: {}", unknown.join(", "))));
        }
        let client_id = match &new.client_id {
            Some(id) => ClientId::parse(id).map_err(|e| {
                errors.push(e);
            }),
            None => ClientId::parse(&self.random_id(18)).map_err(|_| ()),
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let client_id = client_id.map_err(|()| AppError::Internal("generated client id is invalid".into()))?;
        let now = self.now();
        Ok(Client {
            tenant: ctx.id.clone(),
            client_id,
            name: new.name.trim().to_owned(),
            description: new.description.clone(),
            client_type,
            status: ClientStatus::Active,
            protected: false,
            managed_by: None,
            created_at: now,
            updated_at: now,
            created_by: actor.id.clone(),
            last_used_at: None,
            revision: 1,
            config,
        })
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
        let client = self.build_client(ctx, actor, &new).await?;
        let (secret, records) = if client.config.token_endpoint_auth_method.uses_secret() {
            let (s, r) = self.new_secret(new.secret)?;
            (Some(s), vec![r])
        } else {
            (None, Vec::new())
        };
        let view = ClientView::new(client.clone(), &records, ctx);
        let after = serde_json::to_value(&view).unwrap_or_default();
        let audit =
            self.audit_record(actor, "client.create", "client", client.client_id.as_str(), &diff(&json!({}), &after));
        let inserted = self.store.insert_client(&client, &records, &audit).await;
        self.clients.invalidate(&ctx.id, &client.client_id);
        inserted.map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => {
                AppError::Conflict("a client with this name or client_id already exists in this tenant".into())
            }
            other => other,
        })?;
        Ok(CreatedClient { client: view, client_secret: secret.map(|s| s.expose().to_owned()) })
    }

    /// # Errors
    /// `NotFound` when there is no such client in this tenant.
    pub async fn get_client(&self, ctx: &TenantContext, client_id: &str) -> Result<ClientView, AppError> {
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let (c, secrets) = self.store.get_client_with_secrets(&ctx.id, &id).await?.ok_or(AppError::NotFound)?;
        Ok(ClientView::new(c, &secrets, ctx))
    }

    /// One page of clients in creation order, and the cursor of the next.
    ///
    /// # Errors
    /// `Validation` for a malformed cursor.
    pub async fn list_clients(
        &self,
        ctx: &TenantContext,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ClientView>, Option<String>), AppError> {
        let limit = limit.clamp(1, 500);
        let after = match cursor {
            None | Some("") => None,
            Some(c) => {
                Some(decode_cursor(c).ok_or_else(|| AppError::field("cursor", "not a cursor this server issued"))?)
            }
        };
        let page = self.store.list_clients(&ctx.id, after, limit + 1).await?;
        let more = page.len() > limit as usize;
        let items: Vec<Client> = page.into_iter().take(limit as usize).collect();
        let next = if more { items.last().map(|c| encode_cursor(c.created_at, c.client_id.as_str())) } else { None };
        Ok((items.into_iter().map(|c| ClientView::new(c, &[], ctx)).collect(), next))
    }

    /// Enables or disables a client. Disabling takes effect at once: its
    /// tokens stop introspecting as active and it cannot obtain new ones.
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
        actor.require_write()?;
        let before = self.get_client(ctx, client_id).await?;
        if before.protected && !force {
            return Err(AppError::Forbidden(
                "this is a protected default client: repeat with force to change it".into(),
            ));
        }
        let changes = json!({ "status": { "before": before.status, "after": status } });
        let action = if status == ClientStatus::Active { "client.enable" } else { "client.disable" };
        let audit = self.audit_record(actor, action, "client", client_id, &changes);
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let changed = self.store.set_client_status(&ctx.id, &id, status, self.now(), &audit).await?;
        self.clients.invalidate(&ctx.id, &id);
        if !changed {
            return Err(AppError::NotFound);
        }
        self.get_client(ctx, client_id).await
    }

    /// Deletes a client, its secrets and its tokens, at once.
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
        actor.require_write()?;
        let before = self.get_client(ctx, client_id).await?;
        if before.protected && !force {
            return Err(AppError::Forbidden(
                "this is a protected default client: repeat with force to delete it".into(),
            ));
        }
        let before_json = serde_json::to_value(&before).unwrap_or_default();
        let audit = self.audit_record(actor, "client.delete", "client", client_id, &diff(&before_json, &Value::Null));
        let id = ClientId::parse(client_id).map_err(|_| AppError::NotFound)?;
        let deleted = self.store.delete_client(&ctx.id, &id, &audit).await?;
        self.clients.invalidate(&ctx.id, &id);
        if deleted { Ok(()) } else { Err(AppError::NotFound) }
    }
}

fn encode_cursor(created_at: i64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (t, id) = s.split_once(':')?;
    ClientId::parse(id).ok()?;
    Some((t.parse().ok()?, id.to_owned()))
}

/// The prefix every generated secret carries (re-exported for the API docs).
pub const GENERATED_SECRET_PREFIX: &str = SECRET_PREFIX;
