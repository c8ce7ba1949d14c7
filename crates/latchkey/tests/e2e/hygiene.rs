//! Secrets stay secret: a server at the most verbose log level goes
//! through the life of every kind of secret — client secrets (created,
//! rotated, presented wrongly), a user's password, an authorization code,
//! access, refresh and ID tokens, the browser session — and afterwards none
//! of them appears in its logs, in the audit log, in the metrics or in an
//! error body.

use serde_json::{Value, json};

use crate::harness::*;

const CALLBACK: &str = "https://app.example/callback";
const PASSWORD: &str = "hygiene-password-8c1f2a";

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn no_secret_reaches_logs_audit_metrics_or_error_bodies() {
    let install = Install::new().await;
    let opts = Opts {
        env: vec![("LATCHKEY_LOG_LEVEL".into(), "trace".into()), ("LATCHKEY_LOG_FORMAT".into(), "json".into())],
        ..Opts::default()
    };
    let s = Server::start_with(&install, &opts).await;
    let mut secrets: Vec<(String, String)> = vec![("admin client secret".into(), ADMIN_SECRET.into())];
    let mut bodies = Vec::new();

    let admin = admin_token(&s, "admin").await;
    secrets.push(("admin access token".into(), admin.clone()));
    let r = http()
        .post(s.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    secrets.push(("user password".into(), PASSWORD.into()));
    let client = create_client(
        &s,
        json!({"name": "App", "type": "web", "redirect_uris": [CALLBACK], "scopes": ["openid", "offline_access"],
               "access_token_format": "opaque"}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    secrets.push(("client secret".into(), secret.clone()));

    // A sign-in: login form, code, tokens, refresh, revocation.
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let verifier = "hygiene-verifier-0123456789-0123456789-0123456789";
    let challenge = latchkey_crypto::jws::pkce_s256(verifier);
    secrets.push(("PKCE verifier".into(), verifier.into()));
    let authorize = format!(
        "{}?response_type=code&client_id={id}&redirect_uri={}&scope=openid%20offline_access&state=st&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
        s.url("/oauth2/authorize"),
        form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    );
    let page = browser.get(&authorize).send().await.unwrap().text().await.unwrap();
    let form = [
        ("tx", field(&page, "tx")),
        ("csrf", field(&page, "csrf")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let r = browser.post(s.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    for c in r.headers().get_all("set-cookie") {
        let v = c.to_str().unwrap().split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
        secrets.push(("session or anchor cookie".into(), v));
    }
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    let code = form_urlencoded::parse(back.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    secrets.push(("authorization code".into(), code.clone()));
    let (status, tokens) = post_basic(
        &s.url("/oauth2/token"),
        &id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    for k in ["access_token", "refresh_token", "id_token"] {
        secrets.push((k.into(), tokens[k].as_str().unwrap().to_owned()));
    }
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = post_basic(
        &s.url("/oauth2/token"),
        &id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 200);
    for k in ["access_token", "refresh_token"] {
        secrets.push((format!("refreshed {k}"), refreshed[k].as_str().unwrap().to_owned()));
    }
    // The code again (replay), the old refresh token again (reuse): errors.
    let (_, replay) = post_basic(
        &s.url("/oauth2/token"),
        &id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await;
    bodies.push(replay.to_string());
    let (_, reuse) = post_basic(
        &s.url("/oauth2/token"),
        &id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    bodies.push(reuse.to_string());
    assert_eq!(introspect(&s, &id, &secret, refreshed["access_token"].as_str().unwrap()).await["active"], false);

    // Rotation, and a wrong secret that looks like a real one.
    let r = http()
        .post(s.url(&format!("/api/v1/clients/{id}/secrets/rotate")))
        .bearer_auth(&admin)
        .json(&json!({"grace_seconds": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let rotated: Value = r.json().await.unwrap();
    secrets.push(("rotated secret".into(), rotated["client_secret"].as_str().unwrap().to_owned()));
    let wrong = "lks_wrong_but_plausible_secret_0123456789abcdef";
    secrets.push(("presented wrong secret".into(), wrong.into()));
    let (status, body) = post_basic(&s.url("/oauth2/token"), &id, wrong, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 401);
    bodies.push(body.to_string());
    // A secret in a malformed admin request is not echoed either.
    let r = http()
        .post(s.url("/api/v1/clients"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"x\", \"type\": \"m2m\", \"secret\": \"{wrong}\", \"bogus\": "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    bodies.push(r.text().await.unwrap());
    let r = http().get(s.url("/api/v1/clients")).bearer_auth(ADMIN_SECRET).send().await.unwrap();
    assert_eq!(r.status(), 401);
    bodies.push(r.text().await.unwrap());

    // Everything the server lets out.
    let mut audit = String::new();
    let mut url = s.url("/api/v1/audit-events?limit=500");
    loop {
        let page: Value = get_json(&url, &admin).await;
        audit.push_str(&page.to_string());
        match page["next_cursor"].as_str() {
            Some(c) => url = s.url(&format!("/api/v1/audit-events?limit=500&cursor={c}")),
            None => break,
        }
    }
    assert!(audit.contains("client.create"), "the audit log was read");
    let metrics = http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let logs = s.logs();
    assert!(logs.lines().count() > 20, "trace logging produced output");

    let mut found = Vec::new();
    for (what, value) in &secrets {
        for (place, text) in [("logs", &logs), ("audit log", &audit), ("metrics", &metrics)] {
            if text.contains(value.as_str()) {
                found.push(format!("{what} in the {place}"));
            }
        }
        for b in &bodies {
            if b.contains(value.as_str()) {
                found.push(format!("{what} in an error body: {b}"));
            }
        }
    }
    assert!(found.is_empty(), "secrets leaked: {found:#?}");
}
