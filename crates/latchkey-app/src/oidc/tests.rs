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
use crate::test_world::{World, world};
use crate::tokens::client_auth::PresentedAuth;
use crate::tokens::{TokenRequest, TokenResponse};

pub(super) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(super) const PASSWORD: &str = "correct horse battery staple";

pub(super) struct App {
    pub(super) w: World,
    pub(super) client_id: String,
    pub(super) secret: String,
    pub(super) cookies: BrowserCookies,
}

pub(super) async fn setup(extra: serde_json::Value) -> App {
    setup_with(extra, world().await).await
}

/// `setup` in a given world.
pub(super) async fn setup_with(extra: serde_json::Value, w: World) -> App {
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
    let c = w.app.clients.create_client(&w.ctx, &Actor::system(), new).await.unwrap();
    let user = NewUser {
        username: "alice".into(),
        password: Some(PASSWORD.into()),
        email: Some("alice@example.com".into()),
        display_name: "Alice".into(),
        groups: vec!["staff".into()],
        ..NewUser::default()
    };
    w.app.users.create_user(&w.ctx, &Actor::system(), user).await.unwrap();
    App {
        w,
        client_id: c.client.client_id,
        secret: c.client_secret.unwrap_or_default(),
        cookies: BrowserCookies::default(),
    }
}

impl App {
    pub(super) fn params(&self) -> AuthorizeParams {
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

    pub(super) fn keep_cookies(&mut self, i: &Interaction) {
        if let Some(a) = &i.set_anchor {
            self.cookies.anchor = Some(a.clone());
        }
        if let Some(s) = &i.set_session {
            self.cookies.session = Some(s.clone());
        }
    }

    pub(super) async fn authorize(&mut self, p: &AuthorizeParams) -> Interaction {
        let i = self.w.app.sign_in.authorize(&self.w.ctx, p, &self.cookies).await;
        self.keep_cookies(&i);
        i
    }

    pub(super) async fn login(&mut self, i: &Interaction, password: &str) -> Interaction {
        self.login_from(i, password, "10.0.0.1").await
    }

    async fn login_from(&mut self, i: &Interaction, password: &str, source: &str) -> Interaction {
        let Outcome::Page(Page::Login { tx, csrf, .. }) = &i.outcome else { panic!("expected login: {i:?}") };
        let form =
            LoginForm { tx: tx.clone(), csrf: csrf.clone(), username: "alice".into(), password: password.into() };
        let i = self.w.app.sign_in.submit_login(&self.w.ctx, &form, &self.cookies, Some(source)).await;
        self.keep_cookies(&i);
        i
    }

    async fn consent(&mut self, i: &Interaction, allow: bool) -> Interaction {
        let Outcome::Page(Page::Consent { tx, csrf, .. }) = &i.outcome else { panic!("expected consent: {i:?}") };
        let form = ConsentForm { tx: tx.clone(), csrf: csrf.clone(), allow };
        self.w.app.sign_in.submit_consent(&self.w.ctx, &form, &self.cookies, None).await
    }

    /// Authorize → login → consent → code.
    pub(super) async fn code(&mut self) -> String {
        let p = self.params();
        let i = self.authorize(&p).await;
        let i = if matches!(i.outcome, Outcome::Page(Page::Login { .. })) { self.login(&i, PASSWORD).await } else { i };
        let i = if matches!(i.outcome, Outcome::Page(Page::Consent { .. })) { self.consent(&i, true).await } else { i };
        param(&respond(&i), "code")
    }

    pub(super) fn auth(&self) -> PresentedAuth {
        PresentedAuth::Basic { client_id: self.client_id.clone(), secret: self.secret.clone() }
    }

    pub(super) async fn redeem(&self, code: &str, verifier: &str) -> Result<TokenResponse, latchkey_core::TokenError> {
        let req = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some(code.into()),
            code_verifier: Some(verifier.into()),
            ..TokenRequest::default()
        };
        self.w.app.tokens.token(&self.w.ctx, &self.auth(), &req, None).await
    }

