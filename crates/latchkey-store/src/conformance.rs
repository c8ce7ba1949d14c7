//! The storage conformance suite: the behaviour both adapters must share.
//!
//! Each case takes a freshly migrated, empty store. `tests/conformance.rs`
//! runs every case on the backend of the test run; `scripts/test.sh` runs
//! the suite on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use std::sync::Arc;

use latchkey_core::{
    Client, ClientConfig, ClientId, ClientStatus, ClientType, GrantType, ScopeSet, SigningAlg, TenantId, TenantSettings,
};

use crate::{
    AuditRecord, ClientInsert, ClientState, KeyPurpose, ScopeRecord, SecretRecord, SigningKeyRecord, Store, StoreError,
    TenantBootstrap, TenantRecord, UserRecord,
};

mod device;
mod federation;
mod flows;
mod isolation;
mod people;
mod scim;
mod seal;
mod search;
mod usage;

pub use device::*;
pub use federation::*;
pub use flows::*;
pub use isolation::*;
pub use people::*;
pub use scim::*;
pub use seal::*;
pub use search::*;
pub use usage::*;

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

pub fn audit(action: &str, target: &str) -> AuditRecord {
    let n = next();
    AuditRecord {
        event_id: format!("ev-{n:08}-{action}-{target}"),
        occurred_at: 1_000 + i64::try_from(n).unwrap(),
        actor: "tester".into(),
        actor_type: "user".into(),
        action: action.into(),
        target_type: "client".into(),
        target_id: target.into(),
        source_ip: Some("127.0.0.1".into()),
        request_id: Some("req-1".into()),
        changes: "{}".into(),
    }
}

fn next() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn client(t: &TenantId, id: &str, name: &str, created_at: i64) -> Client {
    Client {
        tenant: t.clone(),
        client_id: ClientId::parse(id).unwrap(),
        name: name.into(),
        description: format!("{name} description"),
        client_type: ClientType::M2m,
        status: ClientStatus::Active,
        protected: false,
        managed_by: None,
        created_at,
        updated_at: created_at,
        created_by: "tester".into(),
        last_used_at: None,
        revision: 1,
        tokens_valid_after: None,
        token_epoch: 0,
        config: ClientConfig {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::parse_param("api:read").unwrap(),
            ..ClientConfig::default()
        },
    }
}

fn secret(id: &str) -> SecretRecord {
    SecretRecord {
        secret_id: id.into(),
        secret_hash: vec![7; 32],
        sealed_secret: None,
        hint: "abcd".into(),
        label: Some("ci".into()),
        created_at: 1_000,
        expires_at: None,
        last_used_at: None,
    }
}

fn bootstrap(t: &TenantId) -> TenantBootstrap {
    TenantBootstrap {
        tenant: TenantRecord {
            tenant_id: t.clone(),
            display_name: t.to_string(),
            status: latchkey_core::TenantStatus::Active,
            settings: TenantSettings::default(),
            key_check: vec![1, 2, 3],
            created_at: 1_000,
        },
        keys: vec![SigningKeyRecord {
            kid: format!("kid-{t}"),
            alg: SigningAlg::Es256,
            purpose: KeyPurpose::AccessToken,
            sealed_private: vec![9; 48],
            public_jwk: "{}".into(),
            created_at: 1_000,
            activated_at: Some(1_000),
            retired_at: None,
        }],
        scopes: vec![ScopeRecord {
            name: "api:read".into(),
            description: "Read".into(),
            created_at: 1_000,
            updated_at: 1_000,
        }],
        clients: vec![(client(t, "boot-client", "Boot Client", 1_000), vec![secret("s1")])],
        users: vec![UserRecord {
            user_id: format!("u-{t}"),
            username: "Admin".into(),
            email: Some("admin@example.com".into()),
            display_name: "Administrator".into(),
            password_hash: "$argon2id$stub".into(),
            status: latchkey_core::UserStatus::Active,
            roles: vec![latchkey_core::AdminRole::Owner],
            groups: vec!["admins".into()],
            created_at: 1_000,
            updated_at: 1_000,
            token_epoch: 0,
        }],
        audit: vec![audit("tenant.bootstrap", t.as_str())],
        audit_elsewhere: Vec::new(),
    }
}

async fn with_tenant(store: &dyn Store, name: &str) -> TenantId {
    let t = tenant(name);
    assert!(store.bootstrap_tenant(&bootstrap(&t)).await.unwrap());
    t
}

