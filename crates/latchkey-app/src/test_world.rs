//! A service-level test world: the real database of the test run, a
//! `ManualClock`, a bootstrapped default tenant.

use std::sync::Arc;

use latchkey_core::TenantId;
use latchkey_crypto::MasterKey;
use latchkey_crypto::password::PasswordCost;
use latchkey_store::testing::TestDb;

use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::admin::scopes::NewScope;
use crate::bootstrap::BootstrapSecrets;
use crate::tenants::TenantContext;
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;
use crate::{App, AppOptions, ManualClock, OsRng};

pub const ADMIN_SECRET: &str = "test-admin-secret-0123456789abcdefghij";
pub const START: i64 = 1_800_000_000;

pub struct World {
    pub _db: TestDb,
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub ctx: Arc<TenantContext>,
}

pub async fn world() -> World {
    world_with(|_| {}).await
}

/// A world whose options `adjust` changes first (rate limits, hashing slots).
pub async fn world_with(adjust: impl FnOnce(&mut AppOptions)) -> World {
    let db = TestDb::new().await;
    let store = latchkey_store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::new(START));
    let mut options = AppOptions {
        public_url: "https://issuer.test/".into(),
        password_cost: PasswordCost { memory_kib: 1024, iterations: 1 },
        remote_allow_private: vec!["127.0.0.1".into()],
        ..AppOptions::default()
    };
    adjust(&mut options);
    let app = App::new(store, &MasterKey::from_bytes([7; 32]), clock.clone(), Arc::new(OsRng), &options).unwrap();
    let creds = app
        .tenants
        .bootstrap_default_tenant(BootstrapSecrets {
            admin_password: Some("a-long-enough-password".into()),
            admin_client_secret: Some(ADMIN_SECRET.into()),
        })
        .await
        .unwrap()
        .unwrap();
    assert!(creds.admin_client_secret.is_none(), "secrets given by env are not echoed");
    let ctx = app.kernel.tenant(&TenantId::default_tenant()).await.unwrap();
    World { _db: db, app, clock, ctx }
}

pub fn admin() -> PresentedAuth {
    PresentedAuth::Basic { client_id: "latchkey-admin".into(), secret: ADMIN_SECRET.into() }
}

pub fn cc() -> TokenRequest {
    TokenRequest { grant_type: Some("client_credentials".into()), ..TokenRequest::default() }
}

pub async fn m2m(w: &World, format: &str) -> (String, String) {
    let actor = Actor::system();
    let _ = w
        .app
        .scopes
        .create_scope(&w.ctx, &actor, NewScope { name: "api:read".into(), description: String::new() })
        .await;
    let new: NewClient = serde_json::from_value(serde_json::json!({
        "name": format!("svc {format}"), "type": "m2m", "scopes": ["api:read"], "access_token_format": format,
        "access_token_lifetime": 120
    }))
    .unwrap();
    let c = w.app.clients.create_client(&w.ctx, &actor, new).await.unwrap();
    (c.client.client_id, c.client_secret.unwrap())
}
