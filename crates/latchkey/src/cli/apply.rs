//! `latchkey plan FILE` and `latchkey apply FILE`: compare a declarative
//! file with the live objects, show the difference, and make it so.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::api::{Api, segment};
use super::client_args::client_path;
use super::client_update::force_hint;
use super::declarative::{
    CLIENT_IDENTITY, Change, ClientSpec, LiveClient, MANAGED_BY, NAME_IDENTITY, Parsed, SecretRef, class_spec, diff,
    load, scope_spec,
};
use super::{Target, pending};

/// Generated secrets kept for `client credentials` after one apply, at most.
const MAX_PENDING: usize = 100;
/// Plans longer than this are summarised rather than listed by `apply`.
const MAX_LISTED: usize = 200;

#[derive(Args)]
pub struct PlanArgs {
    file: PathBuf,
    /// Also show the clients apply --prune would delete.
    #[arg(long)]
    prune: bool,
}

#[derive(Args)]
pub struct ApplyArgs {
    file: PathBuf,
    /// Delete clients managed by apply that are no longer in FILE.
    #[arg(long)]
    prune: bool,
    /// Do not ask for confirmation (needed to delete without a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Allow changes to protected default clients.
    #[arg(long)]
    force: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Create,
    Update,
    Delete,
}

#[derive(Debug)]
enum Op {
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
struct Step {
    verb: Verb,
    /// `client Billing service (billing-svc)`.
    what: String,
    changes: Vec<Change>,
    /// A secret reference that will be set on an existing client.
    secret_note: Option<String>,
    op: Op,
    /// Scopes, then classes, then clients, then deletes.
    phase: u8,
}

#[derive(Debug, Default)]
struct Plan {
    steps: Vec<Step>,
    unchanged: usize,
}

impl Plan {
    fn count(&self, v: Verb) -> usize {
        self.steps.iter().filter(|s| s.verb == v).count()
    }

