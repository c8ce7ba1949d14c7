//! `latchkey scope|class|audit|keys …`.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Target;
use super::api::{query, segment, split_page};
use super::output::{self, Format, Table, cell, object_lines, parse_time, time};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_summaries() {
        let created = json!({"changes": {"a": {"before": null, "after": 1}, "b": {"before": null, "after": 1},
            "c": {"before": null, "after": 1}, "d": {"before": null, "after": 1}}});
        assert_eq!(changed_fields(&created), "(created: 4 fields)");
        let edit =
            json!({"changes": {"name": {"before": "a", "after": "b"}, "labels": {"before": {}, "after": {"x": "y"}}}});
        assert_eq!(changed_fields(&edit), "labels,name");
        assert_eq!(changed_fields(&json!({"changes": {}})), "-");
    }
}

#[derive(Args)]
pub struct ScopeArgs {
    #[command(subcommand)]
    cmd: ScopeCmd,
}

/// A scope or class named on the command line.
#[derive(Args)]
struct NameArg {
    /// Its name.
    name: String,
}

#[derive(Subcommand)]
enum ScopeCmd {
    /// List the scopes catalogue.
    #[command(after_help = "Examples:
  latchkey scope list
  latchkey scope list -o yaml")]
    List,
    /// Show one scope.
    #[command(after_help = "Examples:
  latchkey scope show api:read")]
    Show(NameArg),
    /// Add a scope to the catalogue.
    #[command(after_help = "Examples:
  latchkey scope create api:read --description 'Read the API'")]
    Create {
        /// The scope, as clients ask for it (e.g. `api:read`).
        name: String,
        /// Shown on the consent page.
        #[arg(long)]
        description: Option<String>,
    },
    /// Change a scope's description.
    #[command(after_help = "Examples:
  latchkey scope update api:read --description 'Read orders and invoices'")]
    Update {
        /// The scope's name.
        name: String,
        /// Shown on the consent page.
        #[arg(long)]
        description: String,
    },
    /// Delete a scope (refused while clients or classes use it).
    #[command(after_help = "Examples:
  latchkey scope delete api:read")]
    Delete(NameArg),
}

#[derive(Args)]
pub struct ClassArgs {
    #[command(subcommand)]
    cmd: ClassCmd,
}

