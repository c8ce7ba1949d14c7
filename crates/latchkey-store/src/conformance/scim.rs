//! Conformance cases for SCIM provisioning: `externalId`, renames and
//! deleting users, each scoped to its tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;
use crate::ScimAttributes;

/// Only an `externalId`.
fn ext(x: &str) -> ScimAttributes {
    ScimAttributes { external_id: Some(x.into()), ..ScimAttributes::default() }
}

fn none() -> ScimAttributes {
    ScimAttributes::default()
}

pub async fn scim_users_external_ids_renames_and_deletes(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut u = bootstrap(&t).users.remove(0);
    u.user_id = "u-s".into();
    u.username = "ada".into();
    u.roles = vec![];
    u.groups = vec!["eng".into()];
    store.insert_scim_user(&t, &u, &ext("EXT-1"), &audit("user.create", "u-s")).await.unwrap();
    let mut dup = u.clone();
    dup.user_id = "u-d".into();
    dup.username = "ADA".into();
    let taken = store.insert_scim_user(&t, &dup, &none(), &audit("user.create", "u-d")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))));
    assert!(store.get_user(&t, "u-d").await.unwrap().is_none(), "nothing of a refused insert remains");
    assert_eq!(store.scim_attributes(&t, "u-s").await.unwrap(), ext("EXT-1"));
    assert_eq!(store.scim_attributes_all(&t).await.unwrap(), vec![("u-s".to_owned(), ext("EXT-1"))]);

    // A rename with a new externalId, groups and status, in one write.
    let epoch = store.get_user(&t, "u-s").await.unwrap().unwrap().token_epoch;
    let mut changed = u.clone();
    changed.username = "Ada.Lovelace".into();
    changed.groups = vec!["math".into()];
    changed.status = latchkey_core::UserStatus::Disabled;
    assert!(store.update_scim_user(&t, &changed, &ext("EXT-2"), &audit("user.update", "u-s")).await.unwrap());
    let got = store.get_user_by_username(&t, "ada.lovelace").await.unwrap().unwrap();
    assert_eq!((got.groups, got.status.as_str()), (vec!["math".to_owned()], "disabled"));
    assert_ne!(got.token_epoch, epoch, "a disable moves the epoch");
    assert_eq!(store.scim_attributes(&t, "u-s").await.unwrap(), ext("EXT-2"));
    assert!(store.update_scim_user(&t, &changed, &none(), &audit("user.update", "u-s")).await.unwrap());
    assert_eq!(store.scim_attributes(&t, "u-s").await.unwrap(), none());
    // The name and emails a connector wrote, without an externalId, and
    // then replaced.
    let profile = ScimAttributes {
        external_id: None,
        name: Some(r#"{"givenName":"Ada","familyName":"Lovelace"}"#.into()),
        emails: Some(r#"[{"value":"ada@example.com","type":"work","primary":true}]"#.into()),
    };
    assert!(store.update_scim_user(&t, &changed, &profile, &audit("user.update", "u-s")).await.unwrap());
    assert_eq!(store.scim_attributes(&t, "u-s").await.unwrap(), profile);
    assert_eq!(store.scim_attributes_all(&t).await.unwrap(), vec![("u-s".to_owned(), profile.clone())]);
    let both = ScimAttributes { external_id: Some("EXT-P".into()), name: None, ..profile.clone() };
    assert!(store.update_scim_user(&t, &changed, &both, &audit("user.update", "u-s")).await.unwrap());
    assert_eq!(store.scim_attributes(&t, "u-s").await.unwrap(), both);
    // Renaming onto a taken name is a conflict and changes nothing.
    let mut clash = changed.clone();
    clash.username = "admin".into();
    let r = store.update_scim_user(&t, &clash, &ext("X"), &audit("user.update", "u-s")).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))));
    assert_eq!(store.get_user(&t, "u-s").await.unwrap().unwrap().username, "Ada.Lovelace");

    // Another tenant sees, changes and deletes nothing of this one.
    let other = with_tenant(&*store, "other").await;
    assert!(store.scim_attributes_all(&other).await.unwrap().is_empty());
    assert_eq!(store.scim_attributes(&other, "u-s").await.unwrap(), none());
    assert!(!store.update_scim_user(&other, &changed, &ext("Y"), &audit("user.update", "u-s")).await.unwrap());
    assert!(!store.delete_user(&other, "u-s", &audit("user.delete", "u-s")).await.unwrap());
    assert!(store.get_user(&t, "u-s").await.unwrap().is_some());

    store.update_scim_user(&t, &changed, &ext("EXT-3"), &audit("user.update", "u-s")).await.unwrap();
    assert!(store.delete_user(&t, "u-s", &audit("user.delete", "u-s")).await.unwrap());
    assert!(store.get_user(&t, "u-s").await.unwrap().is_none());
    assert!(store.scim_attributes_all(&t).await.unwrap().is_empty(), "deleted with the user");
    assert!(!store.delete_user(&t, "u-s", &audit("user.delete", "u-s")).await.unwrap());
    let actions: Vec<String> = store.list_audit(&t, 50).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(actions.iter().filter(|a| *a == "user.delete").count(), 1, "one audit event per change made");
    // The name is free again.
    store.insert_scim_user(&t, &u, &none(), &audit("user.create", "u-s")).await.unwrap();
}

