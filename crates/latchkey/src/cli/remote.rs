//! `latchkey provider|remote-client|authorization …`: the outbound side
//! (SPEC §8). Secrets are read from standard input or the environment
//! (`LATCHKEY_REMOTE_CLIENT_SECRET`), never from the command line, where
//! other users could see them in the process list.

use std::io::BufRead;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Target;
use super::api::segment;
use super::catalog::{print_list, print_one};
use super::output::{self, Format};

/// Where a remote client's secret comes from besides standard input.
const SECRET_ENV: &str = "LATCHKEY_REMOTE_CLIENT_SECRET";

#[derive(Args)]
pub struct ProviderArgs {
    #[command(subcommand)]
    cmd: ProviderCmd,
}

/// Endpoints and options shared by `provider create` and `provider update`.
#[derive(Args)]
struct ProviderFields {
    /// The discovery document (`…/.well-known/openid-configuration`); fetched by the server.
    #[arg(long)]
    discovery_url: Option<String>,
    /// The provider's issuer identifier.
    #[arg(long)]
    issuer: Option<String>,
    /// Where browsers are sent for the authorization-code flow.
    #[arg(long)]
    authorization_endpoint: Option<String>,
    /// Where tokens are requested.
    #[arg(long)]
    token_endpoint: Option<String>,
    /// Where tokens are revoked (RFC 7009).
    #[arg(long)]
    revocation_endpoint: Option<String>,
    /// The OpenID Connect userinfo endpoint (federated sign-in).
    #[arg(long)]
    userinfo_endpoint: Option<String>,
    /// The provider's JWK Set (to verify its ID tokens).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// How Latchkey authenticates at the token endpoint. With private_key_jwt
    /// no secret is needed: register the `client_jwks_uri` shown at the provider.
    #[arg(long, value_parser = ["client_secret_basic", "client_secret_post", "private_key_jwt"])]
    auth_method: Option<String>,
    /// Use PKCE in authorization-code flows [default: true].
    #[arg(long)]
    pkce: Option<bool>,
    /// A scope requested when a remote client names none (repeatable; replaces the list).
    #[arg(long = "default-scope")]
    default_scopes: Vec<String>,
}

impl ProviderFields {
    fn body(self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put("discovery_url", self.discovery_url.map(Value::from));
        put("issuer", self.issuer.map(Value::from));
        put("authorization_endpoint", self.authorization_endpoint.map(Value::from));
        put("token_endpoint", self.token_endpoint.map(Value::from));
        put("revocation_endpoint", self.revocation_endpoint.map(Value::from));
        put("userinfo_endpoint", self.userinfo_endpoint.map(Value::from));
        put("jwks_uri", self.jwks_uri.map(Value::from));
        put("token_endpoint_auth_method", self.auth_method.map(Value::from));
        put("pkce", self.pkce.map(Value::from));
        put("default_scopes", (!self.default_scopes.is_empty()).then(|| json!(self.default_scopes)));
        m
    }
}

/// A provider named on the command line.
#[derive(Args)]
struct ProviderRef {
    /// The provider's name.
    name: String,
}

/// A remote client or authorization named on the command line.
#[derive(Args)]
struct RemoteRef {
    /// The namespace (e.g. the team or service that uses it).
    namespace: String,
    /// The name within the namespace.
    name: String,
}

#[derive(Subcommand)]
enum ProviderCmd {
    /// List the providers.
    #[command(after_help = "Examples:
  latchkey provider list")]
    List,
    /// Show one provider with its endpoints.
    #[command(after_help = "Examples:
  latchkey provider show corp")]
    Show(ProviderRef),
    /// Register a provider from a discovery URL or explicit endpoints.
    #[command(after_help = "Examples:
  latchkey provider create corp --discovery-url https://id.corp.example/.well-known/openid-configuration
  latchkey provider create legacy --token-endpoint https://legacy.example/oauth/token --auth-method client_secret_post")]
    Create {
        /// A name for the provider (letters, digits, . _ -).
        name: String,
        #[command(flatten)]
        fields: ProviderFields,
    },
    /// Change a provider; `--discovery-url` fetches the document again.
    #[command(after_help = "Examples:
  latchkey provider update corp --default-scope openid --default-scope email
  latchkey provider update corp --discovery-url https://id2.corp.example/.well-known/openid-configuration --reset-credentials")]
    Update {
        /// The provider's name.
        name: String,
        #[command(flatten)]
        fields: ProviderFields,
        /// Needed to move the provider (issuer, discovery URL, an endpoint)
        /// while its remote clients hold secrets or tokens: they are cleared
        /// rather than sent to the new address.
        #[arg(long)]
        reset_credentials: bool,
    },
    /// Delete a provider (refused while remote clients use it).
    #[command(after_help = "Examples:
  latchkey provider delete corp")]
    Delete(ProviderRef),
}

