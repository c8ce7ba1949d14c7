//! Latchkey as the client of another provider (SPEC §8), end to end: a
//! second Latchkey process is the upstream. Provider by discovery URL on
//! loopback (refused without the allow-list: SECURITY-CHECKLIST 61), a
//! remote client entered through the CLI, a client_credentials
//! authorization, and tokens fetched by an internal service that holds
//! only `authorizations:token`. Renewal before expiry, concurrent renewal
//! and refusals are driven by the ManualClock in
//! `latchkey-app/src/remote/tests.rs`.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::harness::*;

async fn call(s: &Server, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = s.url(path);
    let req = match method {
        "GET" => http().get(url),
        "DELETE" => http().delete(url),
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

/// The sum of `latchkey_tokens_issued_total` on a server: its token requests answered.
async fn tokens_issued(s: &Server) -> u64 {
    let m = http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    m.lines()
        .filter(|l| l.starts_with("latchkey_tokens_issued_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn cli(s: &Server, args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.args(args)
        .current_dir(dir.path())
        .env("LATCHKEY_SERVER", &s.base)
        .env("LATCHKEY_CLIENT_ID", "latchkey-admin")
        .env("LATCHKEY_CLIENT_SECRET", ADMIN_SECRET)
        .env("XDG_RUNTIME_DIR", dir.path().join("run"))
        .env_remove("LATCHKEY_TENANT")
        .env_remove("LATCHKEY_CONFIG")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "latchkey {args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// SECURITY-CHECKLIST 61: discovery URLs on loopback, link-local metadata
/// addresses or names resolving to loopback are refused unless allow-listed.
#[tokio::test]
async fn checklist_61_remote_discovery_on_private_addresses_is_refused_without_the_allow_list() {
    let (up_install, here_install) = (Install::new().await, Install::new().await);
    let upstream = Server::start(&up_install).await;
    let here = Server::start(&here_install).await;
    let admin = admin_token(&here, "admin").await;
    let port = upstream.base.rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("{}/.well-known/openid-configuration", upstream.base),
        format!("http://localhost:{port}/.well-known/openid-configuration"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]/.well-known/openid-configuration".to_owned(),
    ] {
        let (status, body) =
            call(&here, &admin, "POST", "/api/v1/providers", Some(json!({"name": "up", "discovery_url": url}))).await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["errors"][0]["field"], "discovery_url", "{body}");
    }
    // Explicit endpoints are not fetched at creation, but token requests to
    // them go through the same guard.
    let (status, _) = call(
        &here,
        &admin,
        "POST",
        "/api/v1/providers",
        Some(json!({"name": "up", "token_endpoint": upstream.url("/oauth2/token")})),
    )
    .await;
    assert_eq!(status, 201);
    let rc = json!({"namespace": "ns", "name": "c", "provider": "up", "client_id": "x", "client_secret": "y"});
    assert_eq!(call(&here, &admin, "POST", "/api/v1/remote-clients", Some(rc)).await.0, 201);
    let (status, body) =
        call(&here, &admin, "POST", "/api/v1/authorizations", Some(json!({"namespace": "ns", "name": "c"}))).await;
    assert_eq!(status, 409, "{body}\n{}", here.logs());
    assert!(body["detail"].as_str().unwrap().contains("remote_allow_private"), "{body}");
}

#[tokio::test]
async fn remote_client_credentials_authorization_end_to_end() {
    // The upstream provider: another Latchkey with an m2m client.
    let (up_install, here_install) = (Install::new().await, Install::new().await);
    let upstream = Server::start(&up_install).await;
    create_scope(&upstream, "api:read").await;
    let m2m = create_client(&upstream, json!({"name": "billing", "type": "m2m", "scopes": ["api:read"]})).await;
    let (up_id, up_secret) =
        (m2m["client_id"].as_str().unwrap().to_owned(), m2m["client_secret"].as_str().unwrap().to_owned());

    // This Latchkey, allowed to reach loopback.
    let opts =
        Opts { env: vec![("LATCHKEY_REMOTE_ALLOW_PRIVATE".into(), "[\"127.0.0.1\"]".into())], ..Opts::default() };
    let here = Server::start_with(&here_install, &opts).await;
    let admin = admin_token(&here, "admin").await;

    // The provider, from its discovery document.
    let discovery = upstream.url("/.well-known/openid-configuration");
    let out = cli(&here, &["provider", "create", "upstream", "--discovery-url", &discovery, "-o", "json"], &[]).await;
    let p: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["issuer"], upstream.issuer.as_str());
    assert_eq!(p["token_endpoint"], upstream.url("/oauth2/token"));
    assert_eq!(p["discovery_url"], discovery.as_str());

    // The remote client, its secret from the environment, never echoed.
    let out = cli(
        &here,
        &[
            "remote-client",
            "create",
            "billing",
            "crm",
            "--provider",
            "upstream",
            "--client-id",
            &up_id,
            "--scope",
            "api:read",
            "-o",
            "json",
        ],
        &[("LATCHKEY_REMOTE_CLIENT_SECRET", &up_secret)],
    )
    .await;
    assert!(!out.contains(&up_secret));
    let rc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rc["has_secret"], true);
    let (status, dup) = call(
        &here,
        &admin,
        "POST",
        "/api/v1/remote-clients",
        Some(json!({"namespace": "billing", "name": "crm", "provider": "upstream", "client_id": "other"})),
    )
    .await;
    assert_eq!(status, 409, "namespace + name are unique: {dup}");

    // The authorization, by client_credentials.
    let (status, a) =
        call(&here, &admin, "POST", "/api/v1/authorizations", Some(json!({"namespace": "billing", "name": "crm"})))
            .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["status"], "active");
    assert_eq!(a["scope"], "api:read");

    // An internal service holding only authorizations:token fetches tokens.
    let svc = create_client(&here, json!({"name": "svc", "type": "m2m", "scopes": ["authorizations:token"]})).await;
    let (svc_id, svc_secret) =
        (svc["client_id"].as_str().unwrap().to_owned(), svc["client_secret"].as_str().unwrap().to_owned());
    let (status, body) = post_basic(
        &here.url("/oauth2/token"),
        &svc_id,
        &svc_secret,
        &[("grant_type", "client_credentials"), ("scope", "authorizations:token")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let svc_token = body["access_token"].as_str().unwrap().to_owned();
    let issued_before = tokens_issued(&upstream).await;
    let (status, t) = call(&here, &svc_token, "POST", "/api/v1/authorizations/billing/crm/token", None).await;
    assert_eq!(status, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(t["token_type"], "Bearer");
    assert!(t["expires_in"].as_i64().unwrap() > 0);
    // It is a live token of the upstream, of the upstream client.
    let i = introspect(&upstream, &up_id, &up_secret, &access).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], up_id.as_str());
    assert_eq!(i["scope"], "api:read");
    // The service can do nothing else; an admin:read token cannot fetch.
    assert_eq!(call(&here, &svc_token, "GET", "/api/v1/remote-clients", None).await.0, 403);
    let reader = admin_token(&here, "admin:read").await;
    assert_eq!(call(&here, &reader, "POST", "/api/v1/authorizations/billing/crm/token", None).await.0, 403);
    assert_eq!(call(&here, &svc_token, "POST", "/api/v1/authorizations/billing/nope/token", None).await.0, 404);

    // 20 concurrent fetches of a current token: all get it, none asks upstream.
    let fetches = (0..20).map(|_| {
        let (here_url, tok) = (here.url("/api/v1/authorizations/billing/crm/token"), svc_token.clone());
        tokio::spawn(async move {
            let r = http().post(here_url).bearer_auth(tok).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
        })
    });
    for f in futures_util::future::join_all(fetches).await {
        assert_eq!(f.unwrap(), access);
    }
    assert_eq!(tokens_issued(&upstream).await, issued_before, "no upstream request while the token is current");
    assert_eq!(cli(&here, &["authorization", "token", "billing", "crm", "-o", "table"], &[]).await.trim(), access);

    // Every retrieval is audited, without the token; no secret anywhere.
    let (_, audit) =
        call(&here, &admin, "GET", "/api/v1/audit-events?action=authorization.token&limit=500", None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 22, "1 + 20 + CLI");
    let mut seen = String::new();
    for path in
        ["/api/v1/audit-events?limit=500", "/api/v1/remote-clients", "/api/v1/authorizations", "/api/v1/providers"]
    {
        seen.push_str(&call(&here, &admin, "GET", path, None).await.1.to_string());
    }
    seen.push_str(&cli(&here, &["export"], &[]).await);
    seen.push_str(&cli(&here, &["remote-client", "show", "billing", "crm"], &[]).await);
    let (_, logs) = here.stop().await;
    seen.push_str(&logs);
    assert!(!seen.contains(&up_secret), "the remote client's secret leaked");
    assert!(!seen.contains(&access), "an upstream token leaked");
}
