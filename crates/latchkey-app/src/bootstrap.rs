//! First start of a tenant: signing keys, default scopes, the protected
//! default clients (SPEC §2.3) and the bootstrap admin user, written in one
//! transaction. A second start (or a second node racing the first) writes
//! nothing and reveals no secret.

use latchkey_core::AdminRole;
use latchkey_core::redirect::RedirectUri;
use latchkey_core::{
    Client, ClientConfig, ClientId, ClientStatus, ClientType, GrantType, ScopeSet, SigningAlg, TenantId,
    TenantSettings, TokenEndpointAuthMethod,
};
use latchkey_store::{KeyPurpose, ScopeRecord, TenantBootstrap, TenantRecord, UserRecord};
use serde_json::json;

use crate::AppError;
use crate::admin::Actor;
pub use crate::admin::tenants::BootstrapSecrets;
use crate::admin::tenants::TenantAdmin;
use crate::keys::new_key_record;

/// Client id of the admin API client.
pub const ADMIN_CLIENT_ID: &str = "latchkey-admin";
/// Client id of the console.
pub const CONSOLE_CLIENT_ID: &str = "latchkey-console";
/// Client id of the CLI's device login.
pub const CLI_CLIENT_ID: &str = "latchkey-cli";
/// Username of the bootstrap administrator.
pub const ADMIN_USERNAME: &str = "admin";

/// Scopes every tenant starts with, with their consent-page descriptions.
pub const DEFAULT_SCOPES: &[(&str, &str)] = &[
    ("openid", "Sign you in and know who you are"),
    ("profile", "See your name and profile"),
    ("email", "See your email address"),
    ("offline_access", "Stay signed in when you are away"),
    ("admin", "Manage this Latchkey tenant"),
    ("admin:read", "Read this Latchkey tenant's configuration"),
    ("users:read", "Read users (directory synchronisation)"),
    ("users:write", "Create and change users (directory synchronisation)"),
    (AUTHORIZATIONS_TOKEN_SCOPE, "Fetch access tokens of remote authorizations"),
];

/// The scope that lets an internal service fetch the current access token
/// of a remote authorization (and nothing else).
pub const AUTHORIZATIONS_TOKEN_SCOPE: &str = "authorizations:token";

/// What the first start created; the caller prints it once.
#[derive(Clone)]
pub struct InitialCredentials {
    pub admin_username: String,
    /// `None` when the password came from the environment (not echoed).
    pub admin_password: Option<String>,
    pub admin_client_id: String,
    /// `None` when the secret came from the environment (not echoed).
    pub admin_client_secret: Option<String>,
}

impl std::fmt::Debug for InitialCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialCredentials(****)")
    }
}

const KEY_CHECK: &[u8] = b"latchkey master key check";

fn default_client(
    tenant: &TenantId,
    id: &str,
    name: &str,
    t: ClientType,
    config: ClientConfig,
    now: i64,
    epoch: i64,
) -> Client {
    Client {
        tenant: tenant.clone(),
        client_id: ClientId::parse(id).unwrap_or_else(|_| unreachable_id()),
        name: name.to_owned(),
        description: String::new(),
        client_type: t,
        status: ClientStatus::Active,
        protected: true,
        managed_by: None,
        created_at: now,
        updated_at: now,
        created_by: "latchkey".to_owned(),
        last_used_at: None,
        revision: 1,
        tokens_valid_after: None,
        token_epoch: epoch,
        config,
    }
}

/// A console URI under the issuer. A public URL the redirect grammar
/// refuses (`http` on a host other than loopback, an upper-case host) gives
/// none: the authorization endpoint could never match it, so the console
/// cannot sign in there either way, and stored client data stays parseable.
fn console_uri(issuer: &str, path: &str) -> Vec<RedirectUri> {
    match RedirectUri::parse(&format!("{issuer}{path}"), &[]) {
        Ok(uri) => vec![uri],
        Err(e) => {
            tracing::warn!(%issuer, error = %e, "the console cannot sign in under this public URL");
            Vec::new()
        }
    }
}

#[allow(clippy::panic)] // the ids are constants checked by a test
fn unreachable_id() -> ClientId {
    panic!("default client ids are valid")
}

impl TenantAdmin {
    /// Creates the default tenant on first start.
    ///
    /// Returns the credentials to print once, or `None` when the tenant
    /// already existed (then it checks the master key opens its data).
    ///
    /// # Errors
    /// `Internal` when an existing installation was created with another
    /// master key; `Validation` for a supplied secret or password that is too short.
    pub async fn bootstrap_default_tenant(
        &self,
        secrets: BootstrapSecrets,
    ) -> Result<Option<InitialCredentials>, AppError> {
        let tenant = TenantId::default_tenant();
        if let Some(existing) = self.kernel.store.get_tenant(&tenant).await? {
            self.kernel
                .envelope
                .open(&existing.key_check, &crate::sealing::tenant_check_aad(tenant.as_str()))
                .map_err(|_| {
                    AppError::Internal(
                        "the master key does not match this database: start with the master key it was created with"
                            .into(),
                    )
                })?;
            self.kernel.load_installation_keys().await?;
            return Ok(None);
        }
        let (bundle, creds) =
            self.tenant_bundle(&tenant, "Default", TenantSettings::default(), secrets, AdminRole::Owner).await?;
        if !self.kernel.store.bootstrap_tenant(&bundle).await? {
            // Another node created it first: nothing of ours was written.
            return Ok(None);
        }
        Ok(Some(creds))
    }

