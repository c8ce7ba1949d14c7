//! Issue "trust", item 7, through the real binary: who the source of a
//! request is (trusted proxies only), and throttle counts shared by nodes.

use serde_json::Value;

use crate::harness::*;

async fn token_from(s: &Server, secret: &str, forwarded_for: Option<&str>) -> (u16, Option<u32>) {
    let (status, wait, _) = dated(s, "latchkey-admin", secret, forwarded_for).await;
    (status, wait)
}

/// A client_credentials request: status, `Retry-After` and the server's
/// `Date` (the second it answered in).
async fn dated(s: &Server, id: &str, secret: &str, forwarded_for: Option<&str>) -> (u16, Option<u32>, String) {
    let mut r =
        http().post(s.url("/oauth2/token")).basic_auth(id, Some(secret)).form(&[("grant_type", "client_credentials")]);
    if let Some(f) = forwarded_for {
        r = r.header("x-forwarded-for", f);
    }
    let r = r.send().await.unwrap();
    let wait = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    let date = r.headers().get("date").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (r.status().as_u16(), wait, date)
}

/// What `check` (the right secret of `id`) gets while the key that wrong
/// secrets sent as `fail` (at `guesser`) count against is throttled. A
/// first delay of 1 s may end a moment after the failure that started it,
/// so the answer counts only when the guesser is refused both just before
/// and just after it, which proves the key was throttled while it was
/// answered. A round where the delay ended in between is repeated (each
/// counted failure doubles the delay); nothing sleeps.
async fn while_throttled(
    guesser: &Server,
    checker: &Server,
    id: &str,
    secret: &str,
    fail: Option<&str>,
    check: Option<&str>,
) -> (u16, Option<u32>) {
    for _ in 0..8 {
        let mut refused_at = None;
        for _ in 0..=FREE {
            let (status, _, date) = dated(guesser, id, "lks_wrong", fail).await;
            assert!(status == 401 || status == 429, "{status}");
            if status == 429 {
                refused_at = Some(date);
                break;
            }
        }
        refused_at.expect("refused after the free failures");
        let (status, wait, _) = dated(checker, id, secret, check).await;
        // Refused again right after: the delay that refused the guesser
        // before the check (a refusal does not move it) still ran after
        // it, so it ran during it. Otherwise the delay ended in between
        // (a loaded machine): the round is repeated.
        let (after, _, _) = dated(guesser, id, "lks_wrong", fail).await;
        if after == 429 {
            return (status, wait);
        }
    }
    panic!("eight rounds in a row saw the delay end before the check was answered");
}

const FREE: usize = 10;

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    // Without trusted proxies, X-Forwarded-For changes nothing: a guesser
    // cannot escape its throttle by naming another address.
    let install = Install::new().await;
    let s = Server::start(&install).await;
    for i in 0..FREE {
        let (status, _) = token_from(&s, "lks_wrong", Some(&format!("198.51.100.{i}"))).await;
        assert_eq!(status, 401);
    }
    let (status, wait) =
        while_throttled(&s, &s, "latchkey-admin", ADMIN_SECRET, Some("198.51.100.99"), Some("198.51.100.200")).await;
    assert_eq!(status, 429, "the peer (127.0.0.1) is the source");
    assert!(wait.is_some());
    drop(s);

    // Behind a trusted proxy, the client's address counts: the guesser
    // waits, the client at another address does not.
    let install = Install::new().await;
    let opts = Opts { env: vec![("LATCHKEY_TRUSTED_PROXIES".into(), "[\"127.0.0.1\"]".into())], ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    for _ in 0..FREE {
        assert_eq!(token_from(&s, "lks_wrong", Some("203.0.113.9")).await.0, 401);
    }
    let guesser = Some("203.0.113.9");
    assert_eq!(while_throttled(&s, &s, "latchkey-admin", ADMIN_SECRET, guesser, guesser).await.0, 429);
    assert_eq!(token_from(&s, ADMIN_SECRET, Some("198.51.100.1")).await.0, 200, "the client itself is not locked out");
    // A client cannot forge its way out by prepending an address: the
    // rightmost untrusted entry counts.
    let forged = Some("198.51.100.1, 203.0.113.9");
    assert_eq!(while_throttled(&s, &s, "latchkey-admin", ADMIN_SECRET, guesser, forged).await.0, 429);
    // The audit log names the client's address.
    let admin = {
        let (status, body) = post_basic(
            &s.url("/oauth2/token"),
            "latchkey-admin",
            ADMIN_SECRET,
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
        assert_eq!(status, 200);
        body["access_token"].as_str().unwrap().to_owned()
    };
    let r = http()
        .post(s.url("/api/v1/scopes"))
        .bearer_auth(&admin)
        .header("x-forwarded-for", "192.0.2.44")
        .json(&serde_json::json!({"name": "via:proxy"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let events: Value = get_json(s.url("/api/v1/audit-events?limit=1"), &admin).await;
    assert_eq!(events["items"][0]["source_ip"], "192.0.2.44", "{events}");
}

/// Failures counted on node A delay the same (client, source) on node B:
/// the counters are in the shared database.
#[tokio::test]
async fn pg_only_throttle_state_is_shared_between_nodes() {
    let install = Install::postgres().await;
    let opts = Opts { public_url: Some("http://latchkey.test".into()), ..Opts::default() };
    let (a, b) = tokio::join!(Server::start_with(&install, &opts), Server::start_with(&install, &opts));
    for _ in 0..FREE - 1 {
        assert_eq!(token_from(&a, "lks_wrong", None).await.0, 401);
    }
    // The tenth failure happens on B; B then refuses even the right secret.
    assert_eq!(token_from(&b, "lks_wrong", None).await.0, 401);
    assert_eq!(while_throttled(&b, &b, "latchkey-admin", ADMIN_SECRET, None, None).await.0, 429);
    // A reads the shared count too: in a second in which B refused the
    // guesser, A refuses the right secret.
    assert_eq!(while_throttled(&b, &a, "latchkey-admin", ADMIN_SECRET, None, None).await.0, 429);
}
