//! Issue 15, "Overload": password checks run in a bounded number of
//! hashing slots; when every slot stays taken past the queue's deadline a
//! sign-in is told the server is busy (503, `Retry-After`) at once, the
//! password grant answers `temporarily_unavailable`, and an admin creating
//! a user gets `Busy`. (The queue's waiting itself is tested with tokio's
//! paused clock in `kernel/passwords.rs`; here the deadline is zero.)

use std::time::Duration;

use latchkey_core::TokenErrorCode;

use super::tests::{PASSWORD, legacy_ctx, setup_with};
use super::{Outcome, Page};
use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::admin::users::NewUser;
use crate::test_world::world_with;
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;

async fn busy_world() -> super::tests::App {
    let w = world_with(|o| {
        o.password_hash_concurrency = 1;
        o.password_hash_queue = Duration::ZERO;
    })
    .await;
    setup_with(serde_json::json!({}), w).await
}

#[tokio::test]
async fn a_sign_in_is_told_the_server_is_busy_while_every_hashing_slot_is_taken() {
    let mut a = busy_world().await;
    assert_eq!(a.w.app.kernel.password_slots().size(), 1);
    let i = a.authorize(&a.params()).await;
    let held = a.w.app.kernel.password_slots().acquire().await.unwrap();
    let r = a.login(&i, PASSWORD).await;
    let Outcome::Page(Page::Login { status: 503, retry_after: Some(1), error: Some(e), .. }) = &r.outcome else {
        panic!("{r:?}")
    };
    assert!(e.contains("busy"), "{e}");
    assert!(r.set_session.is_none());
    // Busy is not a failure: it neither counts against the user nor slows them.
    for _ in 0..crate::throttle::PASSWORD.free + 2 {
        assert!(matches!(a.login(&i, PASSWORD).await.outcome, Outcome::Page(Page::Login { status: 503, .. })));
    }
    drop(held);
    assert!(matches!(a.login(&i, PASSWORD).await.outcome, Outcome::Page(Page::Consent { .. })));
}

#[tokio::test]
async fn the_password_grant_and_user_creation_answer_busy_too() {
    let a = busy_world().await;
    let ctx = legacy_ctx(&a.w).await;
    let new: NewClient = serde_json::from_value(serde_json::json!({
        "name": "Legacy", "type": "custom", "grant_types": ["password"], "scopes": ["openid"],
    }))
    .unwrap();
    let c = a.w.app.clients.create_client(&ctx, &Actor::system(), new).await.unwrap();
    let auth = PresentedAuth::Basic { client_id: c.client.client_id.clone(), secret: c.client_secret.unwrap() };
    let req = TokenRequest {
        grant_type: Some("password".into()),
        username: Some("alice".into()),
        password: Some(PASSWORD.into()),
        ..TokenRequest::default()
    };
    let held = a.w.app.kernel.password_slots().acquire().await.unwrap();
    let e = a.w.app.tokens.token(&ctx, &auth, &req, Some("10.1.1.1")).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::TemporarilyUnavailable);
    assert_eq!(e.retry_after, None, "503, not the 429 of a throttle");
    let user =
        NewUser { username: "bob".into(), password: Some("a-long-enough-password".into()), ..NewUser::default() };
    let refused = a.w.app.users.create_user(&a.w.ctx, &Actor::system(), user.clone()).await;
    assert!(matches!(refused, Err(crate::AppError::Busy(1))), "{refused:?}");
    assert!(a.w.app.kernel.metrics.password_hashes_refused.get() >= 2);
    drop(held);
    assert!(a.w.app.tokens.token(&ctx, &auth, &req, Some("10.1.1.1")).await.is_ok());
    assert!(a.w.app.users.create_user(&a.w.ctx, &Actor::system(), user).await.is_ok());
}
