//! The browser flow and the user grants as services, on the real database
//! of the test run, with a `ManualClock`.

use latchkey_core::TokenErrorCode;
use latchkey_core::authorize::{AuthorizeParams, ResponseMode};
use latchkey_crypto::jws::{half_hash, pkce_s256};

use super::authorize::{ConsentForm, LoginForm};
use super::{AuthResponse, BrowserCookies, Interaction, Outcome, Page};
use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::admin::users::NewUser;
use crate::client_auth::PresentedAuth;
use crate::test_world::{World, world};
use crate::tokens::{TokenRequest, TokenResponse};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PASSWORD: &str = "correct horse battery staple";

struct App {
    w: World,
    client_id: String,
    secret: String,
    cookies: BrowserCookies,
}

async fn setup(extra: serde_json::Value) -> App {
    let w = world().await;
    let mut body = serde_json::json!({
        "name": "Web", "type": "web", "redirect_uris": ["https://app.example/cb"],
        "scopes": ["openid", "profile", "email", "offline_access"], "require_consent": true,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let new: NewClient = serde_json::from_value(body).unwrap();
    let c = w.app.create_client(&w.ctx, &Actor::system(), new).await.unwrap();
    let user = NewUser {
        username: "alice".into(),
        password: Some(PASSWORD.into()),
        email: Some("alice@example.com".into()),
        display_name: "Alice".into(),
        groups: vec!["staff".into()],
        ..NewUser::default()
    };
    w.app.create_user(&w.ctx, &Actor::system(), user).await.unwrap();
    App {
        w,
        client_id: c.client.client_id,
        secret: c.client_secret.unwrap_or_default(),
        cookies: BrowserCookies::default(),
    }
}

impl App {
    fn params(&self) -> AuthorizeParams {
        AuthorizeParams {
            client_id: Some(self.client_id.clone()),
            response_type: Some("code".into()),
            scope: Some("openid profile email offline_access".into()),
            state: Some("st-1".into()),
            nonce: Some("n-1".into()),
            code_challenge: Some(pkce_s256(VERIFIER)),
            code_challenge_method: Some("S256".into()),
            ..AuthorizeParams::default()
        }
    }

    fn keep_cookies(&mut self, i: &Interaction) {
        if let Some(a) = &i.set_anchor {
            self.cookies.anchor = Some(a.clone());
        }
        if let Some(s) = &i.set_session {
            self.cookies.session = Some(s.clone());
        }
    }

    async fn authorize(&mut self, p: &AuthorizeParams) -> Interaction {
        let i = self.w.app.authorize(&self.w.ctx, p, &self.cookies).await;
        self.keep_cookies(&i);
        i
    }

    async fn login(&mut self, i: &Interaction, password: &str) -> Interaction {
        self.login_from(i, password, "10.0.0.1").await
    }

    async fn login_from(&mut self, i: &Interaction, password: &str, source: &str) -> Interaction {
        let Outcome::Page(Page::Login { tx, csrf, .. }) = &i.outcome else { panic!("expected login: {i:?}") };
        let form =
            LoginForm { tx: tx.clone(), csrf: csrf.clone(), username: "alice".into(), password: password.into() };
        let i = self.w.app.submit_login(&self.w.ctx, &form, &self.cookies, Some(source)).await;
        self.keep_cookies(&i);
        i
    }

    async fn consent(&mut self, i: &Interaction, allow: bool) -> Interaction {
        let Outcome::Page(Page::Consent { tx, csrf, .. }) = &i.outcome else { panic!("expected consent: {i:?}") };
        let form = ConsentForm { tx: tx.clone(), csrf: csrf.clone(), allow };
        self.w.app.submit_consent(&self.w.ctx, &form, &self.cookies, None).await
    }

    /// Authorize → login → consent → code.
    async fn code(&mut self) -> String {
        let p = self.params();
        let i = self.authorize(&p).await;
        let i = if matches!(i.outcome, Outcome::Page(Page::Login { .. })) { self.login(&i, PASSWORD).await } else { i };
        let i = if matches!(i.outcome, Outcome::Page(Page::Consent { .. })) { self.consent(&i, true).await } else { i };
        param(&respond(&i), "code")
    }

    fn auth(&self) -> PresentedAuth {
        PresentedAuth::Basic { client_id: self.client_id.clone(), secret: self.secret.clone() }
    }

    async fn redeem(&self, code: &str, verifier: &str) -> Result<TokenResponse, latchkey_core::TokenError> {
        let req = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some(code.into()),
            code_verifier: Some(verifier.into()),
            ..TokenRequest::default()
        };
        self.w.app.token(&self.w.ctx, &self.auth(), &req, None).await
    }

    async fn refresh(&self, rt: &str, scope: Option<&str>) -> Result<TokenResponse, latchkey_core::TokenError> {
        let req = TokenRequest {
            grant_type: Some("refresh_token".into()),
            refresh_token: Some(rt.into()),
            scope: scope.map(str::to_owned),
            ..TokenRequest::default()
        };
        self.w.app.token(&self.w.ctx, &self.auth(), &req, None).await
    }

    async fn active(&self, at: &str) -> bool {
        self.w.app.read_access_token(&self.w.ctx, at).await.unwrap().is_some()
    }
}

fn respond(i: &Interaction) -> AuthResponse {
    match &i.outcome {
        Outcome::Respond(r) => r.clone(),
        Outcome::Page(p) => panic!("expected a response at the client, got {p:?}"),
    }
}

fn param(r: &AuthResponse, name: &str) -> String {
    r.params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {name} in {r:?}"))
}

#[tokio::test]
async fn code_flow_with_login_consent_tokens_and_userinfo() {
    let mut a = setup(serde_json::json!({})).await;
    let start = a.w.clock.now_for_test();
    let code = a.code().await;
    assert!(code.starts_with("lkac_"));
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("email offline_access openid profile"));
    let rt = t.refresh_token.clone().unwrap();
    let claims = a.w.app.read_id_token(&a.w.ctx, t.id_token.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        (claims.aud.as_str(), claims.nonce.as_deref(), claims.auth_time),
        (a.client_id.as_str(), Some("n-1"), start)
    );
    assert_eq!(claims.at_hash.as_deref(), Some(half_hash(&t.access_token).as_str()));
    assert!(claims.sid.is_some());
    let info = a.w.app.userinfo(&a.w.ctx, &t.access_token).await.unwrap();
    assert_eq!(info.claims["email"], "alice@example.com");
    assert_eq!(info.claims["name"], "Alice");
    assert_eq!(info.claims["sub"], claims.sub);

    // Consent is remembered: the next authorization needs no page at all.
    let i = a.authorize(&a.params()).await;
    let r = respond(&i);
    assert_eq!((param(&r, "state"), param(&r, "iss")), ("st-1".to_owned(), "https://issuer.test".to_owned()));

    // f49: a refreshed ID token keeps iss, sub, aud and auth_time.
    a.w.clock.advance(30);
    let t2 = a.refresh(&rt, None).await.unwrap();
    let c2 = a.w.app.read_id_token(&a.w.ctx, t2.id_token.as_deref().unwrap()).await.unwrap();
    assert_eq!((c2.iss, c2.sub, c2.aud, c2.auth_time), (claims.iss, claims.sub, claims.aud, claims.auth_time));
    assert_eq!(c2.iat, start + 30);
}