pub async fn migrate_is_idempotent(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

/// The database reports its clock in Unix seconds (not milliseconds, not
/// zero), and it does not run backwards between two reads.
pub async fn database_time_is_unix_seconds(store: Arc<dyn Store>) {
    let first = store.database_time().await.unwrap();
    let second = store.database_time().await.unwrap();
    // After 2023-11-14 and before the year 2286: seconds, not milliseconds.
    assert!((1_700_000_000..10_000_000_000).contains(&first), "{first}");
    assert!(second >= first, "{first} then {second}");
}

pub async fn bootstrap_writes_once(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    // A second bootstrap changes nothing, even with different content.
    let mut again = bootstrap(&t);
    again.tenant.display_name = "changed".into();
    again.clients[0].0.name = "Other".into();
    assert!(!store.bootstrap_tenant(&again).await.unwrap());
    let rec = store.get_tenant(&t).await.unwrap().unwrap();
    assert_eq!(rec.display_name, "acme");
    assert_eq!(rec.key_check, vec![1, 2, 3]);
    assert_eq!(rec.settings, TenantSettings::default());
    let c = store.get_client(&t, &ClientId::parse("boot-client").unwrap()).await.unwrap().unwrap();
    assert_eq!(c.name, "Boot Client");
    assert_eq!(store.list_signing_keys(&t).await.unwrap().len(), 1);
    let u = store.get_user_by_username(&t, "admin").await.unwrap().unwrap();
    assert_eq!(u.roles, vec![latchkey_core::AdminRole::Owner]);
    assert_eq!(store.list_audit(&t, 10).await.unwrap().len(), 1);
}

pub async fn concurrent_bootstrap_creates_exactly_one(store: Arc<dyn Store>) {
    let t = tenant("race");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = store.clone();
        let b = bootstrap(&t);
        tasks.push(tokio::spawn(async move { s.bootstrap_tenant(&b).await.unwrap() }));
    }
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_signing_keys(&t).await.unwrap().len(), 1);
}

pub async fn client_round_trip_with_secrets(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut c = client(&t, "svc-1", "Billing Service", 2_000);
    c.config.labels.insert("team".into(), "payments".into());
    c.config.access_token_lifetime = Some(600);
    // Typed URIs are stored as their text and parsed back: exact, loopback,
    // private-use and wildcard (approval is the tenant's, checked at use).
    let uri = |s: &str| latchkey_core::redirect::RedirectUri::parse_syntax(s).unwrap();
    c.config.redirect_uris = ["https://app.example/cb", "http://127.0.0.1/cb", "https://*.preview.example.com/cb"]
        .into_iter()
        .map(uri)
        .collect();
    c.config.post_logout_redirect_uris = vec![uri("com.example.app:/bye")];
    c.config.allowed_cors_origins = vec![latchkey_core::redirect::CorsOrigin::parse("https://app.example").unwrap()];
    store.insert_client(&c, &[secret("a"), secret("b")], &audit("client.create", "svc-1")).await.unwrap();
    let (got, secrets) = store.get_client_with_secrets(&t, &c.client_id).await.unwrap().unwrap();
    assert_eq!(got, c);
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0].secret_hash, vec![7; 32]);
    assert_eq!(secrets[0].label.as_deref(), Some("ci"));
    assert!(store.get_client(&t, &ClientId::parse("nope").unwrap()).await.unwrap().is_none());
}

pub async fn client_names_and_ids_are_unique_per_tenant(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    store.insert_client(&client(&t, "svc-1", "Billing", 2_000), &[], &audit("c", "1")).await.unwrap();
    let dup_name = store.insert_client(&client(&t, "svc-2", "BILLING", 2_000), &[], &audit("c", "2")).await;
    assert!(matches!(dup_name, Err(StoreError::Conflict(_))), "{dup_name:?}");
    let dup_id = store.insert_client(&client(&t, "svc-1", "Other", 2_000), &[], &audit("c", "3")).await;
    assert!(matches!(dup_id, Err(StoreError::Conflict(_))), "{dup_id:?}");
    // The failed inserts left no audit event behind.
    let actions: Vec<String> = store.list_audit(&t, 50).await.unwrap().into_iter().map(|a| a.target_id).collect();
    assert!(!actions.contains(&"2".to_owned()) && !actions.contains(&"3".to_owned()));
    // The same id and name are free in another tenant.
    store.insert_client(&client(&other, "svc-1", "Billing", 2_000), &[], &audit("c", "4")).await.unwrap();
}

