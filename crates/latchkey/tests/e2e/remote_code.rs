//! Authorization-code authorizations end to end (SPEC §8): a second
//! Latchkey process is the provider, a cookie-keeping HTTP client is the
//! administrator's browser that opens the link `latchkey authorization
//! authorize` prints and signs in upstream. Then: tokens, a forced renewal
//! that rotates the refresh token, `kill -9` and a restart on the same
//! data, and a renewal with the rotated token. Mix-up and bad callbacks get
//! readable pages. Concurrent renewal and the old refresh token being
//! refused are driven by the ManualClock in
//! `latchkey-app/src/remote/code_flow_tests.rs`.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::harness::*;

const PASSWORD: &str = "correct horse battery staple";

fn browser() -> reqwest::Client {
    latchkey_app::remote::http::install_tls_provider();
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn call(s: &Server, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = s.url(path);
    let req = match method {
        "GET" => http().get(url),
        "PATCH" => http().patch(url),
        _ => http().post(url),
    };
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let r = req.bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Refresh-token grants the upstream answered (its metrics).
async fn refreshes(s: &Server) -> u64 {
    let m = http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    m.lines()
        .filter(|l| l.starts_with("latchkey_tokens_issued_total") && l.contains("refresh_token"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn cli(s: &Server, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .current_dir(dir.path())
        .env("LATCHKEY_SERVER", &s.base)
        .env("LATCHKEY_CLIENT_ID", "latchkey-admin")
        .env("LATCHKEY_CLIENT_SECRET", ADMIN_SECRET)
        .env("XDG_RUNTIME_DIR", dir.path().join("run"))
        .env_remove("LATCHKEY_TENANT")
        .env_remove("LATCHKEY_CONFIG")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "latchkey {args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn allow_loopback() -> Opts {
    Opts { env: vec![("LATCHKEY_REMOTE_ALLOW_PRIVATE".into(), "[\"127.0.0.1\"]".into())], ..Opts::default() }
}

struct Setup {
    upstream: Server,
    here: Server,
    here_install: Install,
    _up_install: Install,
    admin: String,
    up_id: String,
    up_secret: String,
}

/// The upstream with alice and a web client whose redirect URI is this
/// Latchkey's callback for the provider `up`; here, the provider (by
/// discovery) and the remote client `billing/crm`.
async fn setup() -> Setup {
    let (up_install, here_install) = (Install::new().await, Install::new().await);
    let upstream = Server::start(&up_install).await;
    let here = Server::start_with(&here_install, &allow_loopback()).await;
    let up_admin = admin_token(&upstream, "admin").await;
    let user =
        json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com", "display_name": "Alice"});
    assert_eq!(call(&upstream, &up_admin, "POST", "/api/v1/users", Some(user)).await.0, 201);
    let web = create_client(
        &upstream,
        json!({"name": "Latchkey downstream", "type": "web",
               "redirect_uris": [here.url("/remote/callback/up")],
               "scopes": ["openid", "profile", "offline_access"]}),
    )
    .await;
    let (up_id, up_secret) =
        (web["client_id"].as_str().unwrap().to_owned(), web["client_secret"].as_str().unwrap().to_owned());
    let admin = admin_token(&here, "admin").await;
    let discovery = upstream.url("/.well-known/openid-configuration");
    let (status, p) =
        call(&here, &admin, "POST", "/api/v1/providers", Some(json!({"name": "up", "discovery_url": discovery}))).await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["authorization_response_iss_parameter_supported"], true);
    let rc = json!({"namespace": "billing", "name": "crm", "provider": "up", "client_id": up_id,
                    "client_secret": up_secret, "params": {"scope": "openid offline_access"}});
    assert_eq!(call(&here, &admin, "POST", "/api/v1/remote-clients", Some(rc)).await.0, 201);
    Setup { upstream, here, here_install, _up_install: up_install, admin, up_id, up_secret }
}

/// Opens the start link and signs in upstream as alice; returns the
/// provider's redirect back to here (not followed yet).
async fn through_upstream(s: &Setup, b: &reqwest::Client, link: &str) -> String {
    let r = b.get(link).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "the start link redirects to the provider");
    let to_provider = location(&r);
    assert!(to_provider.starts_with(&s.upstream.url("/oauth2/authorize?")), "{to_provider}");
    let r = b.get(&to_provider).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    let form = [
        ("tx", field(&html, "tx")),
        ("csrf", field(&html, "csrf")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let mut r = b.post(s.upstream.url("/login")).form(&form).send().await.unwrap();
    // offline_access is requested with prompt=consent (OIDC Core §11).
    assert!(to_provider.contains("prompt=consent"), "{to_provider}");
    assert_eq!(r.status().as_u16(), 200, "the consent page");
    let html = r.text().await.unwrap();
    let form = [("tx", field(&html, "tx")), ("csrf", field(&html, "csrf")), ("decision", "allow".to_owned())];
    r = b.post(s.upstream.url("/consent")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let back = location(&r);
    assert!(back.starts_with(&s.here.url("/remote/callback/up?")), "{back}");
    back
}

#[tokio::test]
async fn authorization_code_authorization_end_to_end_and_across_a_restart() {
    let s = setup().await;
    // The administrator's link, from the CLI.
    let link = cli(&s.here, &["authorization", "authorize", "billing/crm", "-o", "table"]).await.trim().to_owned();
    assert!(link.starts_with(&s.here.url("/remote/start?ticket=")), "{link}");
    let b = browser();
    let back = through_upstream(&s, &b, &link).await;
    let r = b.get(&back).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let page = r.text().await.unwrap();
    assert!(page.contains("Authorization complete") && page.contains("billing/crm"), "{page}");
    // The callback is single use.
    let r = b.get(&back).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let (_, a) = call(&s.here, &s.admin, "GET", "/api/v1/authorizations/billing/crm", None).await;
    assert_eq!((a["grant_type"].as_str(), a["status"].as_str()), (Some("authorization_code"), Some("active")), "{a}");
    assert_eq!(a["has_refresh_token"], true);
    let (status, t) = call(&s.here, &s.admin, "POST", "/api/v1/authorizations/billing/crm/token", None).await;
    assert_eq!(status, 200, "{t}");
    let first = t["access_token"].as_str().unwrap().to_owned();
    let i = introspect(&s.upstream, &s.up_id, &s.up_secret, &first).await;
    assert_eq!((i["active"].as_bool(), i["client_id"].as_str()), (Some(true), Some(s.up_id.as_str())), "{i}");

    // A forced renewal uses the refresh token; the provider rotates it.
    let before = refreshes(&s.upstream).await;
    let out = cli(&s.here, &["authorization", "refresh", "billing", "crm", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "active", "{v}");
    assert_eq!(refreshes(&s.upstream).await, before + 1);

    // kill -9 and restart on the same data: the stored (rotated) refresh
    // token works. Had the old one been kept, the provider would see a
    // reused refresh token, revoke the family and refuse (409 here).
    let Setup { here, here_install, upstream, admin, up_id, up_secret, _up_install, .. } = s;
    here.kill9().await;
    let here = Server::start_with(&here_install, &allow_loopback()).await;
    let (status, v) =
        call(&here, &admin_token(&here, "admin").await, "POST", "/api/v1/authorizations/billing/crm/refresh", None)
            .await;
    assert_eq!(status, 200, "{v}\n{}", here.logs());
    assert_eq!(v["status"], "active");
    assert_eq!(refreshes(&upstream).await, before + 2);
    let (_, t) =
        call(&here, &admin_token(&here, "admin").await, "POST", "/api/v1/authorizations/billing/crm/token", None).await;
    let latest = t["access_token"].as_str().unwrap().to_owned();
    assert_ne!(latest, first);
    assert_eq!(introspect(&upstream, &up_id, &up_secret, &latest).await["active"], true);
    drop(admin);

    // No secret or token in responses, audit events or logs.
    let admin = admin_token(&here, "admin").await;
    let mut seen = String::new();
    for path in ["/api/v1/audit-events?limit=500", "/api/v1/authorizations", "/api/v1/remote-clients"] {
        seen.push_str(&call(&here, &admin, "GET", path, None).await.1.to_string());
    }
    let (_, logs) = here.stop().await;
    seen.push_str(&logs);
    for secret in [&up_secret, &first, &latest] {
        assert!(!seen.contains(secret.as_str()), "a secret or token leaked");
    }
    assert!(seen.contains("authorization.start") && seen.contains("authorization.create"));
}

/// A new start link for billing/crm through the admin API.
async fn start(s: &Setup) -> String {
    let (status, v) = call(&s.here, &s.admin, "POST", "/api/v1/authorizations/billing/crm/authorize", None).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["redirect_uri"], s.here.url("/remote/callback/up"));
    v["authorization_url"].as_str().unwrap().to_owned()
}

/// SECURITY-CHECKLIST 63: a response arriving at another provider's
/// callback, or naming another issuer, is refused with a readable page;
/// so are callbacks without or with an unknown state. Never a 5xx.
#[tokio::test]
async fn checklist_63_mix_up_and_bad_callbacks_get_readable_pages() {
    let s = setup().await;
    // A second provider with its own issuer.
    let other = json!({"name": "other", "issuer": "https://other.example", "token_endpoint": "https://other.example/token",
                       "authorization_endpoint": "https://other.example/authorize"});
    assert_eq!(call(&s.here, &s.admin, "POST", "/api/v1/providers", Some(other)).await.0, 201);
    let page = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        (status, r.text().await.unwrap())
    };

    // Provider up's response delivered at provider other's callback.
    let b = browser();
    let back = through_upstream(&s, &b, &start(&s).await).await;
    let injected = back.replace("/remote/callback/up?", "/remote/callback/other?");
    let (status, html) = page(b.get(&injected).send().await.unwrap()).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("another provider"), "{html}");

    // A response naming other's issuer at up's callback.
    let b = browser();
    let back = through_upstream(&s, &b, &start(&s).await).await;
    let mut u = reqwest::Url::parse(&back).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" { "https://other.example".to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let (status, html) = page(b.get(u.as_str()).send().await.unwrap()).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("another issuer"), "{html}");

    // The right response in another browser (no binding cookie).
    let b = browser();
    let back = through_upstream(&s, &b, &start(&s).await).await;
    let (status, html) = page(http().get(&back).send().await.unwrap()).await;
    assert_eq!(status, 403, "{html}");

    // Garbage.
    for path in [
        "/remote/callback/up",
        "/remote/callback/up?state=nope&code=x",
        "/remote/callback/up?state=a&state=b",
        "/remote/callback/nope?state=x&code=y&iss=z",
        "/remote/start?ticket=forged",
        "/remote/start",
    ] {
        let (status, html) = page(http().get(s.here.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 400, "{path}: {html}");
    }
    for (method, path, allow) in
        [("POST", "/remote/callback/up", "GET"), ("POST", "/remote/start", "GET"), ("GET", "/federation/start", "POST")]
    {
        let req = if method == "POST" { http().post(s.here.url(path)) } else { http().get(s.here.url(path)) };
        let r = req.send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.headers()["allow"].to_str().unwrap()), (405, allow), "{method} {path}");
    }
    let (_, a) = call(&s.here, &s.admin, "GET", "/api/v1/authorizations/billing/crm", None).await;
    assert_eq!(a["status"], 404, "no authorization was stored: {a}");
}

/// Outbound TLS: an https discovery URL is fetched over TLS (here it fails
/// the handshake with a clean 422), not refused as unsupported; without
/// the allow-list the loopback address is refused first.
#[tokio::test]
async fn https_discovery_is_attempted_and_fails_cleanly() {
    let (up_install, here_install, open_install) = (Install::new().await, Install::new().await, Install::new().await);
    let upstream = Server::start(&up_install).await;
    let port = upstream.base.rsplit(':').next().unwrap().to_owned();
    let url = format!("https://127.0.0.1:{port}/.well-known/openid-configuration");
    let here = Server::start_with(&here_install, &allow_loopback()).await;
    let admin = admin_token(&here, "admin").await;
    let (status, body) =
        call(&here, &admin, "POST", "/api/v1/providers", Some(json!({"name": "tls", "discovery_url": url}))).await;
    assert_eq!(status, 422, "{body}");
    let msg =
        body["errors"][0]["message"].as_str().unwrap_or_default().to_owned() + body["detail"].as_str().unwrap_or("");
    assert!(msg.contains("could not be fetched") && !msg.contains("only http and https"), "{body}");
    let strict = Server::start(&open_install).await;
    let admin = admin_token(&strict, "admin").await;
    let (status, body) =
        call(&strict, &admin, "POST", "/api/v1/providers", Some(json!({"name": "tls", "discovery_url": url}))).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("remote_allow_private"), "{body}");
}
