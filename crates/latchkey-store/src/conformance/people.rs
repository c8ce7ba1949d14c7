//! Conformance cases for users (roles, groups, token epochs) and the
//! audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;

pub async fn audit_search_filters_and_pages(store: Arc<dyn Store>) {
    use crate::AuditQuery;
    let t = with_tenant(&*store, "acme").await;
    for i in 0..6 {
        let mut a = audit(if i % 2 == 0 { "client.update" } else { "scope.create" }, &format!("t{}", i % 3));
        a.actor = if i < 3 { "alice".into() } else { "bob".into() };
        store
            .insert_scope(
                &t,
                &ScopeRecord { name: format!("s{i}"), description: String::new(), created_at: 1, updated_at: 1 },
                &a,
            )
            .await
            .unwrap();
    }
    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery { limit: 100, ..AuditQuery::default() };
        f(&mut q);
        q
    };
    assert_eq!(store.search_audit(&t, &q(|q| q.actor = Some("bob".into()))).await.unwrap().len(), 3);
    assert_eq!(store.search_audit(&t, &q(|q| q.action = Some("client.update".into()))).await.unwrap().len(), 3);
    assert_eq!(store.search_audit(&t, &q(|q| q.target_id = Some("t0".into()))).await.unwrap().len(), 2);
    let without = |q: &mut AuditQuery| q.exclude_actions = vec!["client.update".into(), "tenant.bootstrap".into()];
    let rest = store.search_audit(&t, &q(without)).await.unwrap();
    assert_eq!(rest.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(), ["scope.create"; 3], "actions left out");
    // `q`: a substring of actor, action or target id, any case; % and _ are literal.
    assert_eq!(store.search_audit(&t, &q(|q| q.q = Some("BOB".into()))).await.unwrap().len(), 3);
    assert_eq!(store.search_audit(&t, &q(|q| q.q = Some("t.upd".into()))).await.unwrap().len(), 3);
    assert_eq!(store.search_audit(&t, &q(|q| q.q = Some("%".into()))).await.unwrap().len(), 0);
    let all = store.search_audit(&t, &q(|_| {})).await.unwrap();
    assert_eq!(all.len(), 7, "six scopes and the bootstrap event");
    assert!(all.windows(2).all(|w| (w[0].occurred_at, &w[0].event_id) >= (w[1].occurred_at, &w[1].event_id)));
    let first = store.search_audit(&t, &AuditQuery { limit: 3, ..AuditQuery::default() }).await.unwrap();
    let last = first.last().unwrap();
    let rest = store
        .search_audit(
            &t,
            &AuditQuery {
                limit: 100,
                before: Some((last.occurred_at, last.event_id.clone())),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.len() + rest.len(), 7);
    assert_eq!(rest[0].event_id, all[3].event_id);
}

pub async fn users_crud_roles_groups(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut u = bootstrap(&t).users.remove(0);
    u.user_id = "u-2".into();
    u.username = "Grace.Hopper".into();
    u.roles = vec![latchkey_core::AdminRole::Viewer];
    u.groups = vec!["navy".into(), "compilers".into()];
    store.insert_user(&t, &u, &audit("user.create", "u-2")).await.unwrap();
    let mut dup = u.clone();
    dup.user_id = "u-3".into();
    dup.username = "grace.HOPPER".into();
    assert!(matches!(store.insert_user(&t, &dup, &audit("user.create", "u-3")).await, Err(StoreError::Conflict(_))));
    let got = store.get_user(&t, "u-2").await.unwrap().unwrap();
    assert_eq!(
        (got.roles.clone(), got.groups.clone()),
        (vec![latchkey_core::AdminRole::Viewer], vec!["compilers".to_owned(), "navy".to_owned()])
    );
    assert_eq!(store.get_user_by_username(&t, "GRACE.hopper").await.unwrap().unwrap().user_id, "u-2");
    let mut changed = got.clone();
    changed.roles = vec![latchkey_core::AdminRole::TenantAdmin];
    changed.groups = vec![];
    changed.status = latchkey_core::UserStatus::Disabled;
    changed.password_hash = "$argon2id$new".into();
    assert!(store.update_user(&t, &changed, &audit("user.update", "u-2")).await.unwrap());
    let got = store.get_user(&t, "u-2").await.unwrap().unwrap();
    assert_eq!(
        (got.roles, got.groups, got.status.as_str(), got.password_hash.as_str()),
        (vec![latchkey_core::AdminRole::TenantAdmin], vec![], "disabled", "$argon2id$new")
    );
    let page = store.list_users(&t, None, None, 1).await.unwrap();
    assert_eq!(page[0].username, "Admin");
    let rest = store.list_users(&t, None, Some("admin"), 10).await.unwrap();
    assert_eq!(rest.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), vec!["Grace.Hopper"]);
    assert_eq!(store.list_users(&t, Some("hop"), None, 10).await.unwrap().len(), 1);
    let other = with_tenant(&*store, "other").await;
    assert!(store.get_user(&other, "u-2").await.unwrap().is_none());
    assert!(!store.update_user(&other, &changed, &audit("user.update", "x")).await.unwrap());
}

