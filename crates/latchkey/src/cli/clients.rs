//! `latchkey client …`: create, list, show, update, delete, disable, enable,
//! secrets, credentials, redirect tester.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Target;
use super::api::{Api, query};
use super::client_args::{AUTH_METHODS, GRANT_PREFIX, client_path, force_query, grant_name, parse_label};
use super::client_update::{self, force_hint};
use super::client_view::print_client;
use super::output::{self, Format, OutputArg, Table, cell, key_values, time};
use super::{pending, secrets};

pub const TYPES: [&str; 8] = ["m2m", "web", "spa", "native", "hybrid", "device", "connector", "custom"];
const SORTS: [&str; 6] = ["name", "-name", "created_at", "-created_at", "last_used_at", "-last_used_at"];

#[derive(Args)]
pub struct ClientArgs {
    #[command(flatten)]
    out: OutputArg,
    #[command(subcommand)]
    cmd: ClientCmd,
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Create a client from a type preset; confidential clients get a secret, shown once.
    Create(Box<CreateArgs>),
    /// List clients (search, filter, sort).
    List(ListArgs),
    /// Show one client.
    Show {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Change a client (optimistic concurrency: fails if someone else changed it meanwhile).
    Update(Box<client_update::UpdateArgs>),
    /// Delete a client and revoke all of its tokens at once.
    Delete {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Needed for protected default clients.
        #[arg(long)]
        force: bool,
    },
    /// Disable a client: it can no longer get tokens and its tokens stop working.
    Disable {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        force: bool,
    },
    /// Enable a disabled client.
    Enable {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        force: bool,
    },
    /// Manage a client's secrets.
    #[command(subcommand)]
    Secret(secrets::SecretCmd),
    /// Print `client_id:client_secret`, only right after create or rotate (once).
    Credentials {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Would this redirect URI match the client's registered ones?
    TestRedirect {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        uri: String,
    },
}

#[derive(Args)]
struct CreateArgs {
    #[arg(long)]
    name: String,
    #[arg(long = "type", value_parser = TYPES)]
    client_type: String,
    #[arg(long)]
    description: Option<String>,
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Grant type (`device_code` and `token-exchange` are short for their URNs).
    #[arg(long = "grant")]
    grants: Vec<String>,
    /// Security class.
    #[arg(long = "class")]
    classes: Vec<String>,
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// Access token lifetime in seconds (default: the tenant's).
    #[arg(long)]
    token_lifetime: Option<u32>,
    #[arg(long, value_parser = ["jwt", "opaque"])]
    format: Option<String>,
    #[arg(long, value_parser = AUTH_METHODS)]
    auth_method: Option<String>,
    /// private_key_jwt: a file holding the client's public JWK Set.
    #[arg(long, conflicts_with = "jwks_uri")]
    jwks_file: Option<PathBuf>,
    /// private_key_jwt: where the server fetches the client's public JWK Set.
    #[arg(long)]
    jwks_uri: Option<String>,
    #[arg(long)]
    require_consent: bool,
    /// The administrative role the client's own admin tokens act with
    /// (at most your own role).
    #[arg(long, value_parser = ["viewer", "tenant-admin", "owner"])]
    admin_role: Option<String>,
    /// A label `key=value` (repeatable).
    #[arg(long = "label", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// A fixed client id (default: generated).
    #[arg(long)]
    client_id: Option<String>,
    /// Import the secret from this environment variable instead of generating one.
    #[arg(long, conflicts_with = "secret_file")]
    secret_env: Option<String>,
    /// Import the secret from this file instead of generating one.
    #[arg(long)]
    secret_file: Option<PathBuf>,
}

#[derive(Args)]
struct ListArgs {
    /// Search name, client id and description.
    #[arg(long)]
    search: Option<String>,
    #[arg(long = "type", value_parser = TYPES)]
    client_type: Option<String>,
    #[arg(long)]
    grant: Option<String>,
    #[arg(long, value_parser = ["active", "disabled"])]
    status: Option<String>,
    /// `key=value`.
    #[arg(long)]
    label: Option<String>,
    /// Only clients unused for at least N days.
    #[arg(long)]
    unused_days: Option<u32>,
    /// Only clients with a secret expiring within N days.
    #[arg(long)]
    secret_expires_within_days: Option<u32>,
    /// Sort order; a leading `-` is descending (`--sort -name`).
    #[arg(long, value_parser = SORTS, allow_hyphen_values = true)]
    sort: Option<String>,
    /// Page size (server default 50, maximum 500).
    #[arg(long)]
    limit: Option<u32>,
    /// Follow every page.
    #[arg(long)]
    all: bool,
}

fn short_grant(g: &Value) -> String {
    let s = g.as_str().unwrap_or_default();
    s.strip_prefix(GRANT_PREFIX).unwrap_or(s).to_owned()
}

/// Runs `latchkey client …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn run(a: ClientArgs, t: &Target) -> Result<()> {
    let f = a.out.format();
    if let ClientCmd::Credentials { client_id } = &a.cmd {
        return credentials(t.tenant(), client_id);
    }
    let api = t.connect().await?;
    match a.cmd {
        ClientCmd::Create(c) => create(&api, *c, f).await,
        ClientCmd::List(l) => list(&api, &l, f).await,
        ClientCmd::Show { client_id } => show(&api, &client_id, f).await,
        ClientCmd::Update(u) => client_update::update(&api, *u, f).await,
        ClientCmd::Delete { client_id, force } => delete(&api, &client_id, force, f).await,
        ClientCmd::Disable { client_id, force } => set_status(&api, &client_id, "disable", force, f).await,
        ClientCmd::Enable { client_id, force } => set_status(&api, &client_id, "enable", force, f).await,
        ClientCmd::Secret(s) => secrets::run(&api, s, f).await,
        ClientCmd::TestRedirect { client_id, uri } => test_redirect(&api, &client_id, &uri, f).await,
        ClientCmd::Credentials { .. } => Ok(()),
    }
}

fn credentials(tenant: &str, client_id: &str) -> Result<()> {
    match pending::take(tenant, client_id)? {
        Some(secret) => {
            println!("{client_id}:{secret}");
            Ok(())
        }
        None => bail!(
            "the secret is only available right after create or rotate; generate a new one with `latchkey client secret rotate {client_id}`"
        ),
    }
}

/// Reads an imported secret from an environment variable or a file.
///
/// # Errors
/// When the variable is unset or the file unreadable (never showing the value).
pub fn read_secret(env: Option<&str>, file: Option<&std::path::Path>) -> Result<Option<String>> {
    if let Some(var) = env {
        let v = std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?;
        return Ok(Some(v));
    }
    if let Some(p) = file {
        let v = std::fs::read_to_string(p).with_context(|| format!("cannot read the secret file {}", p.display()))?;
        return Ok(Some(v.trim_end_matches(['\n', '\r']).to_owned()));
    }
    Ok(None)
}

fn create_body(c: &CreateArgs) -> Result<Value> {
    let mut b = Map::new();
    b.insert("name".into(), json!(c.name));
    b.insert("type".into(), json!(c.client_type));
    let mut put = |k: &str, v: Value| {
        b.insert(k.into(), v);
    };
    if let Some(d) = &c.description {
        put("description", json!(d));
    }
    let lists = [
        ("redirect_uris", &c.redirect_uris),
        ("post_logout_redirect_uris", &c.post_logout_redirect_uris),
        ("allowed_cors_origins", &c.cors_origins),
        ("scopes", &c.scopes),
        ("security_classes", &c.classes),
        ("audiences", &c.audiences),
    ];
    for (k, v) in lists {
        if !v.is_empty() {
            put(k, json!(v));
        }
    }
    if !c.grants.is_empty() {
        put("grant_types", json!(c.grants.iter().map(|g| grant_name(g)).collect::<Vec<_>>()));
    }
    if let Some(l) = c.token_lifetime {
        put("access_token_lifetime", json!(l));
    }
    if let Some(v) = &c.format {
        put("access_token_format", json!(v));
    }
    if let Some(v) = &c.auth_method {
        put("token_endpoint_auth_method", json!(v));
    }
    if let Some(path) = &c.jwks_file {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        put("jwks", json!(text.trim()));
    }
    if let Some(v) = &c.jwks_uri {
        put("jwks_uri", json!(v));
    }
    if c.require_consent {
        put("require_consent", json!(true));
    }
    if let Some(r) = &c.admin_role {
        put("admin_role", json!(r));
    }
    if !c.labels.is_empty() {
        put("labels", json!(c.labels.iter().cloned().collect::<std::collections::BTreeMap<String, String>>()));
    }
    if let Some(id) = &c.client_id {
        put("client_id", json!(id));
    }
    if let Some(s) = read_secret(c.secret_env.as_deref(), c.secret_file.as_deref())? {
        put("secret", json!(s));
    }
    Ok(Value::Object(b))
}

async fn create(api: &Api, c: CreateArgs, f: Format) -> Result<()> {
    let body = create_body(&c)?;
    let imported = body.get("secret").is_some();
    let created = api.post("/clients", &body).await?;
    let id = created["client_id"].as_str().unwrap_or_default().to_owned();
    let secret = created["client_secret"].as_str().filter(|_| !imported);
    if let Some(s) = secret {
        pending::save(&api.tenant, &id, s)?;
    }
    if f == Format::Json {
        return output::json(&created);
    }
    let mut pairs = summary(&created);
    if let Some(s) = secret {
        pairs.push(("client_secret".into(), s.to_owned()));
    }
    print!("{}", key_values(&pairs));
    if secret.is_some() {
        eprintln!(
            "This secret is shown once. `latchkey client credentials {id}` prints client_id:client_secret one more time."
        );
    }
    Ok(())
}

/// The fields of a client that matter at a glance.
fn summary(v: &Value) -> Vec<(String, String)> {
    let keys = [
        "client_id",
        "name",
        "type",
        "status",
        "token_endpoint_auth_method",
        "grant_types",
        "redirect_uris",
        "scopes",
        "admin_role",
    ];
    keys.iter().map(|k| ((*k).to_owned(), cell(&v[*k]))).collect()
}

async fn list(api: &Api, l: &ListArgs, f: Format) -> Result<()> {
    let q = query(&[
        ("q", l.search.clone()),
        ("type", l.client_type.clone()),
        ("grant_type", l.grant.as_deref().map(grant_name)),
        ("status", l.status.clone()),
        ("label", l.label.clone()),
        ("unused_days", l.unused_days.map(|n| n.to_string())),
        ("secret_expires_within_days", l.secret_expires_within_days.map(|n| n.to_string())),
        ("sort", l.sort.clone()),
        ("limit", l.limit.map(|n| n.to_string())),
    ]);
    let path = format!("/clients{q}");
    let (items, next) =
        if l.all { (api.get_all(&path).await?, None) } else { super::api::split_page(api.get(&path).await?) };
    if f == Format::Json {
        return output::json(&json!({ "items": items, "next_cursor": next }));
    }
    let mut t = Table::new(&["CLIENT", "CLIENT ID", "TYPE", "GRANT TYPES", "STATUS", "CREATED"]);
    for c in &items {
        let grants = c["grant_types"].as_array().map(|g| g.iter().map(short_grant).collect::<Vec<_>>().join(","));
        t.row(vec![
            cell(&c["name"]),
            cell(&c["client_id"]),
            cell(&c["type"]),
            grants.unwrap_or_else(|| "-".into()),
            cell(&c["status"]),
            time(&c["created_at"]),
        ]);
    }
    t.print();
    if next.is_some() {
        eprintln!("(more clients: use --all, or --limit up to 500)");
    }
    Ok(())
}

async fn show(api: &Api, id: &str, f: Format) -> Result<()> {
    let v = api.get(&client_path(id)).await?;
    if f == Format::Json {
        output::json(&v)
    } else {
        print_client(&v);
        Ok(())
    }
}

async fn delete(api: &Api, id: &str, force: bool, f: Format) -> Result<()> {
    api.delete(&format!("{}{}", client_path(id), force_query(force))).await.map_err(force_hint)?;
    if f == Format::Json {
        return output::json(&json!({ "client_id": id, "deleted": true }));
    }
    println!("Deleted client {id}; its tokens, grants and secrets are revoked.");
    Ok(())
}

async fn set_status(api: &Api, id: &str, verb: &str, force: bool, f: Format) -> Result<()> {
    let path = format!("{}/{verb}{}", client_path(id), force_query(force));
    let v = api.post(&path, &json!({})).await.map_err(force_hint)?;
    if f == Format::Json {
        return output::json(&v);
    }
    println!("Client {id} is now {}.", cell(&v["status"]));
    Ok(())
}

async fn test_redirect(api: &Api, id: &str, uri: &str, f: Format) -> Result<()> {
    let v = api.post(&format!("{}/test-redirect", client_path(id)), &json!({ "uri": uri })).await?;
    if f == Format::Json {
        return output::json(&v);
    }
    let matches = if v["matches"].as_bool() == Some(true) { "yes" } else { "no" };
    let pairs = [
        ("matches".to_owned(), matches.to_owned()),
        ("matched".to_owned(), cell(&v["matched"])),
        ("reason".to_owned(), cell(&v["reason"])),
    ];
    print!("{}", key_values(&pairs));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_and_labels() {
        assert_eq!(grant_name("device_code"), "urn:ietf:params:oauth:grant-type:device_code");
        assert_eq!(grant_name("client_credentials"), "client_credentials");
        assert_eq!(short_grant(&json!("urn:ietf:params:oauth:grant-type:device_code")), "device_code");
        assert_eq!(parse_label("team=pay=x"), Ok(("team".into(), "pay=x".into())));
        assert!(parse_label("=x").is_err());
        assert!(parse_label("x").is_err());
    }
}