/// SCIM groups: members are the users holding the group's name, so a
/// rename or delete changes every member's `groups`, in one transaction.
pub async fn scim_groups_keep_user_groups_in_sync(store: Arc<dyn Store>) {
    use crate::ScimGroupRecord;
    let t = with_tenant(&*store, "acme").await;
    let mut u = bootstrap(&t).users.remove(0);
    for (id, name) in [("u-1", "ann"), ("u-2", "ben")] {
        u.user_id = id.into();
        u.username = name.into();
        u.roles = vec![];
        u.groups = vec!["other".into()];
        store.insert_user(&t, &u, &audit("user.create", id)).await.unwrap();
    }
    let g = ScimGroupRecord {
        group_id: "g-1".into(),
        display_name: "eng".into(),
        external_id: Some("X1".into()),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_scim_group(&t, &g, &["u-1".into(), "u-2".into()], &audit("group.create", "g-1")).await.unwrap();
    let dup = ScimGroupRecord { group_id: "g-2".into(), ..g.clone() };
    let r = store.insert_scim_group(&t, &dup, &[], &audit("group.create", "g-2")).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))));
    assert_eq!(store.get_scim_group(&t, "g-1").await.unwrap().unwrap(), g);
    assert_eq!(
        store.group_members(&t, "eng").await.unwrap(),
        vec![("u-1".to_owned(), "ann".to_owned()), ("u-2".to_owned(), "ben".to_owned())]
    );
    assert_eq!(store.get_user(&t, "u-1").await.unwrap().unwrap().groups, vec!["eng".to_owned(), "other".to_owned()]);

    // Renamed, with one member less: every member's groups follow.
    let renamed = ScimGroupRecord { display_name: "platform".into(), external_id: None, updated_at: 2, ..g.clone() };
    assert!(
        store.update_scim_group(&t, &renamed, "eng", &["u-2".into()], &audit("group.update", "g-1")).await.unwrap()
    );
    assert_eq!(store.get_user(&t, "u-1").await.unwrap().unwrap().groups, vec!["other".to_owned()]);
    assert_eq!(
        store.get_user(&t, "u-2").await.unwrap().unwrap().groups,
        vec!["other".to_owned(), "platform".to_owned()]
    );
    assert!(store.group_members(&t, "eng").await.unwrap().is_empty());
    assert_eq!(store.list_scim_groups(&t).await.unwrap(), vec![renamed.clone()]);

    // Another tenant sees and changes nothing.
    let other = with_tenant(&*store, "other").await;
    assert!(store.list_scim_groups(&other).await.unwrap().is_empty());
    assert!(store.get_scim_group(&other, "g-1").await.unwrap().is_none());
    assert!(store.group_members(&other, "platform").await.unwrap().is_empty());
    assert!(!store.update_scim_group(&other, &renamed, "platform", &[], &audit("group.update", "g-1")).await.unwrap());
    assert!(!store.delete_scim_group(&other, "g-1", &audit("group.delete", "g-1")).await.unwrap());

    assert!(store.delete_scim_group(&t, "g-1", &audit("group.delete", "g-1")).await.unwrap());
    assert!(store.get_scim_group(&t, "g-1").await.unwrap().is_none());
    assert_eq!(store.get_user(&t, "u-2").await.unwrap().unwrap().groups, vec!["other".to_owned()]);
    assert!(!store.delete_scim_group(&t, "g-1", &audit("group.delete", "g-1")).await.unwrap());
}

/// A connector's refused requests: only the latest are kept, newest first,
/// per tenant and client; none for a client that is not there; they go with
/// the client, so one re-created under the same id starts clean.
pub async fn scim_errors_keep_the_latest_per_connector_and_go_with_it(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    let c = client(&t, "sync", "Sync", 1_000);
    store.insert_client(&c, &[], &audit("client.create", "sync")).await.unwrap();
    store.insert_client(&client(&other, "sync", "Sync", 1_000), &[], &audit("client.create", "sync")).await.unwrap();
    let err = |n: i64| crate::ScimErrorRecord {
        error_id: format!("e{n:03}"),
        occurred_at: 2_000 + n,
        method: "POST".into(),
        path: "/scim/v2/Users".into(),
        status: 409,
        scim_type: Some("uniqueness".into()),
        detail: format!("username {n} is taken"),
    };
    for n in 0..25 {
        store.record_scim_error(&t, "sync", &err(n)).await.unwrap();
    }
    store.record_scim_error(&t, "nobody", &err(99)).await.unwrap();
    let got = store.list_scim_errors(&t, "sync").await.unwrap();
    assert_eq!(got.len(), usize::try_from(crate::SCIM_ERRORS_KEPT).unwrap());
    assert_eq!(got[0], err(24), "newest first, every field kept");
    assert_eq!(got.last().unwrap().error_id, "e005", "the oldest beyond the bound are gone");
    assert!(store.list_scim_errors(&other, "sync").await.unwrap().is_empty(), "another tenant's connector");
    assert!(store.list_scim_errors(&t, "nobody").await.unwrap().is_empty(), "no client, no record");

    assert!(store.delete_client(&t, &c.client_id, &audit("client.delete", "sync")).await.unwrap());
    store.insert_client(&c, &[], &audit("client.create", "sync")).await.unwrap();
    assert!(store.list_scim_errors(&t, "sync").await.unwrap().is_empty(), "a re-created client starts clean");
}
