#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use super::{document, render_html};

fn doc() -> Value {
    serde_json::from_str(&document()).unwrap()
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

/// `docs/openapi.json` is exactly what the code generates. CI fails when a
/// change to the API is not reflected in the checked-in document.
#[test]
fn openapi_snapshot_is_current() {
    let generated = document();
    let path = snapshot_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    if stored != generated {
        let line = stored.lines().zip(generated.lines()).position(|(a, b)| a != b).map_or_else(
            || {
                format!(
                    "the files differ in length ({} vs {} lines)",
                    stored.lines().count(),
                    generated.lines().count()
                )
            },
            |i| format!("first difference at line {}", i + 1),
        );
        panic!(
            "docs/openapi.json is out of date with the code ({line}).\n\
             run `UPDATE_OPENAPI=1 cargo test -p latchkey-web openapi` to refresh docs/openapi.json, \
             and commit the result"
        );
    }
}

/// Router sources a router may `.merge(NAME::routes())`, by NAME.
const MERGED_ROUTERS: &[(&str, &str)] = &[
    ("clients", include_str!("../admin_api/clients.rs")),
    ("secrets", include_str!("../admin_api/secrets.rs")),
    ("audit", include_str!("../admin_api/audit.rs")),
    ("keys", include_str!("../admin_api/keys.rs")),
    ("scopes", include_str!("../admin_api/scopes.rs")),
    ("classes", include_str!("../admin_api/classes.rs")),
    ("users", include_str!("../admin_api/users.rs")),
    ("tenants", include_str!("../admin_api/tenants.rs")),
    ("providers", include_str!("../admin_api/providers.rs")),
    ("remote_clients", include_str!("../admin_api/remote_clients.rs")),
    ("authorizations", include_str!("../admin_api/authorizations.rs")),
    ("meta", include_str!("../admin_api/meta.rs")),
    ("token", include_str!("../oauth/token.rs")),
    ("device", include_str!("../oauth/device.rs")),
    ("introspect", include_str!("../oauth/introspect.rs")),
    ("revoke", include_str!("../oauth/revoke.rs")),
    ("userinfo", include_str!("../oauth/userinfo.rs")),
    ("discovery", include_str!("../oauth/discovery.rs")),
];

/// Routes registered under these prefixes may be missing from the document,
/// for now (none today). The test fails once an entry no longer excuses
/// anything, so remove it then.
const NOT_YET_DOCUMENTED: &[&str] = &[];

/// `(METHOD, path)` of every `.route(...)` in a router's source (following
/// `.merge(NAME::routes())` into [`MERGED_ROUTERS`]), with a prefix.
fn routes_in(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
    routes_of(source, "fn routes(", prefix)
}

/// As [`routes_in`], for the router function `function` (e.g. `"fn routes("`).
fn routes_of(source: &str, function: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let start = source.find(function).unwrap_or_else(|| panic!("a {function}) function"));
    let body = &source[start..];
    let body = &body[..body.find("\n}").unwrap()];
    let mut out = BTreeSet::new();
    for call in body.split(".route(\"").skip(1) {
        let (path, rest) = call.split_once('"').unwrap();
        // The handlers of this route: up to the end of the `.route(...)` line.
        let handlers = rest.split('\n').next().unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            let needle = format!("{method}(");
            let found = handlers
                .match_indices(&needle)
                .any(|(i, _)| handlers[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')));
            if found {
                out.insert((method.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    for merge in body.split(".merge(").skip(1) {
        if merge.trim_start().starts_with("Router::new()") {
            continue; // a router built in place: its own `.merge(...)` calls follow
        }
        let name = merge.split_once("::routes()").map(|(m, _)| m.rsplit("::").next().unwrap_or(m));
        let name = name.unwrap_or_else(|| panic!("cannot follow .merge({}", merge.lines().next().unwrap_or("")));
        let (_, merged) = MERGED_ROUTERS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("routes() merges {name}::routes(): add its source to MERGED_ROUTERS"));
        out.extend(routes_in(merged, prefix));
    }
    assert!(!out.is_empty(), "no routes found under {prefix:?}: did the router's shape change?");
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn excused(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

/// Every route the routers register (read from their source) is in the
/// document, and the document names no route that does not exist.
#[test]
fn openapi_documents_every_route() {
    let mut registered = routes_in(include_str!("../admin_api/mod.rs"), "/api/v1");
    registered.extend(routes_in(include_str!("../oauth/mod.rs"), ""));
    // The RFC 8414 forms of the tenants' metadata, merged into the site once.
    registered.extend(routes_of(include_str!("../oauth/discovery.rs"), "fn inserted_routes(", ""));
    let documented = documented(&doc());
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    for prefix in NOT_YET_DOCUMENTED {
        assert!(
            missing.iter().any(|(_, p)| excused(p, prefix)),
            "{prefix} is documented now: remove it from NOT_YET_DOCUMENTED"
        );
    }
    let missing: Vec<_> =
        missing.into_iter().filter(|(_, p)| !NOT_YET_DOCUMENTED.iter().any(|x| excused(p, x))).collect();
    assert!(
        missing.is_empty(),
        "routes without an OpenAPI operation (add #[utoipa::path] and list it in ApiDoc): {missing:?}"
    );
    assert!(extra.is_empty(), "documented operations that no router serves: {extra:?}");
}

/// The document imports the handlers; the handlers get it from the state
/// (`AppState::api`), never by import, so the modules form no circle.
#[test]
fn handlers_do_not_import_the_document() {
    let shared = [
        ("admin_api", include_str!("../admin_api/mod.rs")),
        ("admin_api::responses", include_str!("../admin_api/responses.rs")),
        ("oauth", include_str!("../oauth/mod.rs")),
        ("json_body", include_str!("../json_body.rs")),
    ];
    for (name, source) in MERGED_ROUTERS.iter().chain(&shared) {
        let code = source.split("#[cfg(test)]").next().unwrap();
        let imports = code.contains("crate::openapi::") || code.contains("use crate::openapi;");
        assert!(!imports, "{name} imports crate::openapi: take the document from the state");
    }
}

#[test]
fn openapi_document_shape() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Latchkey admin API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["components"]["securitySchemes"]["oauth2"]["type"], "oauth2");
    assert_eq!(
        doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"],
        "/oauth2/token"
    );
    let responses = &doc["components"]["responses"];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{} {path}", method.to_uppercase());
            assert!(op["operationId"].is_string(), "{what}: no operationId");
            assert!(op["summary"].is_string(), "{what}: no summary (a doc comment on the handler)");
            assert!(op["tags"].as_array().is_some_and(|t| t.len() == 1), "{what}: one tag");
            if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
                continue;
            }
            // Admin operations: an OAuth 2.0 scope requirement, and problem+json errors.
            let scopes = &op["security"][0]["oauth2"];
            let write = method != "get" && !path.ends_with("/test-redirect");
            let want = if write { "admin" } else { "admin:read" };
            assert_eq!(scopes, &serde_json::json!([want]), "{what}: security");
            let rs = op["responses"].as_object().unwrap();
            for status in ["401", "403"] {
                assert!(rs.contains_key(status), "{what}: no {status} response");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(rs.contains_key(status), "{what}: takes a body but documents no {status}");
                }
            }
            for (status, r) in rs {
                if status.starts_with('4') || status.starts_with('5') {
                    let name =
                        r["$ref"].as_str().unwrap_or_else(|| panic!("{what} {status}: not a shared problem response"));
                    let name = name.rsplit('/').next().unwrap();
                    let schema = &responses[name]["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/Problem", "{what} {status}");
                } else if status != "204" {
                    assert!(r["content"]["application/json"]["schema"].is_object(), "{what} {status}: no JSON body");
                }
            }
        }
    }
}

/// Every `$ref` in the document points at something in it.
#[test]
fn openapi_refs_resolve() {
    fn walk(doc: &Value, v: &Value) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external ref {r}"));
                    assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
                }
                m.values().for_each(|x| walk(doc, x));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(doc, x)),
            _ => {}
        }
    }
    let doc = doc();
    walk(&doc, &doc);
}