    fn summary(&self) -> String {
        format!(
            "Plan: {} to create, {} to update, {} to delete, {} unchanged.",
            self.count(Verb::Create),
            self.count(Verb::Update),
            self.count(Verb::Delete),
            self.unchanged
        )
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            let (sign, verb) = match s.verb {
                Verb::Create => ('+', "create"),
                Verb::Update => ('~', "update"),
                Verb::Delete => ('-', "delete"),
            };
            let _ = writeln!(out, "{sign} {verb} {}", s.what);
            for c in &s.changes {
                let _ = writeln!(out, "    {}: {} -> {}", c.field, shown(&c.before), shown(&c.after));
            }
            if let Some(n) = &s.secret_note {
                let _ = writeln!(out, "    secret: (none) -> ({n})");
            }
        }
        out
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

fn update_step(kind: &str, name: &str, changes: Vec<Change>, op: Op, phase: u8) -> Step {
    Step { verb: Verb::Update, what: format!("{kind} {name}"), changes, secret_note: None, op, phase }
}

fn create_step(what: String, op: Op, phase: u8) -> Step {
    Step { verb: Verb::Create, what, changes: Vec::new(), secret_note: None, op, phase }
}

fn plan_catalog(p: &Parsed, scopes: &[Value], classes: &[Value], plan: &mut Plan) {
    let live = by_key(scopes, "name");
    for s in &p.doc.scopes {
        match live.get(s.name.as_str()) {
            None => {
                let body = json!({ "name": s.name, "description": s.description.clone().unwrap_or_default() });
                plan.steps.push(create_step(format!("scope {}", s.name), Op::CreateScope(body), 0));
            }
            Some(l) => match diff(s, &scope_spec(l), &NAME_IDENTITY) {
                c if c.is_empty() => plan.unchanged += 1,
                c => {
                    let op = Op::UpdateScope(s.name.clone(), patch_of(&c));
                    plan.steps.push(update_step("scope", &s.name, c, op, 0));
                }
            },
        }
    }
    let live = by_key(classes, "name");
    for s in &p.doc.security_classes {
        match live.get(s.name.as_str()) {
            None => {
                let body = json!({
                    "name": s.name,
                    "description": s.description.clone().unwrap_or_default(),
                    "scopes": s.scopes.clone().unwrap_or_default(),
                });
                plan.steps.push(create_step(format!("security class {}", s.name), Op::CreateClass(body), 1));
            }
            Some(l) => match diff(s, &class_spec(l), &NAME_IDENTITY) {
                c if c.is_empty() => plan.unchanged += 1,
                c => {
                    let op = Op::UpdateClass(s.name.clone(), patch_of(&c));
                    plan.steps.push(update_step("security class", &s.name, c, op, 1));
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

fn create_client_step(i: usize, c: &ClientSpec) -> Result<Step> {
    let Some(name) = c.name.as_deref() else {
        bail!("client {}: a name is needed to create it", c.client_id);
    };
    Ok(create_step(client_label(Some(name), &c.client_id), Op::CreateClient(i), 2))
}

/// The creation request for a client of the file, its secret resolved.
fn create_body(c: &ClientSpec, secret: Option<&SecretRef>) -> Result<Value> {
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

fn plan_clients(
    p: &Parsed,
    live: &HashMap<&str, &LiveClient>,
    no_secret: &HashSet<String>,
    plan: &mut Plan,
) -> Result<()> {
    for (i, c) in p.doc.clients.iter().enumerate() {
        let id = c.client_id.as_str();
        let secret = p.secrets.get(id);
        let Some(l) = live.get(id) else {
            plan.steps.push(create_client_step(i, c)?);
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
        let what = client_label(l.spec.name.as_deref(), id);
        plan.steps.push(Step { verb: Verb::Update, what, changes, secret_note, op, phase: 2 });
    }
    Ok(())
}

fn plan_prune(p: &Parsed, clients: &[LiveClient], plan: &mut Plan) {
    let wanted: HashSet<&str> = p.doc.clients.iter().map(|c| c.client_id.as_str()).collect();
    for l in clients {
        let id = l.spec.client_id.as_str();
        if l.managed_by.as_deref() == Some(MANAGED_BY) && !l.protected && !wanted.contains(id) {
            let what = client_label(l.spec.name.as_deref(), id);
            let op = Op::DeleteClient(id.to_owned());
            plan.steps.push(Step { verb: Verb::Delete, what, changes: Vec::new(), secret_note: None, op, phase: 3 });
        }
    }
}

/// Reads the live objects and computes what would change; writes nothing.
async fn build(api: &Api, p: &Parsed, prune: bool, concurrency: usize) -> Result<Plan> {
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
    Ok(plan)
}

/// Runs `latchkey plan`.
///
/// # Errors
/// File, reference and API failures.
pub async fn plan(a: PlanArgs, t: &Target) -> Result<()> {
    let parsed = load(&a.file)?;
    let api = t.connect().await?;
    let plan = build(&api, &parsed, a.prune, 16).await?;
    print!("{}", plan.render());
    if !plan.steps.is_empty() {
        println!();
    }
    println!("{}", plan.summary());
    Ok(())
}

/// Progress on stderr: one updating line on a terminal, a line per 1000 otherwise.
struct Progress {
    total: usize,
    done: usize,
    tty: bool,
    drawn: Instant,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self { total, done: 0, tty: std::io::stderr().is_terminal(), drawn: Instant::now() }
    }

    fn tick(&mut self) {
        self.done += 1;
        if self.tty {
            if self.done == self.total || self.drawn.elapsed() > Duration::from_millis(100) {
                eprint!("\rApplying: {}/{} ", self.done, self.total);
                self.drawn = Instant::now();
            }
        } else if self.done.is_multiple_of(1000) {
            eprintln!("Applied {}/{}", self.done, self.total);
        }
    }

    fn finish(&self) {
        if self.tty && self.total > 0 {
            eprintln!();
        }
    }
}

/// Performs one step; a secret the server generated comes back to be kept.
async fn exec(api: &Api, p: &Parsed, op: &Op, force: bool) -> Result<Option<(String, String)>> {
    let force_q = if force { "?force=true" } else { "" };
    match op {
        Op::CreateScope(b) => api.post("/scopes", b).await.map(|_| None),
        Op::UpdateScope(n, p) => api.patch(&format!("/scopes/{}", segment(n)), p, None).await.map(|_| None),
        Op::CreateClass(b) => api.post("/security-classes", b).await.map(|_| None),
        Op::UpdateClass(n, p) => api.patch(&format!("/security-classes/{}", segment(n)), p, None).await.map(|_| None),
        Op::CreateClient(i) => {
            let c = p.doc.clients.get(*i).ok_or_else(|| anyhow::anyhow!("no client #{i} in the file"))?;
            let secret = p.secrets.get(&c.client_id);
            let created = api.post("/clients", &create_body(c, secret)?).await?;
            Ok(generated_secret(p, op, &created))
        }
        Op::UpdateClient { id, patch, revision, add_secret } => {
            let mut generated = None;
            if let Some(p) = patch {
                let tag = revision.map(|r| format!("\"{r}\""));
                let v = api.patch(&format!("{}{force_q}", client_path(id)), p, tag.as_deref()).await?;
                // A client that became confidential got a secret from the server.
                generated = v["client_secret"].as_str().map(|s| (id.clone(), s.to_owned()));
            }
            if let Some(s) = add_secret {
                let body = json!({ "secret": s.resolve()?, "label": "latchkey-apply" });
                api.post(&format!("{}/secrets", client_path(id)), &body).await?;
                generated = None;
            }
            Ok(generated)
        }
        Op::DeleteClient(id) => api.delete(&client_path(id)).await.map(|_| None),
    }
}

/// What one apply did.
#[derive(Default)]
struct Outcome {
    failures: Vec<String>,
    generated: Vec<(String, String)>,
    done: HashMap<&'static str, usize>,
}

/// Clients per batch create, and the request size a batch stays under
/// (the server takes up to 500 clients and 1 MiB).
const BATCH_CLIENTS: usize = 250;
const BATCH_BYTES: usize = 512 * 1024;

type StepResult<'a> = (&'a Step, Result<Option<(String, String)>>);

/// What runs as one request: a single step, or client creates in a batch.
enum Unit<'a> {
    One(&'a Step),
    Batch(Vec<(&'a Step, Value)>),
}

/// Groups a phase's steps into units; client creates go in batches.
fn units<'a>(p: &Parsed, steps: impl Iterator<Item = &'a Step>) -> Vec<Unit<'a>> {
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

/// Runs a unit. A batch is all or nothing on the server: when it fails, its
/// clients are created one by one, so each failure names its client and the
/// others still land.
async fn run_unit<'a>(api: &Api, p: &Parsed, unit: Unit<'a>, force: bool) -> Vec<StepResult<'a>> {
    match unit {
        Unit::One(s) => vec![(s, exec(api, p, &s.op, force).await)],
        Unit::Batch(items) => {
            let body = json!({ "items": items.iter().map(|(_, b)| b).collect::<Vec<_>>() });
            if let Ok(created) = api.post("/clients:batch", &body).await
                && let Some(created) = created["items"].as_array().filter(|c| c.len() == items.len())
            {
                return items.iter().zip(created).map(|((s, _), c)| (*s, Ok(generated_secret(p, &s.op, c)))).collect();
            }
            let mut out = Vec::with_capacity(items.len());
            for (s, _) in items {
                out.push((s, exec(api, p, &s.op, force).await));
            }
            out
        }
    }
}

/// A secret the server generated for a created client (none when the file
/// supplied one).
fn generated_secret(p: &Parsed, op: &Op, created: &Value) -> Option<(String, String)> {
    let Op::CreateClient(i) = op else { return None };
    let c = p.doc.clients.get(*i)?;
    if p.secrets.contains_key(&c.client_id) {
        return None;
    }
    created["client_secret"].as_str().map(|s| (c.client_id.clone(), s.to_owned()))
}

async fn execute(api: &Api, p: &Parsed, plan: &Plan, force: bool, concurrency: usize) -> Outcome {
    let mut progress = Progress::new(plan.steps.len());
    let mut out = Outcome::default();
    for phase in 0..=3 {
        let units = units(p, plan.steps.iter().filter(|s| s.phase == phase));
        let mut running = futures_util::stream::iter(units.into_iter().map(|u| run_unit(api, p, u, force)))
            .buffer_unordered(concurrency);
        while let Some(results) = running.next().await {
            for (s, r) in results {
                progress.tick();
                match r {
                    Ok(generated) => {
                        out.generated.extend(generated);
                        let key = match s.verb {
                            Verb::Create => "created",
                            Verb::Update => "updated",
                            Verb::Delete => "deleted",
                        };
                        *out.done.entry(key).or_default() += 1;
                    }
                    Err(e) => out.failures.push(format!("{}: {:#}", s.what, force_hint(e))),
                }
            }
        }
    }
    progress.finish();
    out
}

/// Asks on the terminal; without one, deletions need `--yes`.
fn confirm(plan: &Plan, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        eprint!("Apply these changes? [y/N] ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            bail!("cancelled; nothing was written");
        }
        return Ok(());
    }
    let deletes = plan.count(Verb::Delete);
    if deletes > 0 {
        bail!("the plan deletes {deletes} clients: repeat with --yes to confirm (nothing was written)");
    }
    Ok(())
}

fn keep_generated(tenant: &str, generated: &[(String, String)]) -> Result<()> {
    if generated.is_empty() {
        return Ok(());
    }
    if generated.len() > MAX_PENDING {
        eprintln!(
            "{} new clients got generated secrets that were not kept (more than {MAX_PENDING}): give `secret: {{env: VAR}}` in the file, or rotate them with `latchkey client secret rotate`.",
            generated.len()
        );
        return Ok(());
    }
    for (id, s) in generated {
        pending::save(tenant, id, s)?;
    }
    eprintln!(
        "{} new clients got generated secrets: `latchkey client credentials ID` prints each one once.",
        generated.len()
    );
    Ok(())
}

/// Runs `latchkey apply`.
///
/// # Errors
/// File, reference and API failures; a summary error when some steps failed.
pub async fn apply(a: ApplyArgs, t: &Target) -> Result<()> {
    let parsed = load(&a.file)?;
    let api = t.connect().await?;
    let concurrency = usize::from(a.concurrency);
    let plan = build(&api, &parsed, a.prune, concurrency).await?;
    if plan.steps.len() <= MAX_LISTED {
        print!("{}", plan.render());
    }
    println!("{}", plan.summary());
    if plan.steps.is_empty() {
        println!("Nothing to do.");
        return Ok(());
    }
    confirm(&plan, a.yes)?;
    let started = Instant::now();
    let out = execute(&api, &parsed, &plan, a.force, concurrency).await;
    keep_generated(&api.tenant, &out.generated)?;
    let n = |k: &str| out.done.get(k).copied().unwrap_or(0);
    println!(
        "Apply complete: {} created, {} updated, {} deleted, {} failed in {:.1}s.",
        n("created"),
        n("updated"),
        n("deleted"),
        out.failures.len(),
        started.elapsed().as_secs_f64()
    );
    if out.failures.is_empty() {
        return Ok(());
    }
    for f in out.failures.iter().take(20) {
        eprintln!("latchkey: {f}");
    }
    if out.failures.len() > 20 {
        eprintln!("latchkey: … and {} more", out.failures.len() - 20);
    }
    bail!("{} of {} changes failed", out.failures.len(), plan.steps.len())
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
