//! `latchkey tenant …`: create, list, show, rename, reconfigure, disable,
//! enable and delete tenants. Tenants are managed from the default tenant
//! (its owners only), so these commands always talk to the default tenant's
//! admin API, whatever `--tenant` says; the tenant they act on is an
//! argument. A new tenant's first credentials are printed once.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Target;
use super::api::{Api, segment};
use super::catalog::{print_list, print_one};
use super::secret_file::SecretOut;

#[derive(Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    cmd: TenantCmd,
}

/// A tenant named on the command line.
#[derive(Args)]
struct TenantRef {
    /// The tenant's id (the `{tenant}` of `/t/{tenant}`).
    tenant_id: String,
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant with its own issuer `{server}/t/{tenant_id}`, keys,
    /// default clients and a first tenant-admin user (credentials shown once).
    #[command(after_help = "Examples:
  latchkey tenant create acme --display-name 'Acme Corp'
  latchkey tenant create acme --settings '{\"allow_legacy_grants\": true}'
  latchkey tenant create acme --output-file acme.credentials

--output-file writes the admin client's secret and the admin's password as
`key = value` lines (mode 0600) instead of printing them.")]
    Create {
        /// The tenant's id: part of its issuer URL.
        tenant_id: String,
        /// The name shown in the console.
        #[arg(long)]
        display_name: Option<String>,
        /// Tenant settings as a JSON object (e.g. '{"allow_legacy_grants": true}').
        #[arg(long, value_name = "JSON")]
        settings: Option<String>,
        #[command(flatten)]
        out: SecretOut,
    },
    /// List every tenant.
    #[command(after_help = "Examples:
  latchkey tenant list
  latchkey tenant list -o json")]
    List,
    /// Show one tenant with its issuer and settings.
    #[command(after_help = "Examples:
  latchkey tenant show acme")]
    Show(TenantRef),
    /// Rename a tenant or change its settings (a JSON merge patch of them).
    #[command(after_help = "Examples:
  latchkey tenant update acme --display-name 'Acme Inc'
  latchkey tenant update acme --settings '{\"default_access_token_lifetime\": 900}'")]
    Update {
        /// The tenant's id.
        tenant_id: String,
        /// New display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Settings to change, as a JSON object (merged into the current ones).
        #[arg(long, value_name = "JSON")]
        settings: Option<String>,
    },
    /// Disable a tenant: its endpoints stop answering and its tokens stop working.
    #[command(after_help = "Examples:
  latchkey tenant disable acme")]
    Disable(TenantRef),
    /// Enable a disabled tenant.
    #[command(after_help = "Examples:
  latchkey tenant enable acme")]
    Enable(TenantRef),
    /// Delete a disabled tenant and everything in it.
    #[command(after_help = "Examples:
  latchkey tenant disable acme
  latchkey tenant delete acme")]
    Delete(TenantRef),
}

fn settings_json(s: Option<String>) -> Result<Option<Value>> {
    s.map(|s| {
        let v: Value = serde_json::from_str(&s).context("--settings is not JSON")?;
        anyhow::ensure!(v.is_object(), "--settings must be a JSON object");
        Ok(v)
    })
    .transpose()
}

/// Runs `latchkey tenant …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn run(a: TenantArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = Api::connect(&t.server, None).await?;
    let path = |id: &str| format!("/tenants/{}", segment(id));
    match a.cmd {
        TenantCmd::Create { tenant_id, display_name, settings, out } => {
            out.precheck()?;
            let mut body = json!({ "tenant_id": tenant_id });
            if let Some(n) = display_name {
                body["display_name"] = Value::String(n);
            }
            if let Some(s) = settings_json(settings)? {
                body["settings"] = s;
            }
            let mut v = api.post("/tenants", &body).await?;
            let named = |v: &Value, k: &str| format!("{k} = {}\n", v[k].as_str().unwrap_or_default());
            let text =
                ["tenant_id", "issuer", "admin_client_id", "admin_client_secret", "admin_username", "admin_password"]
                    .iter()
                    .map(|k| named(&v, k))
                    .collect::<String>();
            out.deliver_as(&mut v, &["admin_client_secret", "admin_password"], |_| text)
                .with_context(|| format!("tenant {tenant_id} was created"))?;
            print_one(&v, f)
        }
        TenantCmd::List => {
            let v = api.get("/tenants").await?;
            let cols = [("TENANT", "tenant_id"), ("NAME", "display_name"), ("STATUS", "status"), ("ISSUER", "issuer")];
            print_list(&v, f, &cols)
        }
        TenantCmd::Show(TenantRef { tenant_id }) => print_one(&api.get(&path(&tenant_id)).await?, f),
        TenantCmd::Update { tenant_id, display_name, settings } => {
            let mut body = Map::new();
            if let Some(n) = display_name {
                body.insert("display_name".into(), Value::String(n));
            }
            if let Some(s) = settings_json(settings)? {
                body.insert("settings".into(), s);
            }
            anyhow::ensure!(!body.is_empty(), "nothing to change: give --display-name or --settings");
            print_one(&api.patch(&path(&tenant_id), &Value::Object(body), None).await?, f)
        }
        TenantCmd::Disable(TenantRef { tenant_id }) => {
            print_one(&api.post(&format!("{}/disable", path(&tenant_id)), &json!({})).await?, f)
        }
        TenantCmd::Enable(TenantRef { tenant_id }) => {
            print_one(&api.post(&format!("{}/enable", path(&tenant_id)), &json!({})).await?, f)
        }
        TenantCmd::Delete(TenantRef { tenant_id }) => {
            api.delete(&path(&tenant_id)).await?;
            eprintln!("Deleted tenant {tenant_id}.");
            Ok(())
        }
    }
}
