//! Load driver for the sign-in benchmark (`scripts/bench-flows.sh`). It
//! drives any OpenID provider whose sign-in is an HTML form with `username`
//! and `password` fields, so Latchkey and the node `oidc-provider` peer are
//! measured by the same code:
//!
//! - **flow**: a fresh cookie jar → authorize (code + PKCE S256, state,
//!   nonce) → follow redirects → post the sign-in form (and a consent form,
//!   if one is shown) → code at the redirect URI → token request;
//! - **refresh**: each worker rotates its own refresh token in a loop.
//!
//! Prints one `RESULT` line per phase (count, rate, p50, p99, errors).
//! Arguments are `key=value`: `authorize`, `token`, `client_id`,
//! `redirect_uri`, `username`, `password`, and optionally `scope`
//! (default `openid offline_access`), `workers` (16), `seconds` (10),
//! `phases` (`flow,refresh`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use openidconnect::PkceCodeChallenge;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

struct Target {
    authorize: String,
    token: String,
    client_id: String,
    redirect_uri: String,
    username: String,
    password: String,
    scope: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<()> {
    // reqwest is built without a default TLS provider (see remote/http.rs).
    latchkey_app::remote::http::install_tls_provider();
    let args: HashMap<String, String> =
        std::env::args().skip(1).filter_map(|a| a.split_once('=').map(|(k, v)| (k.into(), v.into()))).collect();
    let arg = |k: &str| args.get(k).cloned().ok_or_else(|| anyhow!("missing {k}=…"));
    let t = Arc::new(Target {
        authorize: arg("authorize")?,
        token: arg("token")?,
        client_id: arg("client_id")?,
        redirect_uri: arg("redirect_uri")?,
        username: arg("username")?,
        password: arg("password")?,
        scope: args.get("scope").cloned().unwrap_or_else(|| "openid offline_access".into()),
    });
    let workers: usize = args.get("workers").map_or(Ok(16), |w| w.parse())?;
    let seconds: u64 = args.get("seconds").map_or(Ok(10), |s| s.parse())?;
    // `phases=refresh` skips the flow phase (for profiling one path).
    let flows = args.get("phases").is_none_or(|p| p.contains("flow"));
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(64).build()?;

    // One warm-up flow: it grants consent where the provider asks, so the
    // measured flows find it remembered, and proves the target works.
    let first = flow(&http, &t).await.context("warm-up flow")?;
    refresh(&http, &t, &first).await.context("warm-up refresh")?;

    let (lat, errors) = run(if flows { workers } else { 0 }, seconds, {
        let (http, t) = (http.clone(), t.clone());
        move |_| {
            let (http, t) = (http.clone(), t.clone());
            async move { flow(&http, &t).await.map(|_| ()) }
        }
    })
    .await;
    if flows {
        report("flow", &lat, errors, seconds);
    }

    // Each worker gets its own refresh token (one flow each), then rotates it.
    let mut tokens = Vec::new();
    for _ in 0..workers {
        tokens.push(Arc::new(tokio::sync::Mutex::new(flow(&http, &t).await?)));
    }
    let (lat, errors) = run(workers, seconds, {
        let (http, t) = (http.clone(), t.clone());
        move |w| {
            let (http, t, slot) = (http.clone(), t.clone(), tokens[w].clone());
            async move {
                let mut rt = slot.lock().await;
                *rt = refresh(&http, &t, &rt).await?;
                Ok(())
            }
        }
    })
    .await;
    report("refresh", &lat, errors, seconds);
    Ok(())
}

/// Runs `op(worker)` in `workers` loops for `seconds`; latencies in µs.
async fn run<F, Fut>(workers: usize, seconds: u64, op: F) -> (Vec<u64>, usize)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < end {
                let start = Instant::now();
                match op(w).await {
                    Ok(()) => lat.push(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)),
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("worker {w}: {e:#}");
                        }
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        #[allow(clippy::expect_used)] // a load driver: a panicked worker ends the run loudly
        let (l, e) = t.await.expect("worker panicked");
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    (all, errors)
}

