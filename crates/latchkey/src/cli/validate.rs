//! `latchkey plan` checks its changes as `apply` would make them: client
//! creates and updates go to the server as dry runs (`dry_run=true`: the
//! same validation, nothing written), and a new client's name is checked
//! against the live ones. Scopes and classes the plan creates do not exist
//! yet, so they are left out of what the dry runs send.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::api::{Api, ApiError};
use super::client_args::client_path;
use super::declarative::Parsed;
use super::exit::Kind;
use super::plan::{Op, Plan, Step, Unit, Verb, units};

/// A change that would fail, and why.
pub struct Failed {
    pub what: String,
    pub error: anyhow::Error,
}

impl Failed {
    fn new(s: &Step, error: anyhow::Error) -> Self {
        Self { what: s.what.clone(), error }
    }
}

/// The exit kind shared by every failure, else generic.
#[must_use]
pub fn common_kind(failures: &[Failed]) -> Kind {
    let codes: HashSet<u8> = failures.iter().map(|f| super::exit_code(&f.error)).collect();
    match codes.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Kind::of_code(*one),
        _ => Kind::Generic,
    }
}

/// What the dry runs leave out: scopes and classes this plan creates.
struct New {
    scopes: HashSet<String>,
    classes: HashSet<String>,
}

impl New {
    fn of(plan: &Plan) -> Self {
        let names = |kind: &str| -> HashSet<String> {
            plan.steps.iter().filter(|s| s.verb == Verb::Create && s.kind == kind).map(|s| s.key.clone()).collect()
        };
        Self { scopes: names("scope"), classes: names("security_class") }
    }

    /// `body` without references to objects that do not exist yet.
    fn strip(&self, mut body: Value) -> Value {
        for (field, new) in [("scopes", &self.scopes), ("security_classes", &self.classes)] {
            if let Some(list) = body.get_mut(field).and_then(Value::as_array_mut) {
                list.retain(|v| v.as_str().is_none_or(|s| !new.contains(s)));
            }
        }
        body
    }
}

/// A created client must not take a live client's name (unless this plan
/// renames or deletes that client), nor another created client's.
fn name_clashes(plan: &Plan) -> Vec<Failed> {
    let moving: HashSet<&str> = plan
        .steps
        .iter()
        .filter(|s| s.kind == "client")
        .filter(|s| s.verb == Verb::Delete || s.changes.iter().any(|c| c.field == "name"))
        .map(|s| s.key.as_str())
        .collect();
    let mut taken: HashMap<String, String> = plan
        .live_names
        .iter()
        .filter(|(_, id)| !moving.contains(id.as_str()))
        .map(|(n, id)| (n.clone(), id.clone()))
        .collect();
    let mut out = Vec::new();
    for s in plan.steps.iter().filter(|s| s.kind == "client") {
        let name = s.attrs.iter().find(|(k, _)| k == "name").map(|(_, v)| v);
        let name = name.or_else(|| s.changes.iter().find(|c| c.field == "name").map(|c| &c.after));
        let Some(name) = name.and_then(Value::as_str) else { continue };
        if let Some(other) = taken.insert(name.to_lowercase(), s.key.clone())
            && other != s.key
        {
            let message = format!("the name {name:?} is taken by client {other}");
            out.push(Failed::new(s, ApiError { status: 409, message }.into()));
        }
    }
    out
}

/// One batch of creates as a dry run; when it fails, each client alone, so
/// every failure names its client.
async fn check_batch(api: &Api, new: &New, items: Vec<(&Step, Value)>) -> Result<Vec<Failed>> {
    let send =
        |bodies: Vec<Value>| async move { api.post("/clients:batch?dry_run=true", &json!({ "items": bodies })).await };
    let bodies: Vec<Value> = items.iter().map(|(_, b)| new.strip(b.clone())).collect();
    let single = bodies.len() == 1;
    match send(bodies.clone()).await {
        Ok(_) => return Ok(Vec::new()),
        Err(e) if e.downcast_ref::<ApiError>().is_none() => return Err(e),
        Err(e) if single => return Ok(vec![Failed::new(items[0].0, e)]),
        Err(_) => {}
    }
    let mut out = Vec::new();
    for ((s, _), body) in items.iter().zip(bodies) {
        match send(vec![body]).await {
            Ok(_) => {}
            Err(e) if e.downcast_ref::<ApiError>().is_none() => return Err(e),
            Err(e) => out.push(Failed::new(s, e)),
        }
    }
    Ok(out)
}

