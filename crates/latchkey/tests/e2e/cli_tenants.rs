//! `latchkey tenant …` against a real server: a second tenant with its own
//! issuer and first admin, scoped CLI use with `--tenant`, isolation from
//! the default tenant, and the disable → delete lifecycle.

use crate::cli::{Cli, assert_one_line_error, token_status};
use crate::harness::*;
use serde_json::{Value, json};

#[tokio::test]
async fn cli_tenant_create_scope_disable_and_delete() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);

    let o = cli.ok(&["tenant", "create", "acme", "--display-name", "Acme Corp"]).await;
    assert!(o.stderr.contains("shown once"), "{}", o.stderr);
    let created = o.json();
    assert_eq!(created["issuer"], format!("{}/t/acme", s.base));
    let (acme_id, acme_secret) = (
        created["admin_client_id"].as_str().unwrap().to_owned(),
        created["admin_client_secret"].as_str().expect("the new admin secret, once").to_owned(),
    );
    assert!(created["admin_password"].as_str().is_some_and(|p| p.len() >= 12));

    let list = cli.ok(&["tenant", "list", "-o", "table"]).await.stdout;
    assert!(list.contains("acme") && list.contains("Acme Corp") && list.contains("default"), "{list}");
    let shown = cli.ok(&["tenant", "show", "acme"]).await.stdout;
    assert!(!shown.contains(&acme_secret), "a tenant shows no secret");
    let renamed = cli.ok(&["tenant", "update", "acme", "--display-name", "Acme Inc"]).await.json();
    assert_eq!(renamed["display_name"], "Acme Inc");
    let o = cli.run(&["tenant", "update", "acme", "--settings", "[1]"]).await;
    assert!(assert_one_line_error(&o).contains("JSON object"), "{}", o.stderr);

    // The tenant's own admin manages its clients with --tenant; the default
    // tenant does not see them, and the tenant's admin cannot manage tenants.
    let acme = [("LATCHKEY_CLIENT_ID", acme_id.as_str()), ("LATCHKEY_CLIENT_SECRET", acme_secret.as_str())];
    let o =
        cli.run_env(&["--tenant", "acme", "client", "create", "--type", "m2m", "--name", "Acme billing"], &acme).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let client = o.json();
    let (cid, csecret) =
        (client["client_id"].as_str().unwrap().to_owned(), client["client_secret"].as_str().unwrap().to_owned());
    let theirs = cli.run_env(&["--tenant", "acme", "client", "list", "-o", "json"], &acme).await.stdout;
    assert!(theirs.contains(&cid), "{theirs}");
    let ours = cli.ok(&["client", "list", "-o", "json"]).await.stdout;
    assert!(!ours.contains(&cid), "the default tenant never lists acme's clients");
    let o = cli.run_env(&["tenant", "list"], &acme).await;
    assert_eq!(o.code, 6, "acme's admin client is not an owner of the default tenant: {}", o.stderr);
    let at_acme = |path: &str| s.url(&format!("/t/acme{path}"));
    let (status, _) =
        post_basic(&at_acme("/oauth2/token"), &cid, &csecret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "acme's client gets tokens from acme's issuer");
    assert_eq!(token_status(&s, &cid, &csecret).await, 401, "and not from the default issuer");

    // Delete needs a disabled tenant; a disabled tenant issues nothing.
    let o = cli.run(&["tenant", "delete", "acme"]).await;
    assert!(assert_one_line_error(&o).contains("409"), "{}", o.stderr);
    assert_eq!(cli.ok(&["tenant", "disable", "acme"]).await.json()["status"], "disabled");
    let (status, _) =
        post_basic(&at_acme("/oauth2/token"), &cid, &csecret, &[("grant_type", "client_credentials")]).await;
    assert!(status >= 400, "a disabled tenant issues no token ({status})");
    cli.ok(&["tenant", "delete", "acme"]).await;
    let o = cli.run(&["tenant", "show", "acme"]).await;
    assert!(assert_one_line_error(&o).contains("404"), "{}", o.stderr);
}