fn report(phase: &str, lat: &[u64], errors: usize, seconds: u64) {
    let pct = |p: f64| {
        if lat.is_empty() {
            return 0.0;
        }
        #[allow(clippy::cast_sign_loss)] // p is in 0..=1: the product is never negative
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    println!(
        "RESULT {phase} count={} per_s={:.1} p50_ms={:.2} p99_ms={:.2} errors={errors}",
        lat.len(),
        lat.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99)
    );
}

/// A minimal cookie jar: names to values, sent to every path of the host.
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn take(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or_default();
            if let Some((k, val)) = pair.split_once('=') {
                self.0.insert(k.trim().into(), val.trim().into());
            }
        }
    }
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

/// One sign-in: returns the refresh token.
async fn flow(http: &reqwest::Client, t: &Target) -> Result<String> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = PkceCodeChallenge::new_random_sha256().1.secret().clone();
    let mut url = reqwest::Url::parse(&t.authorize)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &t.client_id)
        .append_pair("redirect_uri", &t.redirect_uri)
        .append_pair("scope", &t.scope)
        .append_pair("state", &state)
        .append_pair("nonce", &state[..16])
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let mut next = url;
    let mut jar = Jar::default();
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..12 {
        let req = match form.take() {
            Some(fields) => http.post(next.clone()).form(&fields),
            None => http.get(next.clone()),
        };
        let r = req.header(COOKIE, jar.header()).send().await?;
        jar.take(&r);
        if r.status().is_redirection() {
            let loc = r.headers().get(LOCATION).ok_or_else(|| anyhow!("redirect without Location"))?.to_str()?;
            let loc = next.join(loc)?;
            if loc.as_str().starts_with(&t.redirect_uri) {
                let q: HashMap<_, _> = loc.query_pairs().into_owned().collect();
                if let Some(e) = q.get("error") {
                    bail!("authorization error {e}");
                }
                if q.get("state") != Some(&state) {
                    bail!("state mismatch");
                }
                let code = q.get("code").ok_or_else(|| anyhow!("no code"))?;
                return token(http, t, code, verifier.secret()).await;
            }
            next = loc;
            continue;
        }
        let status = r.status();
        let html = r.text().await?;
        if !status.is_success() {
            bail!("{status} at {next}: {}", html.chars().take(200).collect::<String>());
        }
        let (action, mut fields) = parse_form(&html).ok_or_else(|| anyhow!("no form at {next}"))?;
        if html.contains("name=\"password\"") {
            fields.push(("username".into(), t.username.clone()));
            fields.push(("password".into(), t.password.clone()));
        } else if html.contains("name=\"decision\"") {
            fields.push(("decision".into(), "allow".into()));
        }
        next = next.join(&action)?;
        form = Some(fields);
    }
    bail!("too many steps")
}

async fn token(http: &reqwest::Client, t: &Target, code: &str, verifier: &str) -> Result<String> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &t.redirect_uri),
        ("client_id", &t.client_id),
        ("code_verifier", verifier),
    ];
    refresh_token_of(http.post(&t.token).form(&form).send().await?).await
}

async fn refresh(http: &reqwest::Client, t: &Target, rt: &str) -> Result<String> {
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", &t.client_id)];
    refresh_token_of(http.post(&t.token).form(&form).send().await?).await
}

async fn refresh_token_of(r: reqwest::Response) -> Result<String> {
    let status = r.status();
    let json = r.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let body: serde_json::Value = if json { r.json().await? } else { serde_json::Value::Null };
    if !status.is_success() || body["access_token"].as_str().is_none() {
        bail!("token endpoint {status}: {body}");
    }
    body["refresh_token"].as_str().map(str::to_owned).ok_or_else(|| anyhow!("no refresh token: {body}"))
}

/// The first form's action and its hidden inputs.
fn parse_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let end = start + html[start..].find("</form>")?;
    let form = &html[start..end];
    let head = &form[..form.find('>')?];
    let action = attr(head, "action").unwrap_or_default();
    let fields = form
        .split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>')?];
            if attr(tag, "type").as_deref() != Some("hidden") {
                return None;
            }
            Some((attr(tag, "name")?, attr(tag, "value")?))
        })
        .collect();
    Some((action, fields))
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let v = &tag[i..i + tag[i..].find('"')?];
    Some(v.replace("&amp;", "&").replace("&#x2F;", "/").replace("&#x3D;", "="))
}
