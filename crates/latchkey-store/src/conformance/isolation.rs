//! Checklist 60: every storage operation takes the tenant, and run with
//! tenant B's context against tenant A's objects it finds, changes and
//! deletes nothing. (Flows and remote objects have their own cases:
//! `i60_flows_are_isolated_per_tenant`, `checklist_60_remote_tenant_isolation`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;
use crate::{AuditQuery, ClientQuery, SecurityClassRecord};

pub async fn checklist_60_every_catalogue_operation_is_tenant_scoped(store: Arc<dyn Store>) {
    let a = with_tenant(&*store, "tenant-a").await;
    let b = with_tenant(&*store, "tenant-b").await;

    // Tenant A's objects: a client with a secret, a scope, a class, a user.
    let mut c = client(&a, "a-client", "Alpha service", 2_000);
    c.config.security_classes = vec!["a-class".into()];
    let scope = ScopeRecord { name: "a:scope".into(), description: "A".into(), created_at: 1, updated_at: 1 };
    store.insert_scope(&a, &scope, &audit("scope.create", "a:scope")).await.unwrap();
    let class = SecurityClassRecord {
        name: "a-class".into(),
        description: "A".into(),
        scopes: latchkey_core::ScopeSet::parse_param("a:scope").unwrap(),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_class(&a, &class, &audit("class.create", "a-class")).await.unwrap();
    store.insert_client(&c, &[secret("a-secret")], &audit("client.create", "a-client")).await.unwrap();
    let user = store.get_user_by_username(&a, "admin").await.unwrap().unwrap();

    // Reads from B find nothing of A's.
    let q = ClientQuery { q: Some("Alpha".into()), limit: 100, ..ClientQuery::default() };
    assert!(store.search_clients(&b, &q, 3_000).await.unwrap().is_empty(), "search");
    assert!(store.clients_referencing(&b, "security_classes", "a-class").await.unwrap().is_empty());
    assert!(store.clients_referencing(&b, "scopes", "api:read").await.unwrap().iter().all(|id| id != "a-client"));
    assert!(!store.list_scopes(&b).await.unwrap().iter().any(|s| s.name == "a:scope"), "scopes");
    assert!(store.list_classes(&b).await.unwrap().is_empty(), "classes");
    assert!(store.get_user(&b, &user.user_id).await.unwrap().is_none(), "users by id");
    assert!(store.list_users(&b, None, None, 100).await.unwrap().iter().all(|u| u.user_id != user.user_id));
    let events = store.search_audit(&b, &AuditQuery { limit: 500, ..AuditQuery::default() }).await.unwrap();
    assert!(events.iter().all(|e| !e.target_id.starts_with("a")), "audit: {events:?}");
    let events = store
        .search_audit(&b, &AuditQuery { target_id: Some("a-client".into()), limit: 10, ..AuditQuery::default() })
        .await
        .unwrap();
    assert!(events.is_empty(), "audit by target");

    // Writes from B change nothing of A's.
    let mut foreign = c.clone();
    foreign.tenant = b.clone();
    foreign.name = "Renamed by B".into();
    assert!(!store.update_client(&foreign, c.revision, &audit("client.update", "a-client")).await.unwrap());
    let mut s2 = secret("b-secret");
    s2.secret_hash = vec![8; 32];
    assert!(!store.add_secret(&b, &c.client_id, &s2, None, 5, 3_000, &audit("secret.add", "a-client")).await.unwrap());
    store.expire_secrets(&b, &c.client_id, &["a-secret".into()], 3_000, &audit("secret.revoke", "a")).await.unwrap();
    let renamed = ScopeRecord { description: "B".into(), ..scope.clone() };
    assert!(!store.update_scope(&b, &renamed, &audit("scope.update", "a:scope")).await.unwrap());
    assert!(!store.delete_scope(&b, "a:scope", &audit("scope.delete", "a:scope")).await.unwrap());
    let emptied = SecurityClassRecord { scopes: latchkey_core::ScopeSet::default(), ..class.clone() };
    assert!(!store.update_class(&b, &emptied, &audit("class.update", "a-class")).await.unwrap());
    assert!(!store.delete_class(&b, "a-class", &audit("class.delete", "a-class")).await.unwrap());
    let mut hijack = user.clone();
    hijack.roles = vec![latchkey_core::AdminRole::Owner];
    hijack.password_hash = "b's".into();
    assert!(!store.update_user(&b, &hijack, &audit("user.update", &user.user_id)).await.unwrap());
    let key = SigningKeyRecord {
        kid: "b-next".into(),
        alg: latchkey_core::SigningAlg::Es256,
        purpose: KeyPurpose::AccessToken,
        sealed_private: vec![1; 48],
        public_jwk: "{}".into(),
        created_at: 2_000,
        activated_at: Some(2_500),
        retired_at: None,
    };
    assert!(store.rotate_signing_key(&b, &key, 2_000, &audit("key.rotate", "b-next")).await.unwrap());

    // Tenant A's objects are exactly as they were.
    let (got, secrets) = store.get_client_with_secrets(&a, &c.client_id).await.unwrap().unwrap();
    assert_eq!((got.name.as_str(), got.revision), ("Alpha service", c.revision));
    assert_eq!(secrets.len(), 1);
    assert_eq!((secrets[0].secret_id.as_str(), secrets[0].expires_at), ("a-secret", None), "not expired by B");
    assert_eq!(store.list_scopes(&a).await.unwrap().into_iter().find(|s| s.name == "a:scope").unwrap(), scope);
    assert_eq!(store.list_classes(&a).await.unwrap(), vec![class]);
    let after = store.get_user(&a, &user.user_id).await.unwrap().unwrap();
    assert_eq!((after.roles, after.password_hash), (user.roles, user.password_hash), "not hijacked by B");
    let keys = store.list_signing_keys(&a).await.unwrap();
    assert!(keys.iter().all(|k| k.kid != "b-next" && k.retired_at.is_none()), "B's rotation retired none of A's keys");
}
