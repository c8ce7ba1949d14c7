//! `latchkey scope|class|audit|keys …`.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Target;
use super::api::{query, segment, split_page};
use super::output::{self, Format, OutputArg, Table, cell, object_lines, time};

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
    #[command(flatten)]
    out: OutputArg,
    #[command(subcommand)]
    cmd: ScopeCmd,
}

#[derive(Subcommand)]
enum ScopeCmd {
    /// List the scopes catalogue.
    List,
    Show {
        name: String,
    },
    Create {
        name: String,
        /// Shown on the consent page.
        #[arg(long)]
        description: Option<String>,
    },
    Update {
        name: String,
        #[arg(long)]
        description: String,
    },
    /// Delete a scope (refused while clients or classes use it).
    Delete {
        name: String,
    },
}

#[derive(Args)]
pub struct ClassArgs {
    #[command(flatten)]
    out: OutputArg,
    #[command(subcommand)]
    cmd: ClassCmd,
}

#[derive(Subcommand)]
enum ClassCmd {
    List,
    Show {
        name: String,
    },
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// A scope of the class (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// Change a class; `--scope` replaces the whole list.
    Update {
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    Delete {
        name: String,
    },
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    out: OutputArg,
    #[command(subcommand)]
    cmd: AuditCmd,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Newest events first.
    List {
        /// `client`, `scope`, `security_class`, …
        #[arg(long)]
        target_type: Option<String>,
        #[arg(long)]
        target_id: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        /// e.g. `client.create`.
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Args)]
pub struct KeysArgs {
    #[command(flatten)]
    out: OutputArg,
    #[command(subcommand)]
    cmd: KeysCmd,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// The tenant's signing keys.
    List,
    /// Create the next signing keys. They are published at once and sign
    /// from their activation on; the keys they replace stay published until
    /// every token they signed has expired.
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

/// Prints a list answer as a table of `columns` (header, field), or as JSON.
pub(super) fn print_list(v: &Value, f: Format, columns: &[(&str, &str)]) -> Result<()> {
    if f == Format::Json {
        return output::json(v);
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
    if f == Format::Json {
        return output::json(v);
    }
    print!("{}", object_lines(v));
    Ok(())
}

fn deleted(kind: &str, name: &str, f: Format) -> Result<()> {
    if f == Format::Json {
        return output::json(&json!({ "name": name, "deleted": true }));
    }
    println!("Deleted {kind} {name}.");
    Ok(())
}

/// Runs `latchkey scope …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn scopes(a: ScopeArgs, t: &Target) -> Result<()> {
    let f = a.out.format();
    let api = t.connect().await?;
    let path = |n: &str| format!("/scopes/{}", segment(n));
    match a.cmd {
        ScopeCmd::List => {
            let items = api.get_all("/scopes").await?;
            print_list(&json!({ "items": items }), f, &[("NAME", "name"), ("DESCRIPTION", "description")])
        }
        ScopeCmd::Show { name } => print_one(&api.get(&path(&name)).await?, f),
        ScopeCmd::Create { name, description } => {
            let body = json!({ "name": name, "description": description.unwrap_or_default() });
            print_one(&api.post("/scopes", &body).await?, f)
        }
        ScopeCmd::Update { name, description } => {
            print_one(&api.patch(&path(&name), &json!({ "description": description }), None).await?, f)
        }
        ScopeCmd::Delete { name } => {
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
    let f = a.out.format();
    let api = t.connect().await?;
    let path = |n: &str| format!("/security-classes/{}", segment(n));
    match a.cmd {
        ClassCmd::List => {
            let items = api.get_all("/security-classes").await?;
            let cols = [("NAME", "name"), ("SCOPES", "scopes"), ("DESCRIPTION", "description")];
            print_list(&json!({ "items": items }), f, &cols)
        }
        ClassCmd::Show { name } => print_one(&api.get(&path(&name)).await?, f),
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
        ClassCmd::Delete { name } => {
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
    let f = a.out.format();
    let api = t.connect().await?;
    let AuditCmd::List { target_type, target_id, actor, action, limit } = a.cmd;
    let q = query(&[
        ("target_type", target_type),
        ("target_id", target_id),
        ("actor", actor),
        ("action", action),
        ("limit", limit.map(|n| n.to_string())),
    ]);
    let v = api.get(&format!("/audit-events{q}")).await?;
    if f == Format::Json {
        return output::json(&v);
    }
    let (items, next) = split_page(v);
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
        eprintln!("(more events: use --limit or narrow the filters)");
    }
    Ok(())
}

/// Runs `latchkey keys …`.
///
/// # Errors
/// Every failure, as one line.
pub async fn keys(a: KeysArgs, t: &Target) -> Result<()> {
    let f = a.out.format();
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
