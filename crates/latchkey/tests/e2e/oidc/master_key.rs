//! `latchkey master-key rotate | reseal | retire` (issue 15 item 4): after a
//! rotation every sealed value is under the new key (the previous key alone
//! opens none of them), and everything issued before keeps working: client
//! secrets, refresh tokens, opaque and JWT access tokens, signing keys.
//! Retiring drops the previous key; a key that is not the installation's is
//! refused before anything changes.

use serde_json::json;

use super::backup::{ISSUER, latchkey, mode, refresh, refresh_token_of_alice};
use crate::harness::*;

fn from_file() -> Opts {
    // No LATCHKEY_MASTER_KEY: the server makes and reads {data_dir}/master.key.
    Opts { master_key: Some(String::new()), public_url: Some(ISSUER.into()), ..Opts::default() }
}

async fn client_credentials(s: &Server, id: &str, secret: &str) -> (u16, serde_json::Value) {
    post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await
}

async fn kids(s: &Server) -> Vec<String> {
    let jwks: serde_json::Value = http().get(s.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    let mut kids: Vec<String> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect();
    kids.sort();
    kids
}

fn ring(install: &Install) -> Vec<String> {
    let text = std::fs::read_to_string(install.dir.path().join("data/master.key")).unwrap();
    text.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect()
}

#[tokio::test]
async fn master_key_rotate_reseals_everything_and_what_was_issued_keeps_working() {
    let install = Install::new().await;
    let s = Server::start_with(&install, &from_file()).await;
    let (web_id, web_secret, rt) = refresh_token_of_alice(&s).await;
    let m2m = create_client(&s, json!({"name": "Jobs", "type": "m2m", "access_token_format": "opaque"})).await;
    let (id, secret) =
        (m2m["client_id"].as_str().unwrap().to_owned(), m2m["client_secret"].as_str().unwrap().to_owned());
    let (status, body) = client_credentials(&s, &id, &secret).await;
    assert_eq!(status, 200, "{body}");
    let opaque = body["access_token"].as_str().unwrap().to_owned();
    let kids_before = kids(&s).await;
    s.stop().await;
    let old = ring(&install);
    assert_eq!(old.len(), 1, "a fresh installation has one key");

    // Another installation's key is refused before anything changes.
    let foreign = "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=";
    let (ok, _, err) = latchkey(&install, Some(foreign), &["master-key", "rotate", "--output-file", "x.key"]).await;
    assert!(!ok && err.contains("not this installation's key"), "{err}");
    assert!(!install.dir.path().join("x.key").exists());
    // With the key in LATCHKEY_MASTER_KEY the new ring needs a place.
    let (ok, _, err) = latchkey(&install, Some(&old[0]), &["master-key", "rotate"]).await;
    assert!(!ok && err.contains("--output-file"), "{err}");

    let (ok, out, err) = latchkey(&install, None, &["master-key", "rotate"]).await;
    assert!(ok, "rotate failed: {err}");
    assert!(out.contains("Re-sealed") && out.contains("signing keys: "), "{out}");
    let rotated = ring(&install);
    assert_eq!(rotated.len(), 2, "new key first, the previous after it");
    assert_eq!(rotated[1], old[0]);
    assert_ne!(rotated[0], old[0]);
    assert_eq!(mode(&install.dir.path().join("data/master.key")), 0o600);
    assert!(!out.contains(&rotated[0]) && !err.contains(&rotated[0]), "the new key is never printed");

    // The previous key alone opens nothing any more: every value was re-sealed.
    let (ok, _, err) = latchkey(&install, Some(&old[0]), &["master-key", "reseal"]).await;
    assert!(!ok && err.contains("opened by no key"), "{err}");
    // Nothing is left to re-seal.
    let (ok, out, _) = latchkey(&install, None, &["master-key", "reseal"]).await;
    assert!(ok && out.contains("Re-sealed 0 values"), "{out}");

    let s = Server::start_with(&install, &from_file()).await;
    assert_eq!(kids(&s).await, kids_before, "the same signing keys");
    let (status, body) = client_credentials(&s, &id, &secret).await;
    assert_eq!(status, 200, "a secret issued before the rotation still works: {body}");
    assert_eq!(introspect(&s, &id, &secret, &opaque).await["active"], true, "an opaque token from before");
    let (status, body) = refresh(&s, &web_id, &web_secret, &rt).await;
    assert_eq!(status, 200, "a refresh token from before: {body}");
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    // A secret made after the rotation works too.
    let later = create_client(&s, json!({"name": "Later", "type": "m2m"})).await;
    let (later_id, later_secret) = (later["client_id"].as_str().unwrap(), later["client_secret"].as_str().unwrap());
    assert_eq!(client_credentials(&s, later_id, later_secret).await.0, 200);
    s.stop().await;

    // Retire: the ring keeps only the current key, and it opens everything.
    let (ok, out, err) = latchkey(&install, None, &["master-key", "retire"]).await;
    assert!(ok, "retire failed: {err}");
    assert!(out.contains("Retired 1 previous key"), "{out}");
    assert_eq!(ring(&install), vec![rotated[0].clone()]);
    let (ok, out, _) = latchkey(&install, None, &["master-key", "retire"]).await;
    assert!(ok && out.contains("nothing to retire"), "{out}");

    let s = Server::start_with(&install, &from_file()).await;
    assert_eq!(client_credentials(&s, &id, &secret).await.0, 200, "the kept client-secret key survives retiring");
    assert_eq!(client_credentials(&s, later_id, later_secret).await.0, 200);
    let (status, body) = refresh(&s, &web_id, &web_secret, &rt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        introspect(&s, &id, &secret, &opaque).await["active"],
        false,
        "an opaque token sealed under the retired key is no longer accepted"
    );

    // A second rotation on top of the first.
    s.stop().await;
    let (ok, _, err) = latchkey(&install, None, &["master-key", "rotate"]).await;
    assert!(ok, "{err}");
    let s = Server::start_with(&install, &from_file()).await;
    assert_eq!(client_credentials(&s, &id, &secret).await.0, 200);
}
