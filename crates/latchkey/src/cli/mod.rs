//! The admin commands of SPEC §6: they talk to a running server's admin API
//! with a token obtained from `LATCHKEY_CLIENT_ID`/`LATCHKEY_CLIENT_SECRET`
//! or, when those are unset, the sign-in of `latchkey login`.

mod api;
mod apply;
mod catalog;
mod client_args;
mod client_update;
mod client_view;
mod clients;
mod credentials;
mod declarative;
mod login;
mod output;
mod pending;
mod remote;
mod secrets;
mod tenants;
mod users;

use anyhow::Result;
use clap::Subcommand;

pub use api::Api;

#[derive(Subcommand)]
pub enum Command {
    /// Sign in as a person with the device flow (opens a browser when there is one).
    Login(login::LoginArgs),
    /// Revoke and forget this server's sign-in.
    Logout,
    /// Show the server, tenant, user (or client) and role the CLI acts as.
    Whoami(login::WhoamiArgs),
    /// Manage OAuth clients: create, list, update, secrets, credentials.
    Client(clients::ClientArgs),
    /// Manage the scopes catalogue.
    Scope(catalog::ScopeArgs),
    /// Manage security classes (named bundles of scopes).
    Class(catalog::ClassArgs),
    /// Manage users: people who sign in (roles owner, tenant-admin, viewer).
    User(users::UserArgs),
    /// Manage tenants (owners of the default tenant): create, rename, disable, delete.
    Tenant(tenants::TenantArgs),
    /// Read the audit log.
    Audit(catalog::AuditArgs),
    /// Signing keys.
    Keys(catalog::KeysArgs),
    /// Upstream authorization servers Latchkey is a client of.
    Provider(remote::ProviderArgs),
    /// Credentials registered at a provider, by namespace and name.
    RemoteClient(remote::RemoteClientArgs),
    /// Grants obtained with remote clients; print a current access token.
    Authorization(remote::AuthorizationArgs),
    /// Print every scope, security class and client as YAML (secrets never included).
    Export(declarative::ExportArgs),
    /// Show what `apply FILE` would change: a diff, nothing written.
    Plan(apply::PlanArgs),
    /// Create and update objects to match FILE (idempotent).
    Apply(apply::ApplyArgs),
}

/// Where the admin API is: the global `--server` and `--tenant`.
#[derive(Debug, Clone)]
pub struct Target {
    pub server: String,
    pub tenant: Option<String>,
}

impl Target {
    /// The tenant name used for local state (pending secrets).
    #[must_use]
    pub fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or("default")
    }

    /// Connects with an admin token.
    ///
    /// # Errors
    /// See [`Api::connect`].
    pub async fn connect(&self) -> Result<Api> {
        Api::connect(&self.server, self.tenant.as_deref()).await
    }
}

/// Runs one admin command.
///
/// # Errors
/// Every failure, as one line for the caller to print.
pub async fn run(cmd: Command, server: &str, tenant: Option<&str>) -> Result<()> {
    let t = Target { server: server.to_owned(), tenant: tenant.map(str::to_owned) };
    match cmd {
        Command::Login(a) => login::login(a, &t).await,
        Command::Logout => login::logout(&t).await,
        Command::Whoami(a) => login::whoami(a, &t).await,
        Command::Client(a) => clients::run(a, &t).await,
        Command::Scope(a) => catalog::scopes(a, &t).await,
        Command::Class(a) => catalog::classes(a, &t).await,
        Command::User(a) => users::run(a, &t).await,
        Command::Tenant(a) => tenants::run(a, &t).await,
        Command::Audit(a) => catalog::audit(a, &t).await,
        Command::Keys(a) => catalog::keys(a, &t).await,
        Command::Provider(a) => remote::providers(a, &t).await,
        Command::RemoteClient(a) => remote::remote_clients(a, &t).await,
        Command::Authorization(a) => remote::authorizations(a, &t).await,
        Command::Export(a) => declarative::export(a, &t).await,
        Command::Plan(a) => apply::plan(a, &t).await,
        Command::Apply(a) => apply::apply(a, &t).await,
    }
}