#[derive(Args)]
pub struct RemoteClientArgs {
    #[command(subcommand)]
    cmd: RemoteClientCmd,
}

/// Optional token-request parameters.
#[derive(Args)]
struct ParamFields {
    /// Space-separated scopes to request.
    #[arg(long)]
    scope: Option<String>,
    /// The audience to request (a provider-specific parameter).
    #[arg(long)]
    audience: Option<String>,
    /// RFC 8707 resource indicator.
    #[arg(long)]
    resource: Option<String>,
    /// A further token-request field, `key=value` (repeatable).
    #[arg(long = "param")]
    extra: Vec<String>,
}

impl ParamFields {
    fn is_empty(&self) -> bool {
        self.scope.is_none() && self.audience.is_none() && self.resource.is_none() && self.extra.is_empty()
    }

    fn body(self) -> Result<Value> {
        let mut extra = Map::new();
        for kv in self.extra {
            let (k, v) = kv.split_once('=').with_context(|| format!("--param takes key=value, not {kv}"))?;
            extra.insert(k.to_owned(), Value::from(v));
        }
        Ok(json!({ "scope": self.scope, "audience": self.audience, "resource": self.resource, "extra": extra }))
    }
}

#[derive(Subcommand)]
enum RemoteClientCmd {
    /// List the remote clients (secrets are never shown).
    #[command(after_help = "Examples:
  latchkey remote-client list")]
    List,
    /// Show one remote client (never its secret).
    #[command(after_help = "Examples:
  latchkey remote-client show billing crm")]
    Show(RemoteRef),
    /// Register a client of a provider. The secret is read from standard
    /// input (`--secret-stdin`) or LATCHKEY_REMOTE_CLIENT_SECRET.
    #[command(after_help = "Examples:
  latchkey remote-client create billing crm --provider corp --client-id latchkey-billing --secret-stdin < crm.secret
  LATCHKEY_REMOTE_CLIENT_SECRET=s3cret latchkey remote-client create billing crm --provider corp --client-id x --scope 'crm.read'")]
    Create {
        /// The namespace (e.g. the team or service that uses it).
        namespace: String,
        /// The name within the namespace.
        name: String,
        /// The provider it is registered at.
        #[arg(long)]
        provider: String,
        /// The client id registered at the provider.
        #[arg(long)]
        client_id: String,
        /// Read the secret from the first line of standard input.
        #[arg(long)]
        secret_stdin: bool,
        #[command(flatten)]
        params: ParamFields,
    },
    /// Change provider, client id or parameters (given parameters replace all).
    #[command(after_help = "Examples:
  latchkey remote-client update billing crm --scope 'crm.read crm.write'
  latchkey remote-client update billing crm --provider corp2 --reset-credentials")]
    Update {
        /// The namespace.
        namespace: String,
        /// The name within the namespace.
        name: String,
        /// Move it to this provider.
        #[arg(long)]
        provider: Option<String>,
        /// The client id registered at the provider.
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        params: ParamFields,
        /// Needed to move a remote client holding a secret or tokens to
        /// another provider: they are cleared rather than sent there.
        #[arg(long)]
        reset_credentials: bool,
    },
    /// Store a new secret (from standard input or LATCHKEY_REMOTE_CLIENT_SECRET).
    #[command(after_help = "Examples:
  latchkey remote-client set-secret billing crm --secret-stdin < crm.secret")]
    SetSecret {
        /// The namespace.
        namespace: String,
        /// The name within the namespace.
        name: String,
        /// Read the secret from the first line of standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Delete a remote client and its authorization.
    #[command(after_help = "Examples:
  latchkey remote-client delete billing crm")]
    Delete(RemoteRef),
}

#[derive(Args)]
pub struct AuthorizationArgs {
    #[command(subcommand)]
    cmd: AuthorizationCmd,
}

#[derive(Subcommand)]
enum AuthorizationCmd {
    /// List the authorizations with their status and expiry (never a token).
    #[command(after_help = "Examples:
  latchkey authorization list")]
    List,
    /// Show one authorization (never a token).
    #[command(after_help = "Examples:
  latchkey authorization show billing crm")]
    Show(RemoteRef),
    /// Obtain (or obtain again) a remote client's authorization by client_credentials.
    #[command(after_help = "Examples:
  latchkey authorization create billing crm")]
    Create(RemoteRef),
    /// Print a current access token (renewed first when due).
    #[command(after_help = "Examples:
  latchkey authorization token billing crm
  latchkey authorization token billing crm -o json   # with expires_at")]
    Token(RemoteRef),
    /// Start the provider's authorization-code flow: prints the link to open
    /// in a browser (valid 10 minutes). Takes `NAMESPACE/NAME` or `NAMESPACE NAME`.
    #[command(after_help = "Examples:
  latchkey authorization authorize billing/crm
  latchkey authorization authorize billing crm")]
    Authorize {
        /// `NAMESPACE/NAME`, or the namespace when NAME follows.
        namespace: String,
        /// The name within the namespace.
        name: Option<String>,
    },
    /// Renew the tokens now (refresh token, or client_credentials again).
    #[command(after_help = "Examples:
  latchkey authorization refresh billing crm")]
    Refresh(RemoteRef),
    /// Forget an authorization and its tokens.
    #[command(after_help = "Examples:
  latchkey authorization delete billing crm")]
    Delete(RemoteRef),
}

fn read_secret(stdin: bool) -> Result<Option<String>> {
    if stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let s = line.trim_end_matches(['\r', '\n']).to_owned();
        if s.is_empty() {
            bail!("no secret on standard input");
        }
        return Ok(Some(s));
    }
    Ok(std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty()))
}

