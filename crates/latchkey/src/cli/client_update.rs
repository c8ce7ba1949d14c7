//! `latchkey client update`: read the client, compute the change, and send
//! only that as a merge patch with `If-Match`, so a concurrent edit gives
//! 412 instead of being silently overwritten.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::api::{Api, ApiError};
use super::client_args::{AUTH_METHODS, client_path, force_query, grant_name, parse_label};
use super::client_view::print_client;
use super::declarative::map_patch;
use super::output::{self, Format};
use super::secret_file::SecretOut;

#[derive(Debug, Clone)]
enum LifetimeArg {
    Seconds(u32),
    Inherit,
}

#[derive(Args)]
pub struct UpdateArgs {
    /// The client's `client_id`.
    #[arg(allow_hyphen_values = true)]
    client_id: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    /// New description.
    #[arg(long)]
    description: Option<String>,
    /// Add a redirect URI (repeatable).
    #[arg(long)]
    add_redirect_uri: Vec<String>,
    /// Remove a redirect URI (repeatable).
    #[arg(long)]
    remove_redirect_uri: Vec<String>,
    /// Add a URI allowed after sign-out (repeatable).
    #[arg(long)]
    add_post_logout_redirect_uri: Vec<String>,
    /// Remove a URI allowed after sign-out (repeatable).
    #[arg(long)]
    remove_post_logout_redirect_uri: Vec<String>,
    /// Add an allowed CORS origin (repeatable).
    #[arg(long)]
    add_cors_origin: Vec<String>,
    /// Remove an allowed CORS origin (repeatable).
    #[arg(long)]
    remove_cors_origin: Vec<String>,
    /// Add a scope (repeatable).
    #[arg(long)]
    add_scope: Vec<String>,
    /// Remove a scope (repeatable).
    #[arg(long)]
    remove_scope: Vec<String>,
    /// Add a grant type (repeatable; `device_code`, `token-exchange` for the URNs).
    #[arg(long)]
    add_grant: Vec<String>,
    /// Remove a grant type (repeatable).
    #[arg(long)]
    remove_grant: Vec<String>,
    /// Add a security class (repeatable).
    #[arg(long)]
    add_class: Vec<String>,
    /// Remove a security class (repeatable).
    #[arg(long)]
    remove_class: Vec<String>,
    /// Add an access-token audience (repeatable).
    #[arg(long)]
    add_audience: Vec<String>,
    /// Remove an access-token audience (repeatable).
    #[arg(long)]
    remove_audience: Vec<String>,
    /// Access token lifetime: seconds, or `inherit` for the tenant's default.
    #[arg(long, value_parser = parse_lifetime)]
    token_lifetime: Option<LifetimeArg>,
    /// Access token format.
    #[arg(long, value_parser = ["jwt", "opaque"])]
    format: Option<String>,
    /// How the client authenticates at the token endpoint.
    #[arg(long, value_parser = AUTH_METHODS)]
    auth_method: Option<String>,
    /// Ask users for consent (true or false).
    #[arg(long)]
    require_consent: Option<bool>,
    /// Require PKCE in the code flow (true or false).
    #[arg(long)]
    require_pkce: Option<bool>,
    /// The administrative role of the client's own admin tokens, or `none`.
    #[arg(long, value_parser = ["none", "viewer", "tenant-admin", "owner"])]
    admin_role: Option<String>,
    /// Set a label `key=value` (repeatable).
    #[arg(long = "label", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// Remove a label (repeatable).
    #[arg(long)]
    remove_label: Vec<String>,
    /// If the change makes the client confidential, write its first secret
    /// to FILE (mode 0600) instead of printing it.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Needed for protected default clients and clients managed by `apply`;
    /// also lets --output-file replace an existing file.
    #[arg(long)]
    force: bool,
}

fn parse_lifetime(s: &str) -> Result<LifetimeArg, String> {
    if s == "inherit" {
        return Ok(LifetimeArg::Inherit);
    }
    s.parse().map(LifetimeArg::Seconds).map_err(|_| format!("expected seconds or `inherit`, got {s:?}"))
}

