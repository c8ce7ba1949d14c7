//! Checklist 42: `private_key_jwt` at this server, one test per claim
//! defect, on the real database of the run with a `ManualClock`. The
//! reasons are checked at `verify_client_assertion`; the token endpoint
//! answers every one of them alike (`invalid_client`, no oracle).

use latchkey_core::{SigningAlg, TokenErrorCode};
use latchkey_crypto::jws;
use latchkey_crypto::keys::{SigningKey, generate_pkcs8};
use serde_json::{Value, json};

use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::test_world::{START, World, world};
use crate::tokens::TokenRequest;
use crate::tokens::client_auth::PresentedAuth;

struct Setup {
    w: World,
    id: String,
    key: SigningKey,
}

fn key(alg: SigningAlg) -> SigningKey {
    SigningKey::from_pkcs8(alg, &generate_pkcs8(alg).unwrap()).unwrap()
}

async fn setup() -> Setup {
    let w = world().await;
    let key = key(SigningAlg::Rs256);
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    let new: NewClient = serde_json::from_value(json!({
        "name": "Signed", "type": "m2m", "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks,
    }))
    .unwrap();
    let created = w.app.clients.create_client(&w.ctx, &Actor::system(), new).await.unwrap();
    assert!(created.client_secret.is_none(), "private_key_jwt clients get no secret");
    Setup { id: created.client.client_id, w, key }
}

