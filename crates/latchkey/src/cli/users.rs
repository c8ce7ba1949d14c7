//! `latchkey user …`: people who sign in (create, list, show, update,
//! disable, enable, reset password), named by username or id. A generated
//! password is printed once (or written to `--output-file`) and kept nowhere.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use latchkey_app::admin::users::USER_ID_PREFIX;
use serde_json::{Map, Value, json};

use super::Target;
use super::api::{Api, ApiError, query, segment};
use super::catalog::{print_list, print_one};
use super::secret_file::SecretOut;

#[derive(Args)]
pub struct UserArgs {
    #[command(subcommand)]
    cmd: UserCmd,
}

/// A user named on the command line.
#[derive(Args)]
struct UserRef {
    /// The user's username, or id (`usr_…`).
    user: String,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user; without --password-env one is generated and printed once.
    #[command(after_help = "Examples:
  latchkey user create grace --email grace@example.com --role tenant-admin
  latchkey user create vera --role viewer --password-env VERA_PASSWORD
  latchkey user create ops-bot --group ops --output-file ops-bot.password")]
    Create {
        /// The name to sign in with: 1-64 letters, digits and . _ - @.
        username: String,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// The name shown in the console and on consent pages.
        #[arg(long)]
        display_name: Option<String>,
        /// owner, tenant-admin or viewer (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A group (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Read the password from this environment variable instead of generating one.
        #[arg(long, value_name = "VAR", conflicts_with = "output_file")]
        password_env: Option<String>,
        #[command(flatten)]
        out: SecretOut,
    },
    /// List users (by username).
    #[command(after_help = "Examples:
  latchkey user list
  latchkey user list --search grace -o table")]
    List {
        /// Substring of username, display name or email.
        #[arg(long)]
        search: Option<String>,
    },
    /// Show one user (never a password or its hash).
    #[command(after_help = "Examples:
  latchkey user show grace
  latchkey user show usr_0123456789ab -o json")]
    Show(UserRef),
    /// Change email, display name, roles or groups (roles/groups replace the lists).
    #[command(after_help = "Examples:
  latchkey user update grace --role owner
  latchkey user update grace --email grace@example.org --group ops --group billing")]
    Update {
        /// The user's username, or id (`usr_…`).
        user: String,
        /// New email address.
        #[arg(long)]
        email: Option<String>,
        /// New display name.
        #[arg(long)]
        display_name: Option<String>,
        /// The roles, replacing the current ones (repeatable).
        #[arg(long = "role")]
        roles: Option<Vec<String>>,
        /// The groups, replacing the current ones (repeatable).
        #[arg(long = "group")]
        groups: Option<Vec<String>>,
    },
    /// Disable a user: they can no longer sign in, and their sessions and tokens end.
    #[command(after_help = "Examples:
  latchkey user disable grace")]
    Disable(UserRef),
    /// Enable a disabled user (their old sessions and tokens stay dead).
    #[command(after_help = "Examples:
  latchkey user enable grace")]
    Enable(UserRef),
    /// Set a new password (generated and printed once unless --password-env is given).
    #[command(after_help = "Examples:
  latchkey user reset-password grace
  latchkey user reset-password grace --password-env NEW_PASSWORD
  latchkey user reset-password grace --output-file grace.password")]
    ResetPassword {
        /// The user's username, or id (`usr_…`).
        user: String,
        /// Read the new password from this environment variable instead of generating one.
        #[arg(long, value_name = "VAR", conflicts_with = "output_file")]
        password_env: Option<String>,
        #[command(flatten)]
        out: SecretOut,
    },
}

fn password_from(var: Option<&str>) -> Result<Option<String>> {
    var.map(|v| std::env::var(v).map_err(|_| anyhow::anyhow!("the environment variable {v} is not set"))).transpose()
}

fn user_path(id: &str) -> String {
    format!("/users/{}", segment(id))
}

/// The id of the user named `who`: a username (any case), or an id.
///
/// # Errors
/// 404 when no user has that username or id.
async fn user_id(api: &Api, who: &str) -> Result<String> {
    if who.starts_with(USER_ID_PREFIX) {
        match api.get(&user_path(who)).await {
            Ok(v) => return Ok(v["id"].as_str().unwrap_or(who).to_owned()),
            Err(e) if e.downcast_ref::<ApiError>().is_some_and(|a| a.status == 404) => {}
            Err(e) => return Err(e),
        }
    }
    let found = api.get_all(&format!("/users{}", query(&[("q", Some(who.to_owned()))]))).await?;
    found
        .iter()
        .find(|u| u["username"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(who)))
        .and_then(|u| u["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| ApiError { status: 404, message: format!("no user with username or id {who}") }.into())
}

/// Runs `latchkey user …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn run(a: UserArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    match a.cmd {
        UserCmd::Create { username, email, display_name, roles, groups, password_env, out } => {
            out.precheck()?;
            let mut body = json!({
                "username": username, "email": email, "display_name": display_name.unwrap_or_default(),
                "roles": roles, "groups": groups,
            });
            if let Some(p) = password_from(password_env.as_deref())? {
                body["password"] = Value::String(p);
            }
            let mut v = api.post("/users", &body).await?;
            out.deliver(&mut v, &["password"]).with_context(|| format!("user {username} was created"))?;
            print_one(&v, f)
        }
        UserCmd::List { search } => {
            let items = api.get_all(&format!("/users{}", query(&[("q", search)]))).await?;
            let cols = [
                ("USERNAME", "username"),
                ("ID", "id"),
                ("ROLES", "roles"),
                ("GROUPS", "groups"),
                ("STATUS", "status"),
            ];
            print_list(&json!({ "items": items }), f, &cols)
        }
        UserCmd::Show(u) => {
            let id = user_id(&api, &u.user).await?;
            print_one(&api.get(&user_path(&id)).await?, f)
        }
        UserCmd::Update { user, email, display_name, roles, groups } => {
            let mut body = Map::new();
            for (k, v) in [("email", email.map(Value::from)), ("display_name", display_name.map(Value::from))] {
                if let Some(v) = v {
                    body.insert(k.into(), v);
                }
            }
            for (k, v) in [("roles", roles), ("groups", groups)] {
                if let Some(v) = v {
                    body.insert(k.into(), json!(v));
                }
            }
            let id = user_id(&api, &user).await?;
            print_one(&api.patch(&user_path(&id), &Value::Object(body), None).await?, f)
        }
        UserCmd::Disable(u) => {
            let id = user_id(&api, &u.user).await?;
            print_one(&api.post(&format!("{}/disable", user_path(&id)), &json!({})).await?, f)
        }
        UserCmd::Enable(u) => {
            let id = user_id(&api, &u.user).await?;
            print_one(&api.post(&format!("{}/enable", user_path(&id)), &json!({})).await?, f)
        }
        UserCmd::ResetPassword { user, password_env, out } => {
            out.precheck()?;
            let body = json!({ "password": password_from(password_env.as_deref())? });
            let id = user_id(&api, &user).await?;
            let mut v = api.post(&format!("{}/password", user_path(&id)), &body).await?;
            out.deliver(&mut v, &["password"]).context("the password was changed")?;
            print_one(&v, f)
        }
    }
}