pub async fn batch_insert_is_all_or_nothing(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    // More rows than one multi-row statement holds, some with two secrets.
    let batch: Vec<ClientInsert> = (0..1_203)
        .map(|i| ClientInsert {
            client: client(&t, &format!("batch-{i:04}"), &format!("Batch {i:04}"), 2_000),
            secrets: if i % 2 == 0 {
                vec![secret(&format!("s{i}-a")), secret(&format!("s{i}-b"))]
            } else {
                vec![secret(&format!("s{i}-a"))]
            },
            audit: audit("client.create", &format!("batch-{i:04}")),
        })
        .collect();
    store.insert_clients(&t, &batch).await.unwrap();
    let (c, secrets) =
        store.get_client_with_secrets(&t, &ClientId::parse("batch-1202").unwrap()).await.unwrap().unwrap();
    assert_eq!(c.name, "Batch 1202");
    assert_eq!(c.config, batch[1202].client.config);
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0].secret_hash, vec![7; 32]);
    let batched = |all: Vec<Client>| all.iter().filter(|c| c.client_id.as_str().starts_with("batch-")).count();
    assert_eq!(batched(store.list_clients(&t, None, 5_000).await.unwrap()), 1_203);
    let audited = store.list_audit(&t, 2_000).await.unwrap();
    assert_eq!(
        audited.iter().filter(|a| a.action == "client.create" && a.target_id.starts_with("batch-")).count(),
        1_203
    );
    // Invisible to another tenant.
    assert_eq!(batched(store.list_clients(&other, None, 10).await.unwrap()), 0);

    // One taken name in the last chunk: nothing of the batch is written.
    let mut second: Vec<ClientInsert> = (0..600)
        .map(|i| ClientInsert {
            client: client(&t, &format!("n{i:04}"), &format!("New {i:04}"), 3_000),
            secrets: vec![secret(&format!("n{i}"))],
            audit: audit("client.create", &format!("n{i:04}")),
        })
        .collect();
    second[599].client.name = "batch 0007".into();
    let res = store.insert_clients(&t, &second).await;
    assert!(matches!(res, Err(StoreError::Conflict(_))), "{res:?}");
    assert!(store.get_client(&t, &ClientId::parse("n0000").unwrap()).await.unwrap().is_none());
    let all = store.list_clients(&t, None, 5_000).await.unwrap();
    assert_eq!(batched(all.clone()), 1_203);
    assert!(!all.iter().any(|c| c.client_id.as_str().starts_with('n')));
    let audited = store.list_audit(&t, 5_000).await.unwrap();
    assert!(!audited.iter().any(|a| a.target_id.starts_with('n')));

    // A batch naming another tenant's clients is refused outright.
    let stray =
        vec![ClientInsert { client: client(&other, "x", "X", 1), secrets: vec![], audit: audit("client.create", "x") }];
    assert!(store.insert_clients(&t, &stray).await.is_err());
    assert!(store.get_client(&other, &ClientId::parse("x").unwrap()).await.unwrap().is_none());
}

