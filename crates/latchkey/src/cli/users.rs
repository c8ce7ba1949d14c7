//! `latchkey user …`: people who sign in (create, list, show, update,
//! disable, enable, reset password). A generated password is printed once.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Target;
use super::api::{query, segment};
use super::catalog::{print_list, print_one};
use super::output::OutputArg;

#[derive(Args)]
pub struct UserArgs {
    #[command(flatten)]
    out: OutputArg,
    #[command(subcommand)]
    cmd: UserCmd,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user; without --password one is generated and printed once.
    Create {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// owner, tenant-admin or viewer (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A group (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Read the password from this environment variable instead of generating one.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// List users (by username).
    List {
        /// Substring of username, display name or email.
        #[arg(long)]
        search: Option<String>,
    },
    Show {
        user_id: String,
    },
    /// Change email, display name, roles or groups (roles/groups replace the lists).
    Update {
        user_id: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long = "role")]
        roles: Option<Vec<String>>,
        #[arg(long = "group")]
        groups: Option<Vec<String>>,
    },
    /// Disable a user: they can no longer sign in.
    Disable {
        user_id: String,
    },
    Enable {
        user_id: String,
    },
    /// Set a new password (generated and printed once unless --password-env is given).
    ResetPassword {
        user_id: String,
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
}

fn password_from(var: Option<&str>) -> Result<Option<String>> {
    var.map(|v| std::env::var(v).map_err(|_| anyhow::anyhow!("the environment variable {v} is not set"))).transpose()
}

/// Prints a generated password once, on stderr with a warning, so that a
/// JSON pipe on stdout still carries it in the body.
fn warn_once(v: &Value) {
    if v.get("password").and_then(Value::as_str).is_some() {
        eprintln!("The generated password is shown once.");
    }
}

/// Runs `latchkey user …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn run(a: UserArgs, t: &Target) -> Result<()> {
    let f = a.out.format();
    let api = t.connect().await?;
    let path = |id: &str| format!("/users/{}", segment(id));
    match a.cmd {
        UserCmd::Create { username, email, display_name, roles, groups, password_env } => {
            let mut body = json!({
                "username": username, "email": email, "display_name": display_name.unwrap_or_default(),
                "roles": roles, "groups": groups,
            });
            if let Some(p) = password_from(password_env.as_deref())? {
                body["password"] = Value::String(p);
            }
            let v = api.post("/users", &body).await?;
            warn_once(&v);
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
        UserCmd::Show { user_id } => print_one(&api.get(&path(&user_id)).await?, f),
        UserCmd::Update { user_id, email, display_name, roles, groups } => {
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
            print_one(&api.patch(&path(&user_id), &Value::Object(body), None).await?, f)
        }
        UserCmd::Disable { user_id } => {
            print_one(&api.post(&format!("{}/disable", path(&user_id)), &json!({})).await?, f)
        }
        UserCmd::Enable { user_id } => {
            print_one(&api.post(&format!("{}/enable", path(&user_id)), &json!({})).await?, f)
        }
        UserCmd::ResetPassword { user_id, password_env } => {
            let body = json!({ "password": password_from(password_env.as_deref())? });
            let v = api.post(&format!("{}/password", path(&user_id)), &body).await?;
            warn_once(&v);
            print_one(&v, f)
        }
    }
}