fn deleted(kind: &str, name: &str, f: Format) -> Result<()> {
    if f.is_data() {
        return output::data(&json!({ "name": name, "deleted": true }), f);
    }
    println!("Deleted {kind} {name}.");
    Ok(())
}

/// Runs `latchkey provider …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn providers(a: ProviderArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    let path = |n: &str| format!("/providers/{}", segment(n));
    match a.cmd {
        ProviderCmd::List => {
            let items = api.get_all("/providers").await?;
            print_list(
                &json!({ "items": items }),
                f,
                &[("NAME", "name"), ("ISSUER", "issuer"), ("TOKEN ENDPOINT", "token_endpoint")],
            )
        }
        ProviderCmd::Show(ProviderRef { name }) => print_one(&api.get(&path(&name)).await?, f),
        ProviderCmd::Create { name, fields } => {
            let mut body = fields.body();
            body.insert("name".into(), Value::from(name));
            print_one(&api.post("/providers", &Value::Object(body)).await?, f)
        }
        ProviderCmd::Update { name, fields, reset_credentials } => {
            let mut body = fields.body();
            if reset_credentials {
                body.insert("reset_credentials".into(), Value::Bool(true));
            }
            print_one(&api.patch(&path(&name), &Value::Object(body), None).await?, f)
        }
        ProviderCmd::Delete(ProviderRef { name }) => {
            api.delete(&path(&name)).await?;
            deleted("provider", &name, f)
        }
    }
}