impl Setup {
    /// Valid claims: issuer as `aud`, one minute, a fresh `jti`.
    fn claims(&self) -> Value {
        json!({
            "iss": self.id, "sub": self.id, "aud": self.w.ctx.issuer,
            "iat": START, "exp": START + 60, "jti": self.w.app.kernel.random_id(16),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        jws::sign(&self.key, "JWT", claims.to_string().as_bytes()).unwrap()
    }

    /// The reason `claims`, signed by the client's key, is refused (`None`: accepted).
    async fn refusal(&self, claims: &Value) -> Option<String> {
        self.refusal_of(&self.sign(claims)).await
    }

    async fn refusal_of(&self, assertion: &str) -> Option<String> {
        let cached = self
            .w
            .app
            .kernel
            .client_for_auth(&self.w.ctx.id, &latchkey_core::ClientId::parse(&self.id).unwrap())
            .await
            .unwrap()
            .unwrap();
        self.w
            .app
            .tokens
            .verify_client_assertion(&self.w.ctx, &cached.client, assertion, START)
            .await
            .err()
            .map(|e| e.description().to_owned())
    }

    fn with(&self, k: &str, v: Value) -> Value {
        let mut c = self.claims();
        c[k] = v;
        c
    }

    fn without(&self, k: &str) -> Value {
        let mut c = self.claims();
        c.as_object_mut().unwrap().remove(k);
        c
    }
}

fn unsigned(header: &Value, claims: &Value, sig: &[u8]) -> String {
    use base64::Engine;
    let b = |x: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(x);
    format!("{}.{}.{}", b(header.to_string().as_bytes()), b(claims.to_string().as_bytes()), b(sig))
}

#[tokio::test]
async fn checklist_42_a_valid_assertion_gets_a_token_and_a_replay_does_not() {
    let s = setup().await;
    let assertion = s.sign(&s.claims());
    let auth = PresentedAuth::Assertion { client_id: s.id.clone(), assertion };
    let req = TokenRequest { grant_type: Some("client_credentials".into()), ..TokenRequest::default() };
    let t = s.w.app.tokens.token(&s.w.ctx, &auth, &req, None).await.unwrap();
    assert!(s.w.app.tokens.read_access_token(&s.w.ctx, &t.access_token).await.unwrap().is_some());
    // The same assertion again: refused, with the answer every failure gets.
    let err = s.w.app.tokens.token(&s.w.ctx, &auth, &req, None).await.unwrap_err();
    assert_eq!(err.code, TokenErrorCode::InvalidClient);
    assert_eq!(err.description(), "client authentication failed");
    // A secret-based method is not this client's method.
    let basic = PresentedAuth::Basic { client_id: s.id.clone(), secret: "anything".into() };
    assert_eq!(
        s.w.app.tokens.token(&s.w.ctx, &basic, &req, None).await.unwrap_err().code,
        TokenErrorCode::InvalidClient
    );
}

#[tokio::test]
async fn checklist_42_audience_is_the_issuer_or_the_token_endpoint_as_one_string() {
    let s = setup().await;
    let iss = s.w.ctx.issuer.clone();
    assert_eq!(s.refusal(&s.claims()).await, None, "the issuer identifier");
    assert_eq!(s.refusal(&s.with("aud", json!(format!("{iss}/oauth2/token")))).await, None, "the token endpoint");
    for bad in [
        json!("https://other.example"),
        json!(format!("{iss}/oauth2/introspect")),
        json!([iss.clone()]),
        json!([iss.clone(), "https://other.example"]),
    ] {
        let why = s.refusal(&s.with("aud", bad.clone())).await.unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(why.contains("aud"), "{bad}: {why}");
    }
    assert!(s.refusal(&s.without("aud")).await.unwrap().contains("aud"));
}

#[tokio::test]
async fn checklist_42_iss_and_sub_must_be_the_client() {
    let s = setup().await;
    for c in
        [s.with("iss", json!("someone-else")), s.with("sub", json!("someone-else")), s.without("sub"), s.without("iss")]
    {
        assert!(s.refusal(&c).await.unwrap().contains("iss and sub"), "{c}");
    }
}

#[tokio::test]
async fn checklist_42_exp_is_required_and_not_past() {
    let s = setup().await;
    assert!(s.refusal(&s.without("exp")).await.unwrap().contains("exp is required"));
    assert!(s.refusal(&s.with("exp", json!(START - 300))).await.unwrap().contains("expired"), "5 minutes past");
    assert!(s.refusal(&s.with("exp", json!(START))).await.unwrap().contains("expired"));
    assert!(s.refusal(&s.with("exp", json!(START + 7200))).await.unwrap().contains("an hour"));
}

#[tokio::test]
async fn checklist_42_nbf_and_iat_may_be_a_little_ahead() {
    let s = setup().await;
    assert_eq!(s.refusal(&s.with("nbf", json!(START + 8))).await, None, "+8 s is accepted");
    assert_eq!(s.refusal(&s.with("iat", json!(START + 8))).await, None);
    assert!(s.refusal(&s.with("nbf", json!(START + 61))).await.unwrap().contains("future"), "+61 s is not");
    assert!(s.refusal(&s.with("iat", json!(START + 61))).await.unwrap().contains("future"));
}

#[tokio::test]
async fn checklist_42_jti_is_required_and_single_use() {
    let s = setup().await;
    assert!(s.refusal(&s.without("jti")).await.unwrap().contains("jti"));
    let once = s.claims();
    assert_eq!(s.refusal(&once).await, None);
    assert!(s.refusal(&once).await.unwrap().contains("used already"), "a replay");
    // A fresh signature over the same jti is the same assertion.
    assert!(s.refusal(&once).await.unwrap().contains("used already"));
}

#[tokio::test]
async fn checklist_42_only_the_registered_key_and_its_algorithm_verify() {
    let s = setup().await;
    let claims = s.claims();
    let kid = s.key.kid().to_owned();
    // alg none, with and without a signature.
    for sig in [&b""[..], b"x"] {
        let t = unsigned(&json!({"alg": "none", "kid": kid}), &claims, sig);
        assert!(s.refusal_of(&t).await.unwrap().contains("signature"));
    }
    // HMAC keyed with the public key (algorithm confusion).
    let public = s.key.public_jwk().to_string();
    let header = json!({"alg": "HS256", "kid": kid});
    let input = unsigned(&header, &claims, b"");
    let signing_input = input.trim_end_matches('.');
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&public.as_bytes()[..32]);
    let mac = latchkey_crypto::secret::SecretHasher::new(&secret).mac(signing_input.as_bytes());
    let t = unsigned(&header, &claims, &mac);
    assert!(s.refusal_of(&t).await.unwrap().contains("signature"));
    // Another algorithm named for the RSA key.
    let other = key(SigningAlg::Es256);
    let es = jws::sign(&other, "JWT", claims.to_string().as_bytes()).unwrap();
    let relabelled = format!(
        "{}.{}",
        unsigned(&json!({"alg": "ES256", "kid": kid}), &claims, b"").rsplit_once('.').unwrap().0,
        es.rsplit_once('.').unwrap().1
    );
    assert!(s.refusal_of(&relabelled).await.unwrap().contains("signature"));
    // A key the client did not register.
    assert!(s.refusal_of(&es).await.unwrap().contains("signature"));
    // A tampered payload.
    let good = s.sign(&claims);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = unsigned(&json!({}), &s.with("sub", json!("x")), b"").split('.').nth(1).unwrap().to_owned();
    assert!(s.refusal_of(&parts.join(".")).await.unwrap().contains("signature"));
    // The untouched assertion still passes (nothing above spent its jti).
    assert_eq!(s.refusal_of(&good).await, None);
}

#[tokio::test]
async fn checklist_42_a_typ_of_another_kind_of_token_is_refused() {
    let s = setup().await;
    let at = jws::sign(&s.key, "at+jwt", s.claims().to_string().as_bytes()).unwrap();
    assert!(s.refusal_of(&at).await.unwrap().contains("typ"));
    let explicit = jws::sign(&s.key, "client-authentication+jwt", s.claims().to_string().as_bytes()).unwrap();
    assert_eq!(s.refusal_of(&explicit).await, None, "rfc7523bis explicit typing");
}

#[tokio::test]
async fn private_key_jwt_needs_usable_keys() {
    let w = world().await;
    for (extra, field) in [
        (json!({}), "jwks"),
        (json!({"jwks": "{\"keys\": []}"}), "jwks"),
        (json!({"jwks": "{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}"}), "jwks"),
        (json!({"jwks": "{\"keys\": []}", "jwks_uri": "https://keys.example/jwks"}), "jwks_uri"),
        (json!({"jwks_uri": "ftp://keys.example/jwks"}), "jwks_uri"),
    ] {
        let mut body = json!({"name": "k", "type": "m2m", "token_endpoint_auth_method": "private_key_jwt"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let new: NewClient = serde_json::from_value(body).unwrap();
        match w.app.clients.create_client(&w.ctx, &Actor::system(), new).await {
            Err(crate::AppError::Validation(e)) => assert!(e.iter().any(|f| f.field == field), "{extra}: {e:?}"),
            other => panic!("{extra}: {other:?}"),
        }
    }
}

/// The client's `jwks_uri`, served by the outbound HTTP client's stand-in:
/// fetched once, reused, fetched again for a new `kid` (after the minimum
/// interval), and a key rotation at the client is followed.
#[derive(Debug, Default)]
struct KeyServer {
    jwks: std::sync::Mutex<String>,
    fetches: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl crate::remote::http::UpstreamHttp for KeyServer {
    async fn send(
        &self,
        req: crate::remote::http::UpstreamRequest,
    ) -> Result<crate::remote::http::UpstreamResponse, crate::remote::http::UpstreamError> {
        assert_eq!(req.url, "https://keys.example/jwks");
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body = self.jwks.lock().unwrap().clone().into_bytes();
        Ok(crate::remote::http::UpstreamResponse { status: 200, body })
    }
}

#[tokio::test]
async fn a_jwks_uri_is_cached_and_refetched_for_a_new_key() {
    use std::sync::atomic::Ordering::SeqCst;
    let w = world().await;
    let (first, second) = (key(SigningAlg::Es256), key(SigningAlg::Es256));
    let server = std::sync::Arc::new(KeyServer::default());
    *server.jwks.lock().unwrap() = json!({ "keys": [first.public_jwk()] }).to_string();
    w.app.kernel.set_upstream_http(server.clone());
    let new: NewClient = serde_json::from_value(json!({
        "name": "Remote keys", "type": "m2m", "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://keys.example/jwks",
    }))
    .unwrap();
    let id = w.app.clients.create_client(&w.ctx, &Actor::system(), new).await.unwrap().client.client_id;
    let req = TokenRequest { grant_type: Some("client_credentials".into()), ..TokenRequest::default() };
    let now = std::cell::Cell::new(START);
    let assertion = |k: &SigningKey| {
        let c = json!({"iss": id, "sub": id, "aud": w.ctx.issuer, "exp": now.get() + 60, "jti": w.app.kernel.random_id(16)});
        PresentedAuth::Assertion {
            client_id: id.clone(),
            assertion: jws::sign(k, "JWT", c.to_string().as_bytes()).unwrap(),
        }
    };
    for _ in 0..3 {
        w.app.tokens.token(&w.ctx, &assertion(&first), &req, None).await.unwrap();
    }
    assert_eq!(server.fetches.load(SeqCst), 1, "fetched once, then cached");
    // The client rotates its key: an unknown kid is looked up again, but
    // not more often than every 30 s.
    *server.jwks.lock().unwrap() = json!({ "keys": [second.public_jwk()] }).to_string();
    w.clock.advance(10);
    now.set(START + 10);
    assert!(w.app.tokens.token(&w.ctx, &assertion(&second), &req, None).await.is_err(), "within 30 s: no refetch");
    assert_eq!(server.fetches.load(SeqCst), 1);
    w.clock.advance(25);
    now.set(START + 35);
    w.app.tokens.token(&w.ctx, &assertion(&second), &req, None).await.unwrap();
    assert_eq!(server.fetches.load(SeqCst), 2);
    assert!(
        w.app.tokens.token(&w.ctx, &assertion(&first), &req, None).await.is_err(),
        "the retired key no longer signs"
    );
}

/// Inline keys are parsed once per revision of the client: replacing them
/// takes effect with the very next assertion.
#[tokio::test]
async fn replaced_inline_keys_count_at_once() {
    let mut s = setup().await;
    assert_eq!(s.refusal(&s.claims()).await, None);
    let old = std::mem::replace(&mut s.key, key(SigningAlg::EdDsa));
    let patch = json!({ "jwks": json!({ "keys": [s.key.public_jwk()] }).to_string() });
    s.w.app
        .clients
        .update_client(&s.w.ctx, &Actor::system(), &s.id, patch.as_object().unwrap(), None, false)
        .await
        .unwrap();
    assert_eq!(s.refusal(&s.claims()).await, None, "the new key verifies");
    let by_old = jws::sign(&old, "JWT", s.claims().to_string().as_bytes()).unwrap();
    assert!(s.refusal_of(&by_old).await.unwrap().contains("signature"), "the replaced key no longer does");
}
