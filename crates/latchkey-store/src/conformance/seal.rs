//! `SealRepo`: every sealed value is listed with its row's keys, and a
//! re-sealed value replaces only the one that was listed.

use std::sync::Arc;

use super::{audit, provider, remote_client, with_tenant};
use crate::{SealedKind, Store};

pub async fn sealed_values_are_listed_and_replaced_only_while_unchanged(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "seal-a").await;
    let _other = with_tenant(&*store, "seal-b").await;
    store.insert_provider(&t, &provider("up"), &audit("provider.create", "up")).await.unwrap();
    let mut rc = remote_client("ns", "a", "up");
    rc.sealed_secret = Some(vec![4, 5, 6]);
    store.insert_remote_client(&t, &rc, &audit("remote_client.create", "ns/a")).await.unwrap();
    // One without a secret is not listed.
    let mut without = remote_client("ns", "b", "up");
    without.sealed_secret = None;
    store.insert_remote_client(&t, &without, &audit("rc", "ns/b")).await.unwrap();

    // Both tenants' key checks and signing keys, with their keys.
    let checks = store.sealed_values(SealedKind::TenantKeyCheck).await.unwrap();
    let ours: Vec<_> = checks.iter().filter(|v| v.tenant_id.starts_with("seal-")).collect();
    assert_eq!(ours.len(), 2);
    assert!(ours.iter().all(|v| v.keys.is_empty() && v.hash.is_none() && v.sealed == vec![1, 2, 3]));
    let keys = store.sealed_values(SealedKind::SigningKey).await.unwrap();
    let key = keys.iter().find(|v| v.tenant_id == "seal-a").unwrap().clone();
    assert_eq!(key.keys, vec!["kid-seal-a".to_owned()]);
    assert_eq!(key.sealed, vec![9; 48]);
    let secrets = store.sealed_values(SealedKind::RemoteClientSecret).await.unwrap();
    let secrets: Vec<_> = secrets.iter().filter(|v| v.tenant_id == "seal-a").collect();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].keys, vec!["ns".to_owned(), "a".to_owned()]);

    // Replaced while unchanged; a stale value is refused.
    assert!(store.replace_sealed(&key, &[8; 50]).await.unwrap());
    assert!(!store.replace_sealed(&key, &[7; 50]).await.unwrap(), "the listed value changed meanwhile");
    let stored = store.list_signing_keys(&t).await.unwrap();
    assert_eq!(stored[0].sealed_private, vec![8; 50]);
    // The other tenant's key with the same bytes is untouched.
    let b_key = store.sealed_values(SealedKind::SigningKey).await.unwrap();
    assert_eq!(b_key.iter().find(|v| v.tenant_id == "seal-b").unwrap().sealed, vec![9; 48]);
    assert!(store.replace_sealed(secrets[0], &[1]).await.unwrap());
    assert_eq!(store.get_remote_client(&t, "ns", "a").await.unwrap().unwrap().sealed_secret, Some(vec![1]));
    for kind in SealedKind::ALL {
        // Every kind can be listed on an installation that has none of it.
        store.sealed_values(kind).await.unwrap();
    }

    // Installation keys: written once, then replaced by compare-and-swap.
    assert_eq!(store.installation_key("hmac").await.unwrap(), None);
    assert!(store.put_installation_key("hmac", None, &[1; 40], 1_000).await.unwrap());
    assert!(!store.put_installation_key("hmac", None, &[2; 40], 1_000).await.unwrap(), "already there");
    assert!(!store.put_installation_key("hmac", Some(&[3; 40]), &[2; 40], 1_000).await.unwrap(), "stale");
    assert!(store.put_installation_key("hmac", Some(&[1; 40]), &[2; 40], 2_000).await.unwrap());
    assert_eq!(store.installation_key("hmac").await.unwrap(), Some(vec![2; 40]));
}
