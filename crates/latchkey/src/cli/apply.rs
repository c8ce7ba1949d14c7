//! `latchkey plan FILE` and `latchkey apply FILE`: compare a declarative
//! file with the live objects ([`super::plan`]), check the changes with the
//! server ([`super::validate`]), show the difference, and make it so.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::api::{Api, segment};
use super::client_args::client_path;
use super::client_update::force_hint;
use super::declarative::{Parsed, load};
use super::exit::{self, Failure};
use super::plan::{Op, Plan, Step, Unit, Verb, build, create_body, units};
use super::secret_file;
use super::validate::{self, Failed, common_kind};
use super::{Target, output};

/// Generated secrets printed after one apply, at most (more need --output-file).
const MAX_PRINTED: usize = 100;
/// Plans longer than this are summarised rather than listed by `apply`.
const MAX_LISTED: usize = 200;
/// Times `apply` plans again after steps met a concurrent change.
const RETRIES: usize = 3;

#[derive(Args)]
pub struct PlanArgs {
    /// The declarative file (YAML, as `latchkey export` writes it).
    file: PathBuf,
    /// Also show the clients apply --prune would delete.
    #[arg(long)]
    prune: bool,
    /// Check the changes as `apply --force` would make them (protected and
    /// declaratively managed clients).
    #[arg(long)]
    force: bool,
    /// Exit 0 when nothing would change, 2 when something would, 1 on any
    /// error (as Terraform's -detailed-exitcode).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
}

#[derive(Args)]
pub struct ApplyArgs {
    /// The declarative file (YAML, as `latchkey export` writes it).
    file: PathBuf,
    /// Delete clients managed by apply that are no longer in FILE.
    #[arg(long)]
    prune: bool,
    /// Do not ask for confirmation (needed to delete without a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Allow changes to protected default clients; also lets --output-file
    /// replace an existing file.
    #[arg(long)]
    force: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Write the secrets the server generates for new clients to FILE
    /// (mode 0600, `client_id:client_secret` lines) instead of printing them.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

/// Prints the failures (one line each, the first 20) and turns them into
/// one error whose exit code is theirs when they share one.
fn failures(failed: &[Failed], total: usize, what: &str) -> Result<()> {
    if failed.is_empty() {
        return Ok(());
    }
    for f in failed.iter().take(20) {
        let line = format!("{}: {:#}", f.what, f.error).split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("latchkey: {line}");
    }
    if failed.len() > 20 {
        eprintln!("latchkey: … and {} more", failed.len() - 20);
    }
    Err(Failure::new(common_kind(failed), format!("{} of {total} changes {what}", failed.len())).into())
}

/// Runs `latchkey plan`: the diff, then the server's checks of it; the exit
/// code is 2 with `--detailed-exitcode` when there are changes.
///
/// # Errors
/// File, reference and API failures, and changes that would fail.
pub async fn plan(a: PlanArgs, t: &Target) -> Result<u8> {
    let parsed = load(&a.file)?;
    let api = t.connect().await?;
    let n = usize::from(a.concurrency);
    let plan = build(&api, &parsed, a.prune, n).await?;
    match t.asked {
        Some(f) if f.is_data() => output::data(&plan.to_value(), f)?,
        _ => {
            print!("{}", plan.render());
            if !plan.steps.is_empty() {
                println!();
            }
            println!("{}", plan.summary());
        }
    }
    let failed = validate::check(&api, &parsed, &plan, a.force, n).await?;
    failures(&failed, plan.steps.len(), "would fail; nothing was written")?;
    Ok(if a.detailed_exitcode && !plan.steps.is_empty() { exit::CHANGES } else { exit::OK })
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
    failures: Vec<Failed>,
    generated: Vec<(String, String)>,
    done: HashMap<&'static str, usize>,
}

type StepResult<'a> = (&'a Step, Result<Option<(String, String)>>);

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
                    Err(e) => out.failures.push(Failed { what: s.what.clone(), error: force_hint(e) }),
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