#[tokio::test]
async fn d31_code_replay_revokes_what_it_produced() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    assert!(a.active(&t.access_token).await);
    a.w.clock.advance(1);
    let again = a.redeem(&code, VERIFIER).await.unwrap_err();
    assert_eq!(again.code, TokenErrorCode::InvalidGrant);
    assert!(!a.active(&t.access_token).await, "the access token from the code is revoked");
    let r = a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap_err();
    assert_eq!(r.code, TokenErrorCode::InvalidGrant, "the refresh token from the code is revoked");
}

#[tokio::test]
async fn d32_replay_with_a_wrong_verifier_revokes_nothing() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let wrong = "x".repeat(43);
    assert_eq!(a.redeem(&code, &wrong).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    assert_eq!(a.redeem(&code, &wrong).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert!(a.active(&t.access_token).await, "a thief without the verifier cannot revoke the legitimate tokens");
}

#[tokio::test]
async fn d35_code_expires_after_60_seconds() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    a.w.clock.advance(60);
    assert_eq!(a.redeem(&code, VERIFIER).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
}

#[tokio::test]
async fn c29_verifier_missing_or_wrong_is_invalid_grant() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let req = TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some(code.clone()),
        ..TokenRequest::default()
    };
    assert_eq!(a.w.app.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert_eq!(a.redeem(&code, &pkce_s256(VERIFIER)).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert!(a.redeem(&code, VERIFIER).await.is_ok());
}

#[tokio::test]
async fn a11_redirect_uri_must_match_when_the_request_had_one() {
    let mut a = setup(serde_json::json!({})).await;
    let mut p = a.params();
    p.redirect_uri = Some("https://app.example/cb".into());
    let i = a.authorize(&p).await;
    let i = a.login(&i, PASSWORD).await;
    let code = param(&respond(&a.consent(&i, true).await), "code");
    let mut req = TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some(code),
        code_verifier: Some(VERIFIER.into()),
        ..TokenRequest::default()
    };
    assert_eq!(a.w.app.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    req.redirect_uri = Some("https://app.example/cb/".into());
    assert_eq!(a.w.app.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    req.redirect_uri = Some("https://app.example/cb".into());
    assert!(a.w.app.token(&a.w.ctx, &a.auth(), &req, None).await.is_ok());
}

#[tokio::test]
async fn f46_refresh_reuse_revokes_the_family() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t1 = a.redeem(&code, VERIFIER).await.unwrap();
    let rt1 = t1.refresh_token.unwrap();
    let t2 = a.refresh(&rt1, None).await.unwrap();
    let rt2 = t2.refresh_token.clone().unwrap();
    assert_ne!(rt1, rt2, "rotated");
    assert_eq!(a.refresh(&rt1, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert_eq!(a.refresh(&rt2, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant, "the family is revoked");
    assert!(!a.active(&t2.access_token).await && !a.active(&t1.access_token).await);
}

#[tokio::test]
async fn f46_reuse_inside_the_grace_window_is_allowed_and_bounded() {
    let mut a = setup(serde_json::json!({"refresh_token_policy": {"rotate": true, "reuse_grace_seconds": 10}})).await;
    let code = a.code().await;
    let rt1 = a.redeem(&code, VERIFIER).await.unwrap().refresh_token.unwrap();
    let t2 = a.refresh(&rt1, None).await.unwrap();
    a.w.clock.advance(5);
    assert!(a.refresh(&rt1, None).await.is_ok(), "a racing retry inside the window");
    a.w.clock.advance(10);
    assert_eq!(a.refresh(&rt1, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert!(!a.active(&t2.access_token).await, "outside the window: reuse detection");
}

#[tokio::test]
async fn f45_refresh_scope_can_only_shrink() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let rt = a.redeem(&code, VERIFIER).await.unwrap().refresh_token.unwrap();
    let e = a.refresh(&rt, Some("openid admin")).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::InvalidScope);
    let t = a.refresh(&rt, Some("openid")).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("openid"));
    let t = a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("email offline_access openid profile"), "the family keeps its scope");
}

#[tokio::test]
async fn b24_prompt_none_without_session_and_consent_denied() {
    let mut a = setup(serde_json::json!({})).await;
    let mut p = a.params();
    p.prompt = Some("none".into());
    let r = respond(&a.authorize(&p).await);
    assert_eq!((param(&r, "error"), param(&r, "state")), ("login_required".to_owned(), "st-1".to_owned()));
    assert_eq!(param(&r, "iss"), "https://issuer.test");

    let i = a.authorize(&a.params()).await;
    let i = a.login(&i, PASSWORD).await;
    let r = respond(&a.consent(&i, false).await);
    assert_eq!(param(&r, "error"), "access_denied");

    let r = respond(&a.authorize(&p).await);
    assert_eq!(param(&r, "error"), "consent_required", "signed in now, but no consent yet");
}

#[tokio::test]
async fn b24_prompt_login_and_max_age_force_a_new_sign_in() {
    let mut a = setup(serde_json::json!({"require_consent": false})).await;
    let _ = a.code().await;
    let mut p = a.params();
    p.prompt = Some("login".into());
    let i = a.authorize(&p).await;
    assert!(matches!(i.outcome, Outcome::Page(Page::Login { .. })));
    a.w.clock.advance(100);
    let r = respond(&a.login(&i, PASSWORD).await);
    let t = a.redeem(&param(&r, "code"), VERIFIER).await.unwrap();
    let c = a.w.app.read_id_token(&a.w.ctx, t.id_token.as_deref().unwrap()).await.unwrap();
    assert_eq!(c.auth_time, a.w.clock.now_for_test(), "auth_time is the new sign-in");

    let mut p = a.params();
    p.max_age = Some("50".into());
    assert!(matches!(respond(&a.authorize(&p).await).params[0].0, "code"));
    a.w.clock.advance(51);
    assert!(matches!(a.authorize(&p).await.outcome, Outcome::Page(Page::Login { .. })));
}

#[tokio::test]
async fn b23_csrf_bound_to_browser_and_transaction() {
    let mut a = setup(serde_json::json!({})).await;
    let first = a.authorize(&a.params()).await;
    let second = a.authorize(&a.params()).await;
    let (Outcome::Page(Page::Login { tx, .. }), Outcome::Page(Page::Login { csrf: other_csrf, .. })) =
        (&first.outcome, &second.outcome)
    else {
        panic!("login pages expected");
    };
    let form =
        LoginForm { tx: tx.clone(), csrf: other_csrf.clone(), username: "alice".into(), password: PASSWORD.into() };
    let i = a.w.app.submit_login(&a.w.ctx, &form, &a.cookies, None).await;
    assert!(matches!(i.outcome, Outcome::Page(Page::Error { status: 403, .. })), "another transaction's token");
    let stranger = BrowserCookies { anchor: Some("someone-else".into()), session: None };
    let Outcome::Page(Page::Login { csrf, .. }) = &first.outcome else { unreachable!() };
    let form = LoginForm { csrf: csrf.clone(), ..form };
    let i = a.w.app.submit_login(&a.w.ctx, &form, &stranger, None).await;
    assert!(matches!(i.outcome, Outcome::Page(Page::Error { status: 403, .. })), "another browser");
    assert!(i.set_session.is_none());
}

#[tokio::test]
async fn login_is_slowed_progressively_after_failures() {
    let mut a = setup(serde_json::json!({})).await;
    let i = a.authorize(&a.params()).await;
    for _ in 0..crate::throttle::PASSWORD.free {
        let r = a.login(&i, "wrong password here").await;
        assert!(matches!(r.outcome, Outcome::Page(Page::Login { status: 401, .. })));
    }
    let r = a.login(&i, PASSWORD).await;
    assert!(matches!(r.outcome, Outcome::Page(Page::Login { status: 429, retry_after: Some(1), .. })), "{r:?}");
    // Each further failure doubles the wait.
    for expected in [2, 4, 8] {
        a.w.clock.advance(i64::from(expected / 2));
        assert!(matches!(a.login(&i, "wrong again").await.outcome, Outcome::Page(Page::Login { status: 401, .. })));
        let r = a.login(&i, PASSWORD).await;
        let Outcome::Page(Page::Login { status: 429, retry_after: Some(w), .. }) = r.outcome else { panic!("{r:?}") };
        assert_eq!(w, expected);
    }
    a.w.clock.advance(8);
    assert!(matches!(a.login(&i, PASSWORD).await.outcome, Outcome::Page(Page::Consent { .. })));
}

/// Issue "trust", item 7: a hundred wrong passwords for alice from a
/// stranger's address slow that address down, never alice elsewhere; and a
/// source spraying many accounts is slowed for all of them.
#[tokio::test]
async fn a_stranger_cannot_lock_out_a_user() {
    let mut a = setup(serde_json::json!({})).await;
    let mut refused = 0;
    for _ in 0..100 {
        a.w.clock.advance(crate::throttle::MAX_DELAY_SECONDS);
        let i = a.authorize(&a.params()).await;
        match a.login_from(&i, "a wrong guess", "203.0.113.66").await.outcome {
            Outcome::Page(Page::Login { status: 401, .. }) => {}
            Outcome::Page(Page::Login { status: 429, .. }) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(refused, 0, "after each wait, a guess is judged again (and counts)");
    let i = a.authorize(&a.params()).await;
    let r = a.login_from(&i, PASSWORD, "203.0.113.66").await;
    assert!(matches!(r.outcome, Outcome::Page(Page::Login { status: 429, retry_after: Some(900), .. })), "{r:?}");
    // Alice, from her own address, signs in at once.
    assert!(matches!(a.login_from(&i, PASSWORD, "198.51.100.7").await.outcome, Outcome::Page(Page::Consent { .. })));
    // Spraying: one source, many accounts; past the allowance every
    // account waits for that source, and no other source does.
    let mut last = None;
    for n in 0..=crate::throttle::SOURCE.free {
        let form = LoginForm {
            tx: match &i.outcome {
                Outcome::Page(Page::Login { tx, .. }) => tx.clone(),
                _ => unreachable!(),
            },
            csrf: match &i.outcome {
                Outcome::Page(Page::Login { csrf, .. }) => csrf.clone(),
                _ => unreachable!(),
            },
            username: format!("user{n}"),
            password: "guess".into(),
        };
        last = Some(a.w.app.submit_login(&a.w.ctx, &form, &a.cookies, Some("192.0.2.9")).await);
    }
    assert!(matches!(last.unwrap().outcome, Outcome::Page(Page::Login { status: 429, .. })));
    a.cookies = BrowserCookies::default();
    let i = a.authorize(&a.params()).await;
    assert!(matches!(a.login_from(&i, PASSWORD, "198.51.100.8").await.outcome, Outcome::Page(Page::Consent { .. })));
}

#[tokio::test]
async fn allowed_groups_are_checked_before_a_code_is_issued() {
    let mut a = setup(serde_json::json!({"allowed_groups": ["admins"], "require_consent": false})).await;
    let i = a.authorize(&a.params()).await;
    let r = respond(&a.login(&i, PASSWORD).await);
    assert_eq!(param(&r, "error"), "access_denied");
}

#[tokio::test]
async fn a9_unknown_client_or_redirect_is_a_page_never_a_redirect() {
    let mut a = setup(serde_json::json!({})).await;
    for mode in ["query", "fragment", "form_post"] {
        for prompt in [None, Some("none")] {
            let mut p = a.params();
            p.response_mode = Some(mode.into());
            p.prompt = prompt.map(str::to_owned);
            p.redirect_uri = Some("https://evil.example/cb".into());
            p.scope = Some("not-a-scope".into());
            assert!(matches!(a.authorize(&p).await.outcome, Outcome::Page(Page::Error { .. })));
            p.redirect_uri = None;
            p.client_id = Some("nope".into());
            assert!(matches!(a.authorize(&p).await.outcome, Outcome::Page(Page::Error { .. })));
        }
    }
}

#[tokio::test]
async fn hybrid_response_carries_c_hash_and_at_hash() {
    let mut a = setup(serde_json::json!({
        "type": "hybrid", "response_types": ["code id_token token"], "require_consent": false
    }))
    .await;
    let mut p = a.params();
    p.response_type = Some("code id_token token".into());
    let i = a.authorize(&p).await;
    let r = respond(&a.login(&i, PASSWORD).await);
    assert_eq!(r.mode, ResponseMode::Fragment);
    let claims = a.w.app.read_id_token(&a.w.ctx, &param(&r, "id_token")).await.unwrap();
    assert_eq!(claims.c_hash, Some(half_hash(&param(&r, "code"))));
    assert_eq!(claims.at_hash, Some(half_hash(&param(&r, "access_token"))));
    assert!(a.active(&param(&r, "access_token")).await);
}

#[tokio::test]
async fn e43_legacy_grants_refused_while_the_tenant_has_them_off() {
    let mut a = setup(serde_json::json!({})).await;
    let req = TokenRequest {
        grant_type: Some("password".into()),
        username: Some("alice".into()),
        password: Some(PASSWORD.into()),
        ..TokenRequest::default()
    };
    assert_eq!(
        a.w.app.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code,
        TokenErrorCode::UnsupportedGrantType
    );
    let mut p = a.params();
    p.response_type = Some("token".into());
    let r = respond(&a.authorize(&p).await);
    assert_eq!(param(&r, "error"), "unsupported_response_type");
}

#[tokio::test]
async fn logout_ends_the_session_and_redirects_only_to_registered_uris() {
    use super::logout::{LogoutForm, LogoutOutcome, LogoutParams};
    let mut a = setup(serde_json::json!({"post_logout_redirect_uris": ["https://app.example/bye"]})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let hint = t.id_token.unwrap();
    let bad = LogoutParams {
        id_token_hint: Some(hint.clone()),
        post_logout_redirect_uri: Some("https://app.example/bye?x=1".into()),
        ..LogoutParams::default()
    };
    let r = a.w.app.logout_request(&a.w.ctx, &bad, &a.cookies).await;
    assert!(matches!(r.outcome, LogoutOutcome::Error { .. }), "a12: unregistered URI");
    let forged = LogoutParams { id_token_hint: Some(format!("{hint}x")), ..bad.clone() };
    assert!(matches!(a.w.app.logout_request(&a.w.ctx, &forged, &a.cookies).await.outcome, LogoutOutcome::Error { .. }));
    let good = LogoutParams {
        id_token_hint: Some(hint),
        post_logout_redirect_uri: Some("https://app.example/bye".into()),
        state: Some("bye-state".into()),
        ..LogoutParams::default()
    };
    let r = a.w.app.logout_request(&a.w.ctx, &good, &a.cookies).await;
    let LogoutOutcome::Confirm { tx, csrf, .. } = r.outcome else { panic!("{r:?}") };
    let r = a.w.app.logout_confirm(&a.w.ctx, &LogoutForm { tx, csrf }, &a.cookies, None).await;
    assert_eq!(
        r.outcome,
        LogoutOutcome::Redirect { uri: "https://app.example/bye".into(), state: Some("bye-state".into()) }
    );
    assert!(r.clear_session);
    let mut p = a.params();
    p.prompt = Some("none".into());
    assert_eq!(param(&respond(&a.authorize(&p).await), "error"), "login_required", "the session is gone");
}

#[tokio::test]
async fn g50_revoking_a_refresh_token_revokes_its_family_for_its_client_only() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let rt = t.refresh_token.unwrap();
    let (other_id, other_secret) = crate::test_world::m2m(&a.w, "jwt").await;
    let other = PresentedAuth::Basic { client_id: other_id, secret: other_secret };
    a.w.app.revoke(&a.w.ctx, &other, &rt, None).await.unwrap();
    assert!(a.active(&t.access_token).await, "another client cannot revoke it");
    a.w.app.revoke(&a.w.ctx, &a.auth(), &rt, None).await.unwrap();
    assert!(!a.active(&t.access_token).await, "the family's access token goes with it");
    assert_eq!(a.refresh(&rt, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    // Housekeeping drops what expired.
    a.w.clock.advance(100 * 24 * 3600);
    assert!(a.w.app.purge_expired().await.unwrap() > 0);
}

/// A context of the test tenant with legacy grants switched on (the
/// settings are per tenant; the key ring is the real one).
async fn legacy_ctx(w: &World) -> std::sync::Arc<crate::tenants::TenantContext> {
    let records = w.app.store.list_signing_keys(&w.ctx.id).await.unwrap();
    let keys = crate::keys::KeyRing::load(&w.app.envelope, &w.ctx.id, &w.ctx.settings, &records, w.app.now()).unwrap();
    std::sync::Arc::new(crate::tenants::TenantContext {
        id: w.ctx.id.clone(),
        issuer: w.ctx.issuer.clone(),
        settings: latchkey_core::TenantSettings { legacy_grants_enabled: true, ..w.ctx.settings.clone() },
        keys,
        loaded_at: w.ctx.loaded_at,
    })
}

#[tokio::test]
async fn legacy_implicit_and_password_grants_when_the_tenant_enables_them() {
    let mut a = setup(serde_json::json!({})).await;
    let ctx = legacy_ctx(&a.w).await;
    let new: NewClient = serde_json::from_value(serde_json::json!({
        "name": "Legacy", "type": "custom", "grant_types": ["implicit", "password"],
        "response_types": ["id_token token"], "redirect_uris": ["https://legacy.example/cb"], "scopes": ["openid", "profile"],
    }))
    .unwrap();
    let c = a.w.app.create_client(&ctx, &Actor::system(), new).await.unwrap();
    let auth = PresentedAuth::Basic { client_id: c.client.client_id.clone(), secret: c.client_secret.unwrap() };
    // Implicit: tokens from the front channel, in the fragment.
    let p = AuthorizeParams {
        client_id: Some(c.client.client_id.clone()),
        response_type: Some("id_token token".into()),
        scope: Some("openid profile".into()),
        nonce: Some("n".into()),
        ..AuthorizeParams::default()
    };
    let i = a.w.app.authorize(&ctx, &p, &a.cookies).await;
    a.keep_cookies(&i);
    let Outcome::Page(Page::Login { tx, csrf, .. }) = &i.outcome else { panic!("{i:?}") };
    let form = LoginForm { tx: tx.clone(), csrf: csrf.clone(), username: "alice".into(), password: PASSWORD.into() };
    let r = respond(&a.w.app.submit_login(&ctx, &form, &a.cookies, None).await);
    assert_eq!(r.mode, ResponseMode::Fragment);
    assert!(a.w.app.read_access_token(&ctx, &param(&r, "access_token")).await.unwrap().is_some());
    let claims = a.w.app.read_id_token(&ctx, &param(&r, "id_token")).await.unwrap();
    assert_eq!(claims.at_hash, Some(half_hash(&param(&r, "access_token"))));
    // Password: works, and is slowed down like the login page.
    let req = |pw: &str| TokenRequest {
        grant_type: Some("password".into()),
        username: Some("alice".into()),
        password: Some(pw.into()),
        scope: Some("openid".into()),
        ..TokenRequest::default()
    };
    let t = a.w.app.token(&ctx, &auth, &req(PASSWORD), Some("10.1.1.1")).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("openid"));
    for _ in 0..crate::throttle::PASSWORD.free {
        let e = a.w.app.token(&ctx, &auth, &req("wrong"), Some("10.1.1.1")).await.unwrap_err();
        assert_eq!(e.code, TokenErrorCode::InvalidGrant);
    }
    let e = a.w.app.token(&ctx, &auth, &req(PASSWORD), Some("10.1.1.1")).await.unwrap_err();
    assert!(e.retry_after.is_some(), "the password grant goes through the brute-force limiter");
    // A stranger elsewhere does not lock alice out.
    assert!(a.w.app.token(&ctx, &auth, &req(PASSWORD), Some("10.9.9.9")).await.is_ok());
    // The same client is refused where the tenant has legacy grants off.
    let e = a.w.app.token(&a.w.ctx, &auth, &req(PASSWORD), None).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::UnsupportedGrantType);
}

#[tokio::test]
async fn consents_are_listed_and_revoked_by_an_admin() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let user = a.w.app.list_users(&a.w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
    let list = a.w.app.list_consents(&a.w.ctx, &user.id).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].client_id, a.client_id);
    a.w.app.revoke_consent(&a.w.ctx, &Actor::system(), &user.id, &a.client_id).await.unwrap();
    assert!(!a.active(&t.access_token).await, "tokens granted under the consent stop working");
    assert_eq!(
        a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    let i = a.authorize(&a.params()).await;
    assert!(matches!(i.outcome, Outcome::Page(Page::Consent { .. })), "asked again after the revocation");
    assert!(matches!(
        a.w.app.revoke_consent(&a.w.ctx, &Actor::system(), &user.id, &a.client_id).await,
        Err(crate::AppError::NotFound)
    ));
}

#[tokio::test]
async fn c30_pkce_downgrade_is_refused() {
    let mut a = setup(serde_json::json!({"require_pkce": false, "require_consent": false})).await;
    let mut p = a.params();
    p.code_challenge = None;
    p.code_challenge_method = None;
    let i = a.authorize(&p).await;
    let code = param(&respond(&a.login(&i, PASSWORD).await), "code");
    let e = a.redeem(&code, VERIFIER).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::InvalidRequest, "a verifier for a code issued without a challenge");
    let req =
        TokenRequest { grant_type: Some("authorization_code".into()), code: Some(code), ..TokenRequest::default() };
    assert!(a.w.app.token(&a.w.ctx, &a.auth(), &req, None).await.is_ok(), "without PKCE when the client opted out");
}

#[tokio::test]
async fn d34_f44_codes_and_refresh_tokens_are_bound_to_their_client() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let new: NewClient = serde_json::from_value(serde_json::json!({
        "name": "Other web", "type": "web", "redirect_uris": ["https://app.example/cb"], "scopes": ["openid"]
    }))
    .unwrap();
    let other = a.w.app.create_client(&a.w.ctx, &Actor::system(), new).await.unwrap();
    let other = PresentedAuth::Basic { client_id: other.client.client_id, secret: other.client_secret.unwrap() };
    let stolen = TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some(code.clone()),
        code_verifier: Some(VERIFIER.into()),
        ..TokenRequest::default()
    };
    assert_eq!(a.w.app.token(&a.w.ctx, &other, &stolen, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let stolen = TokenRequest {
        grant_type: Some("refresh_token".into()),
        refresh_token: t.refresh_token.clone(),
        ..TokenRequest::default()
    };
    assert_eq!(a.w.app.token(&a.w.ctx, &other, &stolen, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert!(a.refresh(t.refresh_token.as_deref().unwrap(), None).await.is_ok(), "the owner's token is untouched");
}

#[tokio::test]
async fn f48_a_disabled_user_cannot_refresh_or_redeem() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let second = a.code().await;
    let user = a.w.app.list_users(&a.w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
    a.w.app.set_user_status(&a.w.ctx, &Actor::system(), &user.id, false).await.unwrap();
    assert_eq!(
        a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    assert_eq!(a.redeem(&second, VERIFIER).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert!(matches!(
        a.w.app.userinfo(&a.w.ctx, &t.access_token).await,
        Err(super::userinfo::UserinfoError::InvalidToken)
    ));
    let mut p = a.params();
    p.prompt = Some("none".into());
    assert_eq!(param(&respond(&a.authorize(&p).await), "error"), "login_required", "the session no longer counts");
}

/// Disabling a client ends its tokens for good: enabling it again (say,
/// after its secret was rotated) does not bring back the access and
/// refresh tokens it held before; tokens issued afterwards work.
#[tokio::test]
async fn tokens_from_before_a_disable_stay_dead_after_enabling_again() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let old = a.redeem(&code, VERIFIER).await.unwrap();
    let old_rt = old.refresh_token.clone().unwrap();
    assert!(a.active(&old.access_token).await);
    let (w, id) = (&a.w, a.client_id.clone());
    w.app.set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Disabled, false).await.unwrap();
    assert!(!a.active(&old.access_token).await);
    w.clock.advance(5);
    w.app.set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Active, false).await.unwrap();

    assert!(!a.active(&old.access_token).await, "the old access token stays inactive");
    let auth = a.auth();
    let seen = w.app.introspect(&w.ctx, &auth, &old_rt, None).await.unwrap();
    assert!(!seen.active, "the old refresh token is inactive to its client");
    let err = a.refresh(&old_rt, None).await.unwrap_err();
    assert_eq!(err.code, TokenErrorCode::InvalidGrant);

    // A new sign-in works as before.
    let fresh = a.code().await;
    let new = a.redeem(&fresh, VERIFIER).await.unwrap();
    assert!(a.active(&new.access_token).await);
    let renewed = a.refresh(new.refresh_token.as_deref().unwrap(), None).await.unwrap();
    assert!(a.active(&renewed.access_token).await);
}

// ---- The trust issue: revocation is about incarnations, not names or seconds.

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
        w.app.delete_client(&w.ctx, &Actor::system(), &a.client_id, false).await.unwrap();
        let again: NewClient = serde_json::from_value(serde_json::json!({
            "client_id": a.client_id, "name": "Web", "type": "web", "redirect_uris": ["https://app.example/cb"],
            "scopes": ["openid", "profile", "email", "offline_access"], "require_consent": true,
            "access_token_format": format,
        }))
        .unwrap();
        let c = w.app.create_client(&w.ctx, &Actor::system(), again).await.unwrap();
        a.secret = c.client_secret.unwrap();
        assert!(!a.active(&old.access_token).await, "{format}: the predecessor's access token");
        assert!(!w.app.introspect(&w.ctx, &a.auth(), &old_rt, None).await.unwrap().active);
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
    w.app.delete_client(&w.ctx, &Actor::system(), &a.client_id, false).await.unwrap();
    let again: NewClient = serde_json::from_value(serde_json::json!({
        "client_id": a.client_id, "name": "Web", "type": "web", "redirect_uris": ["https://app.example/cb"],
        "scopes": ["openid", "profile", "email", "offline_access"],
    }))
    .unwrap();
    a.secret = w.app.create_client(&w.ctx, &Actor::system(), again).await.unwrap().client_secret.unwrap();
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
    let own = a.w.app.token(&a.w.ctx, &a.auth(), &cc, None).await.unwrap();
    assert!(a.active(&own.access_token).await);
    let (w, id) = (&a.w, a.client_id.clone());
    w.app.set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Disabled, false).await.unwrap();
    w.app.set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Active, false).await.unwrap();
    assert!(!a.active(&old.access_token).await);
    assert!(!a.active(&own.access_token).await);
    assert_eq!(
        a.refresh(old.refresh_token.as_deref().unwrap(), None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    let fresh = a.w.app.token(&a.w.ctx, &a.auth(), &cc, None).await.unwrap();
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
        let legacy = a.w.app.create_client(&ctx, &Actor::system(), new).await.unwrap();
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
        let by_password = a.w.app.token(&ctx, &legacy_auth, &password, Some("10.1.1.1")).await.unwrap().access_token;
        let p = AuthorizeParams {
            client_id: Some(legacy.client.client_id.clone()),
            response_type: Some("token".into()),
            scope: Some("openid profile".into()),
            ..AuthorizeParams::default()
        };
        let implicit = param(&respond(&a.w.app.authorize(&ctx, &p, &a.cookies).await), "access_token");
        for t in [&coded.access_token, &by_password, &implicit] {
            assert!(a.w.app.read_access_token(&ctx, t).await.unwrap().is_some());
        }
        let user = a.w.app.list_users(&a.w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
        if action == "disable" {
            a.w.app.set_user_status(&a.w.ctx, &Actor::system(), &user.id, false).await.unwrap();
        } else {
            let reset = crate::admin::users::PasswordReset { password: Some("another long password".into()) };
            a.w.app.reset_password(&a.w.ctx, &Actor::system(), &user.id, reset).await.unwrap();
        }
        for t in [&coded.access_token, &by_password, &implicit] {
            assert!(a.w.app.read_access_token(&ctx, t).await.unwrap().is_none(), "{action}: {t:.12}…");
            assert!(matches!(a.w.app.userinfo(&ctx, t).await, Err(super::userinfo::UserinfoError::InvalidToken)));
            let seen = a.w.app.introspect(&ctx, &legacy_auth, t, None).await.unwrap();
            assert!(!seen.active);
        }
        let rt = coded.refresh_token.as_deref().unwrap();
        assert_eq!(a.refresh(rt, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
        if action == "disable" {
            a.w.app.set_user_status(&a.w.ctx, &Actor::system(), &user.id, true).await.unwrap();
            for t in [&coded.access_token, &by_password, &implicit] {
                assert!(a.w.app.read_access_token(&ctx, t).await.unwrap().is_none(), "enabling revives nothing");
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
    w.app.update_client(&w.ctx, &Actor::system(), &a.client_id, patch.as_object().unwrap(), None, false).await.unwrap();
    let t = a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("offline_access openid profile"), "the client lost email");
    let claims = a.w.app.read_access_token(&a.w.ctx, &t.access_token).await.unwrap().unwrap();
    assert!(!claims.scope.contains("email"));
    let e = a.refresh(t.refresh_token.as_deref().unwrap(), Some("openid email")).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::InvalidScope, "asking for it explicitly");
    // The consent narrowed (the user consented again to less).
    let user = w.app.list_users(&w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
    let consent = latchkey_store::ConsentRecord {
        user_id: user.id.clone(),
        client_id: a.client_id.clone(),
        scope: "openid offline_access".into(),
        granted_at: w.app.now(),
        updated_at: w.app.now(),
    };
    let audit = w.app.flow_audit(&user.id, "consent.grant", "client", &a.client_id, None);
    w.app.store.upsert_consent(&w.ctx.id, &consent, &audit).await.unwrap();
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
    assert!(a.w.app.introspect(&a.w.ctx, &auth, rt2, None).await.unwrap().active);
    assert!(!a.w.app.introspect(&a.w.ctx, &auth, &rt1, None).await.unwrap().active);
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
    a.w.app.revoke(&a.w.ctx, &auth, &rt, None).await.unwrap();
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
    let pw = w.app.create_client(&ctx, &sys, new).await.unwrap();
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
                secrets[i] = w.app.create_client(&ctx, &sys, new).await.unwrap().client_secret.unwrap();
                *c = Life { generation: c.generation + 1, live: true, exists: true };
                "create client"
            }
            1 if c.exists => {
                let to =
                    if c.live { latchkey_core::ClientStatus::Disabled } else { latchkey_core::ClientStatus::Active };
                w.app.set_client_status(&ctx, &sys, client_ids[i], to, false).await.unwrap();
                *c = Life { generation: c.generation + 1, live: !c.live, exists: true };
                "toggle client"
            }
            2 if c.exists => {
                w.app.delete_client(&ctx, &sys, client_ids[i], false).await.unwrap();
                *c = Life { generation: c.generation + 1, live: false, exists: false };
                "delete client"
            }
            3 | 4 if c.live => {
                let auth = PresentedAuth::Basic { client_id: client_ids[i].into(), secret: secrets[i].clone() };
                let t = w.app.token(&ctx, &auth, &crate::test_world::cc(), None).await.unwrap();
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
                user_ids[i] = w.app.create_user(&ctx, &sys, new).await.unwrap().user.id;
                *u = Life { generation: u.generation + 1, live: true, exists: true };
                "create user"
            }
            6 if u.exists => {
                w.app.set_user_status(&ctx, &sys, &user_ids[i], !u.live).await.unwrap();
                *u = Life { generation: u.generation + 1, live: !u.live, exists: true };
                "toggle user"
            }
            7 if u.exists => {
                let reset = crate::admin::users::PasswordReset { password: Some(PASSWORD.into()) };
                w.app.reset_password(&ctx, &sys, &user_ids[i], reset).await.unwrap();
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
                let t = w.app.token(&ctx, &pw_auth, &req, Some("10.0.0.1")).await.unwrap();
                tokens.push((t.access_token, None, Some((i, u.generation))));
                "user token"
            }
            10 => {
                w.clock.advance(1);
                "tick"
            }
            _ => "nothing",
        };
        if w.app.now() % 2 == 0 && rng.next(2) == 0 {
            w.clock.advance(1);
        }
        log.push(format!("{step}: {did} #{i}"));
        for (n, (token, client, user)) in tokens.iter().enumerate() {
            let expected = client.is_none_or(|(k, g)| clients[k].live && clients[k].generation == g)
                && user.is_none_or(|(k, g)| users[k].live && users[k].generation == g);
            let live = w.app.read_access_token(&ctx, token).await.unwrap().is_some();
            assert_eq!(live, expected, "seed {seed}, token #{n} after:\n{}", log.join("\n"));
        }
    }
    assert!(tokens.len() > 5, "seed {seed} minted too few tokens to say anything");
}