/// The request schemas document the fields clients really send.
#[test]
fn openapi_request_schemas_reflect_serde() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    // NewClient: `type` (renamed) and every ClientConfig field (flattened).
    let new_client = schemas["NewClient"].to_string();
    assert!(new_client.contains("\"type\""), "{new_client}");
    assert!(new_client.contains("#/components/schemas/ClientConfig"), "{new_client}");
    for field in ["grant_types", "redirect_uris", "scopes", "access_token_lifetime", "token_endpoint_auth_method"] {
        assert!(schemas["ClientConfig"]["properties"].get(field).is_some(), "ClientConfig.{field}");
    }
    // Problem: `type`, not `kind`; `errors` only when present.
    let problem = &schemas["Problem"];
    assert!(problem["properties"].get("type").is_some());
    assert!(!problem["required"].as_array().unwrap().contains(&"errors".into()));
    // ScopeSet is an array of distinct strings.
    assert_eq!(schemas["ScopeSet"]["type"], "array");
    assert_eq!(schemas["ScopeSet"]["uniqueItems"], true);
    // GrantType values are the RFC names.
    let grants = schemas["GrantType"].to_string();
    assert!(grants.contains("urn:ietf:params:oauth:grant-type:device_code"), "{grants}");
}

#[test]
fn docs_page_is_self_contained_and_lists_every_operation() {
    let doc = doc();
    let html = render_html(&doc);
    assert!(html.starts_with("<!doctype html>"));
    // Nothing loaded from elsewhere, nothing inline that a strict CSP would block.
    for banned in ["<script", "style=", "<style", "src=", "href=\"http", "href=\"//", "<iframe", "<img", " on"] {
        let hit = if banned == " on" {
            // No inline event handlers (onclick=, onload=, …).
            html.match_indices(" on").any(|(i, _)| {
                let rest = &html[i + 3..];
                rest.split(|c: char| !c.is_ascii_alphabetic()).next().is_some_and(|w| !w.is_empty())
                    && rest.trim_start_matches(|c: char| c.is_ascii_alphabetic()).starts_with('=')
            })
        } else {
            html.contains(banned)
        };
        assert!(!hit, "the docs page contains {banned:?}");
    }
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/api/docs.css\">"));
    for (method, path) in documented(&doc) {
        let needle = format!(">{method}</span><code>{}</code>", super::esc(&path));
        assert!(html.contains(&needle), "the docs page lacks {method} {path}");
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(html.contains(&format!("id=\"schema-{name}\"")), "the docs page lacks schema {name}");
    }
}