pub async fn list_clients_pages_by_cursor(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    for i in 0..25 {
        let c = client(&t, &format!("c{i:02}"), &format!("Client {i:02}"), 2_000 + i64::from(i / 5));
        store.insert_client(&c, &[], &audit("c", &format!("{i}"))).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_clients(&t, cursor.clone(), 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        cursor = Some((last.created_at, last.client_id.to_string()));
        seen.extend(page.into_iter().map(|c| c.client_id.to_string()));
    }
    // 25 created + the bootstrap client, each exactly once, in creation order.
    assert_eq!(seen.len(), 26);
    let mut dedup = seen.clone();
    dedup.dedup();
    assert_eq!(dedup, seen);
    assert_eq!(seen[0], "boot-client");
}

pub async fn disable_and_delete(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let c = client(&t, "svc", "Svc", 2_000);
    store.insert_client(&c, &[secret("a")], &audit("c", "svc")).await.unwrap();
    assert_eq!(store.jwt_state(&t, "svc", "j", 2_500, 0, None).await.unwrap(), (ClientState::Active, false));

    assert!(
        store.set_client_status(&t, &c.client_id, ClientStatus::Disabled, 3_000, &audit("d", "svc")).await.unwrap()
    );
    let got = store.get_client(&t, &c.client_id).await.unwrap().unwrap();
    assert_eq!(got.status, ClientStatus::Disabled);
    assert_eq!(got.revision, 2);
    assert_eq!(got.updated_at, 3_000);
    assert_eq!(store.jwt_state(&t, "svc", "j", 2_500, 0, None).await.unwrap(), (ClientState::Disabled, false));
    assert_eq!(got.tokens_valid_after, None, "disabling alone sets no cutoff");

    // Enabled again: what was issued before stays invalid, new tokens work.
    assert!(store.set_client_status(&t, &c.client_id, ClientStatus::Active, 4_000, &audit("e", "svc")).await.unwrap());
    let got = store.get_client(&t, &c.client_id).await.unwrap().unwrap();
    assert_eq!(got.tokens_valid_after, Some(4_000));
    // Each status change moved the epoch: a token of the first epoch is
    // dead even when issued in the same second as the enable.
    assert_eq!(got.token_epoch, 2, "disable and enable each change the epoch");
    assert!(!got.honours_token(4_000, 0) && got.honours_token(4_000, 2) && !got.honours_token(2_500, 2));
    assert_eq!(store.jwt_state(&t, "svc", "j", 4_000, 0, None).await.unwrap(), (ClientState::Disabled, false));
    assert_eq!(store.jwt_state(&t, "svc", "j", 2_500, 2, None).await.unwrap(), (ClientState::Disabled, false));
    assert_eq!(store.jwt_state(&t, "svc", "j", 4_000, 2, None).await.unwrap(), (ClientState::Active, false));
    // Enabling an active client moves nothing.
    assert!(store.set_client_status(&t, &c.client_id, ClientStatus::Active, 5_000, &audit("f", "svc")).await.unwrap());
    let got = store.get_client(&t, &c.client_id).await.unwrap().unwrap();
    assert_eq!(got.tokens_valid_after, Some(4_000));
    assert_eq!(got.token_epoch, 2);
    // A status change through a full update moves it too.
    let mut off = got.clone();
    off.status = ClientStatus::Disabled;
    assert!(store.update_client(&off, got.revision, &audit("g", "svc")).await.unwrap());
    assert_eq!(store.get_client(&t, &c.client_id).await.unwrap().unwrap().token_epoch, 3);

    assert!(store.delete_client(&t, &c.client_id, &audit("x", "svc")).await.unwrap());
    assert!(!store.delete_client(&t, &c.client_id, &audit("x", "svc")).await.unwrap());
    let find = crate::ClientQuery { q: Some("svc description".into()), limit: 10, ..crate::ClientQuery::default() };
    assert!(store.search_clients(&t, &find, 0).await.unwrap().is_empty(), "deleted clients leave the search index");
    assert!(store.get_client_with_secrets(&t, &c.client_id).await.unwrap().is_none());
    assert_eq!(store.jwt_state(&t, "svc", "j", 2_500, 0, None).await.unwrap(), (ClientState::Missing, false));
}

pub async fn jwt_revocation_and_purge(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_client(&client(&t, "svc", "Svc", 2_000), &[], &audit("c", "svc")).await.unwrap();
    assert_eq!(store.jwt_state(&t, "svc", "j1", 2_500, 0, None).await.unwrap(), (ClientState::Active, false));
    store.revoke_jti(&t, "j1", "svc", 5_000, 1_000).await.unwrap();
    store.revoke_jti(&t, "j1", "svc", 5_000, 1_001).await.unwrap(); // idempotent
    assert_eq!(store.jwt_state(&t, "svc", "j1", 2_500, 0, None).await.unwrap(), (ClientState::Active, true));

    store.revoke_jti(&t, "j2", "svc", 6_000, 1_000).await.unwrap();
    let mut listed = store.list_revoked_jtis(5_500).await.unwrap();
    listed.sort();
    assert_eq!(listed, vec![("acme".to_owned(), "j2".to_owned(), 6_000)]);
    assert_eq!(store.purge_expired(5_500).await.unwrap(), 1, "only j1 expired");
    assert_eq!(store.jwt_state(&t, "svc", "j1", 2_500, 0, None).await.unwrap(), (ClientState::Active, false));
    assert_eq!(store.jwt_state(&t, "svc", "j2", 2_500, 0, None).await.unwrap(), (ClientState::Active, true));
}

/// Checklist 42: a client assertion's `jti` is used once per client until
/// it expires, then forgotten; tenants and clients do not share them.
pub async fn assertion_jtis_are_single_use(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    assert!(store.use_assertion_jti(&t, "svc", "a1", 5_000).await.unwrap());
    assert!(!store.use_assertion_jti(&t, "svc", "a1", 5_000).await.unwrap(), "a replay");
    assert!(store.use_assertion_jti(&t, "svc2", "a1", 5_000).await.unwrap(), "another client's jti");
    assert!(store.use_assertion_jti(&other, "svc", "a1", 5_000).await.unwrap(), "another tenant's");
    assert!(store.use_assertion_jti(&t, "svc", "a2", 9_000).await.unwrap());
    assert_eq!(store.purge_expired(6_000).await.unwrap(), 3, "the three a1 records expired");
    assert!(store.use_assertion_jti(&t, "svc", "a1", 7_000).await.unwrap(), "forgotten after expiry");
    assert!(!store.use_assertion_jti(&t, "svc", "a2", 9_000).await.unwrap(), "a2 is still remembered");
}

pub async fn tenant_isolation(store: Arc<dyn Store>) {
    let a = with_tenant(&*store, "tenant-a").await;
    let b = with_tenant(&*store, "tenant-b").await;
    let c = client(&a, "only-in-a", "A", 2_000);
    store.insert_client(&c, &[secret("s")], &audit("c", "a")).await.unwrap();
    store.revoke_jti(&a, "jti-a", "only-in-a", 9_999, 1_000).await.unwrap();

    assert!(store.get_client(&b, &c.client_id).await.unwrap().is_none());
    assert!(store.get_client_with_secrets(&b, &c.client_id).await.unwrap().is_none());
    assert_eq!(store.jwt_state(&b, "only-in-a", "jti-a", 2_500, 0, None).await.unwrap(), (ClientState::Missing, false));
    assert!(!store.set_client_status(&b, &c.client_id, ClientStatus::Disabled, 1, &audit("d", "a")).await.unwrap());
    assert!(!store.delete_client(&b, &c.client_id, &audit("x", "a")).await.unwrap());
    assert!(store.list_clients(&b, None, 100).await.unwrap().iter().all(|x| x.tenant == b));
    assert!(store.get_user_by_username(&b, "admin").await.unwrap().unwrap().user_id.ends_with("tenant-b"));
    assert!(store.list_signing_keys(&b).await.unwrap().iter().all(|k| k.kid == "kid-tenant-b"));
    assert!(store.list_audit(&b, 100).await.unwrap().iter().all(|e| e.target_id != "a"));
    // Tenant A's objects are all still there.
    assert!(store.get_client(&a, &c.client_id).await.unwrap().is_some());
    assert_eq!(store.jwt_state(&a, "only-in-a", "jti-a", 2_500, 0, None).await.unwrap(), (ClientState::Active, true));
}

pub async fn scopes_keys_and_audit(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let s = ScopeRecord { name: "billing:write".into(), description: "Write".into(), created_at: 1, updated_at: 1 };
    store.insert_scope(&t, &s, &audit("scope.create", "billing:write")).await.unwrap();
    let dup = store.insert_scope(&t, &s, &audit("scope.create", "again")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let names: Vec<_> = store.list_scopes(&t).await.unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["api:read".to_owned(), "billing:write".to_owned()]);

    let mut k = bootstrap(&t).keys.remove(0);
    k.kid = "second".into();
    k.alg = SigningAlg::Rs256;
    k.purpose = KeyPurpose::IdToken;
    k.created_at = 2_000;
    store.insert_signing_key(&t, &k).await.unwrap();
    let keys = store.list_signing_keys(&t).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1].alg, SigningAlg::Rs256);
    assert_eq!(keys[1].purpose, KeyPurpose::IdToken);
    assert_eq!(keys[1].sealed_private, vec![9; 48]);

    let events = store.list_audit(&t, 10).await.unwrap();
    assert_eq!(events.len(), 2, "one per successful mutation");
    assert_eq!(events[0].action, "scope.create");
    assert_eq!(events[0].source_ip.as_deref(), Some("127.0.0.1"));
}

