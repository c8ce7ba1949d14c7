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
pub mod exit;
mod export;
mod login;
mod output;
mod plan;
mod remote;
mod secret_file;
mod secrets;
mod tenants;
mod users;
mod validate;

use anyhow::Result;
use clap::Subcommand;

pub use api::Api;
pub use output::Format;

#[derive(Subcommand)]
pub enum Command {
    /// Sign in as a person with the device flow (opens a browser when there is one).
    #[command(after_help = "Examples:
  latchkey login
  latchkey login --no-browser
  latchkey --tenant acme login --scope 'openid offline_access admin:read'")]
    Login(login::LoginArgs),
    /// Revoke and forget this server's sign-in.
    #[command(after_help = "Examples:
  latchkey logout
  latchkey --server https://id.example.com --tenant acme logout")]
    Logout,
    /// Show the server, tenant, user (or client) and role the CLI acts as.
    #[command(after_help = "Examples:
  latchkey whoami
  latchkey whoami -o json")]
    Whoami,
    /// Manage OAuth clients: create, list, update, secrets.
    #[command(after_help = "Examples:
  latchkey client create --name 'Billing jobs' --type m2m --scope api:read
  latchkey client list --search billing
  latchkey client secret rotate billing-jobs --grace 24h")]
    Client(clients::ClientArgs),
    /// Manage the scopes catalogue.
    #[command(after_help = "Examples:
  latchkey scope list
  latchkey scope create api:read --description 'Read the API'")]
    Scope(catalog::ScopeArgs),
    /// Manage security classes (named bundles of scopes).
    #[command(after_help = "Examples:
  latchkey class list
  latchkey class create billing --scope api:read --scope api:write")]
    Class(catalog::ClassArgs),
    /// Manage users: people who sign in (roles owner, tenant-admin, viewer).
    #[command(after_help = "Examples:
  latchkey user create grace --email grace@example.com --role tenant-admin
  latchkey user show grace
  latchkey user reset-password grace")]
    User(users::UserArgs),
    /// Manage tenants (owners of the default tenant): create, rename, disable, delete.
    #[command(after_help = "Examples:
  latchkey tenant create acme --display-name 'Acme Corp'
  latchkey tenant list")]
    Tenant(tenants::TenantArgs),
    /// Read the audit log.
    #[command(after_help = "Examples:
  latchkey audit list --since 24h
  latchkey audit list --target-id billing-jobs --all")]
    Audit(catalog::AuditArgs),
    /// List and rotate the tenant's signing keys.
    #[command(after_help = "Examples:
  latchkey keys list
  latchkey keys rotate --purpose id_token")]
    Keys(catalog::KeysArgs),
    /// Upstream authorization servers Latchkey is a client of.
    #[command(after_help = "Examples:
  latchkey provider create corp --discovery-url https://id.corp.example/.well-known/openid-configuration
  latchkey provider list")]
    Provider(remote::ProviderArgs),
    /// Credentials registered at a provider, by namespace and name.
    #[command(after_help = "Examples:
  latchkey remote-client create billing crm --provider corp --client-id latchkey-billing --secret-stdin < crm.secret
  latchkey remote-client list")]
    RemoteClient(remote::RemoteClientArgs),
    /// Grants obtained with remote clients; print a current access token.
    #[command(after_help = "Examples:
  latchkey authorization create billing crm
  latchkey authorization token billing crm")]
    Authorization(remote::AuthorizationArgs),
    /// Print every scope, security class and client as YAML (secrets never included).
    #[command(after_help = "Examples:
  latchkey export > clients.yaml
  latchkey export --output-file clients.yaml
  latchkey export -o json")]
    Export(export::ExportArgs),
    /// Show what `apply FILE` would change, checked by the server as apply would; nothing written.
    #[command(after_help = "Examples:
  latchkey plan clients.yaml
  latchkey plan clients.yaml --prune
  latchkey plan clients.yaml --detailed-exitcode   # 0 no changes, 2 changes, 1 error

With --detailed-exitcode every error exits 1 (usage errors too), so 2 means only
\"there are changes\".")]
    Plan(apply::PlanArgs),
    /// Create and update objects to match FILE (idempotent).
    #[command(after_help = "Examples:
  latchkey apply clients.yaml
  latchkey apply clients.yaml --prune --yes
  latchkey apply clients.yaml --output-file new-secrets.txt")]
    Apply(apply::ApplyArgs),
}

impl Command {
    /// `plan --detailed-exitcode`: errors exit 1 and changes exit 2.
    #[must_use]
    pub fn detailed_exitcode(&self) -> bool {
        matches!(self, Self::Plan(p) if p.detailed_exitcode)
    }
}

/// Where the admin API is and how to print: the global `--server`,
/// `--tenant` and `--output`.
#[derive(Debug, Clone)]
pub struct Target {
    pub server: String,
    pub tenant: Option<String>,
    /// The output format: as asked, else table on a terminal and JSON otherwise.
    pub format: Format,
    /// `-o` as given: `plan`, `apply` and `export` print text or YAML unless asked otherwise.
    pub asked: Option<Format>,
}

impl Target {
    /// Connects with an admin token.
    ///
    /// # Errors
    /// See [`Api::connect`].
    pub async fn connect(&self) -> Result<Api> {
        Api::connect(&self.server, self.tenant.as_deref()).await
    }
}

/// The exit code for the error of a command (see [`exit::HELP`]).
#[must_use]
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<exit::Failure>() {
            return f.kind.code();
        }
        if let Some(a) = cause.downcast_ref::<api::ApiError>() {
            return exit::Kind::of_status(a.status).code();
        }
    }
    exit::GENERIC
}

/// Runs one admin command; its exit code when it succeeds (0, or 2 for
/// `plan --detailed-exitcode` with changes).
///
/// # Errors
/// Every failure, as one line for the caller to print.
pub async fn run(cmd: Command, t: Target) -> Result<u8> {
    let done = |r: Result<()>| r.map(|()| exit::OK);
    match cmd {
        Command::Login(a) => done(login::login(a, &t).await),
        Command::Logout => done(login::logout(&t).await),
        Command::Whoami => done(login::whoami(&t).await),
        Command::Client(a) => done(clients::run(a, &t).await),
        Command::Scope(a) => done(catalog::scopes(a, &t).await),
        Command::Class(a) => done(catalog::classes(a, &t).await),
        Command::User(a) => done(users::run(a, &t).await),
        Command::Tenant(a) => done(tenants::run(a, &t).await),
        Command::Audit(a) => done(catalog::audit(a, &t).await),
        Command::Keys(a) => done(catalog::keys(a, &t).await),
        Command::Provider(a) => done(remote::providers(a, &t).await),
        Command::RemoteClient(a) => done(remote::remote_clients(a, &t).await),
        Command::Authorization(a) => done(remote::authorizations(a, &t).await),
        Command::Export(a) => done(export::export(a, &t).await),
        Command::Plan(a) => apply::plan(a, &t).await,
        Command::Apply(a) => done(apply::apply(a, &t).await),
    }
}
