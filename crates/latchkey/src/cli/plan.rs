//! The plan of `latchkey plan` and `latchkey apply`: the live objects
//! compared with a declarative file, as steps to create, update and delete,
//! shown as a diff (creates with their attributes) or as data.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::api::Api;
use super::client_args::client_path;
use super::declarative::{
    CLIENT_IDENTITY, Change, ClientSpec, LiveClient, MANAGED_BY, NAME_IDENTITY, Parsed, SecretRef, class_spec, diff,
    scope_spec,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Update,
    Delete,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

#[derive(Debug)]
pub enum Op {
    CreateScope(Value),
    UpdateScope(String, Value),
    CreateClass(Value),
    UpdateClass(String, Value),
    /// The client at this index of the file (its body is built when sent).
    CreateClient(usize),
    UpdateClient {
        id: String,
        patch: Option<Value>,
        revision: Option<i64>,
        add_secret: Option<SecretRef>,
    },
    DeleteClient(String),
}

#[derive(Debug)]
pub struct Step {
    pub verb: Verb,
    /// `client`, `scope` or `security_class`.
    pub kind: &'static str,
    /// The client id, or the scope's or class's name.
    pub key: String,
    /// `client Billing service (billing-svc)`.
    pub what: String,
    /// Updates: the fields that differ.
    pub changes: Vec<Change>,
    /// Creates: the fields the new object gets from the file.
    pub attrs: Vec<(String, Value)>,
    /// Where the secret set on the client comes from (`env VAR`).
    pub secret_note: Option<String>,
    pub op: Op,
    /// Scopes, then classes, then clients, then deletes.
    pub phase: u8,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub unchanged: usize,
    /// The names of live clients (lower case) with their ids: a created
    /// client must not take one.
    pub live_names: HashMap<String, String>,
}

impl Plan {
    pub fn count(&self, v: Verb) -> usize {
        self.steps.iter().filter(|s| s.verb == v).count()
    }

    pub fn summary(&self) -> String {
        format!(
            "Plan: {} to create, {} to update, {} to delete, {} unchanged.",
            self.count(Verb::Create),
            self.count(Verb::Update),
            self.count(Verb::Delete),
            self.unchanged
        )
    }

    /// The diff: `+ create …` with the attributes, `~ update …` with
    /// `field: before -> after`, `- delete …`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            let sign = match s.verb {
                Verb::Create => '+',
                Verb::Update => '~',
                Verb::Delete => '-',
            };
            let _ = writeln!(out, "{sign} {} {}", s.verb.name(), s.what);
            for (k, v) in &s.attrs {
                let _ = writeln!(out, "    {k}: {}", shown(v));
            }
            for c in &s.changes {
                let _ = writeln!(out, "    {}: {} -> {}", c.field, shown(&c.before), shown(&c.after));
            }
            match (&s.secret_note, s.verb) {
                (Some(n), Verb::Create) => {
                    let _ = writeln!(out, "    secret: ({n})");
                }
                (Some(n), _) => {
                    let _ = writeln!(out, "    secret: (none) -> ({n})");
                }
                (None, _) => {}
            }
        }
        out
    }

    /// The plan as data, for `-o json|yaml`.
    pub fn to_value(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                let mut o = Map::new();
                o.insert("action".into(), json!(s.verb.name()));
                o.insert("type".into(), json!(s.kind));
                o.insert("id".into(), json!(s.key));
                if s.verb == Verb::Create {
                    o.insert("attributes".into(), Value::Object(s.attrs.iter().cloned().collect()));
                }
                if s.verb == Verb::Update {
                    let changes: Vec<Value> = s
                        .changes
                        .iter()
                        .map(|c| json!({ "field": c.field, "before": c.before, "after": c.after }))
                        .collect();
                    o.insert("changes".into(), json!(changes));
                }
                if let Some(n) = &s.secret_note {
                    o.insert("secret".into(), json!(n));
                }
                Value::Object(o)
            })
            .collect();
        json!({
            "steps": steps,
            "summary": {
                "create": self.count(Verb::Create),
                "update": self.count(Verb::Update),
                "delete": self.count(Verb::Delete),
                "unchanged": self.unchanged,
            },
        })
    }
}

/// A value in a plan line: bare strings, compact JSON otherwise.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(shown).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn by_key<'a>(items: &'a [Value], key: &str) -> HashMap<&'a str, &'a Value> {
    items.iter().filter_map(|v| v[key].as_str().map(|k| (k, v))).collect()
}

fn patch_of(changes: &[Change]) -> Value {
    Value::Object(changes.iter().map(|c| (c.field.clone(), c.patch.clone())).collect::<Map<_, _>>())
}

/// The fields of a spec as plan attributes in the file format's order,
/// leaving out `skip`.
fn attrs_of<T: serde::Serialize>(spec: &T, skip: &[&str]) -> Vec<(String, Value)> {
    // A YAML mapping keeps the fields' order (a JSON map would sort them).
    let Ok(serde_yaml_ng::Value::Mapping(m)) = serde_yaml_ng::to_value(spec) else { return Vec::new() };
    m.into_iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), serde_json::to_value(v).ok()?)))
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect()
}

