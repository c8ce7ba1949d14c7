//! The trust issue's revocation classes as services: tokens, codes and
//! refresh families follow the incarnations of their client and user
//! (ADR 0014), refresh scopes follow what is still allowed, and reuse
//! inside the grace window never multiplies live tokens. Ends with the
//! lifecycle property test.

use latchkey_core::TokenErrorCode;
use latchkey_core::authorize::AuthorizeParams;

use super::tests::{PASSWORD, VERIFIER, legacy_ctx, param, respond, setup};
use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::admin::users::NewUser;
use crate::test_world::world;
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;

/// Item 4: a client deleted and created again with the same `client_id`
/// (same second, same configuration) does not bring back the access and
/// refresh tokens of its predecessor, in either token format.
#[tokio::test]
async fn a_deleted_clients_tokens_never_come_back_through_a_namesake() {
    for format in ["jwt", "opaque"] {
        let mut a = setup(serde_json::json!({ "access_token_format": format })).await;
        let code = a.code().await;
        let old = a.redeem(&code, VERIFIER).await.unwrap();
        let old_rt = old.refresh_token.clone().unwrap();
        assert!(a.active(&old.access_token).await);
        let w = &a.w;
        w.app.clients.delete_client(&w.ctx, &Actor::system(), &a.client_id, false).await.unwrap();
        let again: NewClient = serde_json::from_value(serde_json::json!({
            "client_id": a.client_id, "name": "Web", "type": "web", "redirect_uris": ["https://app.example/cb"],
            "scopes": ["openid", "profile", "email", "offline_access"], "require_consent": true,
            "access_token_format": format,
        }))
        .unwrap();
        let c = w.app.clients.create_client(&w.ctx, &Actor::system(), again).await.unwrap();
        a.secret = c.client_secret.unwrap();
        assert!(!a.active(&old.access_token).await, "{format}: the predecessor's access token");
        assert!(!w.app.tokens.introspect(&w.ctx, &a.auth(), &old_rt, None).await.unwrap().active);
        assert_eq!(a.refresh(&old_rt, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
        // The namesake's own tokens work (the user consents again: the
        // consent was to the deleted client).
        let fresh = a.code().await;
        let new = a.redeem(&fresh, VERIFIER).await.unwrap();
        assert!(a.active(&new.access_token).await);
    }
}

/// Item 4, client_credentials and codes: a code issued to the predecessor
/// is not redeemable by the namesake, and its own tokens die with it.
#[tokio::test]
async fn a_namesake_client_cannot_redeem_its_predecessors_code() {
    let mut a = setup(serde_json::json!({"require_consent": false})).await;
    let code = a.code().await;
    let w = &a.w;
    w.app.clients.delete_client(&w.ctx, &Actor::system(), &a.client_id, false).await.unwrap();
    let again: NewClient = serde_json::from_value(serde_json::json!({
        "client_id": a.client_id, "name": "Web", "type": "web", "redirect_uris": ["https://app.example/cb"],
        "scopes": ["openid", "profile", "email", "offline_access"],
    }))
    .unwrap();
    a.secret = w.app.clients.create_client(&w.ctx, &Actor::system(), again).await.unwrap().client_secret.unwrap();
    assert_eq!(a.redeem(&code, VERIFIER).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
}

/// Item 10: disabled and enabled again within one second (no clock step):
/// tokens from before stay dead, the same for a client's own tokens.
#[tokio::test]
async fn a_client_reenabled_within_the_same_second_keeps_its_old_tokens_dead() {
    let mut a =
        setup(serde_json::json!({"grant_types": ["authorization_code", "refresh_token", "client_credentials"]})).await;
    let code = a.code().await;
    let old = a.redeem(&code, VERIFIER).await.unwrap();
    let cc = crate::test_world::cc();
    let own = a.w.app.tokens.token(&a.w.ctx, &a.auth(), &cc, None).await.unwrap();
    assert!(a.active(&own.access_token).await);
    let (w, id) = (&a.w, a.client_id.clone());
    w.app
        .clients
        .set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Disabled, false)
        .await
        .unwrap();
    w.app
        .clients
        .set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Active, false)
        .await
        .unwrap();
    assert!(!a.active(&old.access_token).await);
    assert!(!a.active(&own.access_token).await);
    assert_eq!(
        a.refresh(old.refresh_token.as_deref().unwrap(), None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    let fresh = a.w.app.tokens.token(&a.w.ctx, &a.auth(), &cc, None).await.unwrap();
    assert!(a.active(&fresh.access_token).await, "tokens issued after the enable work");
}

/// Item 8: every token issued to a user — code flow, refresh, implicit and
/// the password grant — stops at once when the user is disabled or their
/// password is reset, on introspection, userinfo and refresh; enabling the
/// user again does not revive them.
#[tokio::test]
async fn every_user_token_stops_when_the_user_is_disabled_or_reset() {
    for action in ["disable", "reset"] {
        let mut a = setup(serde_json::json!({"require_consent": false})).await;
        let ctx = legacy_ctx(&a.w).await;
        let new: NewClient = serde_json::from_value(serde_json::json!({
            "name": "Legacy", "type": "custom", "grant_types": ["implicit", "password"],
            "response_types": ["token"], "redirect_uris": ["https://legacy.example/cb"], "scopes": ["openid", "profile"],
        }))
        .unwrap();
        let legacy = a.w.app.clients.create_client(&ctx, &Actor::system(), new).await.unwrap();
        let legacy_auth =
            PresentedAuth::Basic { client_id: legacy.client.client_id.clone(), secret: legacy.client_secret.unwrap() };
        let code = a.code().await;
        let coded = a.redeem(&code, VERIFIER).await.unwrap();
        let password = TokenRequest {
            grant_type: Some("password".into()),
            username: Some("alice".into()),
            password: Some(PASSWORD.into()),
            scope: Some("openid profile".into()),
            ..TokenRequest::default()
        };
        let by_password =
            a.w.app.tokens.token(&ctx, &legacy_auth, &password, Some("10.1.1.1")).await.unwrap().access_token;
        let p = AuthorizeParams {
            client_id: Some(legacy.client.client_id.clone()),
            response_type: Some("token".into()),
            scope: Some("openid profile".into()),
            ..AuthorizeParams::default()
        };
        let implicit = param(&respond(&a.w.app.sign_in.authorize(&ctx, &p, &a.cookies).await), "access_token");
        for t in [&coded.access_token, &by_password, &implicit] {
            assert!(a.w.app.tokens.read_access_token(&ctx, t).await.unwrap().is_some());
        }
        let user = a.w.app.users.list_users(&a.w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
        if action == "disable" {
            a.w.app.users.set_user_status(&a.w.ctx, &Actor::system(), &user.id, false).await.unwrap();
        } else {
            let reset = crate::admin::users::PasswordReset { password: Some("another long password".into()) };
            a.w.app.users.reset_password(&a.w.ctx, &Actor::system(), &user.id, reset).await.unwrap();
        }
        for t in [&coded.access_token, &by_password, &implicit] {
            assert!(a.w.app.tokens.read_access_token(&ctx, t).await.unwrap().is_none(), "{action}: {t:.12}…");
            assert!(matches!(
                a.w.app.sign_in.userinfo(&ctx, t).await,
                Err(super::userinfo::UserinfoError::InvalidToken)
            ));
            let seen = a.w.app.tokens.introspect(&ctx, &legacy_auth, t, None).await.unwrap();
            assert!(!seen.active);
        }
        let rt = coded.refresh_token.as_deref().unwrap();
        assert_eq!(a.refresh(rt, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
        if action == "disable" {
            a.w.app.users.set_user_status(&a.w.ctx, &Actor::system(), &user.id, true).await.unwrap();
            for t in [&coded.access_token, &by_password, &implicit] {
                assert!(a.w.app.tokens.read_access_token(&ctx, t).await.unwrap().is_none(), "enabling revives nothing");
            }
        }
    }
}

/// Item 6: a refresh never returns a scope the client lost, nor one the
/// user's consent no longer covers.
#[tokio::test]
async fn refresh_never_returns_scopes_the_client_or_the_consent_lost() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("email offline_access openid profile"));
    let w = &a.w;
    let patch = serde_json::json!({"scopes": ["openid", "profile", "offline_access"]});
    w.app
        .clients
        .update_client(&w.ctx, &Actor::system(), &a.client_id, patch.as_object().unwrap(), None, false)
        .await
        .unwrap();
    let t = a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("offline_access openid profile"), "the client lost email");
    let claims = a.w.app.tokens.read_access_token(&a.w.ctx, &t.access_token).await.unwrap().unwrap();
    assert!(!claims.scope.contains("email"));
    let e = a.refresh(t.refresh_token.as_deref().unwrap(), Some("openid email")).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::InvalidScope, "asking for it explicitly");
    // The consent narrowed (the user consented again to less).
    let user = w.app.users.list_users(&w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
    let consent = latchkey_store::ConsentRecord {
        user_id: user.id.clone(),
        client_id: a.client_id.clone(),
        scope: "openid offline_access".into(),
        granted_at: w.app.kernel.now(),
        updated_at: w.app.kernel.now(),
    };
    let audit = w.app.kernel.flow_audit(&user.id, "consent.grant", "client", &a.client_id, None);
    w.app.kernel.store.upsert_consent(&w.ctx.id, &consent, &audit).await.unwrap();
    let rt = t.refresh_token.as_deref().unwrap();
    let t = a.refresh(rt, None).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("offline_access openid"), "the consent no longer covers profile");
}

/// Item 9: twenty parallel reuses inside the grace window all get the
/// answer of the one rotation (same access and refresh token): the family
/// has exactly one live refresh token afterwards, not twenty.
#[tokio::test]
async fn parallel_reuses_in_the_grace_window_share_one_successor() {
    let mut a = setup(serde_json::json!({"refresh_token_policy": {"rotate": true, "reuse_grace_seconds": 300}})).await;
    let code = a.code().await;
    let rt1 = a.redeem(&code, VERIFIER).await.unwrap().refresh_token.unwrap();
    let auth = a.auth();
    let a = std::sync::Arc::new(a);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (a, rt1) = (a.clone(), rt1.clone());
        tasks.push(tokio::spawn(async move { a.refresh(&rt1, None).await.unwrap() }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let first = &answers[0];
    for r in &answers {
        assert_eq!(r.refresh_token, first.refresh_token, "one successor, whoever won the race");
        assert_eq!(r.access_token, first.access_token);
    }
    // Later reuses inside the window: the same answer again.
    a.w.clock.advance(100);
    let again = a.refresh(&rt1, None).await.unwrap();
    assert_eq!(again.refresh_token, first.refresh_token);
    assert!(again.expires_in < first.expires_in, "its lifetime is not renewed by asking again");
    let rt2 = first.refresh_token.as_deref().unwrap();
    assert!(a.w.app.tokens.introspect(&a.w.ctx, &auth, rt2, None).await.unwrap().active);
    assert!(!a.w.app.tokens.introspect(&a.w.ctx, &auth, &rt1, None).await.unwrap().active);
    // Once the successor is used, the old token is plain reuse: the family goes.
    let t3 = a.refresh(rt2, None).await.unwrap();
    assert_eq!(a.refresh(&rt1, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert!(!a.active(&t3.access_token).await);
}

/// Item 9 without rotation: the presented refresh token stays the only
/// live one; no new family members appear, and revoking the family still
/// revokes every access token issued from it.
#[tokio::test]
async fn without_rotation_refresh_adds_no_live_tokens() {
    let mut a = setup(serde_json::json!({"refresh_token_policy": {"rotate": false}})).await;
    let code = a.code().await;
    let rt = a.redeem(&code, VERIFIER).await.unwrap().refresh_token.unwrap();
    let mut issued = Vec::new();
    for _ in 0..5 {
        let t = a.refresh(&rt, None).await.unwrap();
        assert_eq!(t.refresh_token.as_deref(), Some(rt.as_str()), "the same refresh token");
        issued.push(t.access_token);
    }
    let auth = a.auth();
    a.w.app.tokens.revoke(&a.w.ctx, &auth, &rt, None).await.unwrap();
    for t in &issued {
        assert!(!a.active(t).await, "every access token of the family is revoked");
    }
}

/// A small deterministic generator for the property test (xorshift64*):
/// the seed is printed on failure and can be set with
/// `LATCHKEY_PROPERTY_SEED` to replay a run.
struct Xorshift(u64);

impl Xorshift {
    /// Spreads a small seed over all bits first (splitmix64).
    fn seeded(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// What the model says about one client or user: its incarnation counter
/// (moved by create, disable, enable, delete, password reset) and whether
/// it is there and active now.
#[derive(Debug, Clone, Copy, Default)]
struct Life {
    generation: u32,
    live: bool,
    exists: bool,
}

/// The property of the trust issue: for random sequences of create /
/// disable / enable / delete / re-create of clients and create / disable /
/// enable / password reset of users, with tokens minted in between and the
/// clock moving by zero or one second, a token is live exactly while every
/// object that issued it is still the incarnation it was issued under and
/// active. Runs on the database of the test run (SQLite, or PostgreSQL
/// when `LATCHKEY_TEST_PG_URL` is set).
#[tokio::test]
async fn no_token_outlives_the_state_that_issued_it() {
    let seeds: Vec<u64> = match std::env::var("LATCHKEY_PROPERTY_SEED") {
        Ok(s) => vec![s.parse().expect("a number")],
        Err(_) => vec![0x5eed_1a7c, 0xdead_beef, 42, 7_777_777],
    };
    for seed in seeds {
        property_run(seed, 120).await;
    }
}

/// Which client or user (index) issued a token, at which generation.
type Issuer = (usize, u32);

async fn property_run(seed: u64, steps: usize) {
    let w = world().await;
    let ctx = legacy_ctx(&w).await;
    let sys = Actor::system();
    let mut rng = Xorshift::seeded(seed);
    let new: NewClient = serde_json::from_value(serde_json::json!({
        "name": "Password client", "type": "custom", "grant_types": ["password"], "scopes": ["openid", "profile"],
        "access_token_lifetime": 3600,
    }))
    .unwrap();
    let pw = w.app.clients.create_client(&ctx, &sys, new).await.unwrap();
    let pw_auth = PresentedAuth::Basic { client_id: pw.client.client_id.clone(), secret: pw.client_secret.unwrap() };
    let client_ids = ["svc-a", "svc-b"];
    let usernames = ["ann", "bob"];
    let mut clients = [Life::default(); 2];
    let mut secrets = [String::new(), String::new()];
    let mut users = [Life::default(); 2];
    let mut user_ids = [String::new(), String::new()];
    // (token, issuing client and its generation, user and its generation)
    let mut tokens: Vec<(String, Option<Issuer>, Option<Issuer>)> = Vec::new();
    let mut log = Vec::new();
    for step in 0..steps {
        let i = usize::try_from(rng.next(2)).unwrap();
        let op = rng.next(11);
        let (c, u) = (&mut clients[i], &mut users[i]);
        let did = match op {
            0 if !c.exists => {
                let new: NewClient = serde_json::from_value(serde_json::json!({
                    "client_id": client_ids[i], "name": client_ids[i], "type": "m2m", "access_token_lifetime": 3600,
                    "access_token_format": if rng.next(2) == 0 { "jwt" } else { "opaque" },
                }))
                .unwrap();
                secrets[i] = w.app.clients.create_client(&ctx, &sys, new).await.unwrap().client_secret.unwrap();
                *c = Life { generation: c.generation + 1, live: true, exists: true };
                "create client"
            }
            1 if c.exists => {
                let to =
                    if c.live { latchkey_core::ClientStatus::Disabled } else { latchkey_core::ClientStatus::Active };
                w.app.clients.set_client_status(&ctx, &sys, client_ids[i], to, false).await.unwrap();
                *c = Life { generation: c.generation + 1, live: !c.live, exists: true };
                "toggle client"
            }
            2 if c.exists => {
                w.app.clients.delete_client(&ctx, &sys, client_ids[i], false).await.unwrap();
                *c = Life { generation: c.generation + 1, live: false, exists: false };
                "delete client"
            }
            3 | 4 if c.live => {
                let auth = PresentedAuth::Basic { client_id: client_ids[i].into(), secret: secrets[i].clone() };
                let t = w.app.tokens.token(&ctx, &auth, &crate::test_world::cc(), None).await.unwrap();
                tokens.push((t.access_token, Some((i, c.generation)), None));
                "client token"
            }
            5 if !u.exists => {
                let new = NewUser {
                    username: usernames[i].into(),
                    password: Some(PASSWORD.into()),
                    display_name: usernames[i].into(),
                    ..NewUser::default()
                };
                user_ids[i] = w.app.users.create_user(&ctx, &sys, new).await.unwrap().user.id;
                *u = Life { generation: u.generation + 1, live: true, exists: true };
                "create user"
            }
            6 if u.exists => {
                w.app.users.set_user_status(&ctx, &sys, &user_ids[i], !u.live).await.unwrap();
                *u = Life { generation: u.generation + 1, live: !u.live, exists: true };
                "toggle user"
            }
            7 if u.exists => {
                let reset = crate::admin::users::PasswordReset { password: Some(PASSWORD.into()) };
                w.app.users.reset_password(&ctx, &sys, &user_ids[i], reset).await.unwrap();
                u.generation += 1;
                "reset password"
            }
            8 | 9 if u.live => {
                let req = TokenRequest {
                    grant_type: Some("password".into()),
                    username: Some(usernames[i].into()),
                    password: Some(PASSWORD.into()),
                    scope: Some("openid".into()),
                    ..TokenRequest::default()
                };
                let t = w.app.tokens.token(&ctx, &pw_auth, &req, Some("10.0.0.1")).await.unwrap();
                tokens.push((t.access_token, None, Some((i, u.generation))));
                "user token"
            }
            10 => {
                w.clock.advance(1);
                "tick"
            }
            _ => "nothing",
        };
        if w.app.kernel.now() % 2 == 0 && rng.next(2) == 0 {
            w.clock.advance(1);
        }
        log.push(format!("{step}: {did} #{i}"));
        for (n, (token, client, user)) in tokens.iter().enumerate() {
            let expected = client.is_none_or(|(k, g)| clients[k].live && clients[k].generation == g)
                && user.is_none_or(|(k, g)| users[k].live && users[k].generation == g);
            let live = w.app.tokens.read_access_token(&ctx, token).await.unwrap().is_some();
            assert_eq!(live, expected, "seed {seed}, token #{n} after:\n{}", log.join("\n"));
        }
    }
    assert!(tokens.len() > 5, "seed {seed} minted too few tokens to say anything");
}

/// Epochs are random, positive and below 2^53, so the `lk_cep`/`lk_uep`
/// claims survive a JavaScript resource server's number type exactly.
#[tokio::test]
async fn epochs_are_random_positive_and_json_safe() {
    let w = world().await;
    let epochs: std::collections::HashSet<i64> = (0..200).map(|_| w.app.kernel.new_epoch()).collect();
    assert_eq!(epochs.len(), 200, "no repeats");
    assert!(epochs.iter().all(|e| *e > 0 && *e < (1 << 53)));
}
