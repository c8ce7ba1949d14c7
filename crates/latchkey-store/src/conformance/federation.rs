//! Conformance cases for upstream authorization-code flows and federated
//! sign-in links.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;
use crate::{FederatedLinkRecord, RemoteFlowRecord};

fn flow(state: &str, expires_at: i64) -> RemoteFlowRecord {
    RemoteFlowRecord {
        state_hash: state.into(),
        kind: "authorization".into(),
        provider: "up".into(),
        browser_hash: "b".repeat(64),
        sealed_data: vec![1, 2, 3],
        created_at: 1_000,
        expires_at,
        used_at: None,
    }
}

fn link(subject: &str, user: &str) -> FederatedLinkRecord {
    FederatedLinkRecord { provider: "up".into(), subject: subject.into(), user_id: user.into(), created_at: 1_000 }
}

fn user(t: &TenantId, id: &str, username: &str, email: &str) -> UserRecord {
    let mut u = bootstrap(t).users.remove(0);
    u.user_id = id.into();
    u.username = username.into();
    u.email = Some(email.into());
    u.roles = Vec::new();
    u.groups = vec!["staff".into()];
    u
}

/// A flow is taken once: unknown, used and expired flows are not returned,
/// and of concurrent takers exactly one wins.
pub async fn remote_flows_are_taken_once(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "flows-a").await;
    store.insert_remote_flow(&t, &flow("s1", 2_000), Some(&audit("authorization.start", "ns/a"))).await.unwrap();
    store.insert_remote_flow(&t, &flow("s2", 2_000), None).await.unwrap();
    assert!(store.insert_remote_flow(&t, &flow("s1", 2_000), None).await.is_err(), "state hashes are unique");
    assert!(store.list_audit(&t, 100).await.unwrap().iter().any(|e| e.action == "authorization.start"));

    assert!(store.take_remote_flow(&t, "nope", 1_500).await.unwrap().is_none());
    // Expired at 2_000.
    assert!(store.take_remote_flow(&t, "s2", 2_000).await.unwrap().is_none());
    let got = store.take_remote_flow(&t, "s1", 1_500).await.unwrap().unwrap();
    assert_eq!(got, RemoteFlowRecord { used_at: Some(1_500), ..flow("s1", 2_000) });
    assert!(store.take_remote_flow(&t, "s1", 1_501).await.unwrap().is_none(), "single use");

    // Concurrent takers: one wins.
    store.insert_remote_flow(&t, &flow("s3", 2_000), None).await.unwrap();
    let takers = (0..8).map(|_| {
        let (store, t) = (store.clone(), t.clone());
        tokio::spawn(async move { store.take_remote_flow(&t, "s3", 1_600).await.unwrap().is_some() })
    });
    let wins = futures_util::future::join_all(takers).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(wins, 1);

    assert_eq!(store.purge_remote_flows(&t, 2_001).await.unwrap(), 3);
    assert!(store.take_remote_flow(&t, "s2", 1_000).await.unwrap().is_none());
}

/// Links: round trip, one user per upstream account, provisioning in the
/// same transaction (all or nothing), lookup by email.
pub async fn federated_links_and_provisioning(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "fed-a").await;
    store.insert_provider(&t, &provider("up"), &audit("provider.create", "up")).await.unwrap();
    let alice = user(&t, "u-alice", "alice", "Alice@Example.com");
    store.insert_user(&t, &alice, &audit("user.create", "u-alice")).await.unwrap();
    assert_eq!(store.users_with_email(&t, "alice@example.COM").await.unwrap(), vec!["u-alice".to_owned()]);
    assert!(store.users_with_email(&t, "bob@example.com").await.unwrap().is_empty());

    store.insert_federated_link(&t, &link("sub-1", "u-alice"), None, &audit("federation.link", "up")).await.unwrap();
    assert_eq!(store.get_federated_link(&t, "up", "sub-1").await.unwrap(), Some(link("sub-1", "u-alice")));
    assert!(store.get_federated_link(&t, "up", "sub-2").await.unwrap().is_none());
    let dup = store.insert_federated_link(&t, &link("sub-1", "u-alice"), None, &audit("federation.link", "up")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    // A link needs an existing user and provider.
    let dangling = store.insert_federated_link(&t, &link("sub-9", "u-nobody"), None, &audit("f", "up")).await;
    assert!(matches!(dangling, Err(StoreError::Conflict(_))), "{dangling:?}");

    // Provisioning: user and link together.
    let bob = user(&t, "u-bob", "bob", "bob@example.com");
    store
        .insert_federated_link(&t, &link("sub-2", "u-bob"), Some(&bob), &audit("federation.provision", "up"))
        .await
        .unwrap();
    let got = store.get_user(&t, "u-bob").await.unwrap().unwrap();
    assert_eq!((got.username.as_str(), got.groups.clone()), ("bob", vec!["staff".to_owned()]));
    // All or nothing: a taken username leaves neither user nor link.
    let clash = user(&t, "u-bob2", "BOB", "bob2@example.com");
    let r = store.insert_federated_link(&t, &link("sub-3", "u-bob2"), Some(&clash), &audit("f", "up")).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert!(store.get_user(&t, "u-bob2").await.unwrap().is_none());
    assert!(store.get_federated_link(&t, "up", "sub-3").await.unwrap().is_none());

    assert_eq!(store.list_federated_links(&t, "u-alice").await.unwrap(), vec![link("sub-1", "u-alice")]);
    assert!(store.delete_federated_link(&t, "up", "sub-1", &audit("federation.unlink", "up")).await.unwrap());
    assert!(!store.delete_federated_link(&t, "up", "sub-1", &audit("federation.unlink", "up")).await.unwrap());
    assert!(store.list_federated_links(&t, "u-alice").await.unwrap().is_empty());
}

