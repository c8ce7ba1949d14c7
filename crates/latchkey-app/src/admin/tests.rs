//! Secret lifecycle, usage and type changes, with time under test control.

use latchkey_core::TokenErrorCode;
use serde_json::json;

use super::Actor;
use super::secrets::{AddSecret, RotateSecret};
use crate::test_world::{World, cc, m2m, world};
use crate::tokens::client_auth::PresentedAuth;

async fn works(w: &World, id: &str, secret: &str) -> bool {
    let auth = PresentedAuth::Basic { client_id: id.to_owned(), secret: secret.to_owned() };
    match w.app.tokens.token(&w.ctx, &auth, &cc(), None).await {
        Ok(_) => true,
        Err(e) if e.code == TokenErrorCode::InvalidClient => false,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn rotation_grace_ends_exactly_at_its_deadline() {
    let w = world().await;
    let (id, old) = m2m(&w, "jwt").await;
    let r = w
        .app
        .clients
        .rotate_secret(&w.ctx, &Actor::system(), &id, RotateSecret { grace_seconds: 600, label: None })
        .await
        .unwrap();
    assert_eq!(r.expiring[0].expires_at, Some(w.clock.now_for_test() + 600));
    w.clock.advance(599);
    assert!(works(&w, &id, &old).await, "old secret still valid at 599 s");
    assert!(works(&w, &id, &r.client_secret).await);
    w.clock.advance(1);
    assert!(!works(&w, &id, &old).await, "old secret dead at 600 s");
    assert!(works(&w, &id, &r.client_secret).await);
}

#[tokio::test]
async fn tenant_maximum_secret_age_caps_every_new_secret() {
    let w = world().await;
    let (id, _) = m2m(&w, "jwt").await;
    // Tighten the policy in the cached tenant context used by the services.
    let mut ctx = (*w.ctx).clone_for_test();
    ctx.settings.secret_max_age_days = Some(30);
    let day = 86_400;
    let s = w
        .app
        .clients
        .add_secret(&ctx, &Actor::system(), &id, AddSecret { expires_in_days: Some(90), ..AddSecret::default() })
        .await
        .unwrap();
    assert_eq!(s.secret.expires_at, Some(w.clock.now_for_test() + 30 * day), "90 requested, 30 allowed");
    let s = w
        .app
        .clients
        .add_secret(&ctx, &Actor::system(), &id, AddSecret { expires_in_days: Some(7), ..AddSecret::default() })
        .await
        .unwrap();
    assert_eq!(s.secret.expires_at, Some(w.clock.now_for_test() + 7 * day));
    w.clock.advance(30 * day);
    assert!(!works(&w, &id, &s.client_secret).await, "expired with the clock");
}

#[tokio::test]
async fn usage_is_recorded_in_batches_off_the_token_path() {
    let w = world().await;
    let (id, secret) = m2m(&w, "jwt").await;
    assert!(works(&w, &id, &secret).await);
    // Nothing written yet: the token path only touched memory.
    assert_eq!(w.app.clients.get_client(&w.ctx, &id).await.unwrap().last_used_at, None);
    w.clock.advance(10);
    assert!(works(&w, &id, &secret).await);
    assert_eq!(w.app.tokens.flush_usage().await.unwrap(), 1, "one row per client and secret, not per request");
    let view = w.app.clients.get_client(&w.ctx, &id).await.unwrap();
    assert_eq!(view.last_used_at, Some(w.clock.now_for_test()));
    assert_eq!(view.secrets.as_ref().unwrap()[0].last_used_at, Some(w.clock.now_for_test()));
    assert_eq!(w.app.tokens.flush_usage().await.unwrap(), 0);
    // "Unused for N days" sees it.
    w.clock.advance(3 * 86_400);
    let p = super::client_search::ClientSearch { unused_days: Some(2), limit: Some(500), ..Default::default() };
    let (unused, _) = w.app.clients.search_clients(&w.ctx, &p).await.unwrap();
    assert!(unused.iter().any(|c| c.client_id == id));
    assert!(works(&w, &id, &secret).await);
    w.app.tokens.flush_usage().await.unwrap();
    let (unused, _) = w.app.clients.search_clients(&w.ctx, &p).await.unwrap();
    assert!(!unused.iter().any(|c| c.client_id == id));
}

#[tokio::test]
async fn type_changes_are_checked_on_the_new_state_and_manage_secrets() {
    let w = world().await;
    let (id, secret) = m2m(&w, "jwt").await;
    let actor = Actor::system();
    // Confidential -> public while keeping client_credentials: refused (policy on the new state).
    let p = json!({"token_endpoint_auth_method": "none"});
    let e = w.app.clients.update_client(&w.ctx, &actor, &id, p.as_object().unwrap(), None, false).await.unwrap_err();
    assert!(matches!(e, crate::AppError::Validation(ref f) if f.iter().any(|x| x.field == "grant_types")), "{e:?}");
    // A valid switch to a public device client retires the secrets at once.
    let p = json!({"token_endpoint_auth_method": "none", "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "type": "device"});
    let u = w.app.clients.update_client(&w.ctx, &actor, &id, p.as_object().unwrap(), None, false).await.unwrap();
    assert!(u.client_secret.is_none());
    assert!(!works(&w, &id, &secret).await);
    // And back to confidential: a new secret, shown once in the response.
    let p = json!({"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "type": "m2m"});
    let u = w.app.clients.update_client(&w.ctx, &actor, &id, p.as_object().unwrap(), None, false).await.unwrap();
    let fresh = u.client_secret.expect("a confidential client gets a secret");
    assert!(works(&w, &id, &fresh).await);
    // Audit: each change recorded, no plaintext anywhere.
    let (events, _) = w
        .app
        .audit
        .search_audit(&w.ctx, &super::AuditSearch { target_id: Some(id.clone()), ..Default::default() })
        .await
        .unwrap();
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&secret) && !text.contains(&fresh));
    assert!(events.iter().filter(|e| e.action == "client.update").count() == 2);
}

/// Roles × operations (SECURITY-CHECKLIST item 58): every allowed mutation
/// writes exactly one audit event; every refused one writes none.
#[tokio::test]
async fn req_58_role_operation_matrix_with_one_audit_event_per_mutation() {
    use super::clients::NewClient;
    use super::scopes::{ClassPatch, NewClass, NewScope, ScopePatch};
    use super::users::{NewUser, PasswordReset, UserPatch};
    use latchkey_core::ClientStatus;

    let w = world().await;
    let mut client_actor = Actor::system();
    client_actor.kind = "client";
    let mut read_client = client_actor.clone();
    read_client.can_write = false;
    let actors: Vec<(&str, Actor, bool)> = vec![
        ("owner", Actor::user("u-owner", latchkey_core::AdminRole::Owner, true), true),
        ("tenant-admin", Actor::user("u-ta", latchkey_core::AdminRole::TenantAdmin, true), true),
        ("viewer", Actor::user("u-viewer", latchkey_core::AdminRole::Viewer, true), false),
        ("admin token", client_actor, true),
        ("admin:read token", read_client, false),
        ("owner with admin:read token", Actor::user("u-owner", latchkey_core::AdminRole::Owner, false), false),
    ];
    let count = |w: &World| {
        let (app, ctx) = (w.app.clone(), w.ctx.clone());
        async move {
            app.audit
                .search_audit(&ctx, &super::AuditSearch { limit: Some(500), ..Default::default() })
                .await
                .unwrap()
                .0
                .len()
        }
    };
    for (i, (who, actor, allowed)) in actors.into_iter().enumerate() {
        // Fixtures made by the system for this actor to act on.
        let sys = Actor::system();
        let fixture: NewClient =
            serde_json::from_value(json!({"name": format!("fixture {i}"), "type": "m2m"})).unwrap();
        let fixture = w.app.clients.create_client(&w.ctx, &sys, fixture).await.unwrap().client.client_id;
        let scope = format!("s{i}:x");
        w.app
            .scopes
            .create_scope(&w.ctx, &sys, NewScope { name: scope.clone(), description: String::new() })
            .await
            .unwrap();
        let class = format!("class-{i}");
        w.app
            .scopes
            .create_class(&w.ctx, &sys, NewClass { name: class.clone(), description: String::new(), scopes: vec![] })
            .await
            .unwrap();
        let user = w
            .app
            .users
            .create_user(&w.ctx, &sys, NewUser { username: format!("user{i}"), ..NewUser::default() })
            .await
            .unwrap()
            .user
            .id;

        let before = count(&w).await;
        let new_client: NewClient =
            serde_json::from_value(json!({"name": format!("made by {who}"), "type": "m2m"})).unwrap();
        let patch = json!({"description": "changed"});
        let results: Vec<(&str, bool)> = vec![
            ("client.create", w.app.clients.create_client(&w.ctx, &actor, new_client).await.is_ok()),
            (
                "client.update",
                w.app
                    .clients
                    .update_client(&w.ctx, &actor, &fixture, patch.as_object().unwrap(), None, false)
                    .await
                    .is_ok(),
            ),
            (
                "client.disable",
                w.app.clients.set_client_status(&w.ctx, &actor, &fixture, ClientStatus::Disabled, false).await.is_ok(),
            ),
            (
                "client.enable",
                w.app.clients.set_client_status(&w.ctx, &actor, &fixture, ClientStatus::Active, false).await.is_ok(),
            ),
            (
                "secret.add",
                w.app.clients.add_secret(&w.ctx, &actor, &fixture, super::secrets::AddSecret::default()).await.is_ok(),
            ),
            (
                "secret.rotate",
                w.app
                    .clients
                    .rotate_secret(&w.ctx, &actor, &fixture, RotateSecret { grace_seconds: 60, label: None })
                    .await
                    .is_ok(),
            ),
            (
                "scope.update",
                w.app.scopes.update_scope(&w.ctx, &actor, &scope, ScopePatch { description: "d".into() }).await.is_ok(),
            ),
            (
                "class.update",
                w.app
                    .scopes
                    .update_class(&w.ctx, &actor, &class, ClassPatch { description: Some("d".into()), scopes: None })
                    .await
                    .is_ok(),
            ),
            (
                "user.update",
                w.app
                    .users
                    .update_user(
                        &w.ctx,
                        &actor,
                        &user,
                        UserPatch { display_name: Some("d".into()), ..UserPatch::default() },
                    )
                    .await
                    .is_ok(),
            ),
            (
                "user.password",
                w.app.users.reset_password(&w.ctx, &actor, &user, PasswordReset::default()).await.is_ok(),
            ),
            ("user.disable", w.app.users.set_user_status(&w.ctx, &actor, &user, false).await.is_ok()),
            ("class.delete", w.app.scopes.delete_class(&w.ctx, &actor, &class).await.is_ok()),
            ("scope.delete", w.app.scopes.delete_scope(&w.ctx, &actor, &scope).await.is_ok()),
            ("client.delete", w.app.clients.delete_client(&w.ctx, &actor, &fixture, false).await.is_ok()),
        ];
        let mutations = results.len();
        for (op, ok) in &results {
            assert_eq!(*ok, allowed, "{who} {op}");
        }
        // Reads are open to every admin actor.
        assert!(w.app.clients.search_clients(&w.ctx, &super::client_search::ClientSearch::default()).await.is_ok());
        let after = count(&w).await;
        // One event per mutation (a rotation too: one transaction).
        let expected = if allowed { mutations } else { 0 };
        assert_eq!(after - before, expected, "{who}: audit events");
    }
}

#[tokio::test]
async fn only_owners_grant_owner() {
    use super::users::NewUser;
    let w = world().await;
    let ta = Actor::user("u-ta", latchkey_core::AdminRole::TenantAdmin, true);
    let new = NewUser { username: "boss".into(), roles: vec!["owner".into()], ..NewUser::default() };
    assert!(matches!(w.app.users.create_user(&w.ctx, &ta, new.clone()).await, Err(crate::AppError::Forbidden(_))));
    let owner = Actor::user("u-owner", latchkey_core::AdminRole::Owner, true);
    let created = w.app.users.create_user(&w.ctx, &owner, new).await.unwrap();
    assert!(created.password.as_ref().is_some_and(|p| p.len() >= 12), "generated once");
    // The generated password signs in; a wrong one does not.
    let pw = created.password.unwrap();
    assert!(w.app.users.verify_password(&w.ctx, "BOSS", &pw).await.unwrap().is_some());
    assert!(w.app.users.verify_password(&w.ctx, "boss", "wrong-password-123").await.unwrap().is_none());
    assert!(w.app.users.verify_password(&w.ctx, "nobody", &pw).await.unwrap().is_none());
}

fn new_client(v: serde_json::Value) -> super::clients::NewClient {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn batch_create_validates_each_item_and_writes_all_or_nothing() {
    let w = world().await;
    let actor = Actor::system();
    let existing = m2m(&w, "jwt").await.0;

    // Per-item field errors, and duplicates within the batch, name their item.
    let bad = vec![
        new_client(json!({"name": "ok one", "type": "m2m"})),
        new_client(json!({"name": "web", "type": "web", "redirect_uris": ["http://evil.example/cb"]})),
        new_client(json!({"name": "OK ONE", "type": "m2m"})),
    ];
    let Err(crate::AppError::Validation(errors)) = w.app.clients.create_clients(&w.ctx, &actor, bad).await else {
        panic!("expected validation errors")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"items[1].redirect_uris"), "{fields:?}");
    assert!(fields.contains(&"items[2].name"), "{fields:?}");
    assert!(!fields.iter().any(|f| f.starts_with("items[0]")), "{fields:?}");

    // A taken client_id: nothing of the batch is written.
    let clash = vec![
        new_client(json!({"name": "fresh", "type": "m2m"})),
        new_client(json!({"name": "clash", "type": "m2m", "client_id": existing})),
    ];
    let r = w.app.clients.create_clients(&w.ctx, &actor, clash).await;
    assert!(matches!(r, Err(crate::AppError::Conflict(_))), "{r:?}");
    let q = serde_json::from_value(json!({"q": "fresh"})).unwrap();
    assert!(w.app.clients.search_clients(&w.ctx, &q).await.unwrap().0.is_empty());

    // Empty and oversized batches are refused; viewers cannot write.
    assert!(matches!(w.app.clients.create_clients(&w.ctx, &actor, vec![]).await, Err(crate::AppError::BadRequest(_))));
    let many = (0..=super::clients::MAX_BATCH).map(|i| new_client(json!({"name": format!("n{i}")}))).collect();
    assert!(matches!(w.app.clients.create_clients(&w.ctx, &actor, many).await, Err(crate::AppError::BadRequest(_))));
    let viewer = Actor::user("v", latchkey_core::AdminRole::Viewer, false);
    let one = vec![new_client(json!({"name": "v1", "type": "m2m"}))];
    assert!(matches!(w.app.clients.create_clients(&w.ctx, &viewer, one).await, Err(crate::AppError::Forbidden(_))));

    // A good batch: every client works with its secret, one audit event each.
    let good: Vec<_> = (0..3)
        .map(|i| new_client(json!({"name": format!("batch {i}"), "type": "m2m", "scopes": ["api:read"]})))
        .collect();
    let created = w.app.clients.create_clients(&w.ctx, &actor, good).await.unwrap();
    assert_eq!(created.len(), 3);
    for c in &created {
        assert!(works(&w, &c.client.client_id, c.client_secret.as_ref().unwrap()).await);
        let search =
            serde_json::from_value(json!({"target_id": c.client.client_id, "action": "client.create"})).unwrap();
        let (events, _) = w.app.audit.search_audit(&w.ctx, &search).await.unwrap();
        assert_eq!(events.len(), 1);
        assert!(!events[0].changes.to_string().contains(c.client_secret.as_ref().unwrap().as_str()));
    }
}

#[tokio::test]
async fn tenants_are_managed_by_default_owners_and_isolated() {
    use super::tenants::{NewTenant, TenantPatch};
    use latchkey_core::TenantId;
    let w = world().await;
    let owner = Actor::system();
    let new = |id: &str| NewTenant { tenant_id: id.into(), display_name: Some("Acme Corp".into()), settings: None };
    // Only owners of the default tenant.
    let admin = Actor::user("u", latchkey_core::AdminRole::TenantAdmin, true);
    assert!(matches!(
        w.app.tenants.create_tenant(&w.ctx, &admin, new("acme")).await,
        Err(crate::AppError::Forbidden(_))
    ));
    let bad = NewTenant { settings: Some(json!({"default_access_token_lifetime": 59})), ..new("acme") };
    let Err(crate::AppError::Validation(errors)) = w.app.tenants.create_tenant(&w.ctx, &owner, bad).await else {
        panic!()
    };
    assert_eq!(errors[0].field, "settings.default_access_token_lifetime");
    let created = w.app.tenants.create_tenant(&w.ctx, &owner, new("acme")).await.unwrap();
    assert_eq!(created.tenant.issuer, "https://issuer.test/t/acme");
    assert!(matches!(
        w.app.tenants.create_tenant(&w.ctx, &owner, new("acme")).await,
        Err(crate::AppError::Conflict(_))
    ));
    // Its own keys, clients and users: its admin client works there only.
    let acme = w.app.kernel.tenant(&TenantId::parse("acme").unwrap()).await.unwrap();
    let secret = created.admin_client_secret.unwrap();
    let auth = PresentedAuth::Basic { client_id: "latchkey-admin".into(), secret: secret.clone() };
    let token = w.app.tokens.token(&acme, &auth, &cc(), None).await.unwrap().access_token;
    assert!(w.app.tokens.token(&w.ctx, &auth, &cc(), None).await.is_err(), "acme's secret is nothing in default");
    let acme_actor = w.app.tokens.admin_actor(&acme, Some(&token), None, None).await.unwrap();
    assert!(
        w.app.tokens.admin_actor(&w.ctx, Some(&token), None, None).await.is_err(),
        "acme's token is nothing in default"
    );
    // The acme admin cannot manage tenants, even its own.
    assert!(matches!(w.app.tenants.list_tenants(&acme, &acme_actor).await, Err(crate::AppError::Forbidden(_))));
    assert!(matches!(
        w.app.tenants.create_tenant(&acme, &acme_actor, new("evil")).await,
        Err(crate::AppError::Forbidden(_))
    ));
    let user =
        w.app.users.verify_password(&acme, "admin", created.admin_password.as_ref().unwrap()).await.unwrap().unwrap();
    assert!(user.roles.contains(&"tenant-admin".to_owned()));
    // Settings and name; the default tenant cannot be changed here.
    let patch =
        TenantPatch { display_name: Some("Acme".into()), settings: Some(json!({"max_access_token_lifetime": 7200})) };
    let v = w.app.tenants.update_tenant(&w.ctx, &owner, "acme", patch).await.unwrap();
    assert_eq!((v.display_name.as_str(), v.settings.max_access_token_lifetime), ("Acme", 7200));
    assert!(matches!(
        w.app.tenants.set_tenant_status(&w.ctx, &owner, "default", false).await,
        Err(crate::AppError::Forbidden(_))
    ));
    // Disabled: gone at once; deleted only once disabled; audited in default.
    assert!(matches!(w.app.tenants.delete_tenant(&w.ctx, &owner, "acme").await, Err(crate::AppError::Conflict(_))));
    w.app.tenants.set_tenant_status(&w.ctx, &owner, "acme", false).await.unwrap();
    assert!(matches!(w.app.kernel.tenant(&acme.id).await, Err(crate::AppError::NotFound)));
    w.app.tenants.delete_tenant(&w.ctx, &owner, "acme").await.unwrap();
    assert!(w.app.tenants.list_tenants(&w.ctx, &owner).await.unwrap().iter().all(|t| t.tenant_id != "acme"));
    let search = serde_json::from_value(json!({"target_id": "acme"})).unwrap();
    let (events, _) = w.app.audit.search_audit(&w.ctx, &search).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for a in ["tenant.create", "tenant.update", "tenant.disable", "tenant.delete"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    assert!(!events.iter().any(|e| e.changes.to_string().contains(&secret)));
}

#[tokio::test]
async fn own_settings_are_changed_by_writers_only_and_validated() {
    let w = world().await;
    let viewer = Actor::user("usr_viewer", latchkey_core::AdminRole::Viewer, true);
    let err = w.app.tenants.update_own_settings(&w.ctx, &viewer, &json!({"legacy_grants_enabled": true})).await;
    assert!(matches!(err, Err(crate::AppError::Forbidden(_))));
    let admin = Actor::user("usr_admin", latchkey_core::AdminRole::TenantAdmin, true);
    let bad = w.app.tenants.update_own_settings(&w.ctx, &admin, &json!({"default_access_token_lifetime": 10})).await;
    match bad {
        Err(crate::AppError::Validation(f)) => assert_eq!(f[0].field, "settings.default_access_token_lifetime"),
        other => panic!("{other:?}"),
    }
    let s = w
        .app
        .tenants
        .update_own_settings(&w.ctx, &admin, &json!({"legacy_grants_enabled": true, "secret_max_age_days": 90}))
        .await
        .unwrap();
    assert!(s.legacy_grants_enabled);
    assert_eq!(s.secret_max_age_days, Some(90));
    let reloaded = w.app.kernel.tenant(&w.ctx.id).await.unwrap();
    assert!(reloaded.settings.legacy_grants_enabled, "the cached context was refreshed");
    let (events, _) = w
        .app
        .audit
        .search_audit(&w.ctx, &super::AuditSearch { action: Some("tenant.update".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(events[0].changes["secret_max_age_days"]["after"], 90);
}

#[tokio::test]
async fn tokens_and_failures_are_counted_per_client_and_hour() {
    let w = world().await;
    let (id, secret) = m2m(&w, "jwt").await;
    let (other, other_secret) = m2m(&w, "opaque").await;
    w.clock.advance(3600 - w.clock.now_for_test().rem_euclid(3600)); // the start of an hour
    let first_hour = w.clock.now_for_test();
    assert!(works(&w, &id, &secret).await);
    assert!(works(&w, &id, &secret).await);
    assert!(!works(&w, &id, "lks_wrong").await);
    // Counted in memory, visible at once (before any flush).
    let r = w.app.tokens.usage_report(&w.ctx, Some(&id), 24).await.unwrap();
    assert_eq!((r.issued(), r.failed()), (2, 1));
    w.app.tokens.flush_usage().await.unwrap();
    w.clock.advance(3600);
    assert!(works(&w, &id, &secret).await);
    assert!(works(&w, &other, &other_secret).await);
    let r = w.app.tokens.usage_report(&w.ctx, None, 24).await.unwrap();
    assert_eq!(r.hours.len(), 24);
    let last = &r.hours[22..];
    assert_eq!(last, &[(first_hour, 2, 1), (first_hour + 3600, 2, 0)], "flushed and unflushed counts merge");
    assert_eq!(r.clients[0], (id.clone(), 3, 1), "most used first");
    assert_eq!(r.clients[1], (other.clone(), 1, 0));
    w.app.tokens.flush_usage().await.unwrap();
    assert_eq!(w.app.tokens.usage_report(&w.ctx, None, 24).await.unwrap(), r, "the same figures from the database");
    // Thirty days later the counts are purged.
    w.clock.advance(31 * 86_400);
    w.app.tokens.flush_usage().await.unwrap();
    assert_eq!(w.app.tokens.usage_report(&w.ctx, None, 24 * 30).await.unwrap().issued(), 0);
}

/// The dry runs `declarative plan` uses: the checks of a batch create and
/// of an update, and nothing written (no client, no audit event, no secret).
#[tokio::test]
async fn dry_runs_check_like_the_writes_and_write_nothing() {
    let w = world().await;
    let actor = Actor::system();
    let (existing, secret) = m2m(&w, "jwt").await;
    let q: super::audit::AuditSearch = serde_json::from_value(json!({"limit": 500})).unwrap();
    let before = w.app.audit.search_audit(&w.ctx, &q).await.unwrap().0.len();
    let bad = vec![new_client(json!({"name": "web", "type": "web", "redirect_uris": ["http://evil.example/cb"]}))];
    let r = w.app.clients.check_clients(&w.ctx, &actor, bad).await;
    assert!(matches!(r, Err(crate::AppError::Validation(ref f)) if f[0].field == "items[0].redirect_uris"), "{r:?}");
    let taken = vec![new_client(json!({"name": "other", "type": "m2m", "client_id": existing}))];
    let r = w.app.clients.check_clients(&w.ctx, &actor, taken).await;
    assert!(matches!(r, Err(crate::AppError::Conflict(_))), "{r:?}");
    let good = vec![new_client(json!({"name": "dry", "type": "m2m", "client_id": "dry-run"}))];
    let checked = w.app.clients.check_clients(&w.ctx, &actor, good).await.unwrap();
    assert!(checked[0].client_secret.is_none() && checked[0].client.secrets.as_ref().is_some_and(Vec::is_empty));
    assert!(w.app.clients.get_client(&w.ctx, "dry-run").await.is_err(), "nothing created");
    let viewer = Actor::user("v", latchkey_core::AdminRole::Viewer, false);
    let one = vec![new_client(json!({"name": "v1", "type": "m2m"}))];
    assert!(matches!(w.app.clients.check_clients(&w.ctx, &viewer, one).await, Err(crate::AppError::Forbidden(_))));

    let p = json!({"token_endpoint_auth_method": "none"});
    let e = w.app.clients.check_client_update(&w.ctx, &actor, &existing, p.as_object().unwrap(), None, false).await;
    assert!(matches!(e, Err(crate::AppError::Validation(_))), "{e:?}");
    let p = json!({"name": "renamed"});
    let e = w.app.clients.check_client_update(&w.ctx, &actor, &existing, p.as_object().unwrap(), Some(99), false).await;
    assert!(matches!(e, Err(crate::AppError::PreconditionFailed(_))), "{e:?}");
    let u = w.app.clients.check_client_update(&w.ctx, &actor, &existing, p.as_object().unwrap(), None, false).await;
    assert_eq!(u.unwrap().client.name, "renamed");
    assert_ne!(w.app.clients.get_client(&w.ctx, &existing).await.unwrap().name, "renamed", "nothing changed");
    assert!(works(&w, &existing, &secret).await);
    assert_eq!(w.app.audit.search_audit(&w.ctx, &q).await.unwrap().0.len(), before, "no audit event");
}
