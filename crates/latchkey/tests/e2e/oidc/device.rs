//! The device authorization grant (RFC 8628) end to end: the `oauth2`
//! crate as the device (device authorization, polling, refresh), a
//! cookie-keeping HTTP client as the person's browser on `/device`, and raw
//! requests for polling too fast, denial, wrong and reused codes and
//! another client's device code.

use oauth2::basic::BasicClient;
use oauth2::{ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl};
use serde_json::{Value, json};

use super::{PASSWORD, browser, create_user, field};
use crate::harness::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

struct Setup {
    s: Server,
    _install: Install,
    tv: String,
    other: String,
}

async fn device_client(s: &Server, name: &str) -> String {
    let c = create_client(
        s,
        json!({"name": name, "type": "device", "scopes": ["openid", "profile", "offline_access"],
               "grant_types": [DEVICE_GRANT, "refresh_token"]}),
    )
    .await;
    c["client_id"].as_str().unwrap().to_owned()
}

async fn setup() -> Setup {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    create_user(&s, "alice").await;
    let tv = device_client(&s, "Living-room TV").await;
    let other = device_client(&s, "Other device").await;
    Setup { s, _install: install, tv, other }
}

async fn start(s: &Server, client_id: &str) -> Value {
    let r = http()
        .post(s.url("/oauth2/device_authorization"))
        .header("user-agent", "tv-firmware/2.1")
        .form(&[("client_id", client_id), ("scope", "openid profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

async fn poll(s: &Server, client_id: &str, device_code: &str) -> (u16, Value) {
    let form = [("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", client_id)];
    let r = http().post(s.url("/oauth2/token")).form(&form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Posts a device-page form; returns the status and the page.
async fn post_page(s: &Server, b: &reqwest::Client, form: &[(&str, &str)]) -> (u16, String) {
    let r = b.post(s.url("/device")).form(form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// From the sign-in form of the device page to whatever comes next.
async fn sign_in(s: &Server, b: &reqwest::Client, page: &str) -> (u16, String) {
    assert!(page.contains("name=\"action\" value=\"sign_in\""), "a sign-in form:\n{page}");
    let csrf = field(page, "csrf");
    let code = field(page, "user_code");
    post_page(
        s,
        b,
        &[("action", "sign_in"), ("csrf", &csrf), ("user_code", &code), ("username", "alice"), ("password", PASSWORD)],
    )
    .await
}

#[tokio::test]
async fn device_flow_with_the_oauth2_crate_and_the_device_page() {
    let t = setup().await;
    let s = &t.s;
    let meta: Value =
        http().get(s.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    let endpoint = meta["device_authorization_endpoint"].as_str().expect("advertised in discovery");
    assert_eq!(endpoint, format!("{}/oauth2/device_authorization", s.issuer));
    assert!(meta["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));

    let client = BasicClient::new(ClientId::new(t.tv.clone()))
        .set_token_uri(TokenUrl::new(meta["token_endpoint"].as_str().unwrap().into()).unwrap())
        .set_device_authorization_url(DeviceAuthorizationUrl::new(endpoint.into()).unwrap());
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("profile".into()))
        .request_async(&http())
        .await
        .expect("the oauth2 crate accepts the device authorization response");
    let user_code = details.user_code().secret().clone();
    assert!(user_code.len() == 9 && user_code.as_bytes()[4] == b'-', "XXXX-XXXX, got {user_code}");
    assert!(!user_code.chars().any(|c| "0O1I".contains(c)), "no look-alikes in {user_code}");
    assert_eq!(details.verification_uri().as_str(), format!("{}/device", s.issuer));
    assert_eq!(details.interval().as_secs(), 5);
    let complete = details.verification_uri_complete().expect("verification_uri_complete").secret().clone();

    // The person follows the complete URI, signs in, sees the request, allows.
    let b = browser();
    let r = b.get(&complete).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, page) = sign_in(s, &b, &r.text().await.unwrap()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Allow this device?") && page.contains("Living-room TV"), "{page}");
    assert!(page.contains("Requested from</dt><dd>127.0.0.1"), "the asking device is described: {page}");
    assert!(page.contains(&user_code));
    let csrf = field(&page, "csrf");
    let (status, page) = post_page(s, &b, &[("action", "allow"), ("csrf", &csrf), ("user_code", &user_code)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Device connected"), "{page}");

    // The device polls once (its sleep does not wait: the person is done).
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http(), |_| async {}, None)
        .await
        .expect("tokens for the device");
    let access = token.access_token().secret().clone();
    let info: Value = get_json(s.url("/oauth2/userinfo"), &access).await;
    assert_eq!(info["preferred_username"], "alice", "the token is the approving user's: {info}");
    let refresh = token.refresh_token().expect("a refresh token").clone();
    let again = client.exchange_refresh_token(&refresh).request_async(&http()).await.expect("refresh works");
    assert!(!again.access_token().secret().is_empty());

    // The device code is single use.
    let (status, body) = poll(s, &t.tv, details.device_code().secret()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    // So is the user code.
    let csrf = field(&page_for(s, &b).await, "csrf");
    let (status, page) = post_page(s, &b, &[("action", "code"), ("csrf", &csrf), ("user_code", &user_code)]).await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid, was already used or has expired"), "{page}");
}

/// The device page of a signed-in browser: the code form.
async fn page_for(s: &Server, b: &reqwest::Client) -> String {
    let r = b.get(s.url("/device")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("name=\"action\" value=\"code\""), "the code form:\n{page}");
    page
}

#[tokio::test]
async fn device_polling_too_fast_denial_wrong_codes_and_another_client() {
    let t = setup().await;
    let s = &t.s;
    let d = start(s, &t.tv).await;
    let device_code = d["device_code"].as_str().unwrap();
    let user_code = d["user_code"].as_str().unwrap();

    let (status, body) = poll(s, &t.tv, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("authorization_pending")));
    let (status, body) = poll(s, &t.tv, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")), "polled inside the interval");
    let (status, body) = poll(s, &t.other, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "another client's device code");

    // The person opens /device, signs in, then types the code.
    let b = browser();
    let first = b.get(s.url("/device")).send().await.unwrap().text().await.unwrap();
    let (status, page) = sign_in(s, &b, &first).await;
    assert_eq!(status, 200);
    assert!(page.contains("Enter the code your device shows"), "{page}");
    let csrf = field(&page, "csrf");

    // A form without the session's CSRF token is refused.
    let (status, _) = post_page(s, &b, &[("action", "deny"), ("csrf", "forged"), ("user_code", user_code)]).await;
    assert_eq!(status, 403);
    // A wrong code is an error on the page, not a decision.
    let (status, page) = post_page(s, &b, &[("action", "code"), ("csrf", &csrf), ("user_code", "BCDF-GHJK")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("role=\"alert\""), "{page}");
    // Case and dashes do not matter.
    let typed = user_code.replace('-', "").to_lowercase();
    let (status, page) = post_page(s, &b, &[("action", "code"), ("csrf", &csrf), ("user_code", &typed)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("Allow this device?"), "{page}");
    assert!(page.contains("tv-firmware/2.1"), "the device's software is shown: {page}");
    let csrf = field(&page, "csrf");
    let code = field(&page, "user_code");
    let (status, page) = post_page(s, &b, &[("action", "deny"), ("csrf", &csrf), ("user_code", &code)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("Request denied"), "{page}");

    let (status, body) = poll(s, &t.tv, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("access_denied")));

    // A client not registered for the grant cannot start it.
    let web =
        create_client(s, json!({"name": "Web", "type": "web", "redirect_uris": ["https://web.example/cb"]})).await;
    let (id, secret) = (web["client_id"].as_str().unwrap(), web["client_secret"].as_str().unwrap());
    let (status, body) = post_basic(&s.url("/oauth2/device_authorization"), id, secret, &[("scope", "openid")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
    let r = http().get(s.url("/oauth2/device_authorization")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[tokio::test]
async fn b20_b21_the_device_page_is_framed_never_and_its_sign_in_needs_the_browser() {
    let t = setup().await;
    let s = &t.s;
    let b = browser();
    let r = b.get(s.url("/device")).send().await.unwrap();
    let h = r.headers().clone();
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert!(h.get("access-control-allow-origin").is_none());
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "the anchor cookie: {cookie}");
    let page = r.text().await.unwrap();
    let form = [
        ("action", "sign_in".to_owned()),
        ("csrf", field(&page, "csrf")),
        ("user_code", String::new()),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    // The same form from another browser (no anchor cookie) is refused, and signs nobody in.
    let r = http().post(s.url("/device")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    // A wrong password is said on the page, with the username kept.
    let mut wrong = form.clone();
    wrong[4].1 = "not the password".into();
    let r = b.post(s.url("/device")).form(&wrong).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("The username or password is not correct."));
    let r = b.post(s.url("/device")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["set-cookie"].to_str().unwrap().starts_with("lk_session_"), "signed in");
}

/// "Sign in with …" from the device page is bound to the browser that
/// showed the page: another browser's form token, or none, starts nothing.
#[tokio::test]
async fn b21_a_federated_start_from_the_device_page_needs_this_browsers_form_token() {
    let t = setup().await;
    let mine = browser();
    let r = mine.get(t.s.url("/device")).send().await.unwrap();
    let page = r.text().await.unwrap();
    let csrf = field(&page, "csrf");
    let stranger = browser();
    let _ = stranger.get(t.s.url("/device")).send().await.unwrap();
    for (b, token) in [(&stranger, csrf.as_str()), (&mine, ""), (&mine, "forged")] {
        let form = [("device", "1"), ("user_code", "BCDF-GHJK"), ("csrf", token), ("provider", "corp")];
        let r = b.post(t.s.url("/federation/start")).form(&form).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "token {token:?}");
        assert!(r.text().await.unwrap().contains("Open the device page again"));
    }
    // With this browser's token the form gets past the check: the provider
    // is simply not offered here.
    let form = [("device", "1"), ("user_code", "BCDF-GHJK"), ("csrf", csrf.as_str()), ("provider", "corp")];
    let r = mine.post(t.s.url("/federation/start")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("not offered"));
}
