//! Issue 15, "Overload", through the whole router: the answers a rate
//! limit and a full password-hashing queue give, in each endpoint's own
//! format — RFC 6749 JSON on the token endpoint, problem+json on the admin
//! API, a page in the browser — each with `Retry-After`. (The limits'
//! arithmetic is tested in latchkey-app, with an injected clock.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, header};
use latchkey_app::bootstrap::BootstrapSecrets;
use latchkey_app::rate_limit::Rate;
use latchkey_app::{App, AppOptions, ManualClock, OsRng};
use latchkey_crypto::MasterKey;
use latchkey_crypto::password::PasswordCost;
use latchkey_store::testing::TestDb;
use tower::ServiceExt;

const ADMIN_SECRET: &str = "test-admin-secret-0123456789abcdefghij";
const ADMIN_PASSWORD: &str = "a-long-enough-password";

struct World {
    _db: TestDb,
    app: Arc<App>,
    router: Router,
}

async fn world(adjust: impl FnOnce(&mut AppOptions)) -> World {
    let db = TestDb::new().await;
    let store = latchkey_store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let mut options = AppOptions {
        public_url: "https://issuer.test/".into(),
        password_cost: PasswordCost { memory_kib: 1024, iterations: 1 },
        ..AppOptions::default()
    };
    adjust(&mut options);
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let app = App::new(store, &MasterKey::from_bytes([7; 32]), clock, Arc::new(OsRng), &options).unwrap();
    app.tenants
        .bootstrap_default_tenant(BootstrapSecrets {
            admin_password: Some(ADMIN_PASSWORD.into()),
            admin_client_secret: Some(ADMIN_SECRET.into()),
        })
        .await
        .unwrap();
    World { _db: db, router: latchkey_web::router(app.clone()), app }
}

impl World {
    /// Sends `req` as if from `peer`.
    async fn call_from(&self, peer: &str, mut req: Request<Body>) -> Response<Body> {
        let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        self.router.clone().oneshot(req).await.unwrap()
    }

    async fn token(&self, peer: &str) -> Response<Body> {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("latchkey-admin:{ADMIN_SECRET}"));
        let req = Request::post("/oauth2/token")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials&scope=admin"))
            .unwrap();
        self.call_from(peer, req).await
    }
}

fn header_of(r: &Response<Body>, name: header::HeaderName) -> String {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn text(r: Response<Body>) -> String {
    String::from_utf8(axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
}

async fn json(r: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&text(r).await).unwrap()
}

#[tokio::test]
async fn the_token_endpoint_answers_429_temporarily_unavailable_over_a_rate_limit() {
    let w = world(|o| o.rate_limits.per_client = Rate::new(1.0, 2)).await;
    for _ in 0..2 {
        assert_eq!(w.token("192.0.2.1").await.status(), 200);
    }
    let r = w.token("192.0.2.1").await;
    assert_eq!(r.status(), 429);
    assert_eq!(header_of(&r, header::RETRY_AFTER), "1");
    assert_eq!(header_of(&r, header::CONTENT_TYPE), "application/json");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-store");
    assert_eq!(json(r).await["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn the_admin_api_answers_429_problem_json_over_a_rate_limit() {
    let w = world(|o| o.rate_limits.per_source = Rate::new(1.0, 3)).await;
    let token = json(w.token("192.0.2.7").await).await["access_token"].as_str().unwrap().to_owned();
    let list = || Request::get("/api/v1/clients").header(header::AUTHORIZATION, format!("Bearer {token}"));
    for _ in 0..2 {
        assert_eq!(w.call_from("192.0.2.7", list().body(Body::empty()).unwrap()).await.status(), 200);
    }
    let r = w.call_from("192.0.2.7", list().body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header_of(&r, header::RETRY_AFTER), "1");
    assert_eq!(header_of(&r, header::CONTENT_TYPE), "application/problem+json");
    let body = json(r).await;
    assert_eq!((body["status"].as_i64(), body["title"].as_str()), (Some(429), Some("Too Many Requests")));
    // Another address is not affected; health never is.
    assert_eq!(w.call_from("192.0.2.8", list().body(Body::empty()).unwrap()).await.status(), 200);
    let health = w.call_from("192.0.2.7", Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status(), 200);
}

/// The value of the hidden input `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn a_busy_server_says_so_on_the_sign_in_page_and_in_the_admin_api() {
    let w = world(|o| {
        o.password_hash_concurrency = 1;
        o.password_hash_queue = Duration::ZERO;
    })
    .await;
    let authorize = "/oauth2/authorize?client_id=latchkey-console&response_type=code&scope=openid\
        &redirect_uri=https%3A%2F%2Fissuer.test%2Fconsole%2Fcallback&state=s\
        &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    let r = w.call_from("192.0.2.9", Request::get(authorize).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), 200);
    let cookie = header_of(&r, header::SET_COOKIE);
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let page = text(r).await;
    let form =
        format!("tx={}&csrf={}&username=admin&password={ADMIN_PASSWORD}", hidden(&page, "tx"), hidden(&page, "csrf"));
    let login = || {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .body(Body::from(form.clone()))
            .unwrap()
    };
    let held = w.app.kernel.password_slots().acquire().await.unwrap();
    let r = w.call_from("192.0.2.9", login()).await;
    assert_eq!(r.status(), 503);
    assert_eq!(header_of(&r, header::RETRY_AFTER), "1");
    let page = text(r).await;
    assert!(page.contains("The server is busy"), "{page}");
    assert!(page.contains("name=\"password\""), "the form is there to try again");

    // The admin API: creating a user hashes a password.
    let token = json(w.token("192.0.2.9").await).await["access_token"].as_str().unwrap().to_owned();
    let create = Request::post("/api/v1/users")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"username":"bob","password":"a-long-enough-password"}"#))
        .unwrap();
    let r = w.call_from("192.0.2.9", create).await;
    assert_eq!(r.status(), 503);
    assert_eq!(header_of(&r, header::RETRY_AFTER), "1");
    assert_eq!(header_of(&r, header::CONTENT_TYPE), "application/problem+json");
    assert!(json(r).await["detail"].as_str().unwrap().contains("busy"));

    drop(held);
    assert_eq!(w.call_from("192.0.2.9", login()).await.status(), 303, "signed in once a slot is free");
}