pub async fn key_rotation_retires_the_keys_in_use_at_activation(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    let key = |kid: &str, purpose: KeyPurpose, at: i64| SigningKeyRecord {
        kid: kid.into(),
        alg: SigningAlg::Es256,
        purpose,
        sealed_private: vec![1; 48],
        public_jwk: "{}".into(),
        created_at: at,
        activated_at: Some(at),
        retired_at: None,
    };
    let find = |keys: &[SigningKeyRecord], kid: &str| keys.iter().find(|k| k.kid == kid).cloned().unwrap();
    // kid-acme (bootstrap, access tokens) is in use; B waits until 2,000.
    let b = SigningKeyRecord { created_at: 1_500, ..key("b", KeyPurpose::AccessToken, 2_000) };
    assert!(store.rotate_signing_key(&t, &b, 1_500, &audit("key.rotate", "b")).await.unwrap());
    let keys = store.list_signing_keys(&t).await.unwrap();
    assert_eq!(find(&keys, "kid-acme").retired_at, Some(2_000));
    assert_eq!(find(&keys, "b").retired_at, None);
    // A second rotation while B is pending is refused and writes nothing.
    let c = key("c", KeyPurpose::AccessToken, 2_500);
    assert!(!store.rotate_signing_key(&t, &c, 1_600, &audit("key.rotate", "c")).await.unwrap());
    assert_eq!(store.list_signing_keys(&t).await.unwrap().len(), 2);
    assert!(!store.list_audit(&t, 50).await.unwrap().iter().any(|a| a.target_id == "c"));
    // Once B is active, rotating retires B, not the long-retired original.
    assert!(store.rotate_signing_key(&t, &c, 2_100, &audit("key.rotate", "c")).await.unwrap());
    let keys = store.list_signing_keys(&t).await.unwrap();
    assert_eq!(find(&keys, "kid-acme").retired_at, Some(2_000));
    assert_eq!(find(&keys, "b").retired_at, Some(2_500));
    // Another purpose and another tenant are untouched.
    let id = key("id-1", KeyPurpose::IdToken, 3_000);
    assert!(store.rotate_signing_key(&t, &id, 3_000, &audit("key.rotate", "id-1")).await.unwrap());
    assert_eq!(find(&store.list_signing_keys(&t).await.unwrap(), "c").retired_at, None);
    assert_eq!(find(&store.list_signing_keys(&other).await.unwrap(), "kid-other").retired_at, None);
    assert_eq!(store.list_audit(&t, 50).await.unwrap().iter().filter(|a| a.action == "key.rotate").count(), 3);
}