/// A user's epoch starts where it was created and moves with every status
/// or password change; a token naming an old epoch, or a disabled or
/// missing user, counts as revoked.
pub async fn user_epochs_end_tokens_on_status_and_password_changes(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_client(&client(&t, "web", "Web", 2_000), &[], &audit("c", "web")).await.unwrap();
    let mut u = bootstrap(&t).users.remove(0);
    u.user_id = "u-e".into();
    u.username = "epoch".into();
    u.token_epoch = 1_000_000;
    store.insert_user(&t, &u, &audit("user.create", "u-e")).await.unwrap();
    let state = |epoch: i64| {
        let store = store.clone();
        let t = t.clone();
        async move { store.jwt_state(&t, "web", "j", 2_500, 0, Some(("u-e", epoch))).await.unwrap() }
    };
    assert_eq!(state(1_000_000).await, (ClientState::Active, false));
    assert_eq!(state(7).await, (ClientState::Active, true), "another incarnation's token");
    assert_eq!(
        store.jwt_state(&t, "web", "j", 2_500, 0, Some(("u-missing", 0))).await.unwrap(),
        (ClientState::Active, true),
        "a user who is not there holds no live token"
    );

    let mut got = store.get_user(&t, "u-e").await.unwrap().unwrap();
    assert_eq!(got.token_epoch, 1_000_000);
    got.display_name = "Renamed".into();
    assert!(store.update_user(&t, &got, &audit("user.update", "u-e")).await.unwrap());
    assert_eq!(store.get_user(&t, "u-e").await.unwrap().unwrap().token_epoch, 1_000_000, "a rename keeps tokens");

    got.password_hash = "$argon2id$other".into();
    assert!(store.update_user(&t, &got, &audit("user.password", "u-e")).await.unwrap());
    let got = store.get_user(&t, "u-e").await.unwrap().unwrap();
    assert_eq!(got.token_epoch, 1_000_001, "a password change ends tokens");
    assert_eq!(state(1_000_000).await, (ClientState::Active, true));
    assert_eq!(state(1_000_001).await, (ClientState::Active, false));

    let mut off = got.clone();
    off.status = latchkey_core::UserStatus::Disabled;
    assert!(store.update_user(&t, &off, &audit("user.disable", "u-e")).await.unwrap());
    assert_eq!(state(1_000_002).await, (ClientState::Active, true), "a disabled user's tokens are dead");
    let mut on = store.get_user(&t, "u-e").await.unwrap().unwrap();
    on.status = latchkey_core::UserStatus::Active;
    assert!(store.update_user(&t, &on, &audit("user.enable", "u-e")).await.unwrap());
    assert_eq!(state(1_000_002).await, (ClientState::Active, true), "enabling does not revive them");
    assert_eq!(state(1_000_003).await, (ClientState::Active, false));
}
