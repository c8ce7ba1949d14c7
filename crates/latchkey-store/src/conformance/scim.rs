//! Conformance cases for SCIM provisioning: `externalId`, renames and
//! deleting users, each scoped to its tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;

pub async fn scim_users_external_ids_renames_and_deletes(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut u = bootstrap(&t).users.remove(0);
    u.user_id = "u-s".into();
    u.username = "ada".into();
    u.roles = vec![];
    u.groups = vec!["eng".into()];
    store.insert_scim_user(&t, &u, Some("EXT-1"), &audit("user.create", "u-s")).await.unwrap();
    let mut dup = u.clone();
    dup.user_id = "u-d".into();
    dup.username = "ADA".into();
    let taken = store.insert_scim_user(&t, &dup, None, &audit("user.create", "u-d")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))));
    assert!(store.get_user(&t, "u-d").await.unwrap().is_none(), "nothing of a refused insert remains");
    assert_eq!(store.scim_external_id(&t, "u-s").await.unwrap().as_deref(), Some("EXT-1"));
    assert_eq!(store.scim_external_ids(&t).await.unwrap(), vec![("u-s".to_owned(), "EXT-1".to_owned())]);

    // A rename with a new externalId, groups and status, in one write.
    let epoch = store.get_user(&t, "u-s").await.unwrap().unwrap().token_epoch;
    let mut changed = u.clone();
    changed.username = "Ada.Lovelace".into();
    changed.groups = vec!["math".into()];
    changed.status = latchkey_core::UserStatus::Disabled;
    assert!(store.update_scim_user(&t, &changed, Some("EXT-2"), &audit("user.update", "u-s")).await.unwrap());
    let got = store.get_user_by_username(&t, "ada.lovelace").await.unwrap().unwrap();
    assert_eq!((got.groups, got.status.as_str()), (vec!["math".to_owned()], "disabled"));
    assert_ne!(got.token_epoch, epoch, "a disable moves the epoch");
    assert_eq!(store.scim_external_id(&t, "u-s").await.unwrap().as_deref(), Some("EXT-2"));
    assert!(store.update_scim_user(&t, &changed, None, &audit("user.update", "u-s")).await.unwrap());
    assert_eq!(store.scim_external_id(&t, "u-s").await.unwrap(), None);
    // Renaming onto a taken name is a conflict and changes nothing.
    let mut clash = changed.clone();
    clash.username = "admin".into();
    let r = store.update_scim_user(&t, &clash, Some("X"), &audit("user.update", "u-s")).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))));
    assert_eq!(store.get_user(&t, "u-s").await.unwrap().unwrap().username, "Ada.Lovelace");

    // Another tenant sees, changes and deletes nothing of this one.
    let other = with_tenant(&*store, "other").await;
    assert!(store.scim_external_ids(&other).await.unwrap().is_empty());
    assert_eq!(store.scim_external_id(&other, "u-s").await.unwrap(), None);
    assert!(!store.update_scim_user(&other, &changed, Some("Y"), &audit("user.update", "u-s")).await.unwrap());
    assert!(!store.delete_user(&other, "u-s", &audit("user.delete", "u-s")).await.unwrap());
    assert!(store.get_user(&t, "u-s").await.unwrap().is_some());

    store.update_scim_user(&t, &changed, Some("EXT-3"), &audit("user.update", "u-s")).await.unwrap();
    assert!(store.delete_user(&t, "u-s", &audit("user.delete", "u-s")).await.unwrap());
    assert!(store.get_user(&t, "u-s").await.unwrap().is_none());
    assert!(store.scim_external_ids(&t).await.unwrap().is_empty());
    assert!(!store.delete_user(&t, "u-s", &audit("user.delete", "u-s")).await.unwrap());
    let actions: Vec<String> = store.list_audit(&t, 50).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(actions.iter().filter(|a| *a == "user.delete").count(), 1, "one audit event per change made");
    // The name is free again.
    store.insert_scim_user(&t, &u, None, &audit("user.create", "u-s")).await.unwrap();
}