#[derive(Subcommand)]
enum ClassCmd {
    /// List the security classes.
    #[command(after_help = "Examples:
  latchkey class list")]
    List,
    /// Show one security class with its scopes.
    #[command(after_help = "Examples:
  latchkey class show billing")]
    Show(NameArg),
    /// Create a security class: a named bundle of scopes.
    #[command(after_help = "Examples:
  latchkey class create billing --scope api:read --scope invoices:write --description 'Billing jobs'")]
    Create {
        /// The class's name.
        name: String,
        /// What the class is for.
        #[arg(long)]
        description: Option<String>,
        /// A scope of the class (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// Change a class; `--scope` replaces the whole list.
    #[command(after_help = "Examples:
  latchkey class update billing --scope api:read")]
    Update {
        /// The class's name.
        name: String,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// A scope of the class (repeatable; replaces the list).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// Delete a security class (refused while clients use it).
    #[command(after_help = "Examples:
  latchkey class delete billing")]
    Delete(NameArg),
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    cmd: AuditCmd,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Audit events, newest first: who changed what, with before and after.
    #[command(after_help = "Examples:
  latchkey audit list --since 24h
  latchkey audit list --target-id billing-jobs --all -o json
  latchkey audit list --action client.delete --since 2025-01-01 --until 2025-02-01
  latchkey audit list --actor usr_0123456789ab --limit 200

--since and --until take a date (2025-01-31, midnight UTC), a time
(2025-01-31T12:00:00Z), Unix seconds, or a duration ago (30m, 24h, 7d).")]
    List {
        /// `client`, `scope`, `security_class`, `user`, …
        #[arg(long)]
        target_type: Option<String>,
        /// The changed object's id (a client_id, a scope name, a user id).
        #[arg(long)]
        target_id: Option<String>,
        /// The client or user id that acted.
        #[arg(long)]
        actor: Option<String>,
        /// The action, e.g. `client.create`.
        #[arg(long)]
        action: Option<String>,
        /// Only events at or after this time.
        #[arg(long, value_parser = parse_when, value_name = "WHEN")]
        since: Option<i64>,
        /// Only events before this time.
        #[arg(long, value_parser = parse_when, value_name = "WHEN")]
        until: Option<i64>,
        /// Events per page (server default 50, maximum 500).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: Option<u32>,
        /// Follow every page instead of the newest one.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    cmd: KeysCmd,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// The tenant's signing keys: purpose, algorithm, pending/active/retired.
    #[command(after_help = "Examples:
  latchkey keys list
  latchkey keys list -o json")]
    List,
    /// Create the next signing keys. They are published at once and sign
    /// from their activation on; the keys they replace stay published until
    /// every token they signed has expired.
    #[command(after_help = "Examples:
  latchkey keys rotate                            # next keys sign in 10 minutes
  latchkey keys rotate --purpose id_token --now   # at once (a compromised key)
  latchkey keys rotate --activate-in 3600")]
    Rotate {
        /// Only this purpose's key.
        #[arg(long, value_parser = ["access_token", "id_token"])]
        purpose: Option<String>,
        /// Seconds until the new keys sign [default: 600: longer than every
        /// node's reload and every client's JWKS cache].
        #[arg(long, conflicts_with = "now")]
        activate_in: Option<u32>,
        /// Sign with the new keys at once (a compromised key): clients with
        /// a cached JWKS reject new tokens until they refetch it.
        #[arg(long)]
        now: bool,
    },
}

/// `--since`/`--until` as Unix seconds (see [`parse_time`]).
fn parse_when(s: &str) -> Result<i64, String> {
    parse_time(s, super::api::now())
}

/// Prints a list answer as a table of `columns` (header, field), or as JSON.
pub(super) fn print_list(v: &Value, f: Format, columns: &[(&str, &str)]) -> Result<()> {
    if f.is_data() {
        return output::data(v, f);
    }
    let (items, next) = split_page(v.clone());
    let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let mut t = Table::new(&headers);
    for it in &items {
        t.row(columns.iter().map(|(_, k)| if k.ends_with("_at") { time(&it[*k]) } else { cell(&it[*k]) }).collect());
    }
    t.print();
    if next.is_some() {
        eprintln!("(more results: use --limit)");
    }
    Ok(())
}

pub(super) fn print_one(v: &Value, f: Format) -> Result<()> {
    if f.is_data() {
        return output::data(v, f);
    }
    print!("{}", object_lines(v));
    Ok(())
}

fn deleted(kind: &str, name: &str, f: Format) -> Result<()> {
    if f.is_data() {
        return output::data(&json!({ "name": name, "deleted": true }), f);
    }
    println!("Deleted {kind} {name}.");
    Ok(())
}

/// Runs `latchkey scope …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn scopes(a: ScopeArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    let path = |n: &str| format!("/scopes/{}", segment(n));
    match a.cmd {
        ScopeCmd::List => {
            let items = api.get_all("/scopes").await?;
            print_list(&json!({ "items": items }), f, &[("NAME", "name"), ("DESCRIPTION", "description")])
        }
        ScopeCmd::Show(NameArg { name }) => print_one(&api.get(&path(&name)).await?, f),
        ScopeCmd::Create { name, description } => {
            let body = json!({ "name": name, "description": description.unwrap_or_default() });
            print_one(&api.post("/scopes", &body).await?, f)
        }
        ScopeCmd::Update { name, description } => {
            print_one(&api.patch(&path(&name), &json!({ "description": description }), None).await?, f)
        }
        ScopeCmd::Delete(NameArg { name }) => {
            api.delete(&path(&name)).await?;
            deleted("scope", &name, f)
        }
    }
}

/// Runs `latchkey class …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn classes(a: ClassArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    let path = |n: &str| format!("/security-classes/{}", segment(n));
    match a.cmd {
        ClassCmd::List => {
            let items = api.get_all("/security-classes").await?;
            let cols = [("NAME", "name"), ("SCOPES", "scopes"), ("DESCRIPTION", "description")];
            print_list(&json!({ "items": items }), f, &cols)
        }
        ClassCmd::Show(NameArg { name }) => print_one(&api.get(&path(&name)).await?, f),
        ClassCmd::Create { name, description, scopes } => {
            let body = json!({ "name": name, "description": description.unwrap_or_default(), "scopes": scopes });
            print_one(&api.post("/security-classes", &body).await?, f)
        }
        ClassCmd::Update { name, description, scopes } => {
            let mut body = Map::new();
            if let Some(d) = description {
                body.insert("description".into(), json!(d));
            }
            if !scopes.is_empty() {
                body.insert("scopes".into(), json!(scopes));
            }
            if body.is_empty() {
                anyhow::bail!("nothing to change: give --description or --scope");
            }
            print_one(&api.patch(&path(&name), &Value::Object(body), None).await?, f)
        }
        ClassCmd::Delete(NameArg { name }) => {
            api.delete(&path(&name)).await?;
            deleted("security class", &name, f)
        }
    }
}

/// The changed fields of an audit event: the names for an edit, a count
/// for a creation or deletion (where every field changes).
fn changed_fields(e: &Value) -> String {
    let Some(o) = e["changes"].as_object().filter(|o| !o.is_empty()) else { return "-".into() };
    let all = |side: &str| o.values().all(|c| c[side].is_null());
    if o.len() > 3 && all("before") {
        return format!("(created: {} fields)", o.len());
    }
    if o.len() > 3 && all("after") {
        return format!("(deleted: {} fields)", o.len());
    }
    let names: Vec<&str> = o.keys().map(String::as_str).collect();
    if names.len() > 6 {
        return format!("{},… (+{})", names[..5].join(","), names.len() - 5);
    }
    names.join(",")
}

/// Runs `latchkey audit …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn audit(a: AuditArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    let AuditCmd::List { target_type, target_id, actor, action, since, until, limit, all } = a.cmd;
    let q = query(&[
        ("target_type", target_type),
        ("target_id", target_id),
        ("actor", actor),
        ("action", action),
        ("since", since.map(|n| n.to_string())),
        ("until", until.map(|n| n.to_string())),
        ("limit", limit.map(|n| n.to_string())),
    ]);
    let path = format!("/audit-events{q}");
    let (items, next) = if all { (api.get_all(&path).await?, None) } else { split_page(api.get(&path).await?) };
    if f.is_data() {
        return output::data(&json!({ "items": items, "next_cursor": next }), f);
    }
    let mut t = Table::new(&["TIME", "ACTOR", "ACTION", "TARGET", "CHANGED FIELDS"]);
    for e in &items {
        t.row(vec![
            time(&e["occurred_at"]),
            cell(&e["actor"]),
            cell(&e["action"]),
            format!("{} {}", cell(&e["target_type"]), cell(&e["target_id"])),
            changed_fields(e),
        ]);
    }
    t.print();
    if next.is_some() {
        eprintln!("(more events: use --all, --since or narrow the filters)");
    }
    Ok(())
}

/// Runs `latchkey keys …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn keys(a: KeysArgs, t: &Target) -> Result<()> {
    let f = t.format;
    let api = t.connect().await?;
    let cols = [
        ("KID", "kid"),
        ("PURPOSE", "purpose"),
        ("ALG", "alg"),
        ("STATUS", "status"),
        ("CREATED", "created_at"),
        ("SIGNS FROM", "activated_at"),
        ("SIGNS UNTIL", "retired_at"),
    ];
    match a.cmd {
        KeysCmd::List => print_list(&api.get("/keys").await?, f, &cols),
        KeysCmd::Rotate { purpose, activate_in, now } => {
            let body = json!({ "purpose": purpose, "activate_in_seconds": if now { Some(0) } else { activate_in } });
            let v = api.post("/keys/rotate", &body).await?;
            print_list(&v, f, &cols)
        }
    }
}