/// Runs `latchkey remote-client …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn remote_clients(a: RemoteClientArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    let path = |ns: &str, n: &str| format!("/remote-clients/{}/{}", segment(ns), segment(n));
    match a.cmd {
        RemoteClientCmd::List => {
            let items = api.get_all("/remote-clients").await?;
            print_list(
                &json!({ "items": items }),
                f,
                &[
                    ("NAMESPACE", "namespace"),
                    ("NAME", "name"),
                    ("PROVIDER", "provider"),
                    ("CLIENT ID", "client_id"),
                    ("SECRET", "has_secret"),
                ],
            )
        }
        RemoteClientCmd::Show(RemoteRef { namespace, name }) => print_one(&api.get(&path(&namespace, &name)).await?, f),
        RemoteClientCmd::Create { namespace, name, provider, client_id, secret_stdin, params } => {
            let body = json!({
                "namespace": namespace, "name": name, "provider": provider, "client_id": client_id,
                "client_secret": read_secret(secret_stdin)?, "params": params.body()?,
            });
            print_one(&api.post("/remote-clients", &body).await?, f)
        }
        RemoteClientCmd::Update { namespace, name, provider, client_id, params, reset_credentials } => {
            let mut body = Map::new();
            if reset_credentials {
                body.insert("reset_credentials".into(), Value::Bool(true));
            }
            if let Some(p) = provider {
                body.insert("provider".into(), Value::from(p));
            }
            if let Some(c) = client_id {
                body.insert("client_id".into(), Value::from(c));
            }
            if !params.is_empty() {
                body.insert("params".into(), params.body()?);
            }
            print_one(&api.patch(&path(&namespace, &name), &Value::Object(body), None).await?, f)
        }
        RemoteClientCmd::SetSecret { namespace, name, secret_stdin } => {
            let secret = read_secret(secret_stdin)?
                .with_context(|| format!("give the secret on standard input (--secret-stdin) or in {SECRET_ENV}"))?;
            let body = json!({ "client_secret": secret });
            print_one(&api.post(&format!("{}/secret", path(&namespace, &name)), &body).await?, f)
        }
        RemoteClientCmd::Delete(RemoteRef { namespace, name }) => {
            api.delete(&path(&namespace, &name)).await?;
            deleted("remote client", &format!("{namespace}/{name}"), f)
        }
    }
}

/// Runs `latchkey authorization …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn authorizations(a: AuthorizationArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    let path = |ns: &str, n: &str| format!("/authorizations/{}/{}", segment(ns), segment(n));
    match a.cmd {
        AuthorizationCmd::List => {
            let items = api.get_all("/authorizations").await?;
            print_list(
                &json!({ "items": items }),
                f,
                &[("NAMESPACE", "namespace"), ("NAME", "name"), ("STATUS", "status"), ("EXPIRES", "expires_at")],
            )
        }
        AuthorizationCmd::Show(RemoteRef { namespace, name }) => {
            print_one(&api.get(&path(&namespace, &name)).await?, f)
        }
        AuthorizationCmd::Create(RemoteRef { namespace, name }) => {
            print_one(&api.post("/authorizations", &json!({ "namespace": namespace, "name": name })).await?, f)
        }
        AuthorizationCmd::Token(RemoteRef { namespace, name }) => {
            let v = api.post(&format!("{}/token", path(&namespace, &name)), &json!({})).await?;
            if f.is_data() {
                return output::data(&v, f);
            }
            println!("{}", v["access_token"].as_str().unwrap_or_default());
            Ok(())
        }
        AuthorizationCmd::Authorize { namespace, name } => {
            let (namespace, name) = match name {
                Some(n) => (namespace, n),
                None => match namespace.split_once('/') {
                    Some((ns, n)) => (ns.to_owned(), n.to_owned()),
                    None => bail!("name the remote client as NAMESPACE/NAME"),
                },
            };
            let v = api.post(&format!("{}/authorize", path(&namespace, &name)), &json!({})).await?;
            if f.is_data() {
                return output::data(&v, f);
            }
            eprintln!(
                "Open this link in a browser within 10 minutes (register {} at the provider first):",
                v["redirect_uri"].as_str().unwrap_or_default()
            );
            println!("{}", v["authorization_url"].as_str().unwrap_or_default());
            Ok(())
        }
        AuthorizationCmd::Refresh(RemoteRef { namespace, name }) => {
            print_one(&api.post(&format!("{}/refresh", path(&namespace, &name)), &json!({})).await?, f)
        }
        AuthorizationCmd::Delete(RemoteRef { namespace, name }) => {
            api.delete(&path(&namespace, &name)).await?;
            deleted("authorization", &format!("{namespace}/{name}"), f)
        }
    }
}
