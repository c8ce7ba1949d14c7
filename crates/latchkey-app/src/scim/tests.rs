//! SCIM provisioning through the services: CRUD, PATCH, filters, ETags,
//! deprovisioning, scopes, admin users, tenants and audit.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ListQuery, ScimError};
use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::tenants::TenantContext;
use crate::test_world::{World, cc, world};
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;

/// A connector client of `ctx` with these scopes, and the actor its token makes.
async fn connector(w: &World, ctx: &TenantContext, scopes: &[&str]) -> Actor {
    connector_with_token(w, ctx, scopes).await.0
}

async fn connector_with_token(w: &World, ctx: &TenantContext, scopes: &[&str]) -> (Actor, String) {
    let new: NewClient =
        serde_json::from_value(json!({"name": format!("Sync {scopes:?}"), "type": "connector", "scopes": scopes}))
            .unwrap();
    let c = w.app.clients.create_client(ctx, &Actor::system(), new).await.unwrap();
    let auth = PresentedAuth::Basic { client_id: c.client.client_id.clone(), secret: c.client_secret.unwrap() };
    let token = w.app.tokens.token(ctx, &auth, &cc(), None).await.unwrap().access_token;
    (w.app.tokens.connector_actor(ctx, Some(&token), None, None).await.unwrap(), token)
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name, "externalId": format!("ext-{name}"), "displayName": format!("{name} Example"),
        "emails": [{"value": format!("{name}@example.com"), "primary": true}],
        "password": "a long enough password",
    })
}

#[allow(clippy::needless_pass_by_value)] // called with json!(…) literals
fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn q(filter: &str) -> ListQuery {
    ListQuery { filter: Some(filter.into()), ..ListQuery::default() }
}

