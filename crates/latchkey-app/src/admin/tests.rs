//! Secret lifecycle, usage and type changes, with time under test control.

use latchkey_core::TokenErrorCode;
use serde_json::json;

use super::Actor;
use super::secrets::{AddSecret, RotateSecret};
use crate::client_auth::PresentedAuth;
use crate::test_world::{World, cc, m2m, world};

async fn works(w: &World, id: &str, secret: &str) -> bool {
    let auth = PresentedAuth::Basic { client_id: id.to_owned(), secret: secret.to_owned() };
    match w.app.token(&w.ctx, &auth, &cc(), None).await {
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
        .add_secret(&ctx, &Actor::system(), &id, AddSecret { expires_in_days: Some(90), ..AddSecret::default() })
        .await
        .unwrap();
    assert_eq!(s.secret.expires_at, Some(w.clock.now_for_test() + 30 * day), "90 requested, 30 allowed");
    let s = w
        .app
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
    assert_eq!(w.app.get_client(&w.ctx, &id).await.unwrap().last_used_at, None);
    w.clock.advance(10);
    assert!(works(&w, &id, &secret).await);
    assert_eq!(w.app.flush_usage().await.unwrap(), 1, "one row per client and secret, not per request");
    let view = w.app.get_client(&w.ctx, &id).await.unwrap();
    assert_eq!(view.last_used_at, Some(w.clock.now_for_test()));
    assert_eq!(view.secrets[0].last_used_at, Some(w.clock.now_for_test()));
    assert_eq!(w.app.flush_usage().await.unwrap(), 0);
    // "Unused for N days" sees it.
    w.clock.advance(3 * 86_400);
    let p = super::clients::ClientSearch { unused_days: Some(2), limit: Some(500), ..Default::default() };
    let (unused, _) = w.app.search_clients(&w.ctx, &p).await.unwrap();
    assert!(unused.iter().any(|c| c.client_id == id));
    assert!(works(&w, &id, &secret).await);
    w.app.flush_usage().await.unwrap();
    let (unused, _) = w.app.search_clients(&w.ctx, &p).await.unwrap();
    assert!(!unused.iter().any(|c| c.client_id == id));
}

#[tokio::test]
async fn type_changes_are_checked_on_the_new_state_and_manage_secrets() {
    let w = world().await;
    let (id, secret) = m2m(&w, "jwt").await;
    let actor = Actor::system();
    // Confidential -> public while keeping client_credentials: refused (policy on the new state).
    let p = json!({"token_endpoint_auth_method": "none"});
    let e = w.app.update_client(&w.ctx, &actor, &id, p.as_object().unwrap(), None, false).await.unwrap_err();
    assert!(matches!(e, crate::AppError::Validation(ref f) if f.iter().any(|x| x.field == "grant_types")), "{e:?}");
    // A valid switch to a public device client retires the secrets at once.
    let p = json!({"token_endpoint_auth_method": "none", "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "type": "device"});
    let u = w.app.update_client(&w.ctx, &actor, &id, p.as_object().unwrap(), None, false).await.unwrap();
    assert!(u.client_secret.is_none());
    assert!(!works(&w, &id, &secret).await);
    // And back to confidential: a new secret, shown once in the response.
    let p = json!({"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "type": "m2m"});
    let u = w.app.update_client(&w.ctx, &actor, &id, p.as_object().unwrap(), None, false).await.unwrap();
    let fresh = u.client_secret.expect("a confidential client gets a secret");
    assert!(works(&w, &id, &fresh).await);
    // Audit: each change recorded, no plaintext anywhere.
    let (events, _) = w
        .app
        .search_audit(&w.ctx, &super::AuditSearch { target_id: Some(id.clone()), ..Default::default() })
        .await
        .unwrap();
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&secret) && !text.contains(&fresh));
    assert!(events.iter().filter(|e| e.action == "client.update").count() == 2);
}
