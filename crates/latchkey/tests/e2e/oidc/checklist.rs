//! Items of SECURITY-CHECKLIST sections B–H that the flow tests touch only in
//! passing, each with a test named after it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn authorize_url(t: &Setup, scope: &str, nonce: &str) -> (String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "{}?client_id={}&response_type=code&scope={scope}&redirect_uri={WEB_CB}&code_challenge={}&code_challenge_method=S256&state=s&nonce={nonce}",
        t.s.url("/oauth2/authorize"),
        t.web_id,
        challenge.as_str()
    );
    (url, verifier.secret().clone())
}

async fn code_tokens(t: &Setup, scope: &str, nonce: &str) -> Value {
    let (url, verifier) = authorize_url(t, scope, nonce);
    let back = sign_in(&t.s, &browser(), &url, true).await;
    let code = param(&back, "code").expect("a code");
    let (status, tokens) = token_call(
        t,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

#[tokio::test]
async fn b18_a_grant_the_client_is_not_registered_for_is_unauthorized_client() {
    let t = setup().await;
    let (status, body) = token_call(&t, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
    let r = http()
        .post(t.s.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", &t.spa_id)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "public client: {body}");
}

#[tokio::test]
async fn b19_redirects_after_credential_posts_are_303_never_307() {
    let t = setup().await;
    let b = browser();
    let (url, _) = authorize_url(&t, "openid", "n");
    let mut r = b.get(&url).send().await.unwrap();
    let mut posts_redirected = 0;
    for _ in 0..6 {
        if r.status().is_redirection() {
            let to = location(&r);
            if to.starts_with(WEB_CB) {
                break;
            }
            r = b.get(if to.starts_with('/') { t.s.url(&to) } else { to }).send().await.unwrap();
            continue;
        }
        let html = r.text().await.unwrap();
        let (path, mut form) = if html.contains("action=\"/login\"") {
            ("/login", vec![("username", "alice".to_owned()), ("password", PASSWORD.to_owned())])
        } else {
            ("/consent", vec![("decision", "allow".to_owned())])
        };
        form.push(("tx", field(&html, "tx")));
        form.push(("csrf", field(&html, "csrf")));
        r = b.post(t.s.url(path)).form(&form).send().await.unwrap();
        assert!(![307, 308].contains(&r.status().as_u16()), "POST {path} answered {}", r.status());
        if r.status().is_redirection() {
            assert_eq!(r.status().as_u16(), 303, "POST {path}");
            posts_redirected += 1;
        }
    }
    assert!(posts_redirected >= 1, "the consent POST redirects back to the client");
}

#[tokio::test]
async fn b21_pages_send_no_referrer_and_load_nothing_foreign() {
    let t = setup().await;
    let b = browser();
    let (url, _) = authorize_url(&t, "openid", "n");
    let r = b.get(&url).send().await.unwrap();
    let login = if r.status().is_redirection() { b.get(t.s.url(&location(&r))).send().await.unwrap() } else { r };
    assert_eq!(login.status().as_u16(), 200);
    let h = login.headers().clone();
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'self'") || csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = login.text().await.unwrap();
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!html.contains(attr), "a foreign resource ({attr}) in\n{html}");
    }
}

#[tokio::test]
async fn e37_token_endpoint_is_post_form_only_and_ignores_url_credentials() {
    let t = setup().await;
    let r = http()
        .get(t.s.url("/oauth2/token?grant_type=client_credentials"))
        .basic_auth(&t.web_id, Some(&t.web_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    // Credentials in the query string are never accepted.
    let r = http()
        .post(t.s.url(&format!("/oauth2/token?client_id={}&client_secret={}", t.web_id, t.web_secret)))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "lkrt_x")])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert!([400, 401].contains(&status), "{status} {body}");
    assert!(matches!(body["error"].as_str(), Some("invalid_request" | "invalid_client")), "{body}");
    // A JSON body is not a form.
    let r = http()
        .post(t.s.url("/oauth2/token"))
        .basic_auth(&t.web_id, Some(&t.web_secret))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "lkrt_x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn e38_e40_error_shape_and_malformed_basic_headers() {
    let t = setup().await;
    let r = http()
        .post(t.s.url("/oauth2/token"))
        .basic_auth(&t.web_id, Some(&t.web_secret))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let allowed =
        ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type"];
    assert!(allowed.contains(&body["error"].as_str().unwrap()), "{body}");
    let desc = body["error_description"].as_str().unwrap_or_default();
    assert!(desc.chars().all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')), "{desc:?}");

    let long = format!("Basic {}", "A".repeat(8_000));
    for header in ["Basic !!!not-base64", "Basic bm9jb2xvbg==", "Basic ", "Bearer x", long.as_str()] {
        let r = http()
            .post(t.s.url("/oauth2/token"))
            .header("authorization", header)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{header:.20}: {status}");
        if status == 401 {
            assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"), "{header:.20}");
        }
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{header:.20}: {body}");
    }
}

#[tokio::test]
async fn f44_a_refresh_token_is_bound_to_its_client() {
    let t = setup().await;
    let tokens = code_tokens(&t, "openid%20offline_access", "n").await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let r = http()
        .post(t.s.url("/oauth2/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", &t.spa_id)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // The owner still refreshes it: the foreign attempt consumed nothing.
    let (status, body) = token_call(&t, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn f49_h55_id_tokens_and_their_refreshed_successors() {
    let t = setup().await;
    let tokens = code_tokens(&t, "openid%20offline_access", "nonce-49").await;
    let id1 = tokens["id_token"].as_str().unwrap();
    let (header, first) = (jwt_part(id1, 0), jwt_part(id1, 1));
    assert_eq!(header["alg"], "RS256", "the default ID-token algorithm, never none");
    assert_eq!(first["iss"], t.s.issuer.as_str());
    assert_eq!(first["aud"], json!(t.web_id));
    assert_eq!(first["nonce"], "nonce-49");
    assert!(first["exp"].as_i64().unwrap() > first["iat"].as_i64().unwrap());
    assert!(first["at_hash"].is_string() && first["sub"].is_string() && first["auth_time"].is_i64());
    let (status, refreshed) = token_call(
        &t,
        &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let second = jwt_part(refreshed["id_token"].as_str().unwrap(), 1);
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(second[claim], first[claim], "{claim} is kept on refresh");
    }
    assert!(second["iat"].as_i64() >= first["iat"].as_i64());
    assert!(second.get("nonce").is_none(), "a refreshed ID token carries no nonce");
}

#[tokio::test]
async fn g51_introspection_requires_client_authentication() {
    let t = setup().await;
    let tokens = code_tokens(&t, "openid", "n").await;
    let r = http()
        .post(t.s.url("/oauth2/introspect"))
        .form(&[("token", tokens["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body.get("active").is_none(), "nothing about the token leaks: {body}");
}

#[tokio::test]
async fn h53_discovery_issuer_matches_the_url_it_was_fetched_from() {
    let t = setup().await;
    let r = http().get(t.s.url("/.well-known/openid-configuration")).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let meta: Value = r.json().await.unwrap();
    assert_eq!(meta["issuer"], t.s.issuer.as_str());
    for (k, v) in meta.as_object().unwrap() {
        if k.ends_with("_endpoint") || k == "jwks_uri" {
            let v = v.as_str().unwrap();
            assert!(v.starts_with(&t.s.issuer), "{k} = {v} is absolute under the issuer");
        }
    }
    let jwks: Value = http().get(meta["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), keys.len(), "unique kids");
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "no private member {private} in {k}");
        }
    }
}

#[tokio::test]
async fn b23_cookies_are_secure_behind_https() {
    let install = Install::new().await;
    let opts = Opts { public_url: Some("https://login.example".into()), ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    let challenge = PkceCodeChallenge::new_random_sha256().0;
    let r = browser()
        .get(format!(
            "{}?client_id=latchkey-console&response_type=code&scope=openid&code_challenge={}&code_challenge_method=S256",
            s.url("/oauth2/authorize"),
            challenge.as_str()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
}
