//! Service-level tests on the real database of the test run, with a
//! `ManualClock`: time moves only when a test says so.

use latchkey_core::{ClientId, ClientStatus, TokenErrorCode};

use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::admin::scopes::NewScope;
use crate::bootstrap::BootstrapSecrets;
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;

use crate::test_world::{START, admin, cc, m2m, world};

#[tokio::test]
async fn issuer_has_no_trailing_slash_and_bootstrap_is_idempotent() {
    let w = world().await;
    assert_eq!(w.ctx.issuer, "https://issuer.test");
    let again = w.app.tenants.bootstrap_default_tenant(BootstrapSecrets::default()).await.unwrap();
    assert!(again.is_none(), "a second bootstrap creates nothing and reveals nothing");
}

#[tokio::test]
async fn tokens_expire_with_the_clock() {
    let w = world().await;
    for format in ["jwt", "opaque"] {
        let (id, secret) = m2m(&w, format).await;
        let auth = PresentedAuth::Basic { client_id: id, secret };
        let t = w.app.tokens.token(&w.ctx, &auth, &cc(), None).await.unwrap();
        assert_eq!(t.expires_in, 120);
        let claims = w.app.tokens.read_access_token(&w.ctx, &t.access_token).await.unwrap().unwrap();
        assert_eq!(claims.exp, w.clock.now_for_test() + 120);
        w.clock.advance(119);
        assert!(
            w.app.tokens.read_access_token(&w.ctx, &t.access_token).await.unwrap().is_some(),
            "{format} valid at 119 s"
        );
        w.clock.advance(1);
        assert!(
            w.app.tokens.read_access_token(&w.ctx, &t.access_token).await.unwrap().is_none(),
            "{format} dead at 120 s"
        );
    }
}

#[tokio::test]
async fn an_expired_secret_no_longer_authenticates() {
    let w = world().await;
    let (id, secret) = m2m(&w, "jwt").await;
    // Give the secret an expiry through the store, as rotation with a grace period will.
    let client_id = ClientId::parse(&id).unwrap();
    let (client, mut secrets) =
        w.app.kernel.store.get_client_with_secrets(&w.ctx.id, &client_id).await.unwrap().unwrap();
    let audit = w.app.kernel.audit_record(&Actor::system(), "client.delete", "client", &id, &serde_json::json!({}));
    w.app.kernel.store.delete_client(&w.ctx.id, &client_id, &audit).await.unwrap();
    secrets[0].expires_at = Some(START + 60);
    let audit = w.app.kernel.audit_record(&Actor::system(), "client.create", "client", &id, &serde_json::json!({}));
    w.app.kernel.store.insert_client(&client, &secrets, &audit).await.unwrap();

    let auth = PresentedAuth::Basic { client_id: id, secret };
    assert!(w.app.tokens.token(&w.ctx, &auth, &cc(), None).await.is_ok());
    w.clock.advance(60);
    let e = w.app.tokens.token(&w.ctx, &auth, &cc(), None).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::InvalidClient);
}

#[tokio::test]
async fn a_stranger_cannot_lock_out_a_client() {
    let w = world().await;
    let wrong = PresentedAuth::Basic { client_id: "latchkey-admin".into(), secret: "not-the-secret".into() };
    for _ in 0..crate::throttle::CLIENT.free {
        let e = w.app.tokens.token(&w.ctx, &wrong, &cc(), Some("10.0.0.1")).await.unwrap_err();
        assert_eq!((e.code, e.retry_after), (TokenErrorCode::InvalidClient, None));
    }
    // The guessing source waits, progressively, even with the right secret...
    let e = w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("10.0.0.1")).await.unwrap_err();
    assert_eq!(e.retry_after, Some(1));
    for expected in [2, 4, 8, 16] {
        w.clock.advance(i64::from(expected / 2));
        let e = w.app.tokens.token(&w.ctx, &wrong, &cc(), Some("10.0.0.1")).await.unwrap_err();
        assert_eq!(e.retry_after, None, "a failure after the wait counts");
        let e = w.app.tokens.token(&w.ctx, &wrong, &cc(), Some("10.0.0.1")).await.unwrap_err();
        assert_eq!(e.retry_after, Some(expected));
    }
    // ...while the client itself, from its own address, is never locked out.
    for _ in 0..3 {
        assert!(w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("10.0.0.2")).await.is_ok());
    }
    w.clock.advance(16);
    assert!(w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("10.0.0.1")).await.is_ok(), "the wait is over");
    // A success forgets the source's failures.
    let e = w.app.tokens.token(&w.ctx, &wrong, &cc(), Some("10.0.0.1")).await.unwrap_err();
    assert_eq!(e.retry_after, None);
}

