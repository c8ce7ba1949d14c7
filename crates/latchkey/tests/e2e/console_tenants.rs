//! One console session across tenants (issue 17 item 5): an owner of the
//! default tenant, signed in there, manages every other tenant's objects
//! without signing in again; no one else's session crosses a tenant, and
//! whatever ends the home session (sign-out, a lost owner role, a disabled
//! user) ends the access to every tenant at once.

use serde_json::{Value, json};

use crate::console::{Browser, field, location, sign_in};
use crate::harness::*;

/// Creates a tenant through the API; returns its admin client's id and
/// secret, and its first user's name and password.
async fn create_tenant(s: &Server, id: &str) -> ((String, String), (String, String)) {
    let r = http()
        .post(s.url("/api/v1/tenants"))
        .bearer_auth(admin_token(s, "admin").await)
        .json(&json!({"tenant_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    let text = |k: &str| v[k].as_str().unwrap().to_owned();
    ((text("admin_client_id"), text("admin_client_secret")), (text("admin_username"), text("admin_password")))
}

/// A user of the default tenant with a role (empty for none).
async fn default_user(s: &Server, username: &str, role: &str) -> String {
    let r = http()
        .post(s.url("/api/v1/users"))
        .bearer_auth(admin_token(s, "admin").await)
        .json(&json!({"username": username, "password": "platform-user-password-1", "roles": [role]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn set_roles(s: &Server, user: &str, roles: &[&str]) {
    let r = http()
        .patch(s.url(&format!("/api/v1/users/{user}")))
        .bearer_auth(admin_token(s, "admin").await)
        .json(&json!({ "roles": roles }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

/// The scopes of tenant `t` as its own administrator sees them.
async fn tenant_scopes(s: &Server, t: &str, (id, secret): &(String, String)) -> Vec<String> {
    let (status, body) =
        post_basic(&s.url(&format!("/t/{t}/oauth2/token")), id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = get_json(s.url(&format!("/t/{t}/api/v1/scopes")), body["access_token"].as_str().unwrap()).await;
    let items = v["items"].as_array().or_else(|| v.as_array()).cloned().unwrap_or_default();
    items.iter().filter_map(|s| s["name"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn an_owner_of_the_default_tenant_manages_another_tenant_from_one_session() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let (acme_admin, _) = create_tenant(&s, "acme").await;
    let olive = default_user(&s, "olive", "owner").await;

    let mut b = Browser::new();
    sign_in(&s, &mut b, "olive", "platform-user-password-1").await;
    // The switcher opens acme's console, already signed in.
    let r = b.get(&s.url("/console/switch?tenant=acme")).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("{}/t/acme/console/", s.issuer));
    let r = b.get(&s.url("/t/acme/console/scopes")).await;
    assert_eq!(r.status().as_u16(), 200, "no second sign-in");
    let html = r.text().await.unwrap();
    assert!(html.contains("<title>Scopes · acme · Latchkey</title>"), "the tenant in the title");
    assert!(html.contains("owner of the default tenant"), "the page says in what capacity");
    assert!(html.contains("href=\"/console/tenants\""), "the tenants page is the default tenant's");
    let csrf = field(&html, "csrf");

    // A change made there lands in acme, and acme's audit log names olive.
    let r = b.post(&s.url("/t/acme/console/scopes"), &[("csrf", &csrf), ("name", "acme:reports")]).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap_or_default());
    assert!(tenant_scopes(&s, "acme", &acme_admin).await.contains(&"acme:reports".to_owned()));
    let audit = b.get(&s.url("/t/acme/console/audit?action=scope.create")).await.text().await.unwrap();
    assert!(audit.contains("olive of the default tenant"), "the actor by name:\n{audit}");
    assert!(audit.contains(&format!("href=\"/console/users/{olive}\"")), "linked to her page at home");

    // A session's CSRF token is bound to its tenant: the default console's
    // token does not pass in acme's.
    let home_csrf = field(&b.get(&s.url("/console/scopes")).await.text().await.unwrap(), "csrf");
    assert_ne!(home_csrf, csrf);
    let r = b.post(&s.url("/t/acme/console/scopes"), &[("csrf", &home_csrf), ("name", "acme:forged")]).await;
    assert_eq!(r.status().as_u16(), 403);

    // Losing the owner role at home ends the access at once.
    set_roles(&s, &olive, &["tenant-admin"]).await;
    let r = b.get(&s.url("/t/acme/console/scopes")).await;
    assert_eq!(r.status().as_u16(), 303, "to acme's own sign-in");
    assert!(location(&r).contains("/t/acme/oauth2/authorize?"), "{}", location(&r));
    let r = b.post(&s.url("/t/acme/console/scopes"), &[("csrf", &csrf), ("name", "acme:after-demotion")]).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(!tenant_scopes(&s, "acme", &acme_admin).await.contains(&"acme:after-demotion".to_owned()));
    set_roles(&s, &olive, &["owner"]).await;
    assert_eq!(b.get(&s.url("/t/acme/console/scopes")).await.status().as_u16(), 200);

    // Signing out in acme ends the home session: a copy of the cookie opens
    // neither console afterwards.
    let copy = Browser::from_cookies(&b);
    let r = b.post(&s.url("/t/acme/console/signout"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 303);
    for path in ["/console/scopes", "/t/acme/console/scopes"] {
        let mut stale = Browser::from_cookies(&copy);
        assert_eq!(stale.get(&s.url(path)).await.status().as_u16(), 303, "{path} after sign-out");
    }
    s.stop().await;
}

#[tokio::test]
async fn no_other_session_crosses_a_tenant() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    create_tenant(&s, "acme").await;
    create_tenant(&s, "globex").await;
    default_user(&s, "tina", "tenant-admin").await;
    default_user(&s, "vic", "viewer").await;

    // Administrators of the default tenant below owner: acme's console
    // sends them to acme's sign-in, and the switcher is not theirs.
    for name in ["tina", "vic"] {
        let mut b = Browser::new();
        sign_in(&s, &mut b, name, "platform-user-password-1").await;
        let r = b.get(&s.url("/t/acme/console/scopes")).await;
        assert_eq!(r.status().as_u16(), 303, "{name}");
        assert!(location(&r).contains("/t/acme/oauth2/authorize?"), "{name}: {}", location(&r));
        let r = b.get(&s.url("/console/switch?tenant=acme")).await;
        assert_eq!(r.status().as_u16(), 403, "{name}");
    }

    // initech's own administrator, signed in to initech, reaches neither
    // another tenant nor the default one with that session.
    let (_, (ivan_name, ivan_password)) = create_tenant(&s, "initech").await;
    let mut ivan = Browser::new();
    let r = ivan.get(&s.url("/t/initech/console/")).await;
    let authorize = location(&r);
    let html = ivan.get(&authorize).await.text().await.unwrap();
    let r = ivan
        .post(
            &s.url("/t/initech/login"),
            &[
                ("tx", &field(&html, "tx")),
                ("csrf", &field(&html, "csrf")),
                ("username", &ivan_name),
                ("password", &ivan_password),
            ],
        )
        .await;
    let callback = location(&r);
    assert_eq!(ivan.get(&callback).await.status().as_u16(), 303);
    assert_eq!(ivan.get(&s.url("/t/initech/console/scopes")).await.status().as_u16(), 200, "ivan at home");
    for path in ["/t/globex/console/scopes", "/console/scopes"] {
        assert_eq!(ivan.get(&s.url(path)).await.status().as_u16(), 303, "{path}: sign in there first");
    }
    s.stop().await;
}
