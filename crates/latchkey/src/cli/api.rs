//! The admin API client: an access token (client_credentials with the
//! environment's credentials, else the `latchkey login` sign-in), request
//! helpers, and server errors turned into one readable line.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use latchkey_app::Clock;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::credentials::Login;
use super::exit::{Failure, Kind};

/// The scope the CLI asks for first; read-only clients fall back to `admin:read`.
const WRITE_SCOPE: &str = "admin";
const READ_SCOPE: &str = "admin:read";

/// An error answer from the server, as one line (`422 validation failed: …`).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// A successful answer: status, `ETag` and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub etag: Option<String>,
    pub body: Value,
}

/// A connection to one tenant's admin API with a bearer token.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    /// The tenant's issuer: the server URL, plus `/t/{tenant}` for other tenants.
    root: String,
    token: String,
    /// Where the token came from.
    pub via: Via,
}

/// Where the CLI's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `LATCHKEY_CLIENT_ID` / `LATCHKEY_CLIENT_SECRET` (client_credentials).
    Environment,
    /// The sign-in of `latchkey login`.
    Login,
}

/// The tenant's issuer URL for `server` and `tenant`.
pub fn issuer(server: &str, tenant: Option<&str>) -> String {
    let server = server.trim_end_matches('/');
    match tenant {
        Some(t) if t != "default" => format!("{server}/t/{}", segment(t)),
        _ => server.to_owned(),
    }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?a=1&b=2` from the pairs whose value is set (empty when none is).
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        if let Some(v) = v {
            ser.append_pair(k, v);
            any = true;
        }
    }
    if any { format!("?{}", ser.finish()) } else { String::new() }
}

pub(crate) fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("latchkey-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")
}

impl Api {
    /// Obtains an admin token: for the client in `LATCHKEY_CLIENT_ID` /
    /// `LATCHKEY_CLIENT_SECRET` when both are set (scope `admin`, or
    /// `admin:read` when that is all the client may have), else the
    /// `latchkey login` sign-in for this server and tenant.
    ///
    /// # Errors
    /// No credentials, an unreachable server, or a refused token request.
    pub async fn connect(server: &str, tenant: Option<&str>) -> Result<Self> {
        let http = http_client()?;
        let root = issuer(server, tenant);
        let id = std::env::var("LATCHKEY_CLIENT_ID").ok().filter(|s| !s.is_empty());
        let secret = std::env::var("LATCHKEY_CLIENT_SECRET").ok().filter(|s| !s.is_empty());
        let (Some(id), Some(secret)) = (id, secret) else {
            return match stored_token(&http, &root).await? {
                Some(token) => Ok(Self { http, root, token, via: Via::Login }),
                None => Err(Failure::new(
                    Kind::Auth,
                    format!(
                        "not signed in to {root}: run `latchkey login`, or set LATCHKEY_CLIENT_ID and \
                         LATCHKEY_CLIENT_SECRET to an admin client's credentials"
                    ),
                )
                .into()),
            };
        };
        let token = match fetch_token(&http, &root, &id, &secret, WRITE_SCOPE).await? {
            Ok(t) => t,
            Err(e) if e.message.starts_with("invalid_scope") => fetch_token(&http, &root, &id, &secret, READ_SCOPE)
                .await?
                .map_err(|e| token_failure("cannot get an admin token", &e))?,
            Err(e) => return Err(token_failure("cannot get an admin token", &e)),
        };
        Ok(Self { http, root, token, via: Via::Environment })
    }

    /// A connection with a token already in hand (a sign-in just completed).
    pub(crate) fn with_token(http: reqwest::Client, root: &str, token: &str, via: Via) -> Self {
        Self { http, root: root.to_owned(), token: token.to_owned(), via }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.root)
    }

    /// Sends one request; non-2xx answers become an [`ApiError`].
    ///
    /// # Errors
    /// Network failures, error statuses, and bodies that are not JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply> {
        let mut req = self.http.request(method.clone(), self.url(path)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        let resp = req.send().await.map_err(|e| unreachable(&self.root, &e))?;
        let status = resp.status();
        let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.text().await.with_context(|| format!("{method} {path}: the answer was cut off"))?;
        if !status.is_success() {
            return Err(problem(status, &text).into());
        }
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{method} {path}: the server answered with something other than JSON"))?
        };
        Ok(Reply { etag, body })
    }

    /// # Errors
    /// As [`Api::call`].
    pub async fn get(&self, path: &str) -> Result<Value> {
        Ok(self.call(Method::GET, path, None, None).await?.body)
    }

    /// # Errors
    /// As [`Api::call`].
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        Ok(self.call(Method::POST, path, Some(body), None).await?.body)
    }

    /// # Errors
    /// As [`Api::call`].
    pub async fn patch(&self, path: &str, body: &Value, if_match: Option<&str>) -> Result<Value> {
        Ok(self.call(Method::PATCH, path, Some(body), if_match).await?.body)
    }

    /// # Errors
    /// As [`Api::call`].
    pub async fn delete(&self, path: &str) -> Result<()> {
        self.call(Method::DELETE, path, None, None).await.map(|_| ())
    }

    /// Every item of a paginated list, following `next_cursor`. `path` may
    /// already carry a query string.
    ///
    /// # Errors
    /// As [`Api::call`].
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>> {
        self.get_all_with(path, Ok).await
    }

    /// Every item of a paginated list, each turned into a `T` as its page
    /// arrives (so large lists never sit in memory as JSON).
    ///
    /// # Errors
    /// As [`Api::call`], and the errors of `f`.
    pub async fn get_all_with<T>(&self, path: &str, mut f: impl FnMut(Value) -> Result<T>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.for_each_page(path, |items| {
            for it in items {
                out.push(f(it)?);
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Calls `f` with the items of every page of a list, in order.
    ///
    /// # Errors
    /// As [`Api::call`], and the errors of `f`.
    pub async fn for_each_page(&self, path: &str, mut f: impl FnMut(Vec<Value>) -> Result<()>) -> Result<()> {
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}{}", &query(&[("cursor", Some(c.clone()))])[1..]),
                None => path.to_owned(),
            };
            let (items, next) = split_page(self.get(&url).await?);
            f(items)?;
            match next {
                Some(n) if cursor.as_deref() != Some(n.as_str()) => cursor = Some(n),
                _ => return Ok(()),
            }
        }
    }
}

/// The items and next cursor of a list answer (`{"items", "next_cursor"}`
/// or a bare array).
pub fn split_page(page: Value) -> (Vec<Value>, Option<String>) {
    match page {
        Value::Array(a) => (a, None),
        Value::Object(mut o) => {
            let next = o.get("next_cursor").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
            let items = match o.remove("items") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            (items, next)
        }
        _ => (Vec::new(), None),
    }
}

/// Fetches a token; the inner error is an OAuth error answer.
async fn fetch_token(
    http: &reqwest::Client,
    root: &str,
    id: &str,
    secret: &str,
    scope: &str,
) -> Result<Result<String, ApiError>> {
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("scope", scope)
        .finish();
    let resp = http
        .post(format!("{root}/oauth2/token"))
        .basic_auth(enc(id), Some(enc(secret)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable(root, &e))?;
    let status = resp.status();
    let text = resp.text().await.context("the token answer was cut off")?;
    if !status.is_success() {
        return Ok(Err(problem(status, &text)));
    }
    let json: Value =
        serde_json::from_str(&text).context("the token endpoint answered with something other than JSON")?;
    match json["access_token"].as_str() {
        Some(t) => Ok(Ok(t.to_owned())),
        None => bail!("the token endpoint answered without an access_token"),
    }
}

/// The protected client every tenant has for this.
pub(crate) const CLI_CLIENT_ID: &str = "latchkey-cli";
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// An access token this close to expiry is refreshed first.
const REFRESH_MARGIN_SECONDS: i64 = 30;

pub(crate) fn now() -> i64 {
    latchkey_app::SystemClock.now()
}

/// Posts a form to `url`; the JSON answer, or the OAuth error it carries.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Result<Value, ApiError>> {
    let resp = http.post(url).form(form).send().await.map_err(|e| unreachable(url, &e))?;
    let status = resp.status();
    let text = resp.text().await.context("the answer was cut off")?;
    if !status.is_success() {
        return Ok(Err(problem(status, &text)));
    }
    if text.trim().is_empty() {
        return Ok(Ok(Value::Null));
    }
    Ok(Ok(serde_json::from_str(&text).context("the server answered with something other than JSON")?))
}

/// The OAuth error code of an error answer (`invalid_grant: …` → `invalid_grant`).
pub(crate) fn code(e: &ApiError) -> &str {
    e.message.split(':').next().unwrap_or("")
}

/// The sign-in from a token answer; `previous` supplies what a refresh
/// answer may leave out (a refresh token that did not rotate, the user).
pub(crate) fn login_from(tokens: &Value, previous: Option<&Login>) -> Result<Login> {
    let access_token = tokens["access_token"].as_str().context("the token answer has no access_token")?.to_owned();
    let refresh_token =
        tokens["refresh_token"].as_str().map(str::to_owned).or_else(|| previous.and_then(|p| p.refresh_token.clone()));
    Ok(Login {
        access_token,
        refresh_token,
        expires_at: now() + tokens["expires_in"].as_i64().unwrap_or(300),
        scope: tokens["scope"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| previous.map(|p| p.scope.clone()))
            .unwrap_or_default(),
        username: previous.map(|p| p.username.clone()).unwrap_or_default(),
    })
}

/// The access token of the sign-in kept for `root`, refreshed (and the
/// rotated refresh token kept) when it is about to expire. `None` when
/// nobody signed in there.
///
/// # Errors
/// The credentials file cannot be read, the server cannot be reached, or
/// the sign-in has ended (refresh refused: revoked, user disabled).
pub async fn stored_token(http: &reqwest::Client, root: &str) -> Result<Option<String>> {
    let Some(login) = super::credentials::load(root)? else { return Ok(None) };
    if login.expires_at - REFRESH_MARGIN_SECONDS > now() {
        return Ok(Some(login.access_token));
    }
    let Some(refresh) = login.refresh_token.as_deref() else {
        return Err(Failure::new(
            Kind::Auth,
            format!("your sign-in to {root} has expired; run `latchkey login` again"),
        )
        .into());
    };
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", CLI_CLIENT_ID)];
    match post_form(http, &format!("{root}/oauth2/token"), &form).await? {
        Ok(tokens) => {
            let fresh = login_from(&tokens, Some(&login))?;
            super::credentials::save(root, &fresh)?;
            Ok(Some(fresh.access_token))
        }
        Err(e) if code(&e) == "invalid_grant" || code(&e) == "invalid_client" => {
            super::credentials::forget(root)?;
            let msg = format!("your sign-in to {root} has ended ({}); run `latchkey login` again", e.message);
            Err(Failure::new(Kind::Auth, msg).into())
        }
        Err(e) => Err(token_failure("cannot refresh the sign-in", &e)),
    }
}

/// "cannot reach URL: connection refused", from the innermost cause.
pub(crate) fn unreachable(root: &str, e: &reqwest::Error) -> anyhow::Error {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if e.is_timeout() { "timed out".to_owned() } else { cause.to_string() };
    Failure::new(Kind::Unavailable, format!("cannot reach {root}: {what}")).into()
}

/// A refused token request: an authentication failure, unless the server
/// is unavailable or failing.
fn token_failure(what: &str, e: &ApiError) -> anyhow::Error {
    let kind = match Kind::of_status(e.status) {
        k @ Kind::Unavailable => k,
        _ if e.status >= 500 => Kind::Generic,
        _ => Kind::Auth,
    };
    Failure::new(kind, format!("{what}: {e}")).into()
}

/// One line from a problem+json body, an RFC 6749 error, or the status.
pub fn problem(status: StatusCode, body: &str) -> ApiError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = problem_message(&json).unwrap_or_else(|| {
        let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
        let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || text.len() > 200 || text.starts_with('<') { reason } else { format!("{reason}: {text}") }
    });
    ApiError { status: status.as_u16(), message }
}

fn problem_message(json: &Value) -> Option<String> {
    if let Some(code) = json["error"].as_str() {
        let desc = json["error_description"].as_str().unwrap_or("");
        return Some(if desc.is_empty() { code.to_owned() } else { format!("{code}: {desc}") });
    }
    let title = json["title"].as_str()?;
    let mut msg = lower_first(title);
    let fields: Vec<String> = json["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| {
                    let field = e["field"].as_str().unwrap_or("");
                    let m = e["message"].as_str().unwrap_or("");
                    if field.is_empty() { m.to_owned() } else { format!("{field}: {m}") }
                })
                .collect()
        })
        .unwrap_or_default();
    let detail = json["detail"].as_str().unwrap_or("").trim();
    if !detail.is_empty() && !detail.eq_ignore_ascii_case(title) && (fields.is_empty() || !detail.contains(':')) {
        msg = format!("{msg}: {detail}");
    }
    if !fields.is_empty() {
        msg = format!("{msg}: {}", fields.join("; "));
    }
    Some(msg)
}

/// "Validation Failed" → "validation failed"; acronyms ("JSON") stay.
fn lower_first(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) if c.clone().all(char::is_lowercase) => f.to_lowercase().chain(c).collect(),
                _ => w.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_problem_is_one_line() {
        let body = json!({
            "type": "about:blank", "title": "Validation failed", "status": 422,
            "detail": "the request has invalid fields",
            "errors": [{"field": "redirect_uris", "message": "must use https (loopback http allowed)"}]
        });
        let e = problem(StatusCode::UNPROCESSABLE_ENTITY, &body.to_string());
        assert_eq!(
            e.to_string(),
            "422 validation failed: the request has invalid fields: redirect_uris: must use https (loopback http allowed)"
        );
    }

    #[test]
    fn oauth_and_plain_errors() {
        let e = problem(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client","error_description":"bad"}"#);
        assert_eq!(e.to_string(), "401 invalid_client: bad");
        let e = problem(StatusCode::NOT_FOUND, "");
        assert_eq!(e.to_string(), "404 not found");
        let e = problem(StatusCode::PRECONDITION_FAILED, r#"{"title":"Precondition Failed","detail":"stale"}"#);
        assert_eq!(e.to_string(), "412 precondition failed: stale");
        let e = problem(StatusCode::BAD_REQUEST, r#"{"title":"JSON error","detail":"x"}"#);
        assert_eq!(e.to_string(), "400 JSON error: x");
    }

    #[test]
    fn paths_and_queries() {
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(issuer("http://x/", Some("default")), "http://x");
        assert_eq!(issuer("http://x", Some("acme")), "http://x/t/acme");
        assert_eq!(query(&[("q", Some("a b".into())), ("x", None)]), "?q=a+b");
        assert_eq!(query(&[("x", None)]), "");
    }
}