pub async fn tenants_list_update_and_delete_with_everything_in_them(store: Arc<dyn Store>) {
    let home = with_tenant(&*store, "home").await;
    let acme = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    store.insert_client(&client(&acme, "svc", "Svc", 2_000), &[secret("s")], &audit("c", "svc")).await.unwrap();
    store.insert_client(&client(&other, "svc", "Svc", 2_000), &[], &audit("c", "svc")).await.unwrap();
    let ids: Vec<String> = store.list_tenants().await.unwrap().into_iter().map(|t| t.tenant_id.to_string()).collect();
    assert_eq!(ids, vec!["acme", "home", "other"]);
    let mut t = store.get_tenant(&acme).await.unwrap().unwrap();
    t.display_name = "Acme Corp".into();
    t.status = latchkey_core::TenantStatus::Disabled;
    t.settings.max_access_token_lifetime = 7_200;
    assert!(store.update_tenant(&t, 3_000, &home, &audit("tenant.update", "acme")).await.unwrap());
    let back = store.get_tenant(&acme).await.unwrap().unwrap();
    assert_eq!((back.display_name.as_str(), back.status.as_str()), ("Acme Corp", "disabled"));
    assert_eq!(back.settings.max_access_token_lifetime, 7_200);
    let missing = TenantRecord { tenant_id: tenant("nope"), ..t.clone() };
    assert!(!store.update_tenant(&missing, 3_000, &home, &audit("tenant.update", "nope")).await.unwrap());
    // Deleting takes every row of the tenant, and only of that tenant.
    assert!(store.delete_tenant(&acme, &home, &audit("tenant.delete", "acme")).await.unwrap());
    assert!(store.get_tenant(&acme).await.unwrap().is_none());
    assert!(store.get_client(&acme, &ClientId::parse("svc").unwrap()).await.unwrap().is_none());
    assert!(store.list_signing_keys(&acme).await.unwrap().is_empty());
    assert!(store.list_audit(&acme, 10).await.unwrap().is_empty());
    assert!(store.get_client(&other, &ClientId::parse("svc").unwrap()).await.unwrap().is_some());
    let home_events = store.list_audit(&home, 50).await.unwrap();
    assert!(home_events.iter().any(|a| a.action == "tenant.delete" && a.target_id == "acme"));
    assert!(!store.delete_tenant(&acme, &home, &audit("tenant.delete", "acme")).await.unwrap());
}

pub async fn update_checks_revision(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut c = client(&t, "svc", "Svc", 2_000);
    store.insert_client(&c, &[], &audit("c", "svc")).await.unwrap();
    c.name = "Renamed".into();
    c.config.grant_types = vec![GrantType::AuthorizationCode];
    c.updated_at = 3_000;
    assert!(store.update_client(&c, 1, &audit("u", "svc")).await.unwrap());
    let got = store.get_client(&t, &c.client_id).await.unwrap().unwrap();
    assert_eq!((got.name.as_str(), got.revision, got.updated_at), ("Renamed", 2, 3_000));
    assert_eq!(got.config.grant_types, vec![GrantType::AuthorizationCode]);
    // The search index follows the rename.
    let find = |q: &str| crate::ClientQuery { q: Some(q.into()), limit: 10, ..crate::ClientQuery::default() };
    assert_eq!(store.search_clients(&t, &find("renamed"), 0).await.unwrap().len(), 1);
    assert!(store.search_clients(&t, &find("svc"), 0).await.unwrap().iter().all(|c| c.name != "Svc"));
    // A stale revision changes nothing and writes no audit event.
    let before = store.list_audit(&t, 100).await.unwrap().len();
    c.name = "Stale".into();
    assert!(!store.update_client(&c, 1, &audit("u", "stale")).await.unwrap());
    assert_eq!(store.get_client(&t, &c.client_id).await.unwrap().unwrap().name, "Renamed");
    assert_eq!(store.list_audit(&t, 100).await.unwrap().len(), before);
    // Renaming onto another client's name (any case) is a conflict.
    store.insert_client(&client(&t, "other", "Other", 2_000), &[], &audit("c", "o")).await.unwrap();
    c.name = "OTHER".into();
    assert!(matches!(store.update_client(&c, 2, &audit("u", "x")).await, Err(StoreError::Conflict(_))));
}

pub async fn secrets_limit_expiry_and_usage(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let c = client(&t, "svc", "Svc", 2_000);
    store.insert_client(&c, &[secret("s0")], &audit("c", "svc")).await.unwrap();
    for i in 1..5 {
        assert!(
            store
                .add_secret(&t, &c.client_id, &secret(&format!("s{i}")), None, 5, 1_000, &audit("a", "svc"))
                .await
                .unwrap()
        );
    }
    assert!(
        !store.add_secret(&t, &c.client_id, &secret("s5"), None, 5, 1_000, &audit("a", "svc")).await.unwrap(),
        "max 5"
    );
    store.expire_secrets(&t, &c.client_id, &["s0".into(), "s1".into()], 1_500, &audit("e", "svc")).await.unwrap();
    // Expired secrets make room again (and are removed then).
    assert!(store.add_secret(&t, &c.client_id, &secret("s5"), None, 5, 2_000, &audit("a", "svc")).await.unwrap());
    let (got, secrets) = store.get_client_with_secrets(&t, &c.client_id).await.unwrap().unwrap();
    let ids: Vec<_> = secrets.iter().map(|s| s.secret_id.as_str()).collect();
    assert_eq!(ids, vec!["s2", "s3", "s4", "s5"]);
    assert_eq!(got.revision, 1 + 4 + 1 + 1, "every secret change bumps the revision");
    // Usage only moves forward.
    let u = |at| crate::Usage { tenant: t.clone(), client_id: "svc".into(), secret_id: Some("s2".into()), at };
    store.record_usage(&[u(5_000), u(4_000)]).await.unwrap();
    let (got, secrets) = store.get_client_with_secrets(&t, &c.client_id).await.unwrap().unwrap();
    assert_eq!(got.last_used_at, Some(5_000));
    assert_eq!(secrets[0].last_used_at, Some(5_000));
}

