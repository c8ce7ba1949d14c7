//! What an administrator does to an account reaches what it holds: a
//! password reset or a disable ends the user's browser sessions and revokes
//! their refresh tokens and the access tokens issued with them.

use super::*;

async fn alice_id(s: &Server, token: &str) -> String {
    let users: Value = get_json(s.url("/api/v1/users?q=alice"), token).await;
    users["items"][0]["id"].as_str().expect("alice exists").to_owned()
}

#[tokio::test]
async fn password_reset_and_disable_end_sessions_and_refresh_tokens() {
    let t = setup().await;
    let admin = admin_token(&t.s, "admin").await;
    let id = alice_id(&t.s, &admin).await;
    for action in ["password", "disable"] {
        let b = browser();
        let (code, verifier) = web_code(&t, &b).await;
        let (status, tokens) = token_call(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_CB),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        assert_eq!(status, 200, "{tokens}");
        let (at, rt) = (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
        assert_eq!(introspect(&t.s, &t.web_id, &t.web_secret, at).await["active"], true);

        let r = http()
            .post(t.s.url(&format!("/api/v1/users/{id}/{action}")))
            .bearer_auth(&admin)
            .json(&if action == "password" { json!({"password": PASSWORD}) } else { json!({}) })
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{action}: {}", r.text().await.unwrap());

        let (status, body) = token_call(&t, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{action}: {body}");
        assert_eq!(introspect(&t.s, &t.web_id, &t.web_secret, at).await["active"], false, "{action}");
        // The browser session is over: a silent request needs a new login.
        let challenge = PkceCodeChallenge::new_random_sha256().0;
        let url = format!(
            "{}?client_id={}&response_type=code&scope=openid&redirect_uri={WEB_CB}&code_challenge={}&code_challenge_method=S256&prompt=none",
            t.s.url("/oauth2/authorize"),
            t.web_id,
            challenge.as_str()
        );
        let back = location(&b.get(&url).send().await.unwrap());
        assert_eq!(param(&back, "error").as_deref(), Some("login_required"), "{action}: {back}");

        if action == "disable" {
            let r =
                http().post(t.s.url(&format!("/api/v1/users/{id}/enable"))).bearer_auth(&admin).send().await.unwrap();
            assert!(r.status().is_success());
        }
    }
}