/// The token request documents exactly the grants the token endpoint serves.
#[test]
fn openapi_token_grants_match_the_server() {
    let doc = doc();
    let documented: BTreeSet<String> = doc["components"]["schemas"]["ServedGrant"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let served: BTreeSet<String> =
        latchkey_app::tokens::SUPPORTED_GRANTS.iter().map(|g| g.as_str().to_owned()).collect();
    assert_eq!(documented, served, "update ServedGrant in oauth/token.rs");
}

/// What linters and client generators need from every operation (the tools
/// themselves run in `scripts/openapi-check.sh`): a distinct operationId, a
/// description, a security requirement (an empty one where the operation is
/// public), a 4xx answer; a server; and `Location` on a 201 that creates one
/// addressable resource.
#[test]
fn every_operation_is_complete_for_linters_and_generators() {
    // 201s that create nothing with an address of its own: many clients at
    // once, keys (listed at /api/v1/keys), a flow started in a browser.
    const NO_LOCATION: &[&str] = &["create_clients", "rotate_keys", "authorize_authorization"];
    let doc = doc();
    assert!(doc["servers"].as_array().is_some_and(|s| !s.is_empty()), "a server");
    let flows = &doc["components"]["securitySchemes"]["oauth2"]["flows"];
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "{what}: operationId {id} is used twice");
            assert!(op["description"].as_str().is_some_and(|d| !d.trim().is_empty()), "{what}: no description");
            let security = op["security"].as_array().unwrap_or_else(|| panic!("{what}: no security"));
            for requirement in security {
                for (scheme, scopes) in requirement.as_object().unwrap() {
                    for scope in scopes.as_array().unwrap() {
                        let declared = flows
                            .as_object()
                            .unwrap()
                            .values()
                            .any(|f| f["scopes"].get(scope.as_str().unwrap()).is_some());
                        assert!(scheme != "oauth2" || declared, "{what}: scope {scope} is in no flow of {scheme}");
                    }
                }
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('4')), "{what}: no 4xx response");
            if let Some(created) = responses.get("201") {
                let location = created["headers"].get("Location").is_some();
                assert_eq!(location, !NO_LOCATION.contains(&id), "{what}: Location on its 201");
            }
        }
    }
    assert!(ids.contains("userinfo") && ids.contains("userinfo_post"), "both userinfo methods");
}

/// The bounds the document gives are the ones the server enforces.
#[test]
fn documented_bounds_are_the_servers() {
    let doc = doc();
    let mut limits = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["name"] == "limit") {
                let what = format!("{method} {path} limit");
                assert_eq!(p["schema"]["minimum"], 1, "{what}");
                assert_eq!(p["schema"]["maximum"], latchkey_app::admin::MAX_PAGE_SIZE, "{what}");
                assert_eq!(p["schema"]["default"], latchkey_app::admin::DEFAULT_PAGE_SIZE, "{what}");
                limits += 1;
            }
        }
    }
    assert_eq!(limits, 3, "clients, users and audit events take a limit");
    let grace = &doc["components"]["schemas"]["RotateSecret"]["properties"]["grace_seconds"];
    assert_eq!(grace["minimum"], 0);
    assert_eq!(grace["maximum"], latchkey_app::admin::secrets::MAX_GRACE_SECONDS);
    // Filters with a closed set of values say which.
    let list = &doc["paths"]["/api/v1/clients"]["get"]["parameters"];
    for (name, schema) in
        [("type", "ClientType"), ("grant_type", "GrantType"), ("status", "ClientStatus"), ("sort", "ClientSortOrder")]
    {
        let p = list.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(p["schema"]["$ref"], format!("#/components/schemas/{schema}"), "{name}");
    }
}