fn step(verb: Verb, kind: &'static str, key: &str, what: String, op: Op, phase: u8) -> Step {
    Step { verb, kind, key: key.to_owned(), what, changes: Vec::new(), attrs: Vec::new(), secret_note: None, op, phase }
}

pub(crate) fn plan_catalog(p: &Parsed, scopes: &[Value], classes: &[Value], plan: &mut Plan) {
    let live = by_key(scopes, "name");
    for s in &p.doc.scopes {
        match live.get(s.name.as_str()) {
            None => {
                let body = json!({ "name": s.name, "description": s.description.clone().unwrap_or_default() });
                let mut st =
                    step(Verb::Create, "scope", &s.name, format!("scope {}", s.name), Op::CreateScope(body), 0);
                st.attrs = attrs_of(s, &["name"]);
                plan.steps.push(st);
            }
            Some(l) => match diff(s, &scope_spec(l), &NAME_IDENTITY) {
                c if c.is_empty() => plan.unchanged += 1,
                c => {
                    let op = Op::UpdateScope(s.name.clone(), patch_of(&c));
                    let mut st = step(Verb::Update, "scope", &s.name, format!("scope {}", s.name), op, 0);
                    st.changes = c;
                    plan.steps.push(st);
                }
            },
        }
    }
    let live = by_key(classes, "name");
    for s in &p.doc.security_classes {
        let what = format!("security class {}", s.name);
        match live.get(s.name.as_str()) {
            None => {
                let body = json!({
                    "name": s.name,
                    "description": s.description.clone().unwrap_or_default(),
                    "scopes": s.scopes.clone().unwrap_or_default(),
                });
                let mut st = step(Verb::Create, "security_class", &s.name, what, Op::CreateClass(body), 1);
                st.attrs = attrs_of(s, &["name"]);
                plan.steps.push(st);
            }
            Some(l) => match diff(s, &class_spec(l), &NAME_IDENTITY) {
                c if c.is_empty() => plan.unchanged += 1,
                c => {
                    let op = Op::UpdateClass(s.name.clone(), patch_of(&c));
                    let mut st = step(Verb::Update, "security_class", &s.name, what, op, 1);
                    st.changes = c;
                    plan.steps.push(st);
                }
            },
        }
    }
}

fn client_label(name: Option<&str>, id: &str) -> String {
    match name {
        Some(n) if !n.is_empty() => format!("client {n} ({id})"),
        _ => format!("client {id}"),
    }
}

fn create_client_step(i: usize, c: &ClientSpec, secret: Option<&SecretRef>) -> Result<Step> {
    let Some(name) = c.name.as_deref() else {
        bail!("client {}: a name is needed to create it", c.client_id);
    };
    let what = client_label(Some(name), &c.client_id);
    let mut st = step(Verb::Create, "client", &c.client_id, what, Op::CreateClient(i), 2);
    st.attrs = attrs_of(c, &CLIENT_IDENTITY);
    st.secret_note = secret.map(SecretRef::describe);
    Ok(st)
}

/// The creation request for a client of the file, its secret resolved.
pub(crate) fn create_body(c: &ClientSpec, secret: Option<&SecretRef>) -> Result<Value> {
    let mut body = serde_json::to_value(c)?;
    if let Some(o) = body.as_object_mut() {
        o.insert("managed_by".into(), json!(MANAGED_BY));
        if let Some(s) = secret {
            o.insert("secret".into(), json!(s.resolve()?));
        }
    }
    Ok(body)
}

/// Existing confidential clients with a secret reference that may have no
/// secret yet (the list view may leave secrets out): asks the server.
async fn clients_without_secret(
    api: &Api,
    p: &Parsed,
    live: &HashMap<&str, &LiveClient>,
    n: usize,
) -> Result<HashSet<String>> {
    let candidates: Vec<&str> = p
        .doc
        .clients
        .iter()
        .map(|c| c.client_id.as_str())
        .filter(|id| p.secrets.contains_key(*id))
        .filter(|id| live.get(id).is_some_and(|l| l.may_lack_secret))
        .collect();
    let mut checks = futures_util::stream::iter(candidates.into_iter().map(|id| async move {
        let v = api.get(&format!("{}/secrets", client_path(id))).await;
        (id, v)
    }))
    .buffer_unordered(n);
    let mut out = HashSet::new();
    while let Some((id, v)) = checks.next().await {
        if v?["items"].as_array().is_none_or(Vec::is_empty) {
            out.insert(id.to_owned());
        }
    }
    Ok(out)
}

