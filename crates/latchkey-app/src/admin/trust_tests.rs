//! Trust: authority never grows through delegation (one test per class of
//! defect the security review found in the admin services).

use latchkey_core::{AdminRole, ClientStatus};
use serde_json::json;

use super::Actor;
use super::clients::NewClient;
use super::secrets::AddSecret;
use crate::AppError;
use crate::test_world::{ADMIN_SECRET, admin, cc, world};

fn new_client(v: serde_json::Value) -> NewClient {
    serde_json::from_value(v).unwrap()
}

#[allow(clippy::needless_pass_by_value)] // called on results in place
fn forbidden<T: std::fmt::Debug>(r: Result<T, AppError>) -> bool {
    matches!(r, Err(AppError::Forbidden(_)))
}

/// A client's own admin token acts with the client's `admin_role`, never as
/// an owner: a tenant-admin's m2m client with scope `admin` creates no
/// owner, manages no tenant, and takes no credentials of the owner client.
#[tokio::test]
async fn client_actors_act_with_their_own_role_not_as_owners() {
    let w = world().await;
    let ta = Actor::user("u-ta", latchkey_core::AdminRole::TenantAdmin, true);
    // A tenant-admin may create an admin client up to its own role...
    let made = w
        .app
        .clients
        .create_client(
            &w.ctx,
            &ta,
            new_client(json!({"name": "ops bot", "type": "m2m", "scopes": ["admin"], "admin_role": "tenant-admin"})),
        )
        .await
        .unwrap();
    // ...but never above it.
    let owner_bot = new_client(json!({"name": "boss bot", "type": "m2m", "scopes": ["admin"], "admin_role": "owner"}));
    assert!(forbidden(w.app.clients.create_client(&w.ctx, &ta, owner_bot).await));
    // Nor raise one it can change to owner.
    let raise = json!({"admin_role": "owner"});
    assert!(forbidden(
        w.app.clients.update_client(&w.ctx, &ta, &made.client.client_id, raise.as_object().unwrap(), None, false).await
    ));

    // The bot's token acts as a tenant-admin.
    let auth = crate::tokens::client_auth::PresentedAuth::Basic {
        client_id: made.client.client_id.clone(),
        secret: made.client_secret.clone().unwrap(),
    };
    let mut req = cc();
    req.scope = Some("admin".into());
    let token = w.app.tokens.token(&w.ctx, &auth, &req, None).await.unwrap().access_token;
    let bot = w.app.tokens.admin_actor(&w.ctx, Some(&token), None, None).await.unwrap();
    assert_eq!((bot.kind, bot.authority(), bot.can_write), ("client", Some(AdminRole::TenantAdmin), true));
    let owner_user =
        super::users::NewUser { username: "boss".into(), roles: vec!["owner".into()], ..Default::default() };
    assert!(forbidden(w.app.users.create_user(&w.ctx, &bot, owner_user).await));
    let tenant = super::tenants::NewTenant { tenant_id: "evil".into(), display_name: None, settings: None };
    assert!(forbidden(w.app.tenants.create_tenant(&w.ctx, &bot, tenant).await));
    assert!(forbidden(w.app.clients.add_secret(&w.ctx, &bot, "latchkey-admin", AddSecret::default()).await));
    assert!(forbidden(
        w.app.clients.set_client_status(&w.ctx, &bot, "latchkey-admin", ClientStatus::Disabled, true).await
    ));

    // A client with the admin scope but no role has no admin API access.
    let plain = w
        .app
        .clients
        .create_client(&w.ctx, &ta, new_client(json!({"name": "plain", "type": "m2m", "scopes": ["admin"]})))
        .await
        .unwrap();
    let auth = crate::tokens::client_auth::PresentedAuth::Basic {
        client_id: plain.client.client_id.clone(),
        secret: plain.client_secret.unwrap(),
    };
    let token = w.app.tokens.token(&w.ctx, &auth, &req, None).await.unwrap().access_token;
    assert!(forbidden(w.app.tokens.admin_actor(&w.ctx, Some(&token), None, None).await));

    // The default tenant's latchkey-admin is the built-in owner client.
    let token = w.app.tokens.token(&w.ctx, &admin(), &req, None).await.unwrap().access_token;
    let owner = w.app.tokens.admin_actor(&w.ctx, Some(&token), None, None).await.unwrap();
    assert_eq!(owner.authority(), Some(AdminRole::Owner));
    assert!(!ADMIN_SECRET.is_empty());
}

/// Narrowing a client's role counts at once for tokens it already holds.
#[tokio::test]
async fn a_narrowed_client_role_counts_for_tokens_already_issued() {
    let w = world().await;
    let sys = Actor::system();
    let made = w
        .app
        .clients
        .create_client(
            &w.ctx,
            &sys,
            new_client(json!({"name": "bot", "type": "m2m", "scopes": ["admin"], "admin_role": "owner"})),
        )
        .await
        .unwrap();
    let auth = crate::tokens::client_auth::PresentedAuth::Basic {
        client_id: made.client.client_id.clone(),
        secret: made.client_secret.unwrap(),
    };
    let mut req = cc();
    req.scope = Some("admin".into());
    let token = w.app.tokens.token(&w.ctx, &auth, &req, None).await.unwrap().access_token;
    let narrow = json!({"admin_role": "viewer"});
    w.app
        .clients
        .update_client(&w.ctx, &sys, &made.client.client_id, narrow.as_object().unwrap(), None, false)
        .await
        .unwrap();
    let bot = w.app.tokens.admin_actor(&w.ctx, Some(&token), None, None).await.unwrap();
    assert_eq!((bot.authority(), bot.can_write), (Some(AdminRole::Viewer), false));
}

