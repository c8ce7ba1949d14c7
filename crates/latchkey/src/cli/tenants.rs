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
use super::output::OutputArg;

#[derive(Args)]
pub struct TenantArgs {
    #[command(flatten)]
    out: OutputArg,
    #[command(subcommand)]
    cmd: TenantCmd,
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant with its own issuer `{server}/t/{tenant_id}`, keys,
    /// default clients and a first tenant-admin user (credentials shown once).
    Create {
        tenant_id: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Tenant settings as a JSON object (e.g. '{"allow_legacy_grants": true}').
        #[arg(long, value_name = "JSON")]
        settings: Option<String>,
    },
    /// List every tenant.
    List,
    /// Show one tenant with its issuer and settings.
    Show {
        tenant_id: String,
    },
    /// Rename a tenant or change its settings (a JSON merge patch of them).
    Update {
        tenant_id: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, value_name = "JSON")]
        settings: Option<String>,
    },
    /// Disable a tenant: its endpoints stop answering and its tokens stop working.
    Disable {
        tenant_id: String,
    },
    Enable {
        tenant_id: String,
    },
    /// Delete a disabled tenant and everything in it.
    Delete {
        tenant_id: String,
    },
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
    let f = a.out.format();
    let api = Api::connect(&t.server, None).await?;
    let path = |id: &str| format!("/tenants/{}", segment(id));
    match a.cmd {
        TenantCmd::Create { tenant_id, display_name, settings } => {
            let mut body = json!({ "tenant_id": tenant_id });
            if let Some(n) = display_name {
                body["display_name"] = Value::String(n);
            }
            if let Some(s) = settings_json(settings)? {
                body["settings"] = s;
            }
            let v = api.post("/tenants", &body).await?;
            if v.get("admin_client_secret").and_then(Value::as_str).is_some()
                || v.get("admin_password").and_then(Value::as_str).is_some()
            {
                eprintln!("The new tenant's admin client secret and admin password are shown once.");
            }
            print_one(&v, f)
        }
        TenantCmd::List => {
            let v = api.get("/tenants").await?;
            let cols = [("TENANT", "tenant_id"), ("NAME", "display_name"), ("STATUS", "status"), ("ISSUER", "issuer")];
            print_list(&v, f, &cols)
        }
        TenantCmd::Show { tenant_id } => print_one(&api.get(&path(&tenant_id)).await?, f),
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
        TenantCmd::Disable { tenant_id } => {
            print_one(&api.post(&format!("{}/disable", path(&tenant_id)), &json!({})).await?, f)
        }
        TenantCmd::Enable { tenant_id } => {
            print_one(&api.post(&format!("{}/enable", path(&tenant_id)), &json!({})).await?, f)
        }
        TenantCmd::Delete { tenant_id } => {
            api.delete(&path(&tenant_id)).await?;
            eprintln!("Deleted tenant {tenant_id}.");
            Ok(())
        }
    }
}
