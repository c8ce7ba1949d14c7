//! `latchkey client …`: create, list, show, update, delete, disable, enable,
//! secrets, credentials, redirect tester.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Target;
use super::api::{Api, query};
use super::client_args::{AUTH_METHODS, GRANT_PREFIX, client_path, force_query, grant_name, parse_label};
use super::client_update::{self, force_hint};
use super::client_view::print_client;
use super::output::{self, Format, Table, cell, key_values, time};
use super::secret_file::SecretOut;
use super::secrets;

pub const TYPES: [&str; 8] = ["m2m", "web", "spa", "native", "hybrid", "device", "connector", "custom"];
const SORTS: [&str; 6] = ["name", "-name", "created_at", "-created_at", "last_used_at", "-last_used_at"];

#[derive(Args)]
pub struct ClientArgs {
    #[command(subcommand)]
    cmd: ClientCmd,
}

/// A client named on the command line.
#[derive(Args)]
struct ClientIdArg {
    /// The client's `client_id`.
    #[arg(allow_hyphen_values = true)]
    client_id: String,
}

/// A change to a client's status.
#[derive(Args)]
struct StatusArgs {
    /// The client's `client_id`.
    #[arg(allow_hyphen_values = true)]
    client_id: String,
    /// Needed for protected default clients.
    #[arg(long)]
    force: bool,
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Create a client from a type preset; confidential clients get a secret, shown once.
    #[command(after_help = "Examples:
  latchkey client create --name 'Billing jobs' --type m2m --scope api:read
  latchkey client create --name Shop --type web --redirect-uri https://shop.example.com/callback
  latchkey client create --name 'Shop SPA' --type spa --redirect-uri https://shop.example.com/cb --cors-origin https://shop.example.com
  latchkey client create --name 'CI deploys' --type m2m --output-file ci.secret

The secret is printed once (or written to --output-file) and kept nowhere else.")]
    Create(Box<CreateArgs>),
    /// List clients (search, filter, sort).
    #[command(after_help = "Examples:
  latchkey client list --search billing
  latchkey client list --type m2m --status disabled -o table
  latchkey client list --unused-days 90 --all -o json")]
    List(ListArgs),
    /// Show one client: every field and its secrets' metadata.
    #[command(after_help = "Examples:
  latchkey client show billing-jobs
  latchkey client show billing-jobs -o yaml")]
    Show(ClientIdArg),
    /// Change a client (optimistic concurrency: fails if someone else changed it meanwhile).
    #[command(after_help = "Examples:
  latchkey client update shop --add-redirect-uri https://shop.example.com/cb2
  latchkey client update billing-jobs --token-lifetime 600 --label team=payments
  latchkey client update shop --token-lifetime inherit --remove-label team")]
    Update(Box<client_update::UpdateArgs>),
    /// Delete a client and revoke all of its tokens at once.
    #[command(after_help = "Examples:
  latchkey client delete billing-jobs
  latchkey client delete latchkey-console --force")]
    Delete(StatusArgs),
    /// Disable a client: it can no longer get tokens and its tokens stop working.
    #[command(after_help = "Examples:
  latchkey client disable billing-jobs")]
    Disable(StatusArgs),
    /// Enable a disabled client (its old tokens stay dead).
    #[command(after_help = "Examples:
  latchkey client enable billing-jobs")]
    Enable(StatusArgs),
    /// Manage a client's secrets: add, rotate, revoke, list.
    #[command(
        subcommand,
        after_help = "Examples:
  latchkey client secret rotate billing-jobs
  latchkey client secret list billing-jobs"
    )]
    Secret(secrets::SecretCmd),
    /// Would this redirect URI match the client's registered ones?
    #[command(after_help = "Examples:
  latchkey client test-redirect shop https://shop.example.com/callback")]
    TestRedirect {
        /// The client's `client_id`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// The redirect URI to test.
        uri: String,
    },
}