#[tokio::test]
async fn throttle_memory_stays_bounded_under_distinct_names() {
    let w = world().await;
    let cap = 200;
    w.app.throttle.memory().set_capacity(cap);
    let n = cap * 3 / 2;
    // A flood of distinct client ids from distinct sources (fast: unknown
    // ids fail before any secret is checked).
    let store = w.app.kernel.store().clone();
    for i in 0..n {
        let auth = PresentedAuth::Basic { client_id: format!("flood-{i}"), secret: "x".into() };
        let source = format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256);
        let e = w.app.tokens.token(&w.ctx, &auth, &cc(), Some(&source)).await.unwrap_err();
        assert_eq!(e.code, TokenErrorCode::InvalidClient);
        assert!(w.app.throttle.memory().remembered() <= cap);
    }
    // Still exact after the overflow: the counters are in the database.
    let wrong = PresentedAuth::Basic { client_id: "latchkey-admin".into(), secret: "not-the-secret".into() };
    for _ in 0..crate::throttle::CLIENT.free {
        w.app.tokens.token(&w.ctx, &wrong, &cc(), Some("192.0.2.1")).await.unwrap_err();
    }
    assert_eq!(w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("192.0.2.1")).await.unwrap_err().retry_after, Some(1));
    assert!(w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("192.0.2.2")).await.is_ok());
    // The database side is purged once the window has passed.
    w.clock.advance(crate::throttle::WINDOW_SECONDS + 1);
    w.app.tokens.purge_expired().await.unwrap();
    assert_eq!(store.throttle_state(&w.ctx.id, "anything", w.app.kernel.now(), 1).await.unwrap(), None);
    assert_eq!(w.app.throttle.memory().remembered(), 0);
}