/// Whoever can change a client through which people sign in with an admin
/// scope could redirect an owner's token: such a client counts as an owner.
#[tokio::test]
async fn clients_that_carry_user_admin_tokens_are_changed_by_owners_only() {
    let w = world().await;
    let ta = Actor::user("u-ta", latchkey_core::AdminRole::TenantAdmin, true);
    let rp =
        json!({"name": "rp", "type": "web", "redirect_uris": ["https://rp.example/cb"], "scopes": ["openid", "admin"]});
    assert!(forbidden(w.app.clients.create_client(&w.ctx, &ta, new_client(rp.clone())).await));
    let made = w.app.clients.create_client(&w.ctx, &Actor::system(), new_client(rp)).await.unwrap();
    let steal = json!({"redirect_uris": ["https://attacker.example/cb"]});
    assert!(forbidden(
        w.app.clients.update_client(&w.ctx, &ta, &made.client.client_id, steal.as_object().unwrap(), None, false).await
    ));
    // The console client is such a client.
    let steal = json!({"redirect_uris": ["https://attacker.example/cb"]});
    assert!(forbidden(
        w.app.clients.update_client(&w.ctx, &ta, "latchkey-console", steal.as_object().unwrap(), None, true).await
    ));
    // Through a security class too.
    w.app
        .scopes
        .create_class(
            &w.ctx,
            &Actor::system(),
            super::scopes::NewClass { name: "admins".into(), description: String::new(), scopes: vec!["admin".into()] },
        )
        .await
        .unwrap();
    let via_class = json!({"name": "rp2", "type": "web", "redirect_uris": ["https://rp.example/cb"], "security_classes": ["admins"]});
    assert!(forbidden(w.app.clients.create_client(&w.ctx, &ta, new_client(via_class)).await));
    // Nor by giving the admin scope later to a class its client is in.
    w.app
        .scopes
        .create_class(
            &w.ctx,
            &ta,
            super::scopes::NewClass { name: "plain".into(), description: String::new(), scopes: vec!["openid".into()] },
        )
        .await
        .unwrap();
    let rp3 = json!({"name": "rp3", "type": "web", "redirect_uris": ["https://attacker.example/cb"], "security_classes": ["plain"]});
    w.app.clients.create_client(&w.ctx, &ta, new_client(rp3)).await.unwrap();
    let raise = super::scopes::ClassPatch { description: None, scopes: Some(vec!["openid".into(), "admin".into()]) };
    assert!(forbidden(w.app.scopes.update_class(&w.ctx, &ta, "plain", raise.clone()).await));
    w.app.scopes.update_class(&w.ctx, &Actor::system(), "plain", raise).await.unwrap();
}

/// Checklist 59 (i59): client ids and user subjects never collide, so a client's own
/// token can never carry a user's `sub`.
#[tokio::test]
async fn client_ids_and_user_subjects_are_disjoint() {
    let w = world().await;
    let sys = Actor::system();
    let user = w
        .app
        .users
        .create_user(&w.ctx, &sys, super::users::NewUser { username: "alice".into(), ..Default::default() })
        .await
        .unwrap()
        .user;
    assert!(user.id.starts_with(super::users::USER_ID_PREFIX));
    for id in [user.id.as_str(), "usr_anything"] {
        let body = new_client(json!({"name": format!("as {id}"), "type": "m2m", "client_id": id}));
        match w.app.clients.create_client(&w.ctx, &sys, body).await {
            Err(AppError::Validation(f)) => assert_eq!(f[0].field, "client_id"),
            other => panic!("{other:?}"),
        }
        let batch = vec![new_client(json!({"name": format!("batch {id}"), "type": "m2m", "client_id": id}))];
        assert!(matches!(w.app.clients.create_clients(&w.ctx, &sys, batch).await, Err(AppError::Validation(_))));
    }
}

/// A patch that names a declarative manager does not skip the force check
/// of a managed client, unless it is the same manager re-applying its file.
#[tokio::test]
async fn managed_clients_need_force_whatever_the_patch_names() {
    let w = world().await;
    let sys = Actor::system();
    let c = w
        .app
        .clients
        .create_client(&w.ctx, &sys, new_client(json!({"name": "m", "type": "m2m", "managed_by": "prod.yaml"})))
        .await
        .unwrap()
        .client
        .client_id;
    for sneaky in [json!({"managed_by": null, "description": "x"}), json!({"managed_by": "other.yaml"})] {
        assert!(forbidden(
            w.app.clients.update_client(&w.ctx, &sys, &c, sneaky.as_object().unwrap(), None, false).await
        ));
    }
    let same = json!({"managed_by": "prod.yaml", "description": "applied"});
    w.app.clients.update_client(&w.ctx, &sys, &c, same.as_object().unwrap(), None, false).await.unwrap();
    let take = json!({"managed_by": null});
    w.app.clients.update_client(&w.ctx, &sys, &c, take.as_object().unwrap(), None, true).await.unwrap();
}
