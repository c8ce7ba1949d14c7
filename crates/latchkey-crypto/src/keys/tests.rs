use super::*;
use crate::jws;

fn key(alg: SigningAlg) -> SigningKey {
    SigningKey::from_pkcs8(alg, &generate_pkcs8(alg).unwrap()).unwrap()
}

/// Our JWS must verify with an independent JOSE implementation (jsonwebtoken)
/// using only the published JWK.
#[test]
fn signatures_verify_with_jsonwebtoken_from_the_public_jwk() {
    for (alg, jwt_alg) in [
        (SigningAlg::Es256, jsonwebtoken::Algorithm::ES256),
        (SigningAlg::Rs256, jsonwebtoken::Algorithm::RS256),
        (SigningAlg::EdDsa, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let k = key(alg);
        let token = jws::sign(&k, "at+jwt", br#"{"sub":"x","exp":4102444800,"aud":"a"}"#).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.public_jwk().clone()).unwrap();
        let dk = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(jwt_alg);
        v.set_audience(&["a"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &dk, &v).unwrap();
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid.as_deref(), Some(k.kid()));
        assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
    }
}

#[test]
fn public_jwk_has_no_private_members() {
    for alg in [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa] {
        let jwk = key(alg).public_jwk().clone();
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(jwk.get(private).is_none(), "{alg:?} leaks {private}");
        }
    }
}

#[test]
fn kid_is_the_rfc7638_thumbprint_and_stable_across_loads() {
    let der = generate_pkcs8(SigningAlg::Es256).unwrap();
    let a = SigningKey::from_pkcs8(SigningAlg::Es256, &der).unwrap();
    let b = SigningKey::from_pkcs8(SigningAlg::Es256, &der).unwrap();
    assert_eq!(a.kid(), b.kid());
    assert_eq!(a.kid().len(), 43);
    assert_ne!(a.kid(), key(SigningAlg::Es256).kid());
}

#[test]
fn verifier_accepts_own_tokens_and_rejects_tampering_and_alg_swaps() {
    let k = key(SigningAlg::Es256);
    let mut v = jws::Verifier::default();
    v.add(&k);
    let t = jws::sign(&k, "at+jwt", b"{\"a\":1}").unwrap();
    let (typ, payload) = v.verify(&t).unwrap();
    assert_eq!(typ.as_deref(), Some("at+jwt"));
    assert_eq!(payload, b"{\"a\":1}");

    // Payload swapped: signature no longer matches.
    let parts: Vec<&str> = t.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], crate::b64::encode(b"{\"a\":2}"), parts[2]);
    assert_eq!(v.verify(&forged), Err(jws::JwsError::BadSignature));

    // Header claiming another algorithm (or none) for the same kid.
    for alg in ["none", "HS256", "RS256"] {
        let h = crate::b64::encode(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, k.kid()));
        let forged = format!("{h}.{}.{}", parts[1], parts[2]);
        assert_eq!(v.verify(&forged), Err(jws::JwsError::AlgMismatch), "{alg}");
    }
    assert_eq!(v.verify("a.b"), Err(jws::JwsError::Malformed));
    assert_eq!(v.verify(&jws::sign(&key(SigningAlg::Es256), "x", b"{}").unwrap()), Err(jws::JwsError::UnknownKey));
}

/// Another server's JWKS verifies its tokens: every key type, by `kid`;
/// a token of an unknown key, a tampered payload or a header naming another
/// algorithm than the key's fail.
#[test]
fn jwks_verifier_checks_tokens_of_each_key_type() {
    let keys: Vec<SigningKey> = [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa].map(key).into();
    let jwks = serde_json::json!({ "keys": keys.iter().map(|k| k.public_jwk().clone()).collect::<Vec<_>>() });
    let v = jws::Verifier::from_jwks(&jwks);
    for k in &keys {
        let token = jws::sign(k, "JWT", br#"{"sub":"x"}"#).unwrap();
        let (_, payload) = v.verify(&token).unwrap();
        assert_eq!(payload, br#"{"sub":"x"}"#);
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = crate::b64::encode(br#"{"sub":"y"}"#);
        parts[1] = &forged;
        assert_eq!(v.verify(&parts.join(".")), Err(jws::JwsError::BadSignature), "{:?}", k.alg());
    }
    let stranger = jws::sign(&key(SigningAlg::Es256), "JWT", b"{}").unwrap();
    assert_eq!(v.verify(&stranger), Err(jws::JwsError::UnknownKey));
    // Encryption keys and keys whose alg contradicts their type are skipped.
    let mut enc = keys[0].public_jwk().clone();
    enc["use"] = "enc".into();
    let mut wrong = keys[1].public_jwk().clone();
    wrong["alg"] = "HS256".into();
    let v = jws::Verifier::from_jwks(&serde_json::json!({ "keys": [enc, wrong] }));
    assert!(!v.knows(keys[0].kid()) && !v.knows(keys[1].kid()));
}

/// RFC 7515 §4.1.11: a JWS whose `crit` names an extension the verifier does
/// not understand must be rejected, even with a valid signature. We
/// understand none, so any `crit` (even an empty or malformed one) fails, for
/// our own keys and for a JWK Set's keys alike (every JWS we verify goes
/// through `jws::Verifier`).
#[test]
fn jws_with_unknown_crit_is_rejected() {
    fn signed_with_header(k: &SigningKey, header: &serde_json::Value) -> String {
        let input = format!("{}.{}", crate::b64::encode(header.to_string()), crate::b64::encode(br#"{"sub":"x"}"#));
        let sig = k.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", crate::b64::encode(sig))
    }
    for alg in [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa] {
        let k = key(alg);
        let mut own = jws::Verifier::default();
        own.add(&k);
        let set = jws::Verifier::from_jwks(&serde_json::json!({ "keys": [k.public_jwk().clone()] }));
        let base = serde_json::json!({ "alg": alg.as_str(), "kid": k.kid(), "typ": "JWT" });
        // The same header without `crit` verifies: the signing here is right.
        let plain = signed_with_header(&k, &base);
        assert!(own.verify(&plain).is_ok() && set.verify(&plain).is_ok(), "{alg:?}");
        for crit in [
            serde_json::json!(["exp"]),
            serde_json::json!(["b64"]),
            serde_json::json!([]),
            serde_json::json!("exp"),
            serde_json::json!(null),
        ] {
            let mut h = base.clone();
            h["crit"] = crit.clone();
            h["exp"] = 1.into();
            h["b64"] = true.into();
            let token = signed_with_header(&k, &h);
            assert_eq!(own.verify(&token), Err(jws::JwsError::UnsupportedCrit), "{alg:?} crit {crit}");
            assert_eq!(set.verify(&token), Err(jws::JwsError::UnsupportedCrit), "{alg:?} crit {crit}");
        }
    }
}