pub(crate) fn plan_clients(
    p: &Parsed,
    live: &HashMap<&str, &LiveClient>,
    no_secret: &HashSet<String>,
    plan: &mut Plan,
) -> Result<()> {
    for (i, c) in p.doc.clients.iter().enumerate() {
        let id = c.client_id.as_str();
        let secret = p.secrets.get(id);
        let Some(l) = live.get(id) else {
            plan.steps.push(create_client_step(i, c, secret)?);
            continue;
        };
        let mut changes = diff(c, &l.spec, &CLIENT_IDENTITY);
        let protected = l.protected;
        if !protected && l.managed_by.as_deref() != Some(MANAGED_BY) {
            let before = json!(l.managed_by);
            changes.push(Change {
                field: "managed_by".into(),
                before,
                after: json!(MANAGED_BY),
                patch: json!(MANAGED_BY),
            });
        }
        let add_secret = secret.filter(|_| no_secret.contains(id)).cloned();
        if changes.is_empty() && add_secret.is_none() {
            plan.unchanged += 1;
            continue;
        }
        // Naming the manager in every patch is what lets apply change a managed client.
        let patch = (!changes.is_empty()).then(|| {
            let mut p = patch_of(&changes);
            if let (Some(o), false) = (p.as_object_mut(), protected) {
                o.insert("managed_by".into(), json!(MANAGED_BY));
            }
            p
        });
        let secret_note = add_secret.as_ref().map(SecretRef::describe);
        let op = Op::UpdateClient { id: id.to_owned(), patch, revision: l.revision, add_secret };
        let mut st = step(Verb::Update, "client", id, client_label(l.spec.name.as_deref(), id), op, 2);
        st.changes = changes;
        st.secret_note = secret_note;
        plan.steps.push(st);
    }
    Ok(())
}

pub(crate) fn plan_prune(p: &Parsed, clients: &[LiveClient], plan: &mut Plan) {
    let wanted: HashSet<&str> = p.doc.clients.iter().map(|c| c.client_id.as_str()).collect();
    for l in clients {
        let id = l.spec.client_id.as_str();
        if l.managed_by.as_deref() == Some(MANAGED_BY) && !l.protected && !wanted.contains(id) {
            let what = client_label(l.spec.name.as_deref(), id);
            plan.steps.push(step(Verb::Delete, "client", id, what, Op::DeleteClient(id.to_owned()), 3));
        }
    }
}

/// Reads the live objects and computes what would change; writes nothing.
///
/// # Errors
/// Unresolvable secret references, a client to create without a name, and
/// API failures.
pub async fn build(api: &Api, p: &Parsed, prune: bool, concurrency: usize) -> Result<Plan> {
    // Resolve every reference first: a missing variable fails before anything is written.
    for c in &p.doc.clients {
        if let Some(r) = p.secrets.get(&c.client_id) {
            r.resolve().with_context(|| format!("client {}: secret", c.client_id))?;
        }
    }
    let (scopes, classes, clients) = tokio::try_join!(
        api.get_all("/scopes"),
        api.get_all("/security-classes"),
        api.get_all_with("/clients?limit=500", |v| LiveClient::from_view(&v)),
    )?;
    let mut plan = Plan::default();
    plan_catalog(p, &scopes, &classes, &mut plan);
    let live: HashMap<&str, &LiveClient> = clients.iter().map(|c| (c.spec.client_id.as_str(), c)).collect();
    let no_secret = clients_without_secret(api, p, &live, concurrency).await?;
    plan_clients(p, &live, &no_secret, &mut plan)?;
    if prune {
        plan_prune(p, &clients, &mut plan);
    }
    plan.live_names = clients
        .iter()
        .filter_map(|c| c.spec.name.as_ref().map(|n| (n.to_lowercase(), c.spec.client_id.clone())))
        .collect();
    Ok(plan)
}

/// Clients per batch create, and the request size a batch stays under
/// (the server takes up to 500 clients and 1 MiB).
const BATCH_CLIENTS: usize = 250;
const BATCH_BYTES: usize = 512 * 1024;

/// What runs as one request: a single step, or client creates in a batch.
pub enum Unit<'a> {
    One(&'a Step),
    Batch(Vec<(&'a Step, Value)>),
}

/// Groups a phase's steps into units; client creates go in batches.
pub fn units<'a>(p: &Parsed, steps: impl Iterator<Item = &'a Step>) -> Vec<Unit<'a>> {
    let mut out = Vec::new();
    let mut batch: Vec<(&Step, Value)> = Vec::new();
    let mut bytes = 0;
    for s in steps {
        let body = match &s.op {
            Op::CreateClient(i) => p.doc.clients.get(*i).and_then(|c| create_body(c, p.secrets.get(&c.client_id)).ok()),
            _ => None,
        };
        // Steps whose body cannot be built run alone and report their error.
        let Some(body) = body else {
            out.push(Unit::One(s));
            continue;
        };
        let size = body.to_string().len();
        if !batch.is_empty() && (batch.len() == BATCH_CLIENTS || bytes + size > BATCH_BYTES) {
            out.push(Unit::Batch(std::mem::take(&mut batch)));
            bytes = 0;
        }
        bytes += size;
        batch.push((s, body));
    }
    if !batch.is_empty() {
        out.push(Unit::Batch(batch));
    }
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