    /// Everything a new tenant starts with: signing keys, default scopes,
    /// the protected default clients and its first administrator (with
    /// `admin_role`), and the credentials to show once.
    pub(crate) async fn tenant_bundle(
        &self,
        tenant: &TenantId,
        display_name: &str,
        settings: TenantSettings,
        secrets: BootstrapSecrets,
        admin_role: AdminRole,
    ) -> Result<(TenantBootstrap, InitialCredentials), AppError> {
        let tenant = tenant.clone();
        let now = self.kernel.now();
        let issuer = self.kernel.issuer_for(&tenant);

        // Keys: ES256 for access tokens, RS256 for ID tokens (OIDC default).
        let envelope = &self.kernel.envelope;
        let keys = vec![
            new_key_record(envelope, &tenant, SigningAlg::Es256, KeyPurpose::AccessToken, now)?,
            new_key_record(envelope, &tenant, SigningAlg::Rs256, KeyPurpose::IdToken, now)?,
        ];

        let scopes = DEFAULT_SCOPES
            .iter()
            .map(|(n, d)| ScopeRecord {
                name: (*n).to_owned(),
                description: (*d).to_owned(),
                created_at: now,
                updated_at: now,
            })
            .collect();

        // latchkey-admin: client_credentials with scope admin.
        let admin_generated = secrets.admin_client_secret.is_none();
        let (admin_secret, admin_secret_rec) =
            self.clients.new_secret(secrets.admin_client_secret, Some("bootstrap".into()), None)?;
        let admin = default_client(
            &tenant,
            ADMIN_CLIENT_ID,
            "Admin API",
            ClientType::M2m,
            ClientConfig {
                grant_types: vec![GrantType::ClientCredentials],
                token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                scopes: ScopeSet::parse_param("admin admin:read").unwrap_or_default(),
                // The default tenant's is the one built-in owner client.
                admin_role: Some(admin_role),
                ..ClientConfig::default()
            },
            now,
            self.kernel.new_epoch(),
        );
        let console = default_client(
            &tenant,
            CONSOLE_CLIENT_ID,
            "Admin Console",
            ClientType::Spa,
            ClientConfig {
                grant_types: vec![GrantType::AuthorizationCode],
                response_types: vec!["code".into()],
                token_endpoint_auth_method: TokenEndpointAuthMethod::None,
                redirect_uris: console_uri(&issuer, "/console/callback"),
                post_logout_redirect_uris: console_uri(&issuer, "/console/"),
                scopes: ScopeSet::parse_param("openid profile email admin admin:read").unwrap_or_default(),
                require_pkce: true,
                ..ClientConfig::default()
            },
            now,
            self.kernel.new_epoch(),
        );
        let cli = default_client(
            &tenant,
            CLI_CLIENT_ID,
            "Command Line",
            ClientType::Device,
            ClientConfig {
                grant_types: vec![GrantType::DeviceCode, GrantType::RefreshToken],
                token_endpoint_auth_method: TokenEndpointAuthMethod::None,
                scopes: ScopeSet::parse_param("openid offline_access admin admin:read").unwrap_or_default(),
                ..ClientConfig::default()
            },
            now,
            self.kernel.new_epoch(),
        );

        // The bootstrap administrator (argon2id in one of the node's hashing slots).
        let password_generated = secrets.admin_password.is_none();
        let password_text = match secrets.admin_password {
            Some(p) if p.chars().count() < 12 => {
                return Err(AppError::field(
                    "admin_password",
                    "the bootstrap admin password must be at least 12 characters",
                ));
            }
            Some(p) => p,
            None => self.kernel.random_id(18),
        };
        let password_hash = self.kernel.hash_password(&password_text).await?;
        let user = UserRecord {
            user_id: format!("usr_{}", self.kernel.random_id(12)),
            username: ADMIN_USERNAME.to_owned(),
            email: None,
            display_name: "Administrator".to_owned(),
            password_hash,
            status: latchkey_core::UserStatus::Active,
            roles: vec![admin_role],
            groups: Vec::new(),
            created_at: now,
            updated_at: now,
            token_epoch: self.kernel.new_epoch(),
        };

        let key_check = self
            .kernel
            .envelope
            .seal(KEY_CHECK, &crate::sealing::tenant_check_aad(tenant.as_str()))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let audit = vec![self.kernel.audit_record(
            &Actor::system(),
            "tenant.bootstrap",
            "tenant",
            tenant.as_str(),
            &json!({
                "clients": { "before": null, "after": [ADMIN_CLIENT_ID, CONSOLE_CLIENT_ID, CLI_CLIENT_ID] },
                "users": { "before": null, "after": [ADMIN_USERNAME] },
                "secrets": { "before": null, "after": [{ "id": admin_secret_rec.secret_id, "hint": admin_secret_rec.hint }] }
            }),
        )];
        let bundle = TenantBootstrap {
            tenant: TenantRecord {
                tenant_id: tenant.clone(),
                display_name: display_name.to_owned(),
                status: latchkey_core::TenantStatus::Active,
                settings,
                key_check,
                created_at: now,
            },
            keys,
            scopes,
            clients: vec![(admin, vec![admin_secret_rec]), (console, Vec::new()), (cli, Vec::new())],
            users: vec![user],
            audit,
            audit_elsewhere: Vec::new(),
        };
        let creds = InitialCredentials {
            admin_username: ADMIN_USERNAME.to_owned(),
            admin_password: password_generated.then_some(password_text),
            admin_client_id: ADMIN_CLIENT_ID.to_owned(),
            admin_client_secret: admin_generated.then(|| admin_secret.expose().to_owned()),
        };
        Ok((bundle, creds))
    }
}