pub async fn scopes_and_classes_crud_and_references(store: Arc<dyn Store>) {
    use crate::SecurityClassRecord;
    let t = with_tenant(&*store, "acme").await;
    let mut s = ScopeRecord { name: "billing:write".into(), description: "Write".into(), created_at: 1, updated_at: 1 };
    store.insert_scope(&t, &s, &audit("s", "b")).await.unwrap();
    s.description = "Write invoices".into();
    s.updated_at = 2;
    assert!(store.update_scope(&t, &s, &audit("s", "b")).await.unwrap());
    let got = store.list_scopes(&t).await.unwrap().into_iter().find(|x| x.name == "billing:write").unwrap();
    assert_eq!(got.description, "Write invoices");
    let class = SecurityClassRecord {
        name: "billing".into(),
        description: "Billing services".into(),
        scopes: ScopeSet::parse_param("billing:write billing:read").unwrap(),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_class(&t, &class, &audit("k", "billing")).await.unwrap();
    assert_eq!(store.list_classes(&t).await.unwrap()[0].scopes, class.scopes, "scopes round-trip as a set");
    assert!(matches!(store.insert_class(&t, &class, &audit("k", "again")).await, Err(StoreError::Conflict(_))));
    let mut c = client(&t, "svc", "Svc", 2_000);
    c.config.security_classes = vec!["billing".into()];
    store.insert_client(&c, &[], &audit("c", "svc")).await.unwrap();
    assert_eq!(store.clients_referencing(&t, "security_classes", "billing").await.unwrap(), vec!["svc".to_owned()]);
    assert_eq!(
        store.clients_referencing(&t, "scopes", "api:read").await.unwrap(),
        vec!["boot-client".to_owned(), "svc".to_owned()]
    );
    assert!(store.clients_referencing(&t, "scopes", "billing").await.unwrap().is_empty(), "exact names only");
    let mut updated = class.clone();
    updated.scopes = ScopeSet::default();
    assert!(store.update_class(&t, &updated, &audit("k", "u")).await.unwrap());
    assert!(store.list_classes(&t).await.unwrap()[0].scopes.is_empty());
    assert!(store.delete_class(&t, "billing", &audit("k", "d")).await.unwrap());
    assert!(!store.delete_class(&t, "billing", &audit("k", "d2")).await.unwrap());
    assert!(store.delete_scope(&t, "billing:write", &audit("s", "d")).await.unwrap());
    assert!(!store.update_scope(&t, &s, &audit("s", "u")).await.unwrap());
}

pub(crate) fn provider(name: &str) -> crate::ProviderRecord {
    crate::ProviderRecord {
        name: name.into(),
        settings: r#"{"token_endpoint":"https://upstream.test/token"}"#.into(),
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn remote_client(namespace: &str, name: &str, provider: &str) -> crate::RemoteClientRecord {
    crate::RemoteClientRecord {
        namespace: namespace.into(),
        name: name.into(),
        provider: provider.into(),
        client_id: "upstream-id".into(),
        sealed_secret: Some(vec![1, 2, 3]),
        secret_hint: Some("wxyz".into()),
        params: "{}".into(),
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn authorization(namespace: &str, name: &str) -> crate::AuthorizationRecord {
    crate::AuthorizationRecord {
        namespace: namespace.into(),
        name: name.into(),
        grant_type: "client_credentials".into(),
        status: "active".into(),
        sealed_tokens: vec![9, 9],
        scope: Some("api:read".into()),
        expires_at: Some(5_000),
        generation: 1,
        last_error: None,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

/// Providers, remote clients and authorizations: round trip, the
/// generation check of token updates, references and cascades.
pub async fn remote_round_trip(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "remote-a").await;
    store.insert_provider(&t, &provider("up"), &audit("provider.create", "up")).await.unwrap();
    assert!(matches!(
        store.insert_provider(&t, &provider("up"), &audit("provider.create", "up")).await,
        Err(StoreError::Conflict(_))
    ));
    let mut p = provider("up");
    p.settings = "{}".into();
    p.updated_at = 2_000;
    assert!(store.update_provider(&t, &p, &audit("provider.update", "up")).await.unwrap());
    assert_eq!(store.get_provider(&t, "up").await.unwrap(), Some(p.clone()));
    assert!(!store.update_provider(&t, &provider("nope"), &audit("provider.update", "nope")).await.unwrap());

    // A remote client needs an existing provider.
    let err = store.insert_remote_client(&t, &remote_client("ns", "a", "missing"), &audit("rc", "a")).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    let rc = remote_client("ns", "a", "up");
    store.insert_remote_client(&t, &rc, &audit("remote_client.create", "ns/a")).await.unwrap();
    assert_eq!(store.get_remote_client(&t, "ns", "a").await.unwrap(), Some(rc.clone()));
    let mut rotated = rc.clone();
    rotated.sealed_secret = Some(vec![4, 5, 6]);
    rotated.secret_hint = Some("abcd".into());
    assert!(store.update_remote_client(&t, &rotated, &audit("rc.rotate", "ns/a")).await.unwrap());
    assert_eq!(store.list_remote_clients(&t).await.unwrap(), vec![rotated]);
    // The provider is in use.
    assert!(matches!(
        store.delete_provider(&t, "up", &audit("provider.delete", "up")).await,
        Err(StoreError::Conflict(_))
    ));

    // An authorization needs an existing remote client.
    assert!(store.put_authorization(&t, &authorization("ns", "zz"), &audit("auth", "ns/zz")).await.is_err());
    let a = authorization("ns", "a");
    store.put_authorization(&t, &a, &audit("authorization.create", "ns/a")).await.unwrap();
    assert_eq!(store.get_authorization(&t, "ns", "a").await.unwrap(), Some(a.clone()));
    // A token update applies only on top of the generation it read.
    let mut next = a.clone();
    next.generation = 2;
    next.sealed_tokens = vec![7];
    next.expires_at = Some(9_000);
    assert!(store.update_authorization(&t, &next, &audit("authorization.refresh", "ns/a")).await.unwrap());
    assert!(!store.update_authorization(&t, &next, &audit("authorization.refresh", "ns/a")).await.unwrap());
    assert_eq!(store.list_authorizations(&t).await.unwrap(), vec![next.clone()]);
    // Putting it again (re-obtaining) bumps the generation.
    store.put_authorization(&t, &a, &audit("authorization.create", "ns/a")).await.unwrap();
    assert_eq!(store.get_authorization(&t, "ns", "a").await.unwrap().unwrap().generation, 3);

    store.record_audit(&t, &audit("authorization.token", "ns/a")).await.unwrap();
    assert!(store.list_audit(&t, 100).await.unwrap().iter().any(|e| e.action == "authorization.token"));

    // Deleting the remote client takes its authorization along.
    assert!(store.delete_remote_client(&t, "ns", "a", &audit("rc.delete", "ns/a")).await.unwrap());
    assert!(store.get_authorization(&t, "ns", "a").await.unwrap().is_none());
    assert!(!store.delete_authorization(&t, "ns", "a", &audit("authorization.delete", "ns/a")).await.unwrap());
    assert!(store.delete_provider(&t, "up", &audit("provider.delete", "up")).await.unwrap());
    assert!(store.list_providers(&t).await.unwrap().is_empty());
}

/// Tenant B's context never sees or touches tenant A's providers, remote
/// clients or authorizations; names are unique per tenant only.
pub async fn checklist_60_remote_tenant_isolation(store: Arc<dyn Store>) {
    let a = with_tenant(&*store, "remote-iso-a").await;
    let b = with_tenant(&*store, "remote-iso-b").await;
    store.insert_provider(&a, &provider("up"), &audit("p", "up")).await.unwrap();
    store.insert_remote_client(&a, &remote_client("ns", "x", "up"), &audit("rc", "ns/x")).await.unwrap();
    store.put_authorization(&a, &authorization("ns", "x"), &audit("au", "ns/x")).await.unwrap();

    assert!(store.get_provider(&b, "up").await.unwrap().is_none());
    assert!(store.list_providers(&b).await.unwrap().is_empty());
    assert!(!store.update_provider(&b, &provider("up"), &audit("p", "up")).await.unwrap());
    assert!(!store.delete_provider(&b, "up", &audit("p", "up")).await.unwrap());
    // B cannot attach a remote client to A's provider.
    assert!(store.insert_remote_client(&b, &remote_client("ns", "x", "up"), &audit("rc", "ns/x")).await.is_err());
    assert!(store.get_remote_client(&b, "ns", "x").await.unwrap().is_none());
    assert!(store.list_remote_clients(&b).await.unwrap().is_empty());
    assert!(!store.update_remote_client(&b, &remote_client("ns", "x", "up"), &audit("rc", "ns/x")).await.unwrap());
    assert!(!store.delete_remote_client(&b, "ns", "x", &audit("rc", "ns/x")).await.unwrap());
    assert!(store.put_authorization(&b, &authorization("ns", "x"), &audit("au", "ns/x")).await.is_err());
    assert!(store.get_authorization(&b, "ns", "x").await.unwrap().is_none());
    assert!(store.list_authorizations(&b).await.unwrap().is_empty());
    let mut next = authorization("ns", "x");
    next.generation = 2;
    assert!(!store.update_authorization(&b, &next, &audit("au", "ns/x")).await.unwrap());
    assert!(!store.delete_authorization(&b, "ns", "x", &audit("au", "ns/x")).await.unwrap());

    // The same names are free in tenant B.
    store.insert_provider(&b, &provider("up"), &audit("p", "up")).await.unwrap();
    store.insert_remote_client(&b, &remote_client("ns", "x", "up"), &audit("rc", "ns/x")).await.unwrap();
    // A's objects are untouched.
    assert_eq!(store.get_authorization(&a, "ns", "x").await.unwrap().unwrap().generation, 1);
    assert!(store.get_remote_client(&a, "ns", "x").await.unwrap().is_some());
}
