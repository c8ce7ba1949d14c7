//! Client management through the admin API (issue 3): rules, secrets
//! lifecycle at the real token endpoint, optimistic concurrency, search,
//! scopes and classes, roles, delete while minting, audit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

struct Api {
    s: Server,
    token: String,
}

impl Api {
    async fn new(install: &Install) -> Self {
        let s = Server::start(install).await;
        let token = admin_token(&s, "admin").await;
        Self { s, token }
    }
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut r = http().request(method, self.s.url(&format!("/api/v1{path}"))).bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, b, _) = self.call(reqwest::Method::POST, path, Some(body)).await;
        (s, b)
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, b, _) = self.call(reqwest::Method::GET, path, None).await;
        (s, b)
    }
    async fn token(&self, id: &str, secret: &str) -> u16 {
        post_basic(&self.s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await.0
    }
}

fn field_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_type_can_be_created_and_rules_are_enforced_per_field() {
    let install = Install::new().await;
    let api = Api::new(&install).await;
    for (t, extra) in [
        ("m2m", json!({})),
        ("web", json!({"redirect_uris": ["https://app.example.com/cb"]})),
        ("spa", json!({"redirect_uris": ["http://127.0.0.1/cb"], "allowed_cors_origins": ["http://localhost:3000"]})),
        ("hybrid", json!({"redirect_uris": ["https://app.example.com/cb"]})),
        ("device", json!({})),
        ("connector", json!({})),
        ("custom", json!({"grant_types": ["client_credentials"]})),
    ] {
        let mut body = json!({"name": format!("{t} client"), "type": t});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, c) = api.post("/clients", body).await;
        assert_eq!(status, StatusCode::CREATED, "{t}: {c}");
        let confidential = ["m2m", "web", "hybrid", "connector", "custom"].contains(&t);
        assert_eq!(c["client_secret"].is_string(), confidential, "{t}");
        assert_eq!(c["type"], t);
        assert_eq!(c["effective_lifetimes"]["access_token"], json!({"seconds": 3600, "source": "tenant"}));
    }
    // One request, every broken field reported (422, per field).
    let (status, body) = api
        .post(
            "/clients",
            json!({
                "name": "", "type": "web",
                "redirect_uris": ["http://evil.example/cb", "https://app.example.com/cb#frag", "https://*.x.example.com/cb"],
                "post_logout_redirect_uris": ["JavaScript:alert(1)"],
                "allowed_cors_origins": ["https://app.example.com/path"],
                "access_token_lifetime": 59,
                "scopes": ["no-such-scope"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let f = field_errors(&body);
    for want in [
        "name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "allowed_cors_origins",
        "access_token_lifetime",
        "scopes",
    ] {
        assert!(f.contains(&want.to_owned()), "{want} in {f:?}");
    }
    assert_eq!(f.iter().filter(|x| *x == "redirect_uris").count(), 3);
    // Unknown fields and public+client_credentials are refused.
    let (status, body) = api.post("/clients", json!({"name": "x", "type": "m2m", "no_such_field": 1})).await;
    assert_eq!((status, field_errors(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["no_such_field".to_owned()]));
    let (status, _) =
        api.post("/clients", json!({"name": "y", "type": "spa", "grant_types": ["client_credentials"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Names are unique per tenant, case-insensitively.
    let (status, _) = api.post("/clients", json!({"name": "M2M CLIENT", "type": "m2m"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn secret_rotation_with_and_without_grace_at_the_token_endpoint() {
    let install = Install::new().await;
    let api = Api::new(&install).await;
    let (_, c) = api.post("/clients", json!({"name": "rotating", "type": "m2m"})).await;
    let id = c["client_id"].as_str().unwrap();
    let first = c["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(api.token(id, &first).await, 200);

    // Rotate with a grace period: both work.
    let (status, r) = api.post(&format!("/clients/{id}/secrets/rotate"), json!({"grace_seconds": 3600})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let second = r["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(r["expiring"].as_array().unwrap().len(), 1);
    assert_eq!(api.token(id, &first).await, 200, "old secret valid during the grace period");
    assert_eq!(api.token(id, &second).await, 200);

    // Rotate without grace: the previous ones stop at once.
    let (_, r) = api.post(&format!("/clients/{id}/secrets/rotate"), json!({"grace_seconds": 0})).await;
    let third = r["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(api.token(id, &first).await, 401);
    assert_eq!(api.token(id, &second).await, 401);
    assert_eq!(api.token(id, &third).await, 200);

    // Add one, revoke one; the last valid secret cannot be revoked.
    let (_, added) = api.post(&format!("/clients/{id}/secrets"), json!({"label": "ci"})).await;
    let added_id = added["secret"]["id"].as_str().unwrap().to_owned();
    assert_eq!(added["secret"]["label"], "ci");
    let (status, _, _) = api.call(reqwest::Method::DELETE, &format!("/clients/{id}/secrets/{added_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(api.token(id, added["client_secret"].as_str().unwrap()).await, 401);
    let (_, list) = api.get(&format!("/clients/{id}/secrets")).await;
    let now = list["items"].as_array().unwrap().iter().filter(|s| s["expires_at"].is_null()).count();
    assert_eq!(now, 1);
    let last = list["items"].as_array().unwrap().iter().find(|s| s["expires_at"].is_null()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body, _) = api.call(reqwest::Method::DELETE, &format!("/clients/{id}/secrets/{last}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // At most 5 valid secrets; imports need 32 characters.
    let (status, _) = api.post(&format!("/clients/{id}/secrets"), json!({"secret": "too-short"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for _ in 0..4 {
        assert_eq!(api.post(&format!("/clients/{id}/secrets"), json!({})).await.0, StatusCode::CREATED);
    }
    assert_eq!(api.post(&format!("/clients/{id}/secrets"), json!({})).await.0, StatusCode::CONFLICT);

    // No response after creation ever shows a secret again.
    let (_, view) = api.get(&format!("/clients/{id}")).await;
    let (_, page) = api.get("/clients?limit=500").await;
    let (_, audit) = api.get("/audit-events?limit=500").await;
    for text in [view.to_string(), page.to_string(), audit.to_string(), s_logs(&api)] {
        for secret in [&first, &second, &third] {
            assert!(!text.contains(secret.as_str()), "a secret leaked");
        }
    }
}

fn s_logs(api: &Api) -> String {
    api.s.logs()
}

#[tokio::test]
async fn if_match_conflicts_give_412_and_updates_are_audited_with_diffs() {
    let install = Install::new().await;
    let api = Api::new(&install).await;
    let (_, c) = api
        .post("/clients", json!({"name": "editable", "type": "web", "redirect_uris": ["https://a.example.com/cb"]}))
        .await;
    let id = c["client_id"].as_str().unwrap();
    let (_, _, h) = api.call(reqwest::Method::GET, &format!("/clients/{id}"), None).await;
    let etag = h["etag"].to_str().unwrap().to_owned();

    let patch = |body: Value, etag: Option<&str>| {
        let mut r = http().patch(api.s.url(&format!("/api/v1/clients/{id}"))).bearer_auth(&api.token).json(&body);
        if let Some(e) = etag {
            r = r.header("if-match", e);
        }
        async move {
            let r = r.send().await.unwrap();
            let (s, h) = (r.status(), r.headers().clone());
            (s, r.json::<Value>().await.unwrap(), h)
        }
    };
    let (status, body, h) = patch(
        json!({"name": "edited", "access_token_lifetime": 600, "redirect_uris": ["https://b.example.com/cb"]}),
        Some(&etag),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(h["etag"].to_str().unwrap(), etag);
    assert_eq!(body["effective_lifetimes"]["access_token"], json!({"seconds": 600, "source": "client"}));
    // The old ETag is stale now.
    let (status, body, _) = patch(json!({"name": "lost update"}), Some(&etag)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    // null unsets (inherits again); invalid new state is refused whole.
    let (status, body, _) = patch(json!({"access_token_lifetime": null}), None).await;
    assert_eq!(body["effective_lifetimes"]["access_token"]["source"], "tenant", "{status} {body}");
    let (status, _, _) = patch(json!({"redirect_uris": []}), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a web client needs a redirect URI");
    // The audit event carries the before/after of every changed field.
    let (_, audit) = api.get(&format!("/audit-events?target_id={id}&action=client.update")).await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "two successful updates, refused ones leave no event");
    let ev = &items[1]["changes"];
    assert_eq!(ev["name"], json!({"before": "editable", "after": "edited"}));
    assert_eq!(ev["redirect_uris"]["after"], json!(["https://b.example.com/cb"]));
    assert_eq!(audit["items"][0]["actor"], "latchkey-admin");
    assert_eq!(audit["items"][0]["source_ip"], "127.0.0.1");
}

#[tokio::test]
async fn search_filters_sorting_and_cursor_pagination() {
    let install = Install::new().await;
    let api = Api::new(&install).await;
    for i in 0..12 {
        let t = if i % 3 == 0 { "web" } else { "m2m" };
        let mut b = json!({"name": format!("Svc {i:02}"), "type": t, "description": format!("team {}", i % 2), "labels": {"team": if i % 2 == 0 {"red"} else {"blue"}}});
        if t == "web" {
            b["redirect_uris"] = json!(["https://app.example.com/cb"]);
        }
        assert_eq!(api.post("/clients", b).await.0, StatusCode::CREATED);
    }
    let names = |v: &Value| {
        v["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let (_, r) = api.get("/clients?q=svc%200&sort=-name").await;
    assert_eq!(names(&r), (0..10).rev().map(|i| format!("Svc {i:02}")).collect::<Vec<_>>());
    let (_, r) = api.get("/clients?type=web&sort=name").await;
    assert_eq!(names(&r), vec!["Svc 00", "Svc 03", "Svc 06", "Svc 09"]);
    let (_, r) = api.get("/clients?grant_type=authorization_code").await;
    assert_eq!(r["items"].as_array().unwrap().len(), 4 + 1, "and the console");
    let (_, r) = api.get("/clients?label=team%3Dblue").await;
    assert_eq!(r["items"].as_array().unwrap().len(), 6);
    let (_, r) = api.get("/clients?q=TEAM%201").await;
    assert_eq!(r["items"].as_array().unwrap().len(), 6, "search covers descriptions");
    let (_, r) = api.get("/clients?status=disabled").await;
    assert!(r["items"].as_array().unwrap().is_empty());
    // Walk every page of 5 by name: each client once, in order.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(c) => format!("/clients?sort=name&limit=5&cursor={c}"),
            None => "/clients?sort=name&limit=5".to_owned(),
        };
        let (_, r) = api.get(&path).await;
        seen.extend(names(&r));
        match r["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 15);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|s| s.to_lowercase());
    assert_eq!(seen, sorted);
    // A cursor from another sort order is refused.
    let (_, r) = api.get("/clients?sort=created_at&limit=1").await;
    let c = r["next_cursor"].as_str().unwrap();
    assert_eq!(api.get(&format!("/clients?sort=name&cursor={c}")).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn scopes_classes_union_and_deleting_used_ones_is_refused() {
    let install = Install::new().await;
    let api = Api::new(&install).await;
    for s in ["invoices:read", "invoices:write"] {
        assert_eq!(api.post("/scopes", json!({"name": s, "description": "Invoices"})).await.0, StatusCode::CREATED);
    }
    let (status, _) = api.post("/security-classes", json!({"name": "billing", "scopes": ["invoices:write"]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, c) = api
        .post(
            "/clients",
            json!({"name": "biller", "type": "m2m", "scopes": ["invoices:read"], "security_classes": ["billing"]}),
        )
        .await;
    let (id, secret) = (c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap());
    // The client may ask for its own scopes and its classes' scopes.
    let (status, body) = post_basic(
        &api.s.url("/oauth2/token"),
        id,
        secret,
        &[("grant_type", "client_credentials"), ("scope", "invoices:read invoices:write")],
    )
    .await;
    assert_eq!((status, body["scope"].as_str()), (200, Some("invoices:read invoices:write")), "{body}");
    // Deleting what is in use is refused, naming the user.
    let (status, _, _) = api.call(reqwest::Method::DELETE, "/scopes/invoices:write", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body, _) = api.call(reqwest::Method::DELETE, "/security-classes/billing", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["detail"].as_str().unwrap().contains(id));
    // Changing the class changes what the client may get, at once.
    let (status, _, _) =
        api.call(reqwest::Method::PATCH, "/security-classes/billing", Some(json!({"scopes": []}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post_basic(
        &api.s.url("/oauth2/token"),
        id,
        secret,
        &[("grant_type", "client_credentials"), ("scope", "invoices:write")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, _, _) =
        api.call(reqwest::Method::PATCH, "/scopes/invoices:read", Some(json!({"description": "Read invoices"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.get("/scopes/invoices:read").await.1["description"], "Read invoices");
}

#[tokio::test]
async fn read_only_tokens_see_everything_and_change_nothing() {
    let install = Install::new().await;
    let mut api = Api::new(&install).await;
    let (_, c) = api.post("/clients", json!({"name": "target", "type": "m2m"})).await;
    let id = c["client_id"].as_str().unwrap().to_owned();
    let audit_before = api.get("/audit-events?limit=500").await.1["items"].as_array().unwrap().len();
    let write_token = std::mem::replace(&mut api.token, admin_token(&api.s, "admin:read").await);
    let reader = &api;
    use reqwest::Method as M;
    let ops: Vec<(M, String, Option<Value>)> = vec![
        (M::POST, "/clients".into(), Some(json!({"name": "nope", "type": "m2m"}))),
        (M::PATCH, format!("/clients/{id}"), Some(json!({"name": "nope"}))),
        (M::DELETE, format!("/clients/{id}"), None),
        (M::POST, format!("/clients/{id}/disable"), None),
        (M::POST, format!("/clients/{id}/enable"), None),
        (M::POST, format!("/clients/{id}/secrets"), Some(json!({}))),
        (M::POST, format!("/clients/{id}/secrets/rotate"), Some(json!({"grace_seconds": 0}))),
        (M::POST, "/scopes".into(), Some(json!({"name": "x"}))),
        (M::PATCH, "/scopes/openid".into(), Some(json!({"description": "x"}))),
        (M::DELETE, "/scopes/users:read".into(), None),
        (M::POST, "/security-classes".into(), Some(json!({"name": "x"}))),
    ];
    for (m, path, body) in ops {
        let (status, b, _) = reader.call(m.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{m} {path}: {b}");
    }
    for path in [
        "/clients",
        &format!("/clients/{id}"),
        &format!("/clients/{id}/secrets"),
        "/scopes",
        "/security-classes",
        "/audit-events",
        "/keys",
    ] {
        let (status, b) = reader.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!b.to_string().contains("lks_"), "{path}");
    }
    api.token = write_token;
    let audit_after = api.get("/audit-events?limit=500").await.1["items"].as_array().unwrap().len();
    assert_eq!(audit_before, audit_after, "refused operations write no audit event");
}

#[tokio::test]
async fn delete_while_minting_leaves_no_active_token() {
    let install = Install::new().await;
    let api = Api::new(&install).await;
    for format in ["jwt", "opaque"] {
        let (_, c) = api
            .post(
                "/clients",
                json!({"name": format!("minting {format}"), "type": "m2m", "access_token_format": format}),
            )
            .await;
        let (id, secret) =
            (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned());
        let url = api.s.url("/oauth2/token");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut workers = Vec::new();
        for _ in 0..16 {
            let (url, id, secret, stop) = (url.clone(), id.clone(), secret.clone(), stop.clone());
            workers.push(tokio::spawn(async move {
                let mut tokens = Vec::new();
                for _ in 0..200 {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let (status, body) = post_basic(&url, &id, &secret, &[("grant_type", "client_credentials")]).await;
                    if status == 200 {
                        tokens.push(body["access_token"].as_str().unwrap().to_owned());
                    }
                }
                tokens
            }));
        }
        // Delete once minting is under way (first token observed), then stop.
        loop {
            let (status, _) = post_basic(&url, &id, &secret, &[("grant_type", "client_credentials")]).await;
            if status == 200 {
                break;
            }
        }
        let (status, _, _) = api.call(reqwest::Method::DELETE, &format!("/clients/{id}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        assert!(!all.is_empty());
        for t in &all {
            assert_eq!(
                introspect(&api.s, "latchkey-admin", ADMIN_SECRET, t).await,
                json!({"active": false}),
                "{format}"
            );
        }
        // Refused: 401, or 429 once the workers' failed attempts after the
        // delete have passed the throttle's allowance.
        assert!(matches!(api.token(&id, &secret).await, 401 | 429));
    }
}

#[tokio::test]
async fn redirect_tester_uses_the_authorize_matcher() {
    let install = Install::new().await;
    let api = Api::new(&install).await;
    let (_, c) = api.post("/clients", json!({"name": "tester", "type": "spa", "redirect_uris": ["http://127.0.0.1/cb", "https://app.example.com/cb"]})).await;
    let id = c["client_id"].as_str().unwrap();
    for (uri, ok) in [
        ("http://127.0.0.1:51004/cb", true),
        ("https://app.example.com/cb", true),
        ("https://app.example.com/cb/", false),
        ("https://APP.example.com/cb", false),
        ("https://app.example.com/cb?x=1", false),
        ("http://127.0.0.1:51004/cb2", false),
        ("https://app.example.com@evil.example/cb", false),
    ] {
        let (status, r) = api.post(&format!("/clients/{id}/test-redirect"), json!({"uri": uri})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(r["matches"], ok, "{uri}: {r}");
        assert!(!r["reason"].as_str().unwrap().is_empty());
    }
}