/// Checklist 60 over HTTP: a tenant's admin token opens that tenant's admin
/// API and no other, in either direction, and introspection elsewhere does
/// not know it.
#[tokio::test]
async fn checklist_60_a_tenants_admin_token_opens_no_other_tenant() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let created = cli.ok(&["tenant", "create", "acme"]).await.json();
    let (id, secret) = (created["admin_client_id"].as_str().unwrap(), created["admin_client_secret"].as_str().unwrap());
    let (status, body) = post_basic(
        &s.url("/t/acme/oauth2/token"),
        id,
        secret,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let acme_token = body["access_token"].as_str().unwrap().to_owned();
    let default_token = admin_token(&s, "admin").await;
    let s = &s;
    let get = |path: String, token: String| async move {
        http().get(s.url(&path)).bearer_auth(token).send().await.unwrap().status().as_u16()
    };
    assert_eq!(get("/t/acme/api/v1/clients".into(), acme_token.clone()).await, 200);
    assert_eq!(get("/api/v1/clients".into(), acme_token.clone()).await, 401, "acme's token at the default tenant");
    assert_eq!(get("/api/v1/tenants".into(), acme_token.clone()).await, 401);
    assert_eq!(get("/t/acme/api/v1/clients".into(), default_token.clone()).await, 401, "and the other way round");
    assert_eq!(get("/t/acme/api/v1/users".into(), default_token).await, 401);
    let seen = introspect(s, "latchkey-admin", ADMIN_SECRET, &acme_token).await;
    assert_eq!(seen, serde_json::json!({"active": false}), "the default tenant does not know acme's tokens");
}

/// Every admin API operation on one object answers under `/t/{tenant}` as
/// it does at the default tenant: the tenant segment is no extra path
/// parameter to the handlers (it once made each of them a 500). Walks the
/// OpenAPI document, so a new route is covered when it is documented.
#[tokio::test]
async fn every_admin_route_with_parameters_answers_under_a_tenant_prefix() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let created = cli.ok(&["tenant", "create", "acme"]).await.json();
    let (id, secret) = (created["admin_client_id"].as_str().unwrap(), created["admin_client_secret"].as_str().unwrap());
    let form = [("grant_type", "client_credentials"), ("scope", "admin")];
    let (status, body) = post_basic(&s.url("/t/acme/oauth2/token"), id, secret, &form).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let (url, token) = (s.url(&path), token.clone());
        async move {
            let mut r = http().request(method, url).bearer_auth(token);
            if let Some(b) = body {
                r = r.json(&b);
            }
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };

    // Objects that exist: shown, changed and deleted through the prefix.
    let (st, b) =
        call(reqwest::Method::POST, "/t/acme/api/v1/scopes".into(), Some(json!({"name": "orders:read"}))).await;
    assert_eq!(st, 201, "{b}");
    let (st, b) = call(reqwest::Method::GET, "/t/acme/api/v1/scopes/orders:read".into(), None).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = call(
        reqwest::Method::POST,
        "/t/acme/api/v1/providers".into(),
        Some(json!({"name": "corp", "token_endpoint": "https://corp.example/token"})),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    let rc = json!({"namespace": "billing", "name": "crm", "provider": "corp", "client_id": "x"});
    let (st, b) = call(reqwest::Method::POST, "/t/acme/api/v1/remote-clients".into(), Some(rc)).await;
    assert_eq!(st, 201, "{b}");
    let (st, b) = call(reqwest::Method::GET, "/t/acme/api/v1/remote-clients/billing/crm".into(), None).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = call(reqwest::Method::DELETE, "/t/acme/api/v1/scopes/orders:read".into(), None).await;
    assert_eq!(st, 204, "{b}");

    // Every documented operation with a path parameter, on objects that do
    // not exist: a 4xx problem, never a 5xx.
    let (_, doc) = call(reqwest::Method::GET, "/api/v1/openapi.json".into(), None).await;
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let mut walked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") || !path.contains('{') {
            continue;
        }
        let concrete: String =
            path.split('/').map(|seg| if seg.starts_with('{') { "nope" } else { seg }).collect::<Vec<_>>().join("/");
        for method in ops.as_object().unwrap().keys() {
            let Ok(m) = method.to_uppercase().parse::<reqwest::Method>() else { continue };
            let body = matches!(method.as_str(), "post" | "put" | "patch").then(|| json!({}));
            let (st, text) = call(m, format!("/t/acme{concrete}"), body).await;
            assert!((400..500).contains(&st), "{method} /t/acme{concrete}: {st} {text}");
            assert!(!text.contains("path arguments"), "{method} {concrete}: {text}");
            walked += 1;
        }
    }
    assert!(walked >= 30, "the document lists the parameterised operations ({walked})");

    // The upstream callback of the tenant: a readable page, not a 500.
    let r = http().get(s.url("/t/acme/remote/callback/corp?state=x&code=y")).send().await.unwrap();
    assert!((400..500).contains(&r.status().as_u16()), "{}", r.status());
}
