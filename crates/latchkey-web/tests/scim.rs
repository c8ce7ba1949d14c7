//! SCIM over HTTP, through the whole router: content types, SCIM errors
//! for malformed input, ETag / If-Match headers, searches by POST, and the
//! tenant prefix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use latchkey_app::bootstrap::BootstrapSecrets;
use latchkey_app::{App, AppOptions, ManualClock, OsRng};
use latchkey_crypto::MasterKey;
use latchkey_crypto::password::PasswordCost;
use latchkey_store::testing::TestDb;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN_SECRET: &str = "test-admin-secret-0123456789abcdefghij";
const SCIM: &str = "application/scim+json";

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

struct Answer {
    status: u16,
    ctype: String,
    etag: Option<String>,
    body: Value,
}

impl World {
    async fn call(&self, method: &str, uri: &str, token: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut b = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let r = self.router.clone().oneshot(b.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
        let h = |n: header::HeaderName| r.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        let (ctype, etag) = (h(header::CONTENT_TYPE).unwrap_or_default(), h(header::ETAG));
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
        Answer { status, ctype, etag, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    async fn token(&self, basic: (&str, &str), scope: &str) -> String {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", basic.0, basic.1));
        let req = Request::post("/oauth2/token")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("grant_type=client_credentials&scope={scope}")))
            .unwrap();
        let r = self.router.clone().oneshot(req).await.unwrap();
        let v: Value = serde_json::from_slice(&axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap()).unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    /// A connector client's token with users:read users:write.
    async fn connector(&self) -> String {
        let admin = self.token(("latchkey-admin", ADMIN_SECRET), "admin").await;
        let body = json!({"name": "Directory", "type": "connector"}).to_string();
        let c = self.call("POST", "/api/v1/clients", &admin, &[("content-type", "application/json")], &body).await;
        assert_eq!(c.status, 201, "{}", c.body);
        let (id, secret) = (c.body["client_id"].as_str().unwrap(), c.body["client_secret"].as_str().unwrap());
        self.token((id, secret), "users:read%20users:write").await
    }
}

#[tokio::test]
async fn scim_over_http_answers_scim_json_with_etags_and_scim_errors() {
    let w = world().await;
    let t = w.connector().await;
    let ct = [("content-type", SCIM)];
    let error = |a: &Answer, status: u16, scim_type: Option<&str>| {
        assert_eq!((a.status, a.ctype.as_str()), (status, SCIM), "{}", a.body);
        assert_eq!(a.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!(a.body["status"], status.to_string());
        assert_eq!(a.body["scimType"].as_str(), scim_type, "{}", a.body);
    };
    error(&w.call("POST", "/scim/v2/Users", &t, &ct, "{not json").await, 400, Some("invalidSyntax"));
    error(&w.call("POST", "/scim/v2/Users", &t, &[("content-type", "text/plain")], "{}").await, 415, None);
    error(&w.call("POST", "/scim/v2/Users", &t, &ct, r#"{"userName": ["x"]}"#).await, 400, Some("invalidValue"));
    error(&w.call("GET", "/scim/v2/Users?filter=userName%20eq", &t, &[], "").await, 400, Some("invalidFilter"));
    error(&w.call("GET", "/scim/v2/Users?count=many", &t, &[], "").await, 400, Some("invalidValue"));
    error(&w.call("GET", "/scim/v2/Users", "not-a-token", &[], "").await, 401, None);
    error(&w.call("GET", "/scim/v2/Nothing", &t, &[], "").await, 404, None);

    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada"}).to_string();
    let made = w.call("POST", "/scim/v2/Users", &t, &ct, &user).await;
    assert_eq!((made.status, made.ctype.as_str()), (201, SCIM));
    let etag = made.etag.clone().unwrap();
    assert_eq!(made.body["meta"]["version"], etag.as_str());
    let id = made.body["id"].as_str().unwrap();
    let got = w.call("GET", &format!("/scim/v2/Users/{id}?attributes=userName"), &t, &[], "").await;
    assert_eq!((got.status, got.etag.as_deref()), (200, Some(etag.as_str())));
    assert!(got.body.get("active").is_none() && got.body["userName"] == "ada");

    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]})
    .to_string();
    let stale = [("content-type", SCIM), ("if-match", r#"W/"0000000000000000""#)];
    error(&w.call("PATCH", &format!("/scim/v2/Users/{id}"), &t, &stale, &off).await, 412, None);
    let fresh = [("content-type", SCIM), ("if-match", etag.as_str())];
    let patched = w.call("PATCH", &format!("/scim/v2/Users/{id}"), &t, &fresh, &off).await;
    assert_eq!((patched.status, patched.body["active"].as_bool()), (200, Some(false)));
    assert_ne!(patched.etag.unwrap(), etag);

    let search = json!({"filter": "userName sw \"ada\"", "attributes": ["userName"]}).to_string();
    let found = w.call("POST", "/scim/v2/Users/.search", &t, &ct, &search).await;
    assert_eq!((found.status, found.body["totalResults"].as_u64()), (200, Some(1)));
    assert_eq!(w.call("DELETE", &format!("/scim/v2/Users/{id}"), &t, &[], "").await.status, 204);

    // Discovery needs no token; another tenant's prefix does not know this token.
    let spc = w.call("GET", "/scim/v2/ServiceProviderConfig", "", &[], "").await;
    assert_eq!((spc.status, spc.body["patch"]["supported"].as_bool()), (200, Some(true)));
    error(&w.call("GET", "/t/nowhere/scim/v2/Users", &t, &[], "").await, 404, None);
}