/// SECURITY-CHECKLIST 60: tenant B's context gets nothing of tenant A's
/// flows, links and users, and cannot link to A's users or providers.
pub async fn checklist_60_federation_tenant_isolation(store: Arc<dyn Store>) {
    let a = with_tenant(&*store, "fed-iso-a").await;
    let b = with_tenant(&*store, "fed-iso-b").await;
    store.insert_provider(&a, &provider("up"), &audit("p", "up")).await.unwrap();
    store.insert_user(&a, &user(&a, "u-a", "ann", "ann@example.com"), &audit("u", "u-a")).await.unwrap();
    store.insert_federated_link(&a, &link("sub-a", "u-a"), None, &audit("f", "up")).await.unwrap();
    store.insert_remote_flow(&a, &flow("s-a", 2_000), None).await.unwrap();

    assert!(store.take_remote_flow(&b, "s-a", 1_500).await.unwrap().is_none());
    assert_eq!(store.purge_remote_flows(&b, 9_999).await.unwrap(), 0);
    assert!(store.get_federated_link(&b, "up", "sub-a").await.unwrap().is_none());
    assert!(store.list_federated_links(&b, "u-a").await.unwrap().is_empty());
    assert!(!store.delete_federated_link(&b, "up", "sub-a", &audit("f", "up")).await.unwrap());
    assert!(store.users_with_email(&b, "ann@example.com").await.unwrap().is_empty());
    // B cannot link to A's user through A's provider.
    assert!(store.insert_federated_link(&b, &link("sub-b", "u-a"), None, &audit("f", "up")).await.is_err());

    // A's objects are untouched.
    assert!(store.get_federated_link(&a, "up", "sub-a").await.unwrap().is_some());
    assert!(store.take_remote_flow(&a, "s-a", 1_500).await.unwrap().is_some());
}

/// Trust issue, item 4, for providers: deleting a provider takes its
/// account links and its sign-ins under way with it, so a provider created
/// again under the same name (perhaps at another address) signs nobody in
/// as an existing user and receives no code meant for the old one.
pub async fn a_deleted_providers_links_and_flows_never_come_back(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "fed-d").await;
    store.insert_provider(&t, &provider("up"), &audit("provider.create", "up")).await.unwrap();
    let alice = user(&t, "u-alice", "alice", "alice@example.com");
    store.insert_user(&t, &alice, &audit("user.create", "u-alice")).await.unwrap();
    store.insert_federated_link(&t, &link("sub-1", "u-alice"), None, &audit("federation.link", "up")).await.unwrap();
    store.insert_remote_flow(&t, &flow("s-live", 5_000), None).await.unwrap();
    assert!(store.delete_provider(&t, "up", &audit("provider.delete", "up")).await.unwrap());
    store.insert_provider(&t, &provider("up"), &audit("provider.create", "up")).await.unwrap();
    assert!(store.get_federated_link(&t, "up", "sub-1").await.unwrap().is_none());
    assert!(store.list_federated_links(&t, "u-alice").await.unwrap().is_empty());
    assert!(store.take_remote_flow(&t, "s-live", 1_500).await.unwrap().is_none());
}
