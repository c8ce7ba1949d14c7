//! Issue "trust", item 11: what a client library meets at the admin API.
//! Valid JSON that misses or mistypes fields is 422 naming every field;
//! only a body that is not JSON is 400; an undocumented query parameter is
//! refused (400), on every operation of the OpenAPI document.

use serde_json::{Value, json};

use crate::harness::*;

async fn send(s: &Server, token: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let url = s.url(path);
    let mut r = match method {
        "get" => http().get(url),
        "post" => http().post(url),
        "patch" => http().patch(url),
        "delete" => http().delete(url),
        m => panic!("{m}"),
    };
    r = r.bearer_auth(token);
    if let Some(b) = body {
        r = r.header("content-type", "application/json").body(b.to_owned());
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn concrete(path: &str) -> String {
    path.replace("{client_id}", "no-such-client")
        .replace("{secret_id}", "sec_none")
        .replace("{user_id}", "usr_none")
        .replace(['{', '}'], "")
}

#[tokio::test]
async fn admin_json_bodies_name_every_missing_field() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let token = admin_token(&s, "admin").await;
    let doc: Value = http().get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let schema_of = |r: &Value| -> Value {
        let mut s = r.clone();
        if let Some(name) = s["$ref"].as_str().map(|r| r.rsplit('/').next().unwrap().to_owned()) {
            s = doc["components"]["schemas"][name].clone();
        }
        s
    };
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            if !body.is_object() {
                continue;
            }
            let target = concrete(path);
            // Not JSON at all: 400.
            let (status, v) = send(&s, &token, method, &target, Some("{not json")).await;
            assert_eq!(status, 400, "{method} {path}: {v}");
            // JSON of the wrong shape: 422 with the body named.
            let (status, v) = send(&s, &token, method, &target, Some("[1, 2]")).await;
            assert_eq!(status, 422, "{method} {path}: {v}");
            assert!(!v["errors"].as_array().unwrap().is_empty(), "{method} {path}: {v}");
            // An empty object: every required field is named, each once.
            let schema = schema_of(body);
            let mut required: Vec<String> = Vec::new();
            for part in std::iter::once(&schema).chain(schema["allOf"].as_array().into_iter().flatten()) {
                let part = schema_of(part);
                required.extend(part["required"].as_array().into_iter().flatten().map(|r| r.as_str().unwrap().into()));
            }
            if !required.is_empty() {
                let (status, v) = send(&s, &token, method, &target, Some("{}")).await;
                assert_eq!(status, 422, "{method} {path}: {v}");
                let mut named: Vec<String> =
                    v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
                named.sort();
                required.sort();
                assert_eq!(named, required, "{method} {path}: {v}");
                assert!(v["type"].is_string(), "problem+json");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "every operation with a JSON body ({checked})");
    // The example from the review.
    let (status, v) = send(&s, &token, "post", "/api/v1/clients", Some(r#"{"type":"m2m"}"#)).await;
    assert_eq!(status, 422);
    assert_eq!(v["errors"], json!([{"field": "name", "message": "is required"}]));
    let (status, v) = send(&s, &token, "post", "/api/v1/users", Some(r#"{"username": 7, "roles": "owner"}"#)).await;
    assert_eq!(status, 422);
    assert_eq!(v["errors"].as_array().unwrap().len(), 2, "{v}");
}

#[tokio::test]
async fn list_endpoints_refuse_unknown_parameters() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let token = admin_token(&s, "admin").await;
    let doc: Value = http().get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut lists = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") || path.ends_with("openapi.json") {
            continue;
        }
        let Some(op) = item.get("get") else { continue };
        let target = concrete(path);
        let (status, v) = send(&s, &token, "get", &format!("{target}?surely_not_a_filter=1"), None).await;
        assert_eq!(status, 400, "GET {path}: {v}");
        assert!(v["detail"].as_str().unwrap().contains("surely_not_a_filter"), "{v}");
        // Every documented parameter is accepted (as far as the parameter
        // name goes: values may still be refused with their own message).
        for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "query") {
            let name = p["name"].as_str().unwrap();
            let (status, v) = send(&s, &token, "get", &format!("{target}?{name}=1"), None).await;
            assert_ne!(v["title"], "Unknown query parameter", "GET {path}?{name}: {status} {v}");
        }
        lists += 1;
    }
    assert!(lists > 15, "{lists}");
    // The audit log's `q` searches actor, action and target.
    let r = http()
        .post(s.url("/api/v1/scopes"))
        .bearer_auth(&token)
        .json(&json!({"name": "findme:read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let (status, v) = send(&s, &token, "get", "/api/v1/audit-events?q=FINDME", None).await;
    assert_eq!(status, 200);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["target_id"], "findme:read");
}