    pub(super) async fn refresh(
        &self,
        rt: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, latchkey_core::TokenError> {
        let req = TokenRequest {
            grant_type: Some("refresh_token".into()),
            refresh_token: Some(rt.into()),
            scope: scope.map(str::to_owned),
            ..TokenRequest::default()
        };
        self.w.app.tokens.token(&self.w.ctx, &self.auth(), &req, None).await
    }

    pub(super) async fn active(&self, at: &str) -> bool {
        self.w.app.tokens.read_access_token(&self.w.ctx, at).await.unwrap().is_some()
    }
}

pub(super) fn respond(i: &Interaction) -> AuthResponse {
    match &i.outcome {
        Outcome::Respond(r) => r.clone(),
        Outcome::Page(p) => panic!("expected a response at the client, got {p:?}"),
        Outcome::Continue(path) => panic!("expected a response at the client, got a page at {path}"),
    }
}

pub(super) fn param(r: &AuthResponse, name: &str) -> String {
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
    let claims = a.w.app.tokens.read_id_token(&a.w.ctx, t.id_token.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        (claims.aud.as_str(), claims.nonce.as_deref(), claims.auth_time),
        (a.client_id.as_str(), Some("n-1"), start)
    );
    assert_eq!(claims.at_hash.as_deref(), Some(half_hash(&t.access_token).as_str()));
    assert!(claims.sid.is_some());
    let info = a.w.app.sign_in.userinfo(&a.w.ctx, &t.access_token).await.unwrap();
    assert_eq!(info.claims["email"], "alice@example.com");
    assert_eq!(info.claims["name"], "Alice");
    assert_eq!(info.claims["sub"], claims.sub);
    assert!(info.claims.get("given_name").is_none(), "no name parts before a directory gives them");

    // A directory provisions her name parts over SCIM: userinfo names them.
    let scim_body = serde_json::json!({
        "userName": "alice", "emails": [{"value": "alice@example.com", "primary": true}],
        "name": {"givenName": "Alice", "familyName": "Liddell", "middleName": "Pleasance", "formatted": "Alice"},
    });
    a.w.app.scim.replace_user(&a.w.ctx, &Actor::system(), &claims.sub, &scim_body, None).await.unwrap();
    let info = a.w.app.sign_in.userinfo(&a.w.ctx, &t.access_token).await.unwrap();
    assert_eq!(
        (&info.claims["given_name"], &info.claims["family_name"], &info.claims["middle_name"]),
        (&serde_json::json!("Alice"), &serde_json::json!("Liddell"), &serde_json::json!("Pleasance"))
    );

    // Consent is remembered: the next authorization needs no page at all.
    let i = a.authorize(&a.params()).await;
    let r = respond(&i);
    assert_eq!((param(&r, "state"), param(&r, "iss")), ("st-1".to_owned(), "https://issuer.test".to_owned()));

    // f49: a refreshed ID token keeps iss, sub, aud and auth_time.
    a.w.clock.advance(30);
    let t2 = a.refresh(&rt, None).await.unwrap();
    let c2 = a.w.app.tokens.read_id_token(&a.w.ctx, t2.id_token.as_deref().unwrap()).await.unwrap();
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
    assert_eq!(
        a.w.app.tokens.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
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
    assert_eq!(
        a.w.app.tokens.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    req.redirect_uri = Some("https://app.example/cb/".into());
    assert_eq!(
        a.w.app.tokens.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    req.redirect_uri = Some("https://app.example/cb".into());
    assert!(a.w.app.tokens.token(&a.w.ctx, &a.auth(), &req, None).await.is_ok());
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
    let c = a.w.app.tokens.read_id_token(&a.w.ctx, t.id_token.as_deref().unwrap()).await.unwrap();
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
    let i = a.w.app.sign_in.submit_login(&a.w.ctx, &form, &a.cookies, None).await;
    assert!(matches!(i.outcome, Outcome::Page(Page::Error { status: 403, .. })), "another transaction's token");
    let stranger = BrowserCookies { anchor: Some("someone-else".into()), session: None };
    let Outcome::Page(Page::Login { csrf, .. }) = &first.outcome else { unreachable!() };
    let form = LoginForm { csrf: csrf.clone(), ..form };
    let i = a.w.app.sign_in.submit_login(&a.w.ctx, &form, &stranger, None).await;
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
        last = Some(a.w.app.sign_in.submit_login(&a.w.ctx, &form, &a.cookies, Some("192.0.2.9")).await);
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
    let claims = a.w.app.tokens.read_id_token(&a.w.ctx, &param(&r, "id_token")).await.unwrap();
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
        a.w.app.tokens.token(&a.w.ctx, &a.auth(), &req, None).await.unwrap_err().code,
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
    let r = a.w.app.sign_in.logout_request(&a.w.ctx, &bad, &a.cookies).await;
    assert!(matches!(r.outcome, LogoutOutcome::Error { .. }), "a12: unregistered URI");
    let forged = LogoutParams { id_token_hint: Some(format!("{hint}x")), ..bad.clone() };
    assert!(matches!(
        a.w.app.sign_in.logout_request(&a.w.ctx, &forged, &a.cookies).await.outcome,
        LogoutOutcome::Error { .. }
    ));
    let good = LogoutParams {
        id_token_hint: Some(hint),
        post_logout_redirect_uri: Some("https://app.example/bye".into()),
        state: Some("bye-state".into()),
        ..LogoutParams::default()
    };
    let r = a.w.app.sign_in.logout_request(&a.w.ctx, &good, &a.cookies).await;
    let LogoutOutcome::Confirm { tx, csrf, .. } = r.outcome else { panic!("{r:?}") };
    let r = a.w.app.sign_in.logout_confirm(&a.w.ctx, &LogoutForm { tx, csrf }, &a.cookies, None).await;
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
    a.w.app.tokens.revoke(&a.w.ctx, &other, &rt, None).await.unwrap();
    assert!(a.active(&t.access_token).await, "another client cannot revoke it");
    a.w.app.tokens.revoke(&a.w.ctx, &a.auth(), &rt, None).await.unwrap();
    assert!(!a.active(&t.access_token).await, "the family's access token goes with it");
    assert_eq!(a.refresh(&rt, None).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    // Housekeeping drops what expired.
    a.w.clock.advance(100 * 24 * 3600);
    assert!(a.w.app.tokens.purge_expired().await.unwrap() > 0);
}

/// A context of the test tenant with legacy grants switched on (the
/// settings are per tenant; the key ring is the real one).
pub(super) async fn legacy_ctx(w: &World) -> std::sync::Arc<crate::tenants::TenantContext> {
    let records = w.app.kernel.store.list_signing_keys(&w.ctx.id).await.unwrap();
    let keys =
        crate::keys::KeyRing::load(&w.app.kernel.envelope, &w.ctx.id, &w.ctx.settings, &records, w.app.kernel.now())
            .unwrap();
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
    let c = a.w.app.clients.create_client(&ctx, &Actor::system(), new).await.unwrap();
    let auth = PresentedAuth::Basic { client_id: c.client.client_id.clone(), secret: c.client_secret.unwrap() };
    // Implicit: tokens from the front channel, in the fragment.
    let p = AuthorizeParams {
        client_id: Some(c.client.client_id.clone()),
        response_type: Some("id_token token".into()),
        scope: Some("openid profile".into()),
        nonce: Some("n".into()),
        ..AuthorizeParams::default()
    };
    let i = a.w.app.sign_in.authorize(&ctx, &p, &a.cookies).await;
    a.keep_cookies(&i);
    let Outcome::Page(Page::Login { tx, csrf, .. }) = &i.outcome else { panic!("{i:?}") };
    let form = LoginForm { tx: tx.clone(), csrf: csrf.clone(), username: "alice".into(), password: PASSWORD.into() };
    let r = respond(&a.w.app.sign_in.submit_login(&ctx, &form, &a.cookies, None).await);
    assert_eq!(r.mode, ResponseMode::Fragment);
    assert!(a.w.app.tokens.read_access_token(&ctx, &param(&r, "access_token")).await.unwrap().is_some());
    let claims = a.w.app.tokens.read_id_token(&ctx, &param(&r, "id_token")).await.unwrap();
    assert_eq!(claims.at_hash, Some(half_hash(&param(&r, "access_token"))));
    // Password: works, and is slowed down like the login page.
    let req = |pw: &str| TokenRequest {
        grant_type: Some("password".into()),
        username: Some("alice".into()),
        password: Some(pw.into()),
        scope: Some("openid".into()),
        ..TokenRequest::default()
    };
    let t = a.w.app.tokens.token(&ctx, &auth, &req(PASSWORD), Some("10.1.1.1")).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("openid"));
    for _ in 0..crate::throttle::PASSWORD.free {
        let e = a.w.app.tokens.token(&ctx, &auth, &req("wrong"), Some("10.1.1.1")).await.unwrap_err();
        assert_eq!(e.code, TokenErrorCode::InvalidGrant);
    }
    let e = a.w.app.tokens.token(&ctx, &auth, &req(PASSWORD), Some("10.1.1.1")).await.unwrap_err();
    assert!(e.retry_after.is_some(), "the password grant goes through the brute-force limiter");
    // A stranger elsewhere does not lock alice out.
    assert!(a.w.app.tokens.token(&ctx, &auth, &req(PASSWORD), Some("10.9.9.9")).await.is_ok());
    // The same client is refused where the tenant has legacy grants off.
    let e = a.w.app.tokens.token(&a.w.ctx, &auth, &req(PASSWORD), None).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::UnsupportedGrantType);
}

#[tokio::test]
async fn consents_are_listed_and_revoked_by_an_admin() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let user = a.w.app.users.list_users(&a.w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
    let list = a.w.app.users.list_consents(&a.w.ctx, &user.id).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].client_id, a.client_id);
    a.w.app.users.revoke_consent(&a.w.ctx, &Actor::system(), &user.id, &a.client_id).await.unwrap();
    assert!(!a.active(&t.access_token).await, "tokens granted under the consent stop working");
    assert_eq!(
        a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    let i = a.authorize(&a.params()).await;
    assert!(matches!(i.outcome, Outcome::Page(Page::Consent { .. })), "asked again after the revocation");
    assert!(matches!(
        a.w.app.users.revoke_consent(&a.w.ctx, &Actor::system(), &user.id, &a.client_id).await,
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
    assert!(
        a.w.app.tokens.token(&a.w.ctx, &a.auth(), &req, None).await.is_ok(),
        "without PKCE when the client opted out"
    );
}

#[tokio::test]
async fn d34_f44_codes_and_refresh_tokens_are_bound_to_their_client() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let new: NewClient = serde_json::from_value(serde_json::json!({
        "name": "Other web", "type": "web", "redirect_uris": ["https://app.example/cb"], "scopes": ["openid"]
    }))
    .unwrap();
    let other = a.w.app.clients.create_client(&a.w.ctx, &Actor::system(), new).await.unwrap();
    let other = PresentedAuth::Basic { client_id: other.client.client_id, secret: other.client_secret.unwrap() };
    let stolen = TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some(code.clone()),
        code_verifier: Some(VERIFIER.into()),
        ..TokenRequest::default()
    };
    assert_eq!(
        a.w.app.tokens.token(&a.w.ctx, &other, &stolen, None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let stolen = TokenRequest {
        grant_type: Some("refresh_token".into()),
        refresh_token: t.refresh_token.clone(),
        ..TokenRequest::default()
    };
    assert_eq!(
        a.w.app.tokens.token(&a.w.ctx, &other, &stolen, None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    assert!(a.refresh(t.refresh_token.as_deref().unwrap(), None).await.is_ok(), "the owner's token is untouched");
}

#[tokio::test]
async fn f48_a_disabled_user_cannot_refresh_or_redeem() {
    let mut a = setup(serde_json::json!({})).await;
    let code = a.code().await;
    let t = a.redeem(&code, VERIFIER).await.unwrap();
    let second = a.code().await;
    let user = a.w.app.users.list_users(&a.w.ctx, Some("alice"), None, None).await.unwrap().0.remove(0);
    a.w.app.users.set_user_status(&a.w.ctx, &Actor::system(), &user.id, false).await.unwrap();
    assert_eq!(
        a.refresh(t.refresh_token.as_deref().unwrap(), None).await.unwrap_err().code,
        TokenErrorCode::InvalidGrant
    );
    assert_eq!(a.redeem(&second, VERIFIER).await.unwrap_err().code, TokenErrorCode::InvalidGrant);
    assert!(matches!(
        a.w.app.sign_in.userinfo(&a.w.ctx, &t.access_token).await,
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
    w.app
        .clients
        .set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Disabled, false)
        .await
        .unwrap();
    assert!(!a.active(&old.access_token).await);
    w.clock.advance(5);
    w.app
        .clients
        .set_client_status(&w.ctx, &Actor::system(), &id, latchkey_core::ClientStatus::Active, false)
        .await
        .unwrap();

    assert!(!a.active(&old.access_token).await, "the old access token stays inactive");
    let auth = a.auth();
    let seen = w.app.tokens.introspect(&w.ctx, &auth, &old_rt, None).await.unwrap();
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
