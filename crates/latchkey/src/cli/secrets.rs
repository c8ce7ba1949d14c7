//! `latchkey client secret …`: add, rotate (with a grace period), revoke, list.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::api::{Api, segment};
use super::client_args::client_path;
use super::output::{self, Format, Table, cell, parse_duration, time};
use super::pending;

#[derive(Subcommand)]
pub enum SecretCmd {
    /// Add a secret (a client holds up to 5); shown once.
    Add {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Create a new secret; the current ones expire after the grace period (default 0: at once).
    Rotate {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// How long the old secrets keep working: `24h`, `30m`, `3600`, `0`.
        #[arg(long, default_value = "0", value_parser = parse_duration)]
        grace: u64,
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke one secret now.
    Revoke {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        secret_id: String,
    },
    /// List a client's secrets (metadata only).
    List {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

/// Runs `latchkey client secret …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn run(api: &Api, cmd: SecretCmd, f: Format) -> Result<()> {
    match cmd {
        SecretCmd::Add { client_id, label, expires_in_days } => {
            let mut body = Map::new();
            if let Some(l) = label {
                body.insert("label".into(), json!(l));
            }
            if let Some(d) = expires_in_days {
                body.insert("expires_in_days".into(), json!(d));
            }
            let v = api.post(&format!("{}/secrets", client_path(&client_id)), &Value::Object(body)).await?;
            created(api, &client_id, &v, f)
        }
        SecretCmd::Rotate { client_id, grace, label } => {
            let mut body = Map::new();
            body.insert("grace_seconds".into(), json!(grace));
            if let Some(l) = label {
                body.insert("label".into(), json!(l));
            }
            let v = api.post(&format!("{}/secrets/rotate", client_path(&client_id)), &Value::Object(body)).await?;
            created(api, &client_id, &v, f)
        }
        SecretCmd::Revoke { client_id, secret_id } => {
            api.delete(&format!("{}/secrets/{}", client_path(&client_id), segment(&secret_id))).await?;
            if f == Format::Json {
                return output::json(&json!({ "client_id": client_id, "secret_id": secret_id, "revoked": true }));
            }
            println!("Revoked secret {secret_id} of client {client_id}.");
            Ok(())
        }
        SecretCmd::List { client_id } => {
            let v = api.get(&format!("{}/secrets", client_path(&client_id))).await?;
            if f == Format::Json {
                return output::json(&v);
            }
            table(v["items"].as_array().map_or(&[][..], Vec::as_slice)).print();
            Ok(())
        }
    }
}

/// A table of secret metadata.
pub fn table(secrets: &[Value]) -> Table {
    let mut t = Table::new(&["SECRET ID", "LABEL", "HINT", "CREATED", "EXPIRES", "LAST USED"]);
    for s in secrets {
        t.row(vec![
            cell(&s["id"]),
            cell(&s["label"]),
            format!("…{}", s["hint"].as_str().unwrap_or_default()),
            time(&s["created_at"]),
            time(&s["expires_at"]),
            time(&s["last_used_at"]),
        ]);
    }
    t
}

/// Keeps the new secret for `client credentials` and prints it once.
fn created(api: &Api, client_id: &str, v: &Value, f: Format) -> Result<()> {
    let secret = v["client_secret"].as_str();
    if let Some(s) = secret {
        pending::save(&api.tenant, client_id, s)?;
    }
    if f == Format::Json {
        return output::json(v);
    }
    let mut all = vec![v["secret"].clone()];
    if let Some(exp) = v["expiring"].as_array() {
        all.extend(exp.iter().cloned());
    }
    table(&all).print();
    if let Some(s) = secret {
        println!("\nclient_secret   {s}");
        eprintln!(
            "This secret is shown once. `latchkey client credentials {client_id}` prints client_id:client_secret one more time."
        );
    }
    Ok(())
}
