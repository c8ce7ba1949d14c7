//! `latchkey client secret …`: add, rotate (with a grace period), revoke, list.

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::api::{Api, segment};
use super::client_args::client_path;
use super::output::{self, Format, Table, cell, parse_duration, time};
use super::secret_file::SecretOut;

/// What `--grace` defaults to: the console's default, one day.
pub const DEFAULT_GRACE: &str = "24h";

#[derive(Subcommand)]
pub enum SecretCmd {
    /// Add a secret (a client holds up to 5); shown once.
    #[command(after_help = "Examples:
  latchkey client secret add billing-jobs --label ci --expires-in-days 90
  latchkey client secret add billing-jobs --output-file billing.secret")]
    Add {
        /// The client's `client_id`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// A name for the secret (who or what uses it).
        #[arg(long)]
        label: Option<String>,
        /// Expire the secret after N days (default: never, or the tenant's maximum age).
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        out: SecretOut,
    },
    /// Create a new secret; the current ones keep working for the grace period, then expire.
    #[command(after_help = "Examples:
  latchkey client secret rotate billing-jobs                # old secrets work 24 more hours
  latchkey client secret rotate billing-jobs --grace 7d --output-file billing.secret
  latchkey client secret rotate billing-jobs --grace 0      # compromised: old secrets stop now")]
    Rotate {
        /// The client's `client_id`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// How long the current secrets keep working: `24h`, `30m`, `7d`, `3600`;
        /// `0` revokes them at once (a compromised secret).
        #[arg(long, default_value = DEFAULT_GRACE, value_parser = parse_duration)]
        grace: u64,
        /// A name for the new secret.
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        out: SecretOut,
    },
    /// Revoke one secret now.
    #[command(after_help = "Examples:
  latchkey client secret list billing-jobs
  latchkey client secret revoke billing-jobs --secret-id sec_0123456789")]
    Revoke {
        /// The client's `client_id`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// The secret's id, as `client secret list` shows it.
        #[arg(long)]
        secret_id: String,
    },
    /// List a client's secrets (metadata only: never a secret).
    #[command(after_help = "Examples:
  latchkey client secret list billing-jobs
  latchkey client secret list billing-jobs -o json")]
    List {
        /// The client's `client_id`.
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
        SecretCmd::Add { client_id, label, expires_in_days, out } => {
            out.precheck()?;
            let mut body = Map::new();
            if let Some(l) = label {
                body.insert("label".into(), json!(l));
            }
            if let Some(d) = expires_in_days {
                body.insert("expires_in_days".into(), json!(d));
            }
            let v = api.post(&format!("{}/secrets", client_path(&client_id)), &Value::Object(body)).await?;
            created(v, &out, f)
        }
        SecretCmd::Rotate { client_id, grace, label, out } => {
            out.precheck()?;
            let mut body = Map::new();
            body.insert("grace_seconds".into(), json!(grace));
            if let Some(l) = label {
                body.insert("label".into(), json!(l));
            }
            let v = api.post(&format!("{}/secrets/rotate", client_path(&client_id)), &Value::Object(body)).await?;
            created(v, &out, f)
        }
        SecretCmd::Revoke { client_id, secret_id } => {
            api.delete(&format!("{}/secrets/{}", client_path(&client_id), segment(&secret_id))).await?;
            if f.is_data() {
                return output::data(&json!({ "client_id": client_id, "secret_id": secret_id, "revoked": true }), f);
            }
            println!("Revoked secret {secret_id} of client {client_id}.");
            Ok(())
        }
        SecretCmd::List { client_id } => {
            let v = api.get(&format!("{}/secrets", client_path(&client_id))).await?;
            if f.is_data() {
                return output::data(&v, f);
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

/// Prints a new secret once (or writes it to `--output-file`), with the
/// secrets that now expire.
fn created(mut v: Value, out: &SecretOut, f: Format) -> Result<()> {
    let shown = out.deliver(&mut v, &["client_secret"]).context("the secret was created")?;
    if f.is_data() {
        return output::data(&v, f);
    }
    let mut all = vec![v["secret"].clone()];
    if let Some(exp) = v["expiring"].as_array() {
        all.extend(exp.iter().cloned());
    }
    table(&all).print();
    if let Some(s) = shown.first() {
        println!("\nclient_secret   {s}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        cmd: SecretCmd,
    }

    fn grace(args: &[&str]) -> u64 {
        match T::parse_from([&["t", "rotate", "c"][..], args].concat()).cmd {
            SecretCmd::Rotate { grace, .. } => grace,
            _ => unreachable!(),
        }
    }

    /// Rotation keeps the old secrets as long as the console does unless
    /// `--grace 0` is asked for.
    #[test]
    fn rotation_defaults_to_the_consoles_grace_period() {
        let form = include_str!("../../../latchkey-web/templates/console/client.html");
        let select = form.split("<select id=\"grace_seconds\"").nth(1).and_then(|s| s.split("</select>").next());
        let selected = select
            .and_then(|s| s.lines().find(|l| l.contains("selected")))
            .and_then(|l| l.split("value=\"").nth(1))
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse::<u64>().ok());
        assert_eq!(selected, Some(86_400), "the console's default grace period");
        assert_eq!(grace(&[]), 86_400);
        assert_eq!(grace(&["--grace", "0"]), 0);
        assert_eq!(grace(&["--grace", "7d"]), 604_800);
    }
}
