//! `latchkey token`: client_credentials against a running server.

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Args)]
pub struct TokenArgs {
    /// The client's `client_id`.
    #[arg(long, env = "LATCHKEY_CLIENT_ID")]
    client_id: String,
    /// The client's secret (better from the environment than the command line).
    #[arg(long, env = "LATCHKEY_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Scopes to request (repeatable).
    #[arg(long)]
    scope: Vec<String>,
    /// RFC 8707 resource indicator.
    #[arg(long)]
    resource: Option<String>,
    /// Print only the access token.
    #[arg(long)]
    raw: bool,
}

/// `server` is the global `--server` option (`LATCHKEY_SERVER`).
pub async fn run(a: TokenArgs, server: &str) -> Result<()> {
    let mut form = vec![("grant_type", "client_credentials".to_owned())];
    if !a.scope.is_empty() {
        form.push(("scope", a.scope.join(" ")));
    }
    if let Some(r) = a.resource {
        form.push(("resource", r));
    }
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&form).finish();
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.trim_end_matches('/')))
        .basic_auth(enc(&a.client_id), Some(enc(&a.client_secret)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot reach {server}"))?;
    let status = resp.status();
    let json: serde_json::Value = resp.json().await.context("the server answered with something other than JSON")?;
    if !status.is_success() {
        bail!(
            "{} ({}): {}",
            json["error"].as_str().unwrap_or("error"),
            status.as_u16(),
            json["error_description"].as_str().unwrap_or("")
        );
    }
    if a.raw {
        println!("{}", json["access_token"].as_str().unwrap_or_default());
    } else {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(())
}