#[derive(Args)]
struct CreateArgs {
    /// Display name, unique in the tenant.
    #[arg(long)]
    name: String,
    /// The preset: m2m, web, spa, native, hybrid, device, connector or custom.
    #[arg(long = "type", value_parser = TYPES)]
    client_type: String,
    /// What the client is for.
    #[arg(long)]
    description: Option<String>,
    /// A redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A URI allowed after sign-out (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A browser origin allowed to call the token endpoints (repeatable).
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// A scope the client may ask for (repeatable).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Grant type (repeatable; `device_code` and `token-exchange` are short for their URNs).
    #[arg(long = "grant")]
    grants: Vec<String>,
    /// Security class (repeatable).
    #[arg(long = "class")]
    classes: Vec<String>,
    /// An audience of the client's access tokens (repeatable).
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// Access token lifetime in seconds (default: the tenant's).
    #[arg(long)]
    token_lifetime: Option<u32>,
    /// Access token format.
    #[arg(long, value_parser = ["jwt", "opaque"])]
    format: Option<String>,
    /// How the client authenticates at the token endpoint (default: the preset's).
    #[arg(long, value_parser = AUTH_METHODS)]
    auth_method: Option<String>,
    /// private_key_jwt: a file holding the client's public JWK Set.
    #[arg(long, conflicts_with = "jwks_uri")]
    jwks_file: Option<PathBuf>,
    /// private_key_jwt: where the server fetches the client's public JWK Set.
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Ask users for consent before the client gets their data.
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
    #[arg(long, conflicts_with_all = ["secret_file", "output_file"])]
    secret_env: Option<String>,
    /// Import the secret from this file instead of generating one.
    #[arg(long, conflicts_with = "output_file")]
    secret_file: Option<PathBuf>,
    #[command(flatten)]
    out: SecretOut,
}

#[derive(Args)]
struct ListArgs {
    /// Search name, client id and description.
    #[arg(long)]
    search: Option<String>,
    /// Only clients of this type.
    #[arg(long = "type", value_parser = TYPES)]
    client_type: Option<String>,
    /// Only clients with this grant type (`device_code` for the device grant).
    #[arg(long)]
    grant: Option<String>,
    /// Only active or only disabled clients.
    #[arg(long, value_parser = ["active", "disabled"])]
    status: Option<String>,
    /// Only clients with this label, `key=value`.
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
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=500))]
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
    let f = t.format;
    let api = t.connect().await?;
    match a.cmd {
        ClientCmd::Create(c) => create(&api, *c, f).await,
        ClientCmd::List(l) => list(&api, &l, f).await,
        ClientCmd::Show(c) => show(&api, &c.client_id, f).await,
        ClientCmd::Update(u) => client_update::update(&api, *u, f).await,
        ClientCmd::Delete(s) => delete(&api, &s.client_id, s.force, f).await,
        ClientCmd::Disable(s) => set_status(&api, &s.client_id, "disable", s.force, f).await,
        ClientCmd::Enable(s) => set_status(&api, &s.client_id, "enable", s.force, f).await,
        ClientCmd::Secret(s) => secrets::run(&api, s, f).await,
        ClientCmd::TestRedirect { client_id, uri } => test_redirect(&api, &client_id, &uri, f).await,
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
    c.out.precheck()?;
    let body = create_body(&c)?;
    let imported = body.get("secret").is_some();
    let mut created = api.post("/clients", &body).await?;
    let id = created["client_id"].as_str().unwrap_or_default().to_owned();
    if imported && let Some(o) = created.as_object_mut() {
        // The caller has it already: never echo a secret we were given.
        o.remove("client_secret");
    }
    let shown = c.out.deliver(&mut created, &["client_secret"]).with_context(|| format!("client {id} was created"))?;
    if f.is_data() {
        return output::data(&created, f);
    }
    let mut pairs = summary(&created);
    if let Some(s) = shown.first() {
        pairs.push(("client_secret".into(), s.clone()));
    }
    print!("{}", key_values(&pairs));
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
    if f.is_data() {
        return output::data(&json!({ "items": items, "next_cursor": next }), f);
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
    if f.is_data() {
        output::data(&v, f)
    } else {
        print_client(&v);
        Ok(())
    }
}

async fn delete(api: &Api, id: &str, force: bool, f: Format) -> Result<()> {
    api.delete(&format!("{}{}", client_path(id), force_query(force))).await.map_err(force_hint)?;
    if f.is_data() {
        return output::data(&json!({ "client_id": id, "deleted": true }), f);
    }
    println!("Deleted client {id}; its tokens, grants and secrets are revoked.");
    Ok(())
}

async fn set_status(api: &Api, id: &str, verb: &str, force: bool, f: Format) -> Result<()> {
    let path = format!("{}/{verb}{}", client_path(id), force_query(force));
    let v = api.post(&path, &json!({})).await.map_err(force_hint)?;
    if f.is_data() {
        return output::data(&v, f);
    }
    println!("Client {id} is now {}.", cell(&v["status"]));
    Ok(())
}

async fn test_redirect(api: &Api, id: &str, uri: &str, f: Format) -> Result<()> {
    let v = api.post(&format!("{}/test-redirect", client_path(id)), &json!({ "uri": uri })).await?;
    if f.is_data() {
        return output::data(&v, f);
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