/// The server says "repeat with force"; the flag is `--force`.
pub fn force_hint(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<ApiError>() {
        Some(a) if a.status == 403 && a.message.contains("with force") => {
            ApiError { status: a.status, message: a.message.replace("with force", "with --force") }.into()
        }
        _ => e,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// `current` without `remove`, then `add` (each once), order kept.
fn edit_list(current: &[String], add: &[String], remove: &[String]) -> Vec<String> {
    let mut out: Vec<String> = current.iter().filter(|s| !remove.contains(s)).cloned().collect();
    for a in add {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out
}

/// The edited labels, as a merge patch (removed labels are null), if any change.
fn labels_patch(live: &Value, u: &UpdateArgs) -> Option<Value> {
    if u.labels.is_empty() && u.remove_label.is_empty() {
        return None;
    }
    let have = live["labels"].as_object().cloned().unwrap_or_default();
    let mut want = have.clone();
    for k in &u.remove_label {
        want.remove(k);
    }
    for (k, v) in &u.labels {
        want.insert(k.clone(), json!(v));
    }
    (want != have).then(|| Value::Object(map_patch(&have, &want)))
}

/// The merge patch that turns `live` into what `u` asks for (only what changes).
fn update_patch(live: &Value, u: &UpdateArgs) -> Map<String, Value> {
    let mut p = Map::new();
    let mut set = |k: &str, v: Value| {
        if live[k] != v {
            p.insert(k.to_owned(), v);
        }
    };
    if let Some(n) = &u.name {
        set("name", json!(n));
    }
    if let Some(d) = &u.description {
        set("description", json!(d));
    }
    let grant = |g: &Vec<String>| g.iter().map(|s| grant_name(s)).collect::<Vec<_>>();
    let lists = [
        ("redirect_uris", u.add_redirect_uri.clone(), u.remove_redirect_uri.clone()),
        (
            "post_logout_redirect_uris",
            u.add_post_logout_redirect_uri.clone(),
            u.remove_post_logout_redirect_uri.clone(),
        ),
        ("allowed_cors_origins", u.add_cors_origin.clone(), u.remove_cors_origin.clone()),
        ("scopes", u.add_scope.clone(), u.remove_scope.clone()),
        ("grant_types", grant(&u.add_grant), grant(&u.remove_grant)),
        ("security_classes", u.add_class.clone(), u.remove_class.clone()),
        ("audiences", u.add_audience.clone(), u.remove_audience.clone()),
    ];
    for (k, add, remove) in lists {
        if !add.is_empty() || !remove.is_empty() {
            set(k, json!(edit_list(&strings(&live[k]), &add, &remove)));
        }
    }
    match u.token_lifetime {
        Some(LifetimeArg::Seconds(s)) => set("access_token_lifetime", json!(s)),
        Some(LifetimeArg::Inherit) => set("access_token_lifetime", Value::Null),
        None => {}
    }
    if let Some(v) = &u.format {
        set("access_token_format", json!(v));
    }
    if let Some(v) = &u.auth_method {
        set("token_endpoint_auth_method", json!(v));
    }
    if let Some(v) = u.require_consent {
        set("require_consent", json!(v));
    }
    match u.admin_role.as_deref() {
        Some("none") => set("admin_role", Value::Null),
        Some(r) => set("admin_role", json!(r)),
        None => {}
    }
    if let Some(v) = u.require_pkce {
        set("require_pkce", json!(v));
    }
    if let Some(l) = labels_patch(live, u) {
        p.insert("labels".into(), l);
    }
    p
}

/// Runs `latchkey client update`.
///
/// # Errors
/// Every failure, as one line; 412 explained.
pub async fn update(api: &Api, u: UpdateArgs, f: Format) -> Result<()> {
    let out = SecretOut { output_file: u.output_file.clone(), force: u.force };
    out.precheck()?;
    let path = client_path(&u.client_id);
    let read = api.call(Method::GET, &path, None, None).await?;
    let patch = update_patch(&read.body, &u);
    if patch.is_empty() {
        eprintln!("Nothing to change: client {} already looks like that.", u.client_id);
        return if f.is_data() { output::data(&read.body, f) } else { Ok(()) };
    }
    let etag = read.etag.or_else(|| read.body["revision"].as_i64().map(|r| format!("\"{r}\"")));
    let path = format!("{path}{}", force_query(u.force));
    let mut updated = match api.patch(&path, &Value::Object(patch), etag.as_deref()).await {
        Ok(v) => v,
        Err(e) if e.downcast_ref::<ApiError>().is_some_and(|a| a.status == 412) => {
            let message = format!(
                "client {} was changed by someone else since it was read; nothing was written: run the command again",
                u.client_id
            );
            return Err(ApiError { status: 412, message }.into());
        }
        Err(e) => return Err(force_hint(e)),
    };
    // A client that became confidential gets its first secret now.
    if updated["client_secret"].is_string() {
        eprintln!("The client is now confidential and got a secret.");
    }
    let shown = out.deliver(&mut updated, &["client_secret"]).context("the client was updated")?;
    if f.is_data() {
        return output::data(&updated, f);
    }
    print_client(&updated);
    if let Some(s) = shown.first() {
        println!("client_secret   {s}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        u: UpdateArgs,
    }

    #[test]
    fn update_patch_only_changes() {
        let live = json!({
            "name": "a", "redirect_uris": ["https://a/cb", "https://b/cb"], "scopes": ["x"],
            "labels": {"team": "p", "old": "1"}, "access_token_lifetime": 600
        });
        let t = T::parse_from([
            "t",
            "id",
            "--name",
            "a",
            "--add-redirect-uri",
            "https://c/cb",
            "--remove-redirect-uri",
            "https://a/cb",
            "--add-scope",
            "x",
            "--label",
            "env=prod",
            "--remove-label",
            "old",
            "--token-lifetime",
            "inherit",
        ]);
        let p = update_patch(&live, &t.u);
        assert_eq!(
            Value::Object(p),
            json!({
                "redirect_uris": ["https://b/cb", "https://c/cb"],
                "labels": {"env": "prod", "old": null},
                "access_token_lifetime": null
            })
        );
        let t = T::parse_from(["t", "id", "--label", "team=p", "--add-grant", "device_code"]);
        assert_eq!(
            Value::Object(update_patch(&live, &t.u)),
            json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"]})
        );
    }

    #[test]
    fn lifetimes() {
        assert!(matches!(parse_lifetime("inherit"), Ok(LifetimeArg::Inherit)));
        assert!(matches!(parse_lifetime("600"), Ok(LifetimeArg::Seconds(600))));
        assert!(parse_lifetime("-1").is_err());
        assert_eq!(edit_list(&["a".into(), "b".into()], &["b".into(), "c".into()], &["a".into()]), ["b", "c"]);
    }
}
