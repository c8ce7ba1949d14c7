//! Signing people in, end to end: the `openidconnect` crate as the relying
//! party (discovery, PKCE, ID-token and at_hash/c_hash validation,
//! userinfo, refresh), a cookie-keeping HTTP client as the browser that
//! fills in the login and consent forms, and raw requests for the attacks.

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, AuthorizationCodeHash, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{Value, json};

use crate::harness::*;

const PASSWORD: &str = "correct horse battery staple";
const WEB_CB: &str = "https://web.example/callback";
const SPA_CB: &str = "http://127.0.0.1/spa/callback";

/// A browser: keeps cookies, never follows redirects.
fn browser() -> reqwest::Client {
    latchkey_app::remote::http::install_tls_provider();
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The value of a hidden form field in a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The parameters of a response URI (query or fragment).
fn response_params(uri: &str) -> Vec<(String, String)> {
    let part = uri.split_once('#').map(|(_, f)| f).or_else(|| uri.split_once('?').map(|(_, q)| q)).unwrap_or("");
    form_urlencoded::parse(part.as_bytes()).into_owned().collect()
}

fn param(uri: &str, name: &str) -> Option<String> {
    response_params(uri).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

struct Setup {
    s: Server,
    _install: Install,
    web_id: String,
    web_secret: String,
    spa_id: String,
}

async fn create_user(s: &Server, username: &str) {
    let token = admin_token(s, "admin").await;
    let r = http()
        .post(s.url("/api/v1/users"))
        .bearer_auth(token)
        .json(&json!({"username": username, "password": PASSWORD, "email": format!("{username}@example.com"),
                      "display_name": "Alice Example", "groups": ["staff"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
}

async fn setup() -> Setup {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    create_user(&s, "alice").await;
    let web = create_client(
        &s,
        json!({"name": "Web app", "type": "web", "redirect_uris": [WEB_CB],
               "post_logout_redirect_uris": ["https://web.example/signed-out"],
               "scopes": ["openid", "profile", "email", "offline_access"], "require_consent": true}),
    )
    .await;
    let spa = create_client(
        &s,
        json!({"name": "Single-page app", "type": "spa", "redirect_uris": [SPA_CB],
               "allowed_cors_origins": ["https://spa.example"],
               "scopes": ["openid", "profile", "offline_access"]}),
    )
    .await;
    Setup {
        web_id: web["client_id"].as_str().unwrap().to_owned(),
        web_secret: web["client_secret"].as_str().unwrap().to_owned(),
        spa_id: spa["client_id"].as_str().unwrap().to_owned(),
        s,
        _install: install,
    }
}

type Rp = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn relying_party(s: &Server, id: &str, secret: Option<&str>, redirect: &str) -> Rp {
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(s.issuer.clone()).unwrap(), &http())
        .await
        .expect("discovery accepted by the openidconnect crate");
    CoreClient::from_provider_metadata(meta, ClientId::new(id.into()), secret.map(|x| ClientSecret::new(x.into())))
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap())
}

/// Drives the browser from an authorization URL to the response at the
/// client: signs in when asked, answers consent when asked.
async fn sign_in(s: &Server, b: &reqwest::Client, url: &str, allow: bool) -> String {
    let mut r = b.get(url).send().await.unwrap();
    for _ in 0..3 {
        if r.status().as_u16() == 303 {
            return location(&r);
        }
        assert_eq!(r.status().as_u16(), 200, "expected a page");
        let html = r.text().await.unwrap();
        if html.contains("id=\"form-post\"") {
            return form_post_as_uri(&html);
        }
        r = if html.contains("action=\"/login\"") {
            assert!(
                html.contains("name=\"username\"") && html.contains("name=\"password\"") && html.contains(">Sign in<")
            );
            let form = [
                ("tx", field(&html, "tx")),
                ("csrf", field(&html, "csrf")),
                ("username", "alice".to_owned()),
                ("password", PASSWORD.to_owned()),
            ];
            b.post(s.url("/login")).form(&form).send().await.unwrap()
        } else if html.contains("action=\"/consent\"") {
            assert!(html.contains(">Allow<") && html.contains(">Deny<"));
            assert!(html.contains("Sign you in and know who you are"), "scope descriptions from the catalogue");
            let decision = if allow { "allow" } else { "deny" };
            let form = [("tx", field(&html, "tx")), ("csrf", field(&html, "csrf")), ("decision", decision.to_owned())];
            b.post(s.url("/consent")).form(&form).send().await.unwrap()
        } else {
            panic!("unexpected page:\n{html}");
        };
    }
    panic!("no response at the client after three pages");
}

/// A form_post page as `action?params`, so tests read it like a redirect.
fn form_post_as_uri(html: &str) -> String {
    let action = html.split("action=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for input in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = input.split('"').next().unwrap();
        let value = input.split("value=\"").nth(1).unwrap().split('"').next().unwrap();
        ser.append_pair(name, &value.replace("&#43;", "+").replace("&#61;", "=").replace("&amp;", "&"));
    }
    format!("{action}?{}", ser.finish())
}

#[tokio::test]
async fn confidential_web_client_with_the_openidconnect_crate() {
    let t = setup().await;
    let rp = relying_party(&t.s, &t.web_id, Some(&t.web_secret), WEB_CB).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let b = browser();
    let back = sign_in(&t.s, &b, url.as_str(), true).await;
    assert!(back.starts_with(WEB_CB), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some(csrf.secret().as_str()));
    assert_eq!(param(&back, "iss").as_deref(), Some(t.s.issuer.as_str()), "RFC 9207");
    let code = param(&back, "code").unwrap();

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("code exchanged by the openidconnect crate");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("the ID token validates (signature, iss, aud, nonce, exp)");
    assert!(claims.auth_time().is_some());
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    assert_eq!(id_token.signing_alg().unwrap(), &openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);

    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&http())
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

    // Refresh rotates the token and keeps the subject.
    let rt = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = rp.exchange_refresh_token(&rt).unwrap().request_async(&http()).await.expect("refresh");
    assert_ne!(refreshed.refresh_token().unwrap().secret(), rt.secret());
    let again = refreshed.id_token().unwrap().claims(&verifier, |_: Option<&Nonce>| Ok(())).unwrap();
    assert_eq!((again.subject(), again.auth_time()), (claims.subject(), claims.auth_time()));

    // The consent is remembered: the next sign-in goes straight back.
    let (url, ..) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .url();
    let r = b.get(url.as_str()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(param(&location(&r), "code").is_some());
}

#[tokio::test]
async fn public_client_with_pkce_and_cors() {
    let t = setup().await;
    let rp = relying_party(&t.s, &t.spa_id, None, SPA_CB).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let back = sign_in(&t.s, &browser(), url.as_str(), true).await;
    let code = param(&back, "code").expect("no consent needed for this client");
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("public client exchanges with its verifier");
    tokens.id_token().unwrap().claims(&rp.id_token_verifier(), &nonce).unwrap();

    // CORS: the token endpoint answers the SPA's registered origin only.
    let preflight = |origin: &'static str| {
        http()
            .request(reqwest::Method::OPTIONS, t.s.url("/oauth2/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://spa.example").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://spa.example");
    assert!(ok.headers().get("access-control-allow-credentials").is_none());
    let no = preflight("https://evil.example").await.unwrap();
    assert!(no.headers().get("access-control-allow-origin").is_none());
    let r = http()
        .post(t.s.url("/oauth2/token"))
        .header("origin", "https://spa.example")
        .form(&[("grant_type", "refresh_token"), ("client_id", &t.spa_id), ("refresh_token", "lkrt_nothing")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://spa.example");
    let r = http()
        .post(t.s.url("/oauth2/token"))
        .header("origin", "https://spa.example")
        .basic_auth(&t.web_id, Some(&t.web_secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "lkrt_nothing")])
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none(), "another client's origin");
    let r = http()
        .get(t.s.url("/oauth2/userinfo"))
        .header("origin", "https://spa.example")
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://spa.example");
    // Discovery and JWKS are public: a SPA reads them cross-origin, without credentials.
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/oauth2/jwks"] {
        let r = http().get(t.s.url(path)).header("origin", "https://any.example").send().await.unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(r.headers().get("access-control-allow-credentials").is_none(), "{path}");
    }
    // b22: never on the authorization endpoint.
    let r = http()
        .request(reqwest::Method::OPTIONS, t.s.url("/oauth2/authorize"))
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// A code and PKCE verifier for the web client, the raw way.
async fn web_code(t: &Setup, b: &reqwest::Client) -> (String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "{}?client_id={}&response_type=code&scope=openid%20offline_access&redirect_uri={}&code_challenge={}&code_challenge_method=S256&state=s",
        t.s.url("/oauth2/authorize"),
        t.web_id,
        WEB_CB,
        challenge.as_str()
    );
    let back = sign_in(&t.s, b, &url, true).await;
    (param(&back, "code").unwrap(), verifier.secret().clone())
}

async fn token_call(t: &Setup, form: &[(&str, &str)]) -> (u16, Value) {
    post_basic(&t.s.url("/oauth2/token"), &t.web_id, &t.web_secret, form).await
}

#[tokio::test]
async fn d31_code_reuse_immediately_and_after_use_revokes_the_tokens() {
    let t = setup().await;
    let b = browser();
    let (code, verifier) = web_code(&t, &b).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB_CB),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, first) = token_call(&t, &form).await;
    assert_eq!(status, 200, "{first}");
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(introspect(&t.s, &t.web_id, &t.web_secret, at).await["active"], true);
    let (status, second) = token_call(&t, &form).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(introspect(&t.s, &t.web_id, &t.web_secret, at).await["active"], false);
    let rt = first["refresh_token"].as_str().unwrap();
    let (status, body) = token_call(&t, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let r = http().get(t.s.url("/oauth2/userinfo")).bearer_auth(at).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));

    // d33: 8 concurrent redemptions of a fresh code, exactly one wins.
    let (code, verifier) = web_code(&t, &b).await;
    let t = Arc::new(t);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (t, code, verifier) = (t.clone(), code.clone(), verifier.clone());
        tasks.push(tokio::spawn(async move {
            token_call(
                &t,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", WEB_CB),
                    ("code_verifier", &verifier),
                ],
            )
            .await
            .0
        }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.unwrap() == 200);
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn f46_f47_refresh_reuse_and_eight_parallel_refreshes() {
    let t = setup().await;
    let b = browser();
    let (code, verifier) = web_code(&t, &b).await;
    let (_, first) = token_call(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = token_call(&t, &[("grant_type", "refresh_token"), ("refresh_token", &rt1)]).await;
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    // Introspection knows refresh tokens: the live one is active to its own
    // client only, the rotated one is not.
    let live = introspect(&t.s, &t.web_id, &t.web_secret, &rt2).await;
    assert_eq!((live["active"].as_bool(), live["token_type"].as_str()), (Some(true), Some("refresh_token")), "{live}");
    assert_eq!(live["client_id"], t.web_id.as_str());
    assert!(live["sub"].as_str().is_some_and(|s| !s.is_empty()) && live.get("jti").is_none(), "{live}");
    assert_eq!(introspect(&t.s, &t.web_id, &t.web_secret, &rt1).await["active"], false, "rotated away");
    assert_eq!(
        introspect(&t.s, "latchkey-admin", ADMIN_SECRET, &rt2).await,
        json!({"active": false}),
        "another client"
    );
    let (status, reuse) = token_call(&t, &[("grant_type", "refresh_token"), ("refresh_token", &rt1)]).await;
    assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = token_call(&t, &[("grant_type", "refresh_token"), ("refresh_token", &rt2)]).await;
    assert_eq!(status, 400, "reuse revoked the whole family");
    let at2 = second["access_token"].as_str().unwrap();
    assert_eq!(introspect(&t.s, &t.web_id, &t.web_secret, at2).await["active"], false);
    assert_eq!(introspect(&t.s, &t.web_id, &t.web_secret, &rt2).await["active"], false, "its family is revoked");

    // The race: 8 parallel refreshes of one token, exactly one succeeds.
    let (code, verifier) = web_code(&t, &b).await;
    let (_, first) = token_call(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let t = Arc::new(t);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (t, rt) = (t.clone(), rt.clone());
        tasks.push(tokio::spawn(async move {
            token_call(&t, &[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await.0
        }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.unwrap() == 200);
    }
    assert_eq!(ok, 1, "exactly one of 8 parallel refreshes succeeds");
}

#[tokio::test]
async fn a3_redirect_uri_attack_payloads_are_never_redirected() {
    let t = setup().await;
    let base = WEB_CB;
    let payloads = [
        format!("{base}/FAKEPATH"),
        format!("{base}%2FFAKEPATH"),
        format!("{base}/..%2FFAKEPATH"),
        format!("{base}/%2e%2e%2FFAKEPATH"),
        format!("{base}/..%252FFAKEPATH"),
        format!("{base}/FAKEPATH/.."),
        format!("{base}/;/../../FAKEPATH"),
        format!("{base}/%3B/../../FAKEPATH"),
        format!("{base}%0A%0D/../../FAKEPATH"),
        format!("{base}/..;/FAKEPATH"),
        format!("{base}?x=FAKEPATH"),
        format!("{base}#FAKEPATH"),
        "https://WEB.example/callback".to_owned(),
        "https://web.example/Callback".to_owned(),
        "https://web.example:443/callback".to_owned(),
        "https://web.example@evil.example/callback".to_owned(),
        "https://evil.example/FAKEPATH".to_owned(),
        "//evil.example/FAKEPATH".to_owned(),
    ];
    let b = browser();
    for payload in &payloads {
        for mode in ["query", "fragment", "form_post"] {
            for prompt in ["", "&prompt=none"] {
                let url = format!(
                    "{}?client_id={}&response_type=code&scope=bogus&response_mode={mode}{prompt}&redirect_uri={}",
                    t.s.url("/oauth2/authorize"),
                    t.web_id,
                    urlencode(payload)
                );
                let r = b.get(&url).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 400, "{payload} {mode} {prompt}");
                assert!(r.headers().get("location").is_none());
                let html = r.text().await.unwrap();
                assert!(!html.contains("FAKEPATH") && !html.contains("evil.example"), "{payload}: {html}");
            }
        }
    }
    // a9: an unknown client is a page too, whatever the redirect URI.
    let r = b
        .get(format!(
            "{}?client_id=nope&response_type=code&redirect_uri={}",
            t.s.url("/oauth2/authorize"),
            urlencode(WEB_CB)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers().get("location").is_none());
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn b24_prompt_none_without_a_session_and_consent_denial() {
    let t = setup().await;
    let b = browser();
    let challenge = PkceCodeChallenge::new_random_sha256().0;
    let url = format!(
        "{}?client_id={}&response_type=code&scope=openid&code_challenge={}&code_challenge_method=S256&state=xyz&prompt=none",
        t.s.url("/oauth2/authorize"),
        t.web_id,
        challenge.as_str()
    );
    let r = b.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let back = location(&r);
    assert!(back.starts_with(WEB_CB));
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    assert_eq!(param(&back, "iss").as_deref(), Some(t.s.issuer.as_str()));

    let url = url.replace("&prompt=none", "&response_mode=form_post");
    let back = sign_in(&t.s, &b, &url, false).await;
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"), "{back}");

    // form_post: an auto-submitting page (script file, no inline script)
    // that carries code, state and iss to the registered URI.
    let back = sign_in(&t.s, &b, &url.replace("&response_mode=form_post", ""), true).await;
    assert!(param(&back, "code").is_some());
    let r = b.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{WEB_CB}\"")));
    assert!(html.contains("name=\"code\"") && html.contains("name=\"iss\"") && html.contains("value=\"xyz\""));
}

#[tokio::test]
async fn b20_b21_b23_pages_are_framed_never_and_forms_need_their_csrf_token() {
    let t = setup().await;
    let b = browser();
    let challenge = PkceCodeChallenge::new_random_sha256().0;
    let url = format!(
        "{}?client_id={}&response_type=code&scope=openid&code_challenge={}&code_challenge_method=S256",
        t.s.url("/oauth2/authorize"),
        t.web_id,
        challenge.as_str()
    );
    let r = b.get(&url).send().await.unwrap();
    let h = r.headers().clone();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(h.get("access-control-allow-origin").is_none());
    let html = r.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "no foreign resources");
    // A cross-site POST (another browser: no anchor cookie) is refused.
    let form = [
        ("tx", field(&html, "tx")),
        ("csrf", field(&html, "csrf")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let r = http().post(t.s.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    // b19: the real browser's submission ends in 303, never 307.
    let r = b.post(t.s.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "consent page");
}

#[tokio::test]
async fn rp_initiated_logout_with_registered_and_unregistered_uris() {
    let t = setup().await;
    let b = browser();
    let (code, verifier) = web_code(&t, &b).await;
    let (_, tokens) = token_call(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let hint = tokens["id_token"].as_str().unwrap();
    let logout = |uri: &str| {
        format!(
            "{}?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
            t.s.url("/oauth2/logout"),
            urlencode(uri)
        )
    };
    for bad in ["https://web.example/signed-out?x=1", "https://evil.example/", "https://web.example/signed-out/"] {
        let r = b.get(logout(bad)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{bad}");
        assert!(r.headers().get("location").is_none());
    }
    let r = b.get(logout("https://web.example/signed-out").replace(hint, &format!("{hint}A"))).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400, "a modified id_token_hint");
    let r = b.get(logout("https://web.example/signed-out")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign out"));
    let form = [("tx", field(&html, "tx")), ("csrf", field(&html, "csrf"))];
    let r = b.post(t.s.url("/logout")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "https://web.example/signed-out?state=bye");
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    // Signed out: prompt=none now gets login_required.
    let challenge = PkceCodeChallenge::new_random_sha256().0;
    let r = b
        .get(format!(
            "{}?client_id={}&response_type=code&scope=openid&code_challenge={}&code_challenge_method=S256&prompt=none",
            t.s.url("/oauth2/authorize"),
            t.web_id,
            challenge.as_str()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn hybrid_response_validated_by_the_library() {
    let t = setup().await;
    let hybrid = create_client(
        &t.s,
        json!({"name": "Hybrid app", "type": "hybrid", "redirect_uris": [WEB_CB], "scopes": ["openid", "profile"],
               "response_types": ["code id_token", "code token", "code id_token token"]}),
    )
    .await;
    let (id, secret) = (hybrid["client_id"].as_str().unwrap(), hybrid["client_secret"].as_str().unwrap());
    let rp = relying_party(&t.s, id, Some(secret), WEB_CB).await;
    let b = browser();
    for types in [
        vec![CoreResponseType::Code, CoreResponseType::IdToken],
        vec![CoreResponseType::Code, CoreResponseType::Token],
        vec![CoreResponseType::Code, CoreResponseType::IdToken, CoreResponseType::Token],
    ] {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _, nonce) = rp
            .authorize_url(CoreAuthenticationFlow::Hybrid(types.clone()), CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let back = sign_in(&t.s, &b, url.as_str(), true).await;
        assert!(back.contains('#'), "hybrid responses travel in the fragment: {back}");
        let code = AuthorizationCode::new(param(&back, "code").unwrap_or_else(|| panic!("{back}")));
        let verifier_ = rp.id_token_verifier();
        if let Some(raw) = param(&back, "id_token") {
            let id_token: CoreIdToken = raw.parse().unwrap();
            let claims = id_token.claims(&verifier_, &nonce).expect("front-channel ID token validates");
            let alg = id_token.signing_alg().unwrap();
            let key = id_token.signing_key(&verifier_).unwrap();
            assert_eq!(claims.code_hash(), Some(&AuthorizationCodeHash::from_code(&code, alg, key).unwrap()));
            if let Some(at) = param(&back, "access_token") {
                let at = openidconnect::AccessToken::new(at);
                assert_eq!(claims.access_token_hash(), Some(&AccessTokenHash::from_token(&at, alg, key).unwrap()));
            }
        }
        if types.contains(&CoreResponseType::Token) {
            assert!(param(&back, "access_token").is_some());
        }
        let tokens = rp.exchange_code(code).unwrap().set_pkce_verifier(verifier).request_async(&http()).await.unwrap();
        tokens.id_token().unwrap().claims(&verifier_, &nonce).unwrap();
    }
}

#[tokio::test]
async fn e43_legacy_grants_refused_while_the_tenant_has_them_off() {
    let t = setup().await;
    let (status, body) =
        token_call(&t, &[("grant_type", "password"), ("username", "alice"), ("password", PASSWORD)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let meta: Value =
        http().get(t.s.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    let grants: Vec<&str> =
        meta["grant_types_supported"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(!grants.contains(&"password") && !grants.contains(&"implicit"));
    assert!(!meta["response_types_supported"].as_array().unwrap().contains(&json!("token")));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    let challenge = PkceCodeChallenge::new_random_sha256().0;
    let r = browser()
        .get(format!(
            "{}?client_id={}&response_type=token&scope=openid&nonce=n&code_challenge={}&code_challenge_method=S256",
            t.s.url("/oauth2/authorize"),
            t.web_id,
            challenge.as_str()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("unsupported_response_type"));
}

#[tokio::test]
async fn g52_userinfo_bearer_header_any_case_and_form_body() {
    let t = setup().await;
    let b = browser();
    let (code, verifier) = web_code(&t, &b).await;
    let (_, tokens) = token_call(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let at = tokens["access_token"].as_str().unwrap();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = http()
            .get(t.s.url("/oauth2/userinfo"))
            .header("authorization", format!("{scheme} {at}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{scheme}");
    }
    let r = http().post(t.s.url("/oauth2/userinfo")).form(&[("access_token", at)]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["sub"].is_string());
    let r =
        http().post(t.s.url("/oauth2/userinfo")).bearer_auth(at).form(&[("access_token", at)]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400, "two ways at once");
    let r = http().get(t.s.url("/oauth2/userinfo")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"latchkey\"");
    let r = http().get(t.s.url("/oauth2/userinfo")).bearer_auth(format!("{at}x")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn a10_b14_repeated_parameters_and_bad_input() {
    let t = setup().await;
    let b = browser();
    let base = t.s.url("/oauth2/authorize");
    let r = b.get(format!("{base}?client_id={0}&client_id={0}&response_type=code", t.web_id)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers().get("location").is_none(), "a repeated client_id is a page");
    let challenge = PkceCodeChallenge::new_random_sha256().0;
    let r = b
        .get(format!(
            "{base}?client_id={}&response_type=code&scope=openid&scope=openid&code_challenge={}&code_challenge_method=S256&extra=foobar",
            t.web_id,
            challenge.as_str()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(param(&location(&r), "error").as_deref(), Some("invalid_request"), "a repeated scope");
    assert_eq!(param(&location(&r), "code"), None);
    // Malformed input of every kind: a 4xx page, never a 5xx.
    for bad in ["%ff%fe", "client_id=%", "client_id=\u{0}", &"a=b&".repeat(5000)] {
        let r = b.get(format!("{base}?{bad}")).send().await.unwrap();
        assert!((400..500).contains(&r.status().as_u16()), "{bad:.40}: {}", r.status());
    }
    for path in ["/login", "/consent", "/logout"] {
        let r = b
            .post(t.s.url(path))
            .body("tx=%zz")
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .unwrap();
        assert!((400..500).contains(&r.status().as_u16()), "{path}: {}", r.status());
        let r = b.get(t.s.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 405, "{path}");
        let r = b.post(t.s.url(path)).json(&json!({"tx": "x"})).send().await.unwrap();
        assert!((400..500).contains(&r.status().as_u16()), "{path}: {}", r.status());
    }
}

mod accounts;
mod backup;
mod checklist;
mod device;
mod master_key;
mod reliability;