/// The secrets the server generated: to `--output-file`, else printed once
/// (up to [`MAX_PRINTED`]). Nothing else keeps them.
fn deliver_generated(a: &ApplyArgs, generated: &[(String, String)], data: bool) -> Result<Value> {
    if generated.is_empty() {
        return Ok(json!({}));
    }
    let lines: String = generated.iter().map(|(id, s)| format!("{id}:{s}\n")).collect();
    if let Some(path) = &a.output_file {
        secret_file::write_private(path, &lines, a.force)?;
        eprintln!(
            "{} new clients got generated secrets: written to {} (mode 0600), not printed.",
            generated.len(),
            path.display()
        );
        return Ok(json!({}));
    }
    if generated.len() > MAX_PRINTED {
        eprintln!(
            "{} new clients got generated secrets that were not shown (more than {MAX_PRINTED}): use --output-file FILE or `secret: {{env: VAR}}` in the file, or rotate them with `latchkey client secret rotate`.",
            generated.len()
        );
        return Ok(json!({}));
    }
    eprintln!("{}", secret_file::shown_once(generated.len()));
    if !data {
        println!("New client secrets (client_id:client_secret):");
        print!("{lines}");
    }
    Ok(Value::Object(generated.iter().map(|(id, s)| (id.clone(), json!(s))).collect::<Map<_, _>>()))
}

/// Runs `latchkey apply`.
///
/// # Errors
/// File, reference and API failures; a summary error when some steps failed.
pub async fn apply(a: ApplyArgs, t: &Target) -> Result<()> {
    secret_file::precheck(a.output_file.as_deref(), a.force)?;
    let data = t.asked.is_some_and(output::Format::is_data);
    let parsed = load(&a.file)?;
    let api = t.connect().await?;
    let concurrency = usize::from(a.concurrency);
    let plan = build(&api, &parsed, a.prune, concurrency).await?;
    if !data {
        if plan.steps.len() <= MAX_LISTED {
            print!("{}", plan.render());
        }
        println!("{}", plan.summary());
    }
    if plan.steps.is_empty() {
        if data {
            return output::data(&json!({ "plan": plan.to_value(), "result": {} }), t.format);
        }
        println!("Nothing to do.");
        return Ok(());
    }
    confirm(&plan, a.yes)?;
    let started = Instant::now();
    let mut out = execute(&api, &parsed, &plan, a.force, concurrency).await;
    // Steps refused only because something changed meanwhile (another
    // apply of the same file creating the same scope or client): plan again
    // from what is there now and apply the rest, so concurrent applies
    // converge. Never when the new plan would delete what was not shown.
    for _ in 0..RETRIES {
        let conflicted =
            !out.failures.is_empty() && out.failures.iter().all(|f| super::exit_code(&f.error) == exit::CONFLICT);
        if !conflicted {
            break;
        }
        let again = build(&api, &parsed, a.prune, concurrency).await?;
        if again.steps.iter().any(|s| s.verb == Verb::Delete && !plan.steps.iter().any(|p| p.what == s.what)) {
            break;
        }
        if !data {
            eprintln!(
                "{} steps met a concurrent change; planned again from the current state: {}",
                out.failures.len(),
                again.summary()
            );
        }
        let next = execute(&api, &parsed, &again, a.force, concurrency).await;
        out.failures = next.failures;
        out.generated.extend(next.generated);
        for (k, v) in next.done {
            *out.done.entry(k).or_default() += v;
        }
    }
    let secrets = deliver_generated(&a, &out.generated, data)?;
    let n = |k: &str| out.done.get(k).copied().unwrap_or(0);
    if data {
        let result = json!({ "created": n("created"), "updated": n("updated"), "deleted": n("deleted"),
            "failed": out.failures.len(), "client_secrets": secrets });
        output::data(&json!({ "plan": plan.to_value(), "result": result }), t.format)?;
    } else {
        println!(
            "Apply complete: {} created, {} updated, {} deleted, {} failed in {:.1}s.",
            n("created"),
            n("updated"),
            n("deleted"),
            out.failures.len(),
            started.elapsed().as_secs_f64()
        );
    }
    failures(&out.failures, plan.steps.len(), "failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn plan_takes_detailed_exitcode() {
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            p: PlanArgs,
        }
        assert!(T::parse_from(["t", "f.yaml", "--detailed-exitcode"]).p.detailed_exitcode);
        assert!(!T::parse_from(["t", "f.yaml"]).p.detailed_exitcode);
    }
}
