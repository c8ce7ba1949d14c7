//! Every route this crate serves, called through the whole router with
//! `tower::ServiceExt::oneshot` (no socket): the status and content type of
//! an anonymous request and, for the admin API, of a request with an admin
//! token but sample ids and no body. The table must name every route the
//! routers register (read from their source) and every operation of the
//! OpenAPI document, so a new route fails here until it has a row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use latchkey_app::bootstrap::BootstrapSecrets;
use latchkey_app::{App, AppOptions, ManualClock, OsRng};
use latchkey_crypto::MasterKey;
use latchkey_crypto::password::PasswordCost;
use latchkey_store::testing::TestDb;
use tower::ServiceExt;

const ADMIN_SECRET: &str = "test-admin-secret-0123456789abcdefghij";

const JSON: &str = "application/json";
const PROBLEM: &str = "application/problem+json";
const HTML: &str = "text/html; charset=utf-8";
const NONE: &str = "";
const SCIM: &str = "application/scim+json";

/// One route: `(method, route as registered, anonymous answer, admin answer)`;
/// an answer is `(status, content type)`, the admin one only for `/api/v1`.
type Row = (&'static str, &'static str, (u16, &'static str), Option<(u16, &'static str)>);

const ROUTES: &[Row] = &[
    // The admin API: a bearer token first; then, with one, the sample ids do not exist
    // and bodies are missing.
    ("GET", "/api/v1/audit-events", (401, PROBLEM), Some((200, JSON))),
    ("GET", "/api/v1/authorizations", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/authorizations", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/authorizations/{namespace}/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("DELETE", "/api/v1/authorizations/{namespace}/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/authorizations/{namespace}/{name}/authorize", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/authorizations/{namespace}/{name}/refresh", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/authorizations/{namespace}/{name}/token", (401, PROBLEM), Some((404, PROBLEM))),
    ("GET", "/api/v1/clients", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/clients", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/clients/{client_id}", (401, PROBLEM), Some((404, PROBLEM))),
    ("PATCH", "/api/v1/clients/{client_id}", (401, PROBLEM), Some((415, PROBLEM))),
    ("DELETE", "/api/v1/clients/{client_id}", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/clients/{client_id}/disable", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/clients/{client_id}/enable", (401, PROBLEM), Some((404, PROBLEM))),
    ("GET", "/api/v1/clients/{client_id}/secrets", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/clients/{client_id}/secrets", (401, PROBLEM), Some((415, PROBLEM))),
    ("POST", "/api/v1/clients/{client_id}/secrets/rotate", (401, PROBLEM), Some((415, PROBLEM))),
    ("DELETE", "/api/v1/clients/{client_id}/secrets/{secret_id}", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/clients/{client_id}/test-redirect", (401, PROBLEM), Some((415, PROBLEM))),
    ("POST", "/api/v1/clients:batch", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/keys", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/keys/rotate", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/openapi.json", (200, JSON), Some((200, JSON))),
    ("GET", "/api/v1/me", (401, PROBLEM), Some((200, JSON))),
    ("GET", "/api/v1/providers", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/providers", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/providers/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("PATCH", "/api/v1/providers/{name}", (401, PROBLEM), Some((415, PROBLEM))),
    ("DELETE", "/api/v1/providers/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("GET", "/api/v1/remote-clients", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/remote-clients", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/remote-clients/{namespace}/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("PATCH", "/api/v1/remote-clients/{namespace}/{name}", (401, PROBLEM), Some((415, PROBLEM))),
    ("DELETE", "/api/v1/remote-clients/{namespace}/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/remote-clients/{namespace}/{name}/secret", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/scopes", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/scopes", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/scopes/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("PATCH", "/api/v1/scopes/{name}", (401, PROBLEM), Some((415, PROBLEM))),
    ("DELETE", "/api/v1/scopes/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("GET", "/api/v1/security-classes", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/security-classes", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/security-classes/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("PATCH", "/api/v1/security-classes/{name}", (401, PROBLEM), Some((415, PROBLEM))),
    ("DELETE", "/api/v1/security-classes/{name}", (401, PROBLEM), Some((404, PROBLEM))),
    ("GET", "/api/v1/tenants", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/tenants", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/tenants/{tenant_id}", (401, PROBLEM), Some((404, PROBLEM))),
    ("PATCH", "/api/v1/tenants/{tenant_id}", (401, PROBLEM), Some((415, PROBLEM))),
    ("DELETE", "/api/v1/tenants/{tenant_id}", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/tenants/{tenant_id}/disable", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/tenants/{tenant_id}/enable", (401, PROBLEM), Some((404, PROBLEM))),
    ("GET", "/api/v1/users", (401, PROBLEM), Some((200, JSON))),
    ("POST", "/api/v1/users", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/users/{user_id}", (401, PROBLEM), Some((404, PROBLEM))),
    ("PATCH", "/api/v1/users/{user_id}", (401, PROBLEM), Some((415, PROBLEM))),
    ("GET", "/api/v1/users/{user_id}/consents", (401, PROBLEM), Some((404, PROBLEM))),
    ("DELETE", "/api/v1/users/{user_id}/consents/{client_id}", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/users/{user_id}/disable", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/users/{user_id}/enable", (401, PROBLEM), Some((404, PROBLEM))),
    ("GET", "/api/v1/users/{user_id}/federated-links", (401, PROBLEM), Some((404, PROBLEM))),
    ("DELETE", "/api/v1/users/{user_id}/federated-links/{provider}/{subject}", (401, PROBLEM), Some((404, PROBLEM))),
    ("POST", "/api/v1/users/{user_id}/password", (401, PROBLEM), Some((415, PROBLEM))),
    // The protocol endpoints and discovery.
    ("GET", "/.well-known/oauth-authorization-server", (200, JSON), None),
    ("GET", "/.well-known/openid-configuration", (200, JSON), None),
    // RFC 8414 §3.1: the well-known segment before the issuer's path (`/t/{tenant}`);
    // the sample tenant does not exist.
    ("GET", "/.well-known/oauth-authorization-server/t/{tenant}", (404, PROBLEM), None),
    ("GET", "/.well-known/openid-configuration/t/{tenant}", (404, PROBLEM), None),
    ("POST", "/oauth2/introspect", (400, JSON), None),
    ("GET", "/oauth2/jwks", (200, "application/jwk-set+json"), None),
    ("POST", "/oauth2/revoke", (400, JSON), None),
    ("POST", "/oauth2/token", (400, JSON), None),
    ("POST", "/oauth2/device_authorization", (400, JSON), None),
    ("GET", "/oauth2/userinfo", (401, JSON), None),
    ("POST", "/oauth2/userinfo", (401, JSON), None),
    // SCIM (RFC 7644): a connector's bearer token first; discovery is public.
    ("GET", "/scim/v2/Users", (401, SCIM), None),
    ("POST", "/scim/v2/Users", (401, SCIM), None),
    ("POST", "/scim/v2/.search", (401, SCIM), None),
    ("POST", "/scim/v2/Users/.search", (401, SCIM), None),
    ("GET", "/scim/v2/Users/{id}", (401, SCIM), None),
    ("PUT", "/scim/v2/Users/{id}", (401, SCIM), None),
    ("PATCH", "/scim/v2/Users/{id}", (401, SCIM), None),
    ("DELETE", "/scim/v2/Users/{id}", (401, SCIM), None),
    ("GET", "/scim/v2/Groups", (401, SCIM), None),
    ("POST", "/scim/v2/Groups", (401, SCIM), None),
    ("POST", "/scim/v2/Groups/.search", (401, SCIM), None),
    ("GET", "/scim/v2/Groups/{id}", (401, SCIM), None),
    ("PUT", "/scim/v2/Groups/{id}", (401, SCIM), None),
    ("PATCH", "/scim/v2/Groups/{id}", (401, SCIM), None),
    ("DELETE", "/scim/v2/Groups/{id}", (401, SCIM), None),
    ("GET", "/scim/v2/ServiceProviderConfig", (200, SCIM), None),
    ("GET", "/scim/v2/ResourceTypes", (200, SCIM), None),
    ("GET", "/scim/v2/ResourceTypes/{id}", (404, SCIM), None),
    ("GET", "/scim/v2/Schemas", (200, SCIM), None),
    ("GET", "/scim/v2/Schemas/{id}", (404, SCIM), None),
    ("ANY", "/scim/v2/{*rest}", (404, SCIM), None),
    // The sign-in pages: without a flow to continue, a page that says so.
    ("POST", "/consent", (400, HTML), None),
    // The device page: signing in first; a post without a form is refused.
    ("GET", "/device", (200, HTML), None),
    ("POST", "/device", (400, HTML), None),
    ("POST", "/login", (400, HTML), None),
    ("POST", "/logout", (400, HTML), None),
    ("GET", "/oauth2/authorize", (400, HTML), None),
    ("POST", "/oauth2/authorize", (400, HTML), None),
    ("GET", "/oauth2/logout", (200, HTML), None),
    ("POST", "/oauth2/logout", (400, HTML), None),
    // The upstream side in the browser.
    ("POST", "/federation/start", (400, HTML), None),
    ("GET", "/remote/callback/{provider}", (400, HTML), None),
    ("GET", "/remote/start", (400, HTML), None),
    // The console: a GET without a session goes to sign in (303), a POST is refused.
    ("GET", "/console", (303, NONE), None),
    ("GET", "/console/", (303, NONE), None),
    ("GET", "/console/audit", (303, NONE), None),
    ("GET", "/console/authorizations", (303, NONE), None),
    ("POST", "/console/authorizations", (401, HTML), None),
    ("POST", "/console/authorizations/{namespace}/{name}/delete", (401, HTML), None),
    ("GET", "/console/callback", (400, HTML), None),
    ("GET", "/console/classes", (303, NONE), None),
    ("POST", "/console/classes", (401, HTML), None),
    ("POST", "/console/classes/{name}", (401, HTML), None),
    ("POST", "/console/classes/{name}/delete", (401, HTML), None),
    ("GET", "/console/clients", (303, NONE), None),
    ("POST", "/console/clients/bulk", (401, HTML), None),
    ("GET", "/console/clients/new", (303, NONE), None),
    ("GET", "/console/clients/new/{kind}", (303, NONE), None),
    ("POST", "/console/clients/new/{kind}", (401, HTML), None),
    ("GET", "/console/clients/results", (303, NONE), None),
    ("GET", "/console/clients/{id}", (303, NONE), None),
    ("GET", "/console/clients/{id}/delete", (303, NONE), None),
    ("POST", "/console/clients/{id}/delete", (401, HTML), None),
    ("POST", "/console/clients/{id}/disable", (401, HTML), None),
    ("GET", "/console/clients/{id}/edit", (303, NONE), None),
    ("POST", "/console/clients/{id}/edit", (401, HTML), None),
    ("POST", "/console/clients/{id}/enable", (401, HTML), None),
    ("POST", "/console/clients/{id}/secrets/rotate", (401, HTML), None),
    ("POST", "/console/clients/{id}/secrets/{secret}/revoke", (401, HTML), None),
    ("POST", "/console/clients/{id}/devices/{device}/revoke", (401, HTML), None),
    ("GET", "/console/keys", (303, NONE), None),
    ("POST", "/console/keys/rotate", (401, HTML), None),
    ("GET", "/console/providers", (303, NONE), None),
    ("POST", "/console/providers", (401, HTML), None),
    ("POST", "/console/providers/{name}/delete", (401, HTML), None),
    ("GET", "/console/remote-clients", (303, NONE), None),
    ("POST", "/console/remote-clients", (401, HTML), None),
    ("POST", "/console/remote-clients/{namespace}/{name}/delete", (401, HTML), None),
    ("POST", "/console/remote-clients/{namespace}/{name}/secret", (401, HTML), None),
    ("GET", "/console/scopes", (303, NONE), None),
    ("POST", "/console/scopes", (401, HTML), None),
    ("POST", "/console/scopes/{name}", (401, HTML), None),
    ("POST", "/console/scopes/{name}/delete", (401, HTML), None),
    ("GET", "/console/settings", (303, NONE), None),
    ("POST", "/console/settings", (401, HTML), None),
    ("POST", "/console/signout", (401, HTML), None),
    ("GET", "/console/switch", (303, NONE), None),
    ("GET", "/console/tenants", (303, NONE), None),
    ("POST", "/console/tenants", (401, HTML), None),
    ("POST", "/console/tenants/{id}/delete", (401, HTML), None),
    ("POST", "/console/tenants/{id}/disable", (401, HTML), None),
    ("POST", "/console/tenants/{id}/enable", (401, HTML), None),
    ("GET", "/console/users", (303, NONE), None),
    ("POST", "/console/users", (401, HTML), None),
    ("POST", "/console/users/{id}/disable", (401, HTML), None),
    ("POST", "/console/users/{id}/enable", (401, HTML), None),
    ("POST", "/console/users/{id}/password", (401, HTML), None),
    ("POST", "/console/users/{id}/role", (401, HTML), None),
    ("GET", "/console/users/{id}", (303, NONE), None),
    ("POST", "/console/users/{id}/devices/{device}/revoke", (401, HTML), None),
    ("POST", "/console/users/{id}/consents/{client}/revoke", (401, HTML), None),
    // Unknown console pages: signed in first (a GET), then a 404 inside the console.
    ("ANY", "/console/{*rest}", (303, NONE), None),
    // The front door: a browser goes to the console.
    ("GET", "/", (303, NONE), None),
    // Health, metrics, assets and the API reference.
    ("GET", "/api/docs", (200, HTML), None),
    ("GET", "/api/docs.css", (200, "text/css; charset=utf-8"), None),
    ("GET", "/assets/console.js", (200, "text/javascript; charset=utf-8"), None),
    ("GET", "/assets/favicon.svg", (200, "image/svg+xml"), None),
    ("GET", "/assets/form-post.js", (200, "text/javascript; charset=utf-8"), None),
    ("GET", "/assets/latchkey.css", (200, "text/css; charset=utf-8"), None),
    ("GET", "/healthz", (200, "text/plain; charset=utf-8"), None),
    ("GET", "/metrics", (200, "application/openmetrics-text; version=1.0.0; charset=utf-8"), None),
    ("GET", "/readyz", (200, "text/plain; charset=utf-8"), None),
];

/// A real App on a fresh database, bootstrapped, behind the whole router.
struct World {
    _db: TestDb,
    router: Router,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let store = latchkey_store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let options = AppOptions {
        public_url: "https://issuer.test/".into(),
        password_cost: PasswordCost { memory_kib: 1024, iterations: 1 },
        ..AppOptions::default()
    };
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let app = App::new(store, &MasterKey::from_bytes([7; 32]), clock, Arc::new(OsRng), &options).unwrap();
    app.tenants
        .bootstrap_default_tenant(BootstrapSecrets {
            admin_password: Some("a-long-enough-password".into()),
            admin_client_secret: Some(ADMIN_SECRET.into()),
        })
        .await
        .unwrap();
    World { _db: db, router: latchkey_web::router(app) }
}

impl World {
    async fn call(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// An access token of the bootstrapped admin client (scope `admin`).
    async fn admin_token(&self) -> String {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("latchkey-admin:{ADMIN_SECRET}"));
        let req = Request::post("/oauth2/token")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials&scope=admin"))
            .unwrap();
        let r = self.call(req).await;
        assert_eq!(r.status(), 200, "the admin client gets a token");
        let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }
}

/// The route with sample values for its parameters.
fn concrete(route: &str) -> String {
    route
        .split('/')
        .map(|seg| match seg {
            s if s.starts_with("{*") => "x/y",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn content_type(r: &Response<Body>) -> String {
    r.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn request(method: &str, route: &str, token: Option<&str>) -> Request<Body> {
    let method = if method == "ANY" { "GET" } else { method };
    let mut b = Request::builder().method(method).uri(concrete(route));
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

/// `(METHOD, route)` of every `.route(...)` in the crate's source; routes of
/// `admin_api/` are nested under `/api/v1`.
fn registered() -> BTreeSet<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && p.file_name().is_some_and(|n| n != "tests.rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let prefix = if file.starts_with(src.join("admin_api")) { "/api/v1" } else { "" };
        for (start, _) in text.match_indices(".route(") {
            // The call's arguments: up to the matching parenthesis.
            let args = &text[start + ".route(".len()..];
            let mut depth = 1;
            let end = args
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let args = &args[..end];
            let path = args.split('"').nth(1).unwrap();
            for method in ["get", "post", "put", "patch", "delete", "any"] {
                let needle = format!("{method}(");
                let found = args
                    .match_indices(&needle)
                    .any(|(i, _)| args[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')));
                if found {
                    out.insert((method.to_uppercase(), format!("{prefix}{path}")));
                }
            }
        }
    }
    out
}

fn documented() -> BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(&latchkey_web::openapi::document()).unwrap();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

fn rows() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (method, route, ..) in ROUTES {
        assert!(out.insert(((*method).to_owned(), (*route).to_owned())), "two rows for {method} {route}");
    }
    out
}

/// The table names exactly the routes the routers register and the
/// operations the OpenAPI document describes.
#[test]
fn every_route_has_a_row() {
    let mut served = registered();
    served.extend(documented());
    let rows = rows();
    let missing: Vec<_> = served.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&served).collect();
    assert!(missing.is_empty(), "routes without a row in ROUTES: {missing:?}");
    assert!(stale.is_empty(), "rows of ROUTES for routes that no router serves: {stale:?}");
}

#[tokio::test]
async fn every_route_answers_as_its_row_says() {
    let w = world().await;
    let token = w.admin_token().await;
    let mut wrong = Vec::new();
    for &(method, route, anonymous, admin) in ROUTES {
        let cases = [(None, Some(anonymous)), (Some(token.as_str()), admin)];
        for (token, want) in cases {
            let Some((status, ctype)) = want else { continue };
            let r = w.call(request(method, route, token)).await;
            let got = (r.status().as_u16(), content_type(&r));
            let who = if token.is_some() { "admin" } else { "anonymous" };
            if got != (status, ctype.to_owned()) {
                wrong.push(format!("{method} {route} ({who}): {got:?}, the row says {:?}", (status, ctype)));
            }
            if r.headers().get(header::X_CONTENT_TYPE_OPTIONS).is_none_or(|v| v != "nosniff") {
                wrong.push(format!("{method} {route} ({who}): no X-Content-Type-Options: nosniff"));
            }
            if !r.headers().contains_key("x-request-id") {
                wrong.push(format!("{method} {route} ({who}): no X-Request-Id"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers differ:\n{}", wrong.len(), wrong.join("\n"));
}

/// Requests with a body, as the admin client: `(method, path, content type,
/// body, status, content type of the answer)`, in order (later rows see
/// what earlier ones created).
const WITH_BODIES: &[(&str, &str, &str, &str, u16, &str)] = &[
    ("POST", "/api/v1/scopes", JSON, r#"{"name": "invoices:read", "description": "Read invoices"}"#, 201, JSON),
    ("POST", "/api/v1/scopes", JSON, r#"{"name": "invoices:read"}"#, 409, PROBLEM),
    ("POST", "/api/v1/scopes", JSON, r#"{"description": 5}"#, 422, PROBLEM),
    ("POST", "/api/v1/scopes", JSON, "{not json", 400, PROBLEM),
    ("POST", "/api/v1/scopes", "text/plain", "name=x", 415, PROBLEM),
    ("GET", "/api/v1/scopes/invoices:read", NONE, "", 200, JSON),
    ("GET", "/api/v1/scopes?colour=red", NONE, "", 400, PROBLEM),
    ("PATCH", "/api/v1/scopes/invoices:read", JSON, r#"{"description": "Invoices"}"#, 200, JSON),
    ("POST", "/api/v1/security-classes", JSON, r#"{"name": "finance", "scopes": ["invoices:read"]}"#, 201, JSON),
    ("DELETE", "/api/v1/scopes/invoices:read", NONE, "", 409, PROBLEM),
    ("DELETE", "/api/v1/security-classes/finance", NONE, "", 204, NONE),
    ("DELETE", "/api/v1/scopes/invoices:read", NONE, "", 204, NONE),
    ("POST", "/api/v1/clients", JSON, r#"{"name": "Billing", "type": "m2m"}"#, 201, JSON),
    ("POST", "/api/v1/clients/x/test-redirect", JSON, r#"{"uri": "https://a.test/cb"}"#, 404, PROBLEM),
    ("POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "token=nonsense", 401, JSON),
    // Page sizes outside 1-500 are refused, not clamped.
    ("GET", "/api/v1/clients?limit=500", NONE, "", 200, JSON),
    ("GET", "/api/v1/clients?limit=0", NONE, "", 400, PROBLEM),
    ("GET", "/api/v1/clients?limit=501", NONE, "", 400, PROBLEM),
    ("GET", "/api/v1/audit-events?limit=1", NONE, "", 200, JSON),
    ("GET", "/api/v1/audit-events?limit=0", NONE, "", 400, PROBLEM),
    ("GET", "/api/v1/audit-events?limit=501", NONE, "", 400, PROBLEM),
    ("GET", "/api/v1/users?limit=500", NONE, "", 200, JSON),
    ("GET", "/api/v1/users?limit=0", NONE, "", 400, PROBLEM),
    ("GET", "/api/v1/users?limit=501", NONE, "", 400, PROBLEM),
    // Filters documented as enums refuse other values.
    ("GET", "/api/v1/clients?grant_type=client_credentials", NONE, "", 200, JSON),
    ("GET", "/api/v1/clients?grant_type=bogus", NONE, "", 422, PROBLEM),
];

#[tokio::test]
async fn requests_with_bodies_answer_as_their_rows_say() {
    let w = world().await;
    let token = w.admin_token().await;
    let mut wrong = Vec::new();
    for &(method, path, ctype, body, status, want_ctype) in WITH_BODIES {
        let mut b =
            Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        if !ctype.is_empty() {
            b = b.header(header::CONTENT_TYPE, ctype);
        }
        let r = w.call(b.body(Body::from(body)).unwrap()).await;
        let got = (r.status().as_u16(), content_type(&r));
        if got != (status, want_ctype.to_owned()) {
            wrong.push(format!("{method} {path} {body}: {got:?}, the row says {:?}", (status, want_ctype)));
        }
    }
    assert!(wrong.is_empty(), "{} answers differ:\n{}", wrong.len(), wrong.join("\n"));
}

async fn json_of(r: Response<Body>) -> serde_json::Value {
    let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn the_front_door_sends_browsers_to_the_console_and_gives_clients_an_index() {
    let w = world().await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let r = w.call(Request::get("/").header(header::ACCEPT, browser).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], "https://issuer.test/console/");
    let r = w.call(Request::get("/").header(header::ACCEPT, JSON).body(Body::empty()).unwrap()).await;
    assert_eq!((r.status().as_u16(), content_type(&r)), (200, JSON.to_owned()));
    let index = json_of(r).await;
    assert_eq!(index["issuer"], "https://issuer.test");
    assert_eq!(index["openid_configuration"], "https://issuer.test/.well-known/openid-configuration");
    assert_eq!(index["console"], "https://issuer.test/console/");
    // Another tenant's front door leads to that tenant's console; an unknown
    // tenant's is a 404.
    let r = w.call(Request::get("/t/nope/").header(header::ACCEPT, browser).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn native_is_another_name_for_the_spa_preset() {
    let w = world().await;
    let token = w.admin_token().await;
    let body = serde_json::json!({"name": "Phone app", "type": "native", "redirect_uris": ["com.example.app:/cb"]});
    let r = w
        .call(
            Request::post("/api/v1/clients")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, JSON)
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created = json_of(r).await;
    let client = if created["client"].is_object() { &created["client"] } else { &created };
    assert_eq!(client["type"], "spa", "stored and shown as the preset it names");
    assert_eq!(client["token_endpoint_auth_method"], "none", "a public client, as the spa preset makes");
    let r = w
        .call(
            Request::get("/api/v1/clients?type=native")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), 200, "the alias filters lists too");
    let list = json_of(r).await;
    let items = list["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().filter_map(|c| c["client_id"].as_str()).collect();
    assert!(ids.contains(&client["client_id"].as_str().unwrap()), "{list}");
    assert!(ids.contains(&"latchkey-console"), "the console's own client is a spa too: {list}");
    assert!(items.iter().all(|c| c["type"] == "spa"), "only spa clients: {list}");
}

#[tokio::test]
async fn unknown_addresses_get_a_page_in_a_browser_and_problem_json_otherwise() {
    let w = world().await;
    let browser = "text/html,application/xhtml+xml,*/*;q=0.8";
    let r = w.call(Request::get("/no/such/page").header(header::ACCEPT, browser).body(Body::empty()).unwrap()).await;
    assert_eq!((r.status().as_u16(), content_type(&r)), (404, HTML.to_owned()));
    let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("Not found"));
    let r = w.call(Request::get("/no/such/page").body(Body::empty()).unwrap()).await;
    assert_eq!((r.status().as_u16(), content_type(&r)), (404, PROBLEM.to_owned()));
    let r = w.call(Request::get("/api/v1/nothing").header(header::ACCEPT, JSON).body(Body::empty()).unwrap()).await;
    assert_eq!((r.status().as_u16(), content_type(&r)), (404, PROBLEM.to_owned()));
}

impl World {
    async fn get(&self, path: &str) -> Response<Body> {
        self.call(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// `method path` as the admin client, with a JSON body when given.
    async fn admin(&self, token: &str, method: &str, path: &str, body: Option<serde_json::Value>) -> Response<Body> {
        let mut b =
            Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            b = b.header(header::CONTENT_TYPE, JSON);
        }
        self.call(b.body(body.map_or_else(Body::empty, |v| Body::from(v.to_string()))).unwrap()).await
    }
}

/// Every creation of one resource answers 201 with its absolute address in
/// `Location` (under the tenant's issuer), and that address reads it back.
#[tokio::test]
async fn creations_answer_201_with_the_new_resources_location() {
    let w = world().await;
    let token = w.admin_token().await;
    let cases = [
        ("/api/v1/scopes", serde_json::json!({"name": "invoices:read"}), "/api/v1/scopes/invoices:read"),
        ("/api/v1/security-classes", serde_json::json!({"name": "finance"}), "/api/v1/security-classes/finance"),
        ("/api/v1/users", serde_json::json!({"username": "grace"}), "/api/v1/users/"),
        ("/api/v1/clients", serde_json::json!({"name": "Billing", "type": "m2m"}), "/api/v1/clients/"),
        ("/api/v1/tenants", serde_json::json!({"tenant_id": "acme"}), "/api/v1/tenants/acme"),
    ];
    let mut client_id = String::new();
    for (path, body, want) in cases {
        let r = w.admin(&token, "POST", path, Some(body)).await;
        assert_eq!(r.status(), 201, "POST {path}");
        let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let created = json_of(r).await;
        assert!(location.starts_with(&format!("https://issuer.test{want}")), "POST {path}: Location {location}");
        let local = location.strip_prefix("https://issuer.test").unwrap();
        let r = w.admin(&token, "GET", local, None).await;
        assert_eq!(r.status(), 200, "GET {local}, the Location of POST {path}");
        if path == "/api/v1/clients" {
            client_id = created["client_id"].as_str().unwrap().to_owned();
            assert_eq!(local, format!("/api/v1/clients/{client_id}"));
        }
    }
    // A secret's address is below its client's (it can be revoked there).
    let r = w.admin(&token, "POST", &format!("/api/v1/clients/{client_id}/secrets"), Some(serde_json::json!({}))).await;
    assert_eq!(r.status(), 201);
    let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let secret = json_of(r).await;
    let secret_id = secret["secret"]["id"].as_str().unwrap();
    assert_eq!(location, format!("https://issuer.test/api/v1/clients/{client_id}/secrets/{secret_id}"));
    let r = w.admin(&token, "DELETE", location.strip_prefix("https://issuer.test").unwrap(), None).await;
    assert_eq!(r.status(), 204, "the secret's Location revokes it");
    // Another tenant's resources live under its issuer.
    let body = serde_json::json!({"tenant_id": "beta"});
    let created = json_of(w.admin(&token, "POST", "/api/v1/tenants", Some(body)).await).await;
    let secret = created["admin_client_secret"].as_str().unwrap();
    let beta = {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("latchkey-admin:{secret}"));
        let req = Request::post("/t/beta/oauth2/token")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials&scope=admin"))
            .unwrap();
        json_of(w.call(req).await).await["access_token"].as_str().unwrap().to_owned()
    };
    let r = w.admin(&beta, "POST", "/t/beta/api/v1/scopes", Some(serde_json::json!({"name": "reports"}))).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()[header::LOCATION], "https://issuer.test/t/beta/api/v1/scopes/reports");
}

/// A `limit` outside 1-500 is a 400 problem naming the bounds, not a clamp.
#[tokio::test]
async fn page_sizes_outside_the_documented_bounds_are_refused() {
    let w = world().await;
    let token = w.admin_token().await;
    for path in ["/api/v1/clients", "/api/v1/users", "/api/v1/audit-events"] {
        for limit in ["0", "501", "100000"] {
            let r = w.admin(&token, "GET", &format!("{path}?limit={limit}"), None).await;
            assert_eq!((r.status().as_u16(), content_type(&r)), (400, PROBLEM.to_owned()), "{path}?limit={limit}");
            let p = json_of(r).await;
            assert!(p["detail"].as_str().unwrap().contains("between 1 and 500"), "{p}");
        }
        let r = w.admin(&token, "GET", &format!("{path}?limit=1"), None).await;
        assert_eq!(r.status(), 200, "{path}?limit=1");
        assert!(json_of(r).await["items"].as_array().unwrap().len() <= 1);
    }
}

/// PostgreSQL cannot hold a NUL character, and a lookup with one failed as
/// a 500 (found by scripts/http-fuzz.py on PostgreSQL): a path with `%00`
/// names nothing, on every backend and every kind of route.
#[tokio::test]
async fn a_nul_byte_in_the_path_is_a_404_not_a_500() {
    let w = world().await;
    let token = w.admin_token().await;
    for (method, path) in [
        ("GET", "/api/v1/users/%00/consents"),
        ("DELETE", "/api/v1/users/x/consents/%00"),
        ("POST", "/api/v1/users/%00/disable"),
        ("POST", "/api/v1/users/%00/password"),
        ("GET", "/api/v1/providers/%00"),
        ("DELETE", "/api/v1/remote-clients/x/%00"),
        ("POST", "/api/v1/authorizations/x/%00/token"),
        ("GET", "/t/default/api/v1/users/%00"),
        ("GET", "/console/users/%00"),
        ("POST", "/console/scopes/%00/delete"),
        ("GET", "/scim/v2/Users/%00"),
    ] {
        let r = w.admin(&token, method, path, None).await;
        assert_eq!(r.status(), 404, "{method} {path}");
    }
}

/// RFC 8414 §3.1: a tenant's metadata also at `/.well-known/…/t/{tenant}`,
/// the same document (its own issuer) as under `/t/{tenant}/.well-known/…`;
/// unknown and disabled tenants are 404 problems.
#[tokio::test]
async fn tenant_metadata_is_served_where_rfc_8414_looks() {
    let w = world().await;
    let token = w.admin_token().await;
    let r = w.admin(&token, "POST", "/api/v1/tenants", Some(serde_json::json!({"tenant_id": "acme"}))).await;
    assert_eq!(r.status(), 201);
    for (inserted, appended) in [
        ("/.well-known/oauth-authorization-server/t/acme", "/t/acme/.well-known/oauth-authorization-server"),
        ("/.well-known/openid-configuration/t/acme", "/t/acme/.well-known/openid-configuration"),
    ] {
        let r = w.get(inserted).await;
        assert_eq!((r.status().as_u16(), content_type(&r)), (200, JSON.to_owned()), "{inserted}");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{inserted}: public, as the others");
        let doc = json_of(r).await;
        assert_eq!(doc["issuer"], "https://issuer.test/t/acme", "{inserted}");
        assert_eq!(doc["token_endpoint"], "https://issuer.test/t/acme/oauth2/token");
        assert_eq!(doc, json_of(w.get(appended).await).await, "{inserted} and {appended} are one document");
    }
    let r = w.admin(&token, "POST", "/api/v1/tenants/acme/disable", None).await;
    assert_eq!(r.status(), 200);
    for path in [
        "/.well-known/oauth-authorization-server/t/acme",
        "/.well-known/openid-configuration/t/acme",
        "/.well-known/oauth-authorization-server/t/nobody",
        "/.well-known/oauth-authorization-server/t/Not%20a%20tenant",
    ] {
        let r = w.get(path).await;
        assert_eq!((r.status().as_u16(), content_type(&r)), (404, PROBLEM.to_owned()), "{path}");
        assert_eq!(json_of(r).await["status"], 404, "{path}");
    }
}