#[tokio::test]
async fn many_concurrent_opaque_tokens_are_unique_and_all_introspect() {
    let w = world().await;
    let (id, secret) = m2m(&w, "opaque").await;
    let auth = PresentedAuth::Basic { client_id: id, secret };
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (app, ctx, auth) = (w.app.clone(), w.ctx.clone(), auth.clone());
        tasks.push(tokio::spawn(async move { app.tokens.token(&ctx, &auth, &cc(), None).await.unwrap().access_token }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    let unique: std::collections::HashSet<_> = tokens.iter().collect();
    assert_eq!(unique.len(), 200);
    for t in &tokens {
        let i = w.app.tokens.introspect(&w.ctx, &auth, t, None).await.unwrap();
        assert!(i.active);
    }
}

#[tokio::test]
async fn admin_actor_needs_an_admin_scope_and_read_only_cannot_write() {
    let w = world().await;
    let read = w
        .app
        .tokens
        .token(&w.ctx, &admin(), &TokenRequest { scope: Some("admin:read".into()), ..cc() }, None)
        .await
        .unwrap();
    let actor = w.app.tokens.admin_actor(&w.ctx, Some(&read.access_token), None, None).await.unwrap();
    assert!(!actor.can_write);
    let new = NewScope { name: "x".into(), description: String::new() };
    assert!(matches!(w.app.scopes.create_scope(&w.ctx, &actor, new).await, Err(crate::AppError::Forbidden(_))));
    let (id, secret) = m2m(&w, "jwt").await;
    let plain =
        w.app.tokens.token(&w.ctx, &PresentedAuth::Basic { client_id: id.clone(), secret }, &cc(), None).await.unwrap();
    assert!(matches!(
        w.app.tokens.admin_actor(&w.ctx, Some(&plain.access_token), None, None).await,
        Err(crate::AppError::Forbidden(_))
    ));
    assert!(matches!(w.app.tokens.admin_actor(&w.ctx, None, None, None).await, Err(crate::AppError::Unauthorized(_))));
    // Disabling the admin client kills its admin tokens at once.
    let write = w
        .app
        .tokens
        .token(&w.ctx, &admin(), &TokenRequest { scope: Some("admin".into()), ..cc() }, None)
        .await
        .unwrap();
    let a = w.app.tokens.admin_actor(&w.ctx, Some(&write.access_token), None, None).await.unwrap();
    w.app.clients.set_client_status(&w.ctx, &a, &id, ClientStatus::Disabled, false).await.unwrap();
    w.app.clients.set_client_status(&w.ctx, &a, "latchkey-admin", ClientStatus::Disabled, true).await.unwrap();
    assert!(matches!(
        w.app.tokens.admin_actor(&w.ctx, Some(&write.access_token), None, None).await,
        Err(crate::AppError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn lifetime_outside_tenant_bounds_is_a_field_error() {
    let w = world().await;
    for (lifetime, ok) in [(59, false), (60, true), (3600, true), (3601, false)] {
        let new: NewClient = serde_json::from_value(serde_json::json!({
            "name": format!("lifetime {lifetime}"), "type": "m2m", "access_token_lifetime": lifetime
        }))
        .unwrap();
        let r = w.app.clients.create_client(&w.ctx, &Actor::system(), new).await;
        match (r, ok) {
            (Ok(c), true) => assert_eq!(c.client.effective_access_token_lifetime.seconds, lifetime),
            (Err(crate::AppError::Validation(e)), false) => assert_eq!(e[0].field, "access_token_lifetime"),
            (other, _) => panic!("{lifetime}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn opaque_tokens_are_sealed_per_tenant_and_tamper_evident() {
    let w = world().await;
    let (id, secret) = m2m(&w, "opaque").await;
    let auth = PresentedAuth::Basic { client_id: id.clone(), secret };
    let t = w.app.tokens.token(&w.ctx, &auth, &cc(), None).await.unwrap().access_token;
    assert!(t.starts_with("lkat_"));
    // Nothing readable inside: the client id and scope do not appear in any decoding.
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&t[5..]).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains(&id));
    // Flip one character: no longer a token.
    let mut chars: Vec<char> = t.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    assert!(w.app.tokens.read_access_token(&w.ctx, &forged).await.unwrap().is_none());
    // Revocation by jti makes it inactive.
    assert!(w.app.tokens.read_access_token(&w.ctx, &t).await.unwrap().is_some());
    w.app.tokens.revoke(&w.ctx, &auth, &t, None).await.unwrap();
    assert!(w.app.tokens.read_access_token(&w.ctx, &t).await.unwrap().is_none());
}

fn kid_of(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&header).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

fn published(ctx: &crate::tenants::TenantContext) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(ctx.keys.jwks_json()).unwrap();
    v["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn key_rotation_publishes_before_use_and_keeps_old_keys_until_their_tokens_expire() {
    use crate::admin::keys::RotateKeys;
    let w = world().await;
    let (id, secret) = m2m(&w, "jwt").await;
    let auth = PresentedAuth::Basic { client_id: id, secret };
    let old_kid = kid_of(&w.app.tokens.token(&w.ctx, &auth, &cc(), None).await.unwrap().access_token);

    let rotate = RotateKeys { purpose: Some("access_token".into()), activate_in_seconds: Some(600) };
    let viewer = Actor::user("v", latchkey_core::AdminRole::Viewer, false);
    assert!(matches!(
        w.app.tenants.rotate_keys(&w.ctx, &viewer, rotate.clone()).await,
        Err(crate::AppError::Forbidden(_))
    ));
    let made = w.app.tenants.rotate_keys(&w.ctx, &Actor::system(), rotate.clone()).await.unwrap();
    assert_eq!(made.len(), 1);
    let new_kid = made[0].kid.clone();
    assert_eq!(made[0].status, "pending");
    assert_eq!(made[0].alg, "ES256", "same algorithm as the key it replaces");
    // Published at once, used only from its activation.
    let ctx = w.app.kernel.tenant(&w.ctx.id).await.unwrap();
    assert!(published(&ctx).contains(&new_kid) && published(&ctx).contains(&old_kid));
    w.clock.advance(599);
    let before = w.app.tokens.token(&ctx, &auth, &cc(), None).await.unwrap().access_token;
    assert_eq!(kid_of(&before), old_kid, "not used before its activation");
    // A second rotation while one is pending is refused.
    let again = w.app.tenants.rotate_keys(&ctx, &Actor::system(), rotate).await;
    assert!(matches!(again, Err(crate::AppError::Conflict(_))), "{again:?}");
    w.clock.advance(1);
    let after = w.app.tokens.token(&ctx, &auth, &cc(), None).await.unwrap().access_token;
    assert_eq!(kid_of(&after), new_kid, "signs from its activation, without a reload");
    // The token signed just before the switch still verifies.
    assert!(w.app.tokens.read_access_token(&ctx, &before).await.unwrap().is_some());
    assert!(w.app.tokens.read_access_token(&ctx, &after).await.unwrap().is_some());
    let states: Vec<(String, String)> =
        w.app.tenants.list_keys(&ctx).await.unwrap().into_iter().map(|k| (k.kid, k.status)).collect();
    assert!(states.contains(&(old_kid.clone(), "retired".into())), "{states:?}");
    assert!(states.contains(&(new_kid.clone(), "active".into())), "{states:?}");
    // The old key stays published while a token it signed may live, then goes.
    let retention = i64::from(ctx.settings.max_access_token_lifetime.max(ctx.settings.max_id_token_lifetime)) + 120;
    w.clock.advance(retention - 1);
    assert!(published(&w.app.kernel.reload_tenant(&ctx.id).await.unwrap()).contains(&old_kid));
    w.clock.advance(1);
    let ctx = w.app.kernel.reload_tenant(&ctx.id).await.unwrap();
    assert!(!published(&ctx).contains(&old_kid));
    assert!(published(&ctx).contains(&new_kid));
    // An ID-token rotation keeps RS256.
    let id = RotateKeys { purpose: Some("id_token".into()), activate_in_seconds: Some(0) };
    let made = w.app.tenants.rotate_keys(&ctx, &Actor::system(), id).await.unwrap();
    assert_eq!((made[0].alg, made[0].status.as_str()), ("RS256", "active"));
    let bad = RotateKeys { purpose: Some("refresh".into()), activate_in_seconds: None };
    assert!(matches!(
        w.app.tenants.rotate_keys(&ctx, &Actor::system(), bad).await,
        Err(crate::AppError::Validation(_))
    ));
}

/// Trust issue, item 4, for tenants: a tenant deleted and created again
/// under the same id, with a client of the same id, does not honour the
/// tokens of the one deleted — JWT (its keys are gone) or opaque (sealed
/// under the same master key, but naming another client incarnation).
#[tokio::test]
async fn a_deleted_tenants_tokens_never_come_back_through_a_namesake() {
    use crate::admin::tenants::NewTenant;
    let w = world().await;
    let sys = Actor::system();
    let new_tenant = || NewTenant { tenant_id: "acme".into(), display_name: None, settings: None };
    let mut old = Vec::new();
    w.app.tenants.create_tenant(&w.ctx, &sys, new_tenant()).await.unwrap();
    let acme = w.app.kernel.tenant(&latchkey_core::TenantId::parse("acme").unwrap()).await.unwrap();
    for format in ["jwt", "opaque"] {
        let new: NewClient = serde_json::from_value(serde_json::json!({
            "client_id": format!("svc-{format}"), "name": format, "type": "m2m", "access_token_format": format
        }))
        .unwrap();
        let c = w.app.clients.create_client(&acme, &sys, new).await.unwrap();
        let auth = PresentedAuth::Basic { client_id: c.client.client_id, secret: c.client_secret.unwrap() };
        let t = w.app.tokens.token(&acme, &auth, &cc(), None).await.unwrap().access_token;
        assert!(w.app.tokens.read_access_token(&acme, &t).await.unwrap().is_some());
        old.push(t);
    }
    w.app.tenants.set_tenant_status(&w.ctx, &sys, "acme", false).await.unwrap();
    w.app.tenants.delete_tenant(&w.ctx, &sys, "acme").await.unwrap();
    w.app.tenants.create_tenant(&w.ctx, &sys, new_tenant()).await.unwrap();
    let acme = w.app.kernel.tenant(&latchkey_core::TenantId::parse("acme").unwrap()).await.unwrap();
    for format in ["jwt", "opaque"] {
        let new: NewClient = serde_json::from_value(serde_json::json!({
            "client_id": format!("svc-{format}"), "name": format, "type": "m2m", "access_token_format": format
        }))
        .unwrap();
        w.app.clients.create_client(&acme, &sys, new).await.unwrap();
    }
    for t in &old {
        assert!(w.app.tokens.read_access_token(&acme, t).await.unwrap().is_none(), "{t:.16}…");
    }
}