/// One update as a dry run.
async fn check_update(api: &Api, new: &New, s: &Step, force: bool) -> Result<Option<Failed>> {
    let Op::UpdateClient { id, patch: Some(patch), revision, .. } = &s.op else { return Ok(None) };
    let tag = revision.map(|r| format!("\"{r}\""));
    let path = format!("{}?dry_run=true{}", client_path(id), if force { "&force=true" } else { "" });
    match api.patch(&path, &new.strip(patch.clone()), tag.as_deref()).await {
        Ok(_) => Ok(None),
        Err(e) if e.downcast_ref::<ApiError>().is_none() => Err(e),
        Err(e) => Ok(Some(Failed::new(s, super::client_update::force_hint(e)))),
    }
}

/// Checks the plan's client changes as `apply` (with `force`) would make
/// them, writing nothing. Read-only credentials cannot run dry runs: then
/// only the local checks run, and a note says so.
///
/// # Errors
/// When the server cannot be asked (unreachable, sign-in ended).
pub async fn check(api: &Api, p: &Parsed, plan: &Plan, force: bool, concurrency: usize) -> Result<Vec<Failed>> {
    let mut failed = name_clashes(plan);
    let writes = plan.steps.iter().any(|s| s.kind == "client" && s.verb != Verb::Delete);
    if !writes {
        return Ok(failed);
    }
    if api.get("/me").await?["can_write"].as_bool() != Some(true) {
        eprintln!("Note: read-only credentials: the server did not check these changes (apply needs write access).");
        return Ok(failed);
    }
    let new = New::of(plan);
    let creates = plan.steps.iter().filter(|s| s.verb == Verb::Create && s.kind == "client");
    let mut batches = futures_util::stream::iter(units(p, creates).into_iter().map(|u| {
        let new = &new;
        async move {
            match u {
                Unit::Batch(items) => check_batch(api, new, items).await,
                // A body that cannot be built: its error, as apply would meet it.
                Unit::One(s) => Ok(match &s.op {
                    Op::CreateClient(i) => p
                        .doc
                        .clients
                        .get(*i)
                        .and_then(|c| super::plan::create_body(c, p.secrets.get(&c.client_id)).err())
                        .map(|e| vec![Failed::new(s, e)])
                        .unwrap_or_default(),
                    _ => Vec::new(),
                }),
            }
        }
    }))
    .buffer_unordered(concurrency);
    while let Some(r) = batches.next().await {
        failed.extend(r?);
    }
    let updates = plan.steps.iter().filter(|s| s.verb == Verb::Update && s.kind == "client");
    let mut checks =
        futures_util::stream::iter(updates.map(|s| check_update(api, &new, s, force))).buffer_unordered(concurrency);
    while let Some(r) = checks.next().await {
        failed.extend(r?);
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::declarative::parse;
    use crate::cli::plan::{plan_catalog, plan_clients};

    #[test]
    fn new_names_clash_with_live_ones_unless_they_move() {
        let p = parse(
            "version: 1\nscopes:\n  - name: new:scope\nclients:\n  - client_id: a\n    name: Taken\n    scopes: [new:scope, old]\n  - client_id: b\n    name: free\n",
            std::path::Path::new("."),
        )
        .unwrap();
        let mut plan = Plan::default();
        plan_catalog(&p, &[], &[], &mut plan);
        plan_clients(&p, &HashMap::new(), &HashSet::new(), &mut plan).unwrap();
        plan.live_names = [("taken".to_owned(), "x".to_owned())].into();
        let clashes = name_clashes(&plan);
        assert_eq!(clashes.len(), 1);
        assert_eq!(clashes[0].what, "client Taken (a)");
        assert_eq!(super::super::exit_code(&clashes[0].error), 4);
        // The new scope is left out of what the dry run sends.
        let new = New::of(&plan);
        assert_eq!(new.strip(json!({"scopes": ["new:scope", "old"]})), json!({"scopes": ["old"]}));
    }
}