#[tokio::test]
async fn users_are_created_read_listed_patched_replaced_and_deleted_with_etags_and_audit() {
    let w = world().await;
    let (ctx, scim) = (&w.ctx, &w.app.scim);
    let actor = connector(&w, ctx, &["users:read", "users:write"]).await;
    let made = scim.create_user(ctx, &actor, &user("alice")).await.unwrap();
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.location, format!("https://issuer.test/scim/v2/Users/{id}"));
    assert_eq!(made.body["meta"]["version"], made.version.as_str());
    assert_eq!(made.body["emails"][0]["value"], "alice@example.com");
    assert!(made.body.get("password").is_none(), "passwords are never returned");
    let dup = scim.create_user(ctx, &actor, &user("ALICE")).await.unwrap_err();
    assert_eq!((dup.status, dup.scim_type), (409, Some("uniqueness")));
    scim.create_user(ctx, &actor, &user("bob")).await.unwrap();

    let got = scim.get_user(ctx, &id).await.unwrap();
    assert_eq!((got.body.clone(), got.version.clone()), (made.body.clone(), made.version.clone()));
    let list = scim.list_users(ctx, &q(r#"userName eq "Alice" or externalId eq "ext-bob""#)).await.unwrap();
    assert_eq!(list["totalResults"], 2);
    let list = scim.list_users(ctx, &q(r#"emails.value co "bob@""#)).await.unwrap();
    assert_eq!(list["Resources"][0]["userName"], "bob");
    let paged = ListQuery {
        sort_by: Some("userName".into()),
        sort_order: Some("descending".into()),
        start_index: Some(2),
        count: Some(1),
        ..ListQuery::default()
    };
    let page = scim.list_users(ctx, &paged).await.unwrap();
    assert_eq!((page["totalResults"].as_u64(), page["itemsPerPage"].as_u64()), (Some(3), Some(1)), "with admin");
    assert_eq!(page["Resources"][0]["userName"], "alice", "bob, alice, admin… descending");
    let bad = scim.list_users(ctx, &q("userName eq")).await.unwrap_err();
    assert_eq!((bad.status, bad.scim_type), (400, Some("invalidFilter")));

    w.clock.advance(5);
    let ops = patch(json!([
        {"op": "replace", "path": "displayName", "value": "Alice Liddell"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "al@example.com"},
        {"op": "remove", "path": "externalId"},
    ]));
    let stale = Some(r#"W/"0000000000000000""#);
    let e = scim.patch_user(ctx, &actor, &id, &ops, stale).await.unwrap_err();
    assert_eq!(e.status, 412);
    let patched = scim.patch_user(ctx, &actor, &id, &ops, Some(&made.version)).await.unwrap();
    assert_eq!(patched.body["displayName"], "Alice Liddell");
    let emails = patched.body["emails"].as_array().unwrap();
    let primary: Vec<&Value> = emails.iter().filter(|e| e["primary"] == true).collect();
    assert_eq!(primary.len(), 1, "one primary email: {emails:?}");
    assert_eq!(primary[0]["value"], "al@example.com", "the work email set by a filtered path is the user's");
    assert_eq!(primary[0]["type"], "work");
    assert!(patched.body.get("externalId").is_none());
    assert_ne!(patched.version, made.version);
    assert_eq!(patched.body["meta"]["lastModified"], latchkey_core::scim::date_time(crate::test_world::START + 5));
    let e = scim.replace_user(ctx, &actor, &id, &user("alice"), Some(&made.version)).await.unwrap_err();
    assert_eq!(e.status, 412, "the version read before the patch is stale");
    let replaced = scim.replace_user(ctx, &actor, &id, &user("alice2"), Some(&patched.version)).await.unwrap();
    assert_eq!(
        (replaced.body["userName"].as_str(), replaced.body["externalId"].as_str()),
        (Some("alice2"), Some("ext-alice2"))
    );
    let bad = scim.patch_user(ctx, &actor, &id, &patch(json!([{"op": "jump", "path": "active"}])), None).await;
    assert_eq!(bad.unwrap_err().scim_type, Some("invalidSyntax"));
    let id_op = patch(json!([{"op": "replace", "path": "id", "value": "x"}]));
    let bad = scim.patch_user(ctx, &actor, &id, &id_op, None).await;
    assert_eq!(bad.unwrap_err().scim_type, Some("mutability"));
    let bad = scim.create_user(ctx, &actor, &json!({"userName": "has space"})).await.unwrap_err();
    assert_eq!((bad.status, bad.scim_type), (400, Some("invalidValue")));

    scim.delete_user(ctx, &actor, &id, None).await.unwrap();
    assert_eq!(scim.get_user(ctx, &id).await.unwrap_err().status, 404);
    assert_eq!(scim.delete_user(ctx, &actor, &id, None).await.unwrap_err().status, 404);

    // Every change is audited with the connector as the actor.
    let events = w.app.kernel.store.list_audit(&ctx.id, 100).await.unwrap();
    let ours: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.target_type == "user" && e.actor == actor.id)
        .map(|e| (e.action.as_str(), e.actor_type.as_str()))
        .collect();
    assert_eq!(
        ours,
        vec![
            ("user.delete", "client"),
            ("user.update", "client"),
            ("user.update", "client"),
            ("user.create", "client"),
            ("user.create", "client")
        ]
    );
    assert!(events.iter().all(|e| !e.changes.contains("a long enough password")), "no password in the audit log");
}

/// A tenant that allows the password grant, to obtain a user's token.
async fn legacy_ctx(w: &World) -> Arc<TenantContext> {
    let records = w.app.kernel.store.list_signing_keys(&w.ctx.id).await.unwrap();
    let keys =
        crate::keys::KeyRing::load(&w.app.kernel.envelope, &w.ctx.id, &w.ctx.settings, &records, w.app.kernel.now())
            .unwrap();
    Arc::new(TenantContext {
        id: w.ctx.id.clone(),
        issuer: w.ctx.issuer.clone(),
        settings: latchkey_core::TenantSettings { legacy_grants_enabled: true, ..w.ctx.settings.clone() },
        keys,
        loaded_at: w.ctx.loaded_at,
    })
}

#[tokio::test]
async fn deprovisioning_ends_the_users_tokens_at_once() {
    let w = world().await;
    let ctx = legacy_ctx(&w).await;
    let actor = connector(&w, &ctx, &["users:read", "users:write"]).await;
    let new: NewClient = serde_json::from_value(json!({
        "name": "Legacy", "type": "custom", "grant_types": ["password"], "scopes": ["openid", "profile"],
    }))
    .unwrap();
    let legacy = w.app.clients.create_client(&ctx, &Actor::system(), new).await.unwrap();
    let auth =
        PresentedAuth::Basic { client_id: legacy.client.client_id.clone(), secret: legacy.client_secret.unwrap() };
    for how in ["inactive", "delete"] {
        let made = w.app.scim.create_user(&ctx, &actor, &user(how)).await.unwrap();
        let id = made.body["id"].as_str().unwrap();
        let password = TokenRequest {
            grant_type: Some("password".into()),
            username: Some(how.into()),
            password: Some("a long enough password".into()),
            scope: Some("openid".into()),
            ..TokenRequest::default()
        };
        let token = w.app.tokens.token(&ctx, &auth, &password, None).await.unwrap().access_token;
        assert!(w.app.tokens.introspect(&ctx, &auth, &token, None).await.unwrap().active);
        if how == "inactive" {
            let off = patch(json!([{"op": "replace", "value": {"active": "False"}}]));
            let r = w.app.scim.patch_user(&ctx, &actor, id, &off, None).await.unwrap();
            assert_eq!(r.body["active"], false);
        } else {
            w.app.scim.delete_user(&ctx, &actor, id, None).await.unwrap();
        }
        assert!(!w.app.tokens.introspect(&ctx, &auth, &token, None).await.unwrap().active, "{how}");
        assert!(w.app.tokens.token(&ctx, &auth, &password, None).await.is_err(), "{how}: no new token");
    }
}

#[tokio::test]
async fn a_read_only_connector_reads_and_is_refused_every_write() {
    let w = world().await;
    let (ctx, scim) = (&w.ctx, &w.app.scim);
    let writer = connector(&w, ctx, &["users:write"]).await;
    let reader = connector(&w, ctx, &["users:read"]).await;
    let id = scim.create_user(ctx, &writer, &user("carol")).await.unwrap().body["id"].as_str().unwrap().to_owned();
    assert_eq!(scim.list_users(ctx, &q(r#"userName eq "carol""#)).await.unwrap()["totalResults"], 1);
    let refused = |r: Result<super::ScimResource, ScimError>| assert_eq!(r.unwrap_err().status, 403);
    refused(scim.create_user(ctx, &reader, &user("dave")).await);
    refused(scim.replace_user(ctx, &reader, &id, &user("carol"), None).await);
    refused(scim.patch_user(ctx, &reader, &id, &patch(json!([{"op": "remove", "path": "emails"}])), None).await);
    assert_eq!(scim.delete_user(ctx, &reader, &id, None).await.unwrap_err().status, 403);
    // Neither scope, or a user's token: no connector at all.
    let admin_token = w.app.tokens.token(ctx, &crate::test_world::admin(), &cc(), None).await.unwrap().access_token;
    let no = w.app.tokens.connector_actor(ctx, Some(&admin_token), None, None).await;
    assert!(matches!(no, Err(crate::AppError::Forbidden(_))));
    assert!(matches!(w.app.tokens.connector_actor(ctx, None, None, None).await, Err(crate::AppError::Unauthorized(_))));
}

#[tokio::test]
async fn a_connector_never_changes_or_deletes_a_user_holding_a_role() {
    let w = world().await;
    let (ctx, scim) = (&w.ctx, &w.app.scim);
    let actor = connector(&w, ctx, &["users:read", "users:write"]).await;
    let admin = scim.list_users(ctx, &q(r#"userName eq "admin""#)).await.unwrap()["Resources"][0].clone();
    let id = admin["id"].as_str().unwrap();
    let off = patch(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(scim.patch_user(ctx, &actor, id, &off, None).await.unwrap_err().status, 403);
    let mut takeover = user("admin");
    takeover["emails"] = json!([{"value": "attacker@evil.example"}]);
    assert_eq!(scim.replace_user(ctx, &actor, id, &takeover, None).await.unwrap_err().status, 403);
    assert_eq!(scim.delete_user(ctx, &actor, id, None).await.unwrap_err().status, 403);
    let after = scim.get_user(ctx, id).await.unwrap();
    assert_eq!(
        (after.body["active"].as_bool(), after.version),
        (Some(true), scim.get_user(ctx, id).await.unwrap().version)
    );
    // Nor does SCIM give roles: a created user has none.
    let made = scim.create_user(ctx, &actor, &json!({"userName": "eve", "roles": [{"value": "owner"}]})).await.unwrap();
    let eve = w.app.users.get_user(ctx, made.body["id"].as_str().unwrap()).await.unwrap();
    assert!(eve.roles.is_empty());
}

#[tokio::test]
async fn a_connector_of_one_tenant_sees_nothing_of_another() {
    use crate::admin::tenants::NewTenant;
    let w = world().await;
    let t = NewTenant { tenant_id: "acme".into(), display_name: None, settings: None };
    w.app.tenants.create_tenant(&w.ctx, &Actor::system(), t).await.unwrap();
    let acme = w.app.kernel.tenant(&latchkey_core::TenantId::parse("acme").unwrap()).await.unwrap();
    let ours = connector(&w, &w.ctx, &["users:read", "users:write"]).await;
    let (theirs, token) = connector_with_token(&w, &acme, &["users:read", "users:write"]).await;
    let id =
        w.app.scim.create_user(&acme, &theirs, &user("frank")).await.unwrap().body["id"].as_str().unwrap().to_owned();
    let list = w.app.scim.list_users(&w.ctx, &q(r#"userName eq "frank""#)).await.unwrap();
    assert_eq!(list["totalResults"], 0);
    assert_eq!(w.app.scim.get_user(&w.ctx, &id).await.unwrap_err().status, 404);
    assert_eq!(w.app.scim.delete_user(&w.ctx, &ours, &id, None).await.unwrap_err().status, 404);
    assert!(w.app.scim.get_user(&acme, &id).await.is_ok());
    // acme's connector token is nothing in the default tenant.
    let elsewhere = w.app.tokens.connector_actor(&w.ctx, Some(&token), None, None).await;
    assert!(matches!(elsewhere, Err(crate::AppError::Unauthorized(_))));
    let c = w.app.kernel.store.list_audit(&acme.id, 10).await.unwrap();
    assert!(c.iter().any(|e| e.actor == theirs.id && e.action == "user.create"));
}

#[test]
fn malformed_bodies_are_scim_errors() {
    use super::users::{parse_user, patch_user};
    for body in [
        json!([]),
        json!({"userName": 5}),
        json!({"schemas": ["x"], "userName": "a"}),
        json!({"active": "maybe", "userName": "a"}),
        json!({"userName": "a", "emails": "x"}),
    ] {
        let e = parse_user(&body).unwrap_err();
        assert_eq!(e.status, 400, "{body}");
    }
    let current = json!({"userName": "a"});
    for body in [
        json!({}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        patch(json!([{"op": "remove"}])),
        patch(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
        patch(json!([{"op": "add", "path": "a.b.c", "value": "x"}])),
        patch(json!([{"op": "add", "value": "not an object"}])),
        patch(json!([{"op": "remove", "path": "userName"}])),
    ] {
        let e = patch_user(&current, &body).unwrap_err();
        assert_eq!(e.status, 400, "{body}");
        assert!(e.body()["schemas"][0].as_str().unwrap().ends_with(":Error"));
    }
}

#[tokio::test]
async fn groups_keep_users_groups_in_sync_and_never_touch_a_user_holding_a_role() {
    let w = world().await;
    let (ctx, scim) = (&w.ctx, &w.app.scim);
    let actor = connector(&w, ctx, &["users:read", "users:write"]).await;
    let reader = connector(&w, ctx, &["users:read"]).await;
    let ann = scim.create_user(ctx, &actor, &user("ann")).await.unwrap().body["id"].as_str().unwrap().to_owned();
    let ben = scim.create_user(ctx, &actor, &user("ben")).await.unwrap().body["id"].as_str().unwrap().to_owned();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "eng", "externalId": "G1",
        "members": [{"value": ann}],
    });
    assert_eq!(scim.create_group(ctx, &reader, &body).await.unwrap_err().status, 403);
    let g = scim.create_group(ctx, &actor, &body).await.unwrap();
    let gid = g.body["id"].as_str().unwrap().to_owned();
    assert_eq!(g.body["members"][0]["value"], ann.as_str());
    assert_eq!(w.app.users.get_user(ctx, &ann).await.unwrap().groups, vec!["eng".to_owned()]);
    let seen = scim.get_user(ctx, &ann).await.unwrap().body;
    assert_eq!(
        (seen["groups"][0]["value"].as_str(), seen["groups"][0]["display"].as_str()),
        (Some(gid.as_str()), Some("eng"))
    );
    assert_eq!(scim.create_group(ctx, &actor, &body).await.unwrap_err().scim_type, Some("uniqueness"));

    let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": ben}]}]));
    let g2 = scim.patch_group(ctx, &actor, &gid, &add, Some(&g.version)).await.unwrap();
    assert_eq!(g2.body["members"].as_array().unwrap().len(), 2);
    assert_eq!(scim.patch_group(ctx, &actor, &gid, &add, Some(&g.version)).await.unwrap_err().status, 412);
    let list = scim.list_groups(ctx, &q(&format!(r#"members.value eq "{ben}""#))).await.unwrap();
    assert_eq!(list["totalResults"], 1);
    let remove = patch(json!([{"op": "remove", "path": format!(r#"members[value eq "{ann}"]"#)},
        {"op": "replace", "path": "displayName", "value": "platform"}]));
    let g3 = scim.patch_group(ctx, &actor, &gid, &remove, None).await.unwrap();
    assert_eq!(
        (g3.body["displayName"].as_str(), g3.body["members"][0]["value"].as_str()),
        (Some("platform"), Some(ben.as_str()))
    );
    assert!(w.app.users.get_user(ctx, &ann).await.unwrap().groups.is_empty());
    assert_eq!(w.app.users.get_user(ctx, &ben).await.unwrap().groups, vec!["platform".to_owned()]);

    // Adding the administrator, or a user of no one, is refused.
    let admin = scim.list_users(ctx, &q(r#"userName eq "admin""#)).await.unwrap()["Resources"][0]["id"].clone();
    let add_admin = patch(json!([{"op": "add", "path": "members", "value": [{"value": admin}]}]));
    assert_eq!(scim.patch_group(ctx, &actor, &gid, &add_admin, None).await.unwrap_err().status, 403);
    let ghost = patch(json!([{"op": "add", "path": "members", "value": [{"value": "usr_nobody"}]}]));
    assert_eq!(scim.patch_group(ctx, &actor, &gid, &ghost, None).await.unwrap_err().status, 400);
    let bad = patch(json!([{"op": "remove", "path": "members[value eq]"}]));
    assert_eq!(scim.patch_group(ctx, &actor, &gid, &bad, None).await.unwrap_err().scim_type, Some("invalidFilter"));

    scim.delete_group(ctx, &actor, &gid, None).await.unwrap();
    assert!(w.app.users.get_user(ctx, &ben).await.unwrap().groups.is_empty());
    assert_eq!(scim.get_group(ctx, &gid).await.unwrap_err().status, 404);
    let events = w.app.kernel.store.list_audit(&ctx.id, 100).await.unwrap();
    let groups: Vec<&str> =
        events.iter().filter(|e| e.target_type == "group" && e.actor == actor.id).map(|e| e.action.as_str()).collect();
    assert_eq!(groups, vec!["group.delete", "group.update", "group.update", "group.create"]);
}

/// What a directory writes of a person reads back as written: the `name`
/// parts and every typed email (Okta and Entra ID send both), with the
/// primary email as the user's own. A display name or email changed outside
/// SCIM wins over a stale copy.
#[tokio::test]
async fn names_and_typed_emails_read_back_as_the_connector_wrote_them() {
    let w = world().await;
    let (ctx, scim) = (&w.ctx, &w.app.scim);
    let actor = connector(&w, ctx, &["users:read", "users:write"]).await;
    let name = json!({"givenName": "Grace", "familyName": "Hopper", "middleName": "Brewster", "honorificPrefix": "Rear Admiral"});
    let emails = json!([
        {"value": "grace@navy.example", "type": "work", "primary": true},
        {"value": "grace@home.example", "type": "home"},
    ]);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ghopper", "name": name, "emails": emails,
    });
    let made = scim.create_user(ctx, &actor, &body).await.unwrap();
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["name"], name);
    assert_eq!(made.body["emails"], emails);
    assert_eq!(made.body["displayName"], "Grace Hopper", "the display name from the name parts");
    let user = w.app.users.get_user(ctx, &id).await.unwrap();
    assert_eq!(user.email.as_deref(), Some("grace@navy.example"), "the primary email is the user's");
    assert_eq!(scim.get_user(ctx, &id).await.unwrap().body, made.body);
    let listed = scim.list_users(ctx, &q(r#"emails.value eq "grace@home.example""#)).await.unwrap();
    assert_eq!(listed["totalResults"], 1, "a filter sees every email");

    // Adding to `emails` adds; adding to `name` sets the parts given.
    let ops = patch(json!([
        {"op": "add", "path": "emails", "value": [{"value": "g@cobol.example", "type": "other"}]},
        {"op": "add", "path": "name", "value": {"honorificSuffix": "PhD"}},
        {"op": "replace", "path": "emails[type eq \"home\"].value", "value": "grace@arlington.example"},
    ]));
    let patched = scim.patch_user(ctx, &actor, &id, &ops, None).await.unwrap();
    let values: Vec<&str> =
        patched.body["emails"].as_array().unwrap().iter().map(|e| e["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["grace@navy.example", "grace@arlington.example", "g@cobol.example"]);
    assert_eq!(patched.body["name"]["honorificSuffix"], "PhD");
    assert_eq!(patched.body["name"]["givenName"], "Grace", "the other parts stay");
    let removed = patch(json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]));
    let patched = scim.patch_user(ctx, &actor, &id, &removed, None).await.unwrap();
    assert_eq!(patched.body["emails"].as_array().unwrap().len(), 2);

    // An administrator renames her and changes her email: SCIM shows that,
    // not the connector's older copy.
    let admin = crate::admin::Actor::system();
    let change = crate::admin::users::UserPatch {
        email: Some("hopper@example.org".into()),
        display_name: Some("Amazing Grace".into()),
        ..crate::admin::users::UserPatch::default()
    };
    w.app.users.update_user(ctx, &admin, &id, change).await.unwrap();
    let got = scim.get_user(ctx, &id).await.unwrap().body;
    assert_eq!(got["name"], json!({"formatted": "Amazing Grace"}));
    assert_eq!(got["emails"], json!([{"value": "hopper@example.org", "type": "work", "primary": true}]));

    // Bounded: no connector stores a megabyte per person.
    let many: Vec<Value> = (0..21).map(|i| json!({"value": format!("g{i}@example.com")})).collect();
    let huge = "x".repeat(256);
    for bad in [
        json!({"userName": "big1", "emails": many}),
        json!({"userName": "big2", "name": {"givenName": huge}}),
        json!({"userName": "big3", "emails": [{"value": "a@example.com", "type": huge}]}),
    ] {
        let e = scim.create_user(ctx, &actor, &bad).await.unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some("invalidValue")), "{bad}");
    }
}

/// A deprovisioned user stays deprovisioned: removing `active` is refused
/// (it is required, RFC 7644 §3.5.2.2) instead of reading as the default,
/// and a replacement that leaves `active` out keeps the status.
#[tokio::test]
async fn a_disabled_user_is_never_re_enabled_by_leaving_active_out() {
    let w = world().await;
    let (ctx, scim) = (&w.ctx, &w.app.scim);
    let actor = connector(&w, ctx, &["users:read", "users:write"]).await;
    let made = scim.create_user(ctx, &actor, &user("gone")).await.unwrap();
    let id = made.body["id"].as_str().unwrap().to_owned();
    let off = patch(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(scim.patch_user(ctx, &actor, &id, &off, None).await.unwrap().body["active"], false);

    let remove = patch(json!([{"op": "remove", "path": "active"}]));
    let e = scim.patch_user(ctx, &actor, &id, &remove, None).await.unwrap_err();
    assert_eq!((e.status, e.scim_type), (400, Some("mutability")));
    let mut body = user("gone");
    body.as_object_mut().unwrap().remove("password");
    let replaced = scim.replace_user(ctx, &actor, &id, &body, None).await.unwrap();
    assert_eq!(replaced.body["active"], false, "a PUT without active keeps the user disabled");
    assert_eq!(w.app.users.get_user(ctx, &id).await.unwrap().status, "disabled");
}
