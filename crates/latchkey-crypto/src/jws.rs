//! Compact JWS (RFC 7515) signing and verification.
//!
//! Signing: `base64url(header) . base64url(payload) . base64url(signature)`
//! with a pre-parsed [`SigningKey`]. Verification accepts only the algorithm
//! the key was registered with (the header's `alg` must equal it), so there
//! is no `none`, no HMAC-with-public-key and no algorithm confusion.

use std::collections::HashMap;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use latchkey_core::SigningAlg;
use serde::Deserialize;
use serde_json::Value;

use crate::b64;
use crate::keys::{KeyError, SigningKey};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("unknown key id")]
    UnknownKey,
    #[error("algorithm does not match the key")]
    AlgMismatch,
    #[error("bad signature")]
    BadSignature,
    /// RFC 7515 §4.1.11: the header has `crit`, and we understand no
    /// critical extension.
    #[error("unsupported critical header")]
    UnsupportedCrit,
}

/// Signs `payload` (JSON bytes) as a compact JWS with `typ`.
///
/// # Errors
/// When signing fails.
pub fn sign(key: &SigningKey, typ: &str, payload: &[u8]) -> Result<String, KeyError> {
    let header = format!(r#"{{"alg":"{}","typ":"{}","kid":"{}"}}"#, key.alg().as_str(), typ, key.kid());
    let mut out = String::with_capacity(payload.len() * 4 / 3 + 200);
    out.push_str(&b64::encode(header));
    out.push('.');
    out.push_str(&b64::encode(payload));
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64::encode(sig));
    Ok(out)
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// Any value at all (even `null`): we understand no extension, so a
    /// header that has the member is refused.
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` when the member is present, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

struct PublicKey {
    alg: SigningAlg,
    der: Material,
}

/// A public key as aws-lc-rs verifies it: encoded (EC point, Ed25519, our
/// own keys' DER) or RSA by its components (from a JWK's `n` and `e`).
enum Material {
    Encoded(UnparsedPublicKey<Vec<u8>>),
    Rsa(signature::RsaPublicKeyComponents<Vec<u8>>),
}

impl Material {
    fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), ()> {
        match self {
            Self::Encoded(k) => k.verify(msg, sig).map_err(|_| ()),
            Self::Rsa(k) => k.verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig).map_err(|_| ()),
        }
    }
}

/// Verifies JWS signed by this server's keys, by `kid`.
#[derive(Default)]
pub struct Verifier {
    keys: HashMap<String, PublicKey>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("kids", &self.keys.keys().collect::<Vec<_>>()).finish()
    }
}

fn verification_alg(alg: SigningAlg) -> &'static dyn VerificationAlgorithm {
    match alg {
        SigningAlg::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
        SigningAlg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        SigningAlg::EdDsa => &signature::ED25519,
    }
}

impl Verifier {
    /// Adds the public half of `key`.
    pub fn add(&mut self, key: &SigningKey) {
        let der = UnparsedPublicKey::new(verification_alg(key.alg()), key.public_key_bytes().to_vec());
        self.keys.insert(key.kid().to_owned(), PublicKey { alg: key.alg(), der: Material::Encoded(der) });
    }

    /// A verifier for the signing keys of a JWK Set (another server's
    /// `jwks_uri`, a client's keys): RSA (RS256), EC P-256 (ES256) and OKP
    /// Ed25519 (EdDSA) keys not marked for encryption. Other keys are
    /// skipped. A key without `kid` verifies only JWS without `kid`, and
    /// only when it is the set's single key.
    #[must_use]
    pub fn from_jwks(jwks: &Value) -> Self {
        let mut v = Self::default();
        let keys = jwks.get("keys").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for k in keys {
            if let Some((kid, key)) = jwk_public_key(k) {
                v.keys.insert(kid, key);
            }
        }
        v
    }

    /// How many keys it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    #[must_use]
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Verifies a compact JWS and returns its `typ` and decoded payload.
    ///
    /// # Errors
    /// When the token is malformed, names an unknown key, claims another
    /// algorithm than the key's, or the signature does not verify.
    pub fn verify(&self, token: &str) -> Result<(Option<String>, Vec<u8>), JwsError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(JwsError::Malformed);
        };
        let header: Header =
            serde_json::from_slice(&b64::decode(h).ok_or(JwsError::Malformed)?).map_err(|_| JwsError::Malformed)?;
        // RFC 7515 §4.1.11: a recipient must reject a JWS whose `crit` names
        // an extension it does not understand; we understand none.
        if header.crit {
            return Err(JwsError::UnsupportedCrit);
        }
        // Without a `kid` only a set of exactly one key says which key it is.
        let key = match &header.kid {
            Some(kid) => self.keys.get(kid),
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
        .ok_or(JwsError::UnknownKey)?;
        if header.alg != key.alg.as_str() {
            return Err(JwsError::AlgMismatch);
        }
        let sig = b64::decode(s).ok_or(JwsError::Malformed)?;
        let signed_len = h.len() + 1 + p.len();
        key.der.verify(&token.as_bytes()[..signed_len], &sig).map_err(|()| JwsError::BadSignature)?;
        let payload = b64::decode(p).ok_or(JwsError::Malformed)?;
        Ok((header.typ, payload))
    }
}

fn jwk_public_key(k: &Value) -> Option<(String, PublicKey)> {
    let field = |n: &str| k.get(n).and_then(Value::as_str);
    let bytes = |n: &str| field(n).and_then(b64::decode);
    // A key without `kid` is usable only as the single key of its set.
    let kid = field("kid").unwrap_or_default().to_owned();
    if field("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let (alg, der) = match (field("kty")?, field("crv")) {
        ("RSA", _) => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            (SigningAlg::Rs256, Material::Rsa(signature::RsaPublicKeyComponents { n, e }))
        }
        ("EC", Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (SigningAlg::Es256, Material::Encoded(UnparsedPublicKey::new(verification_alg(SigningAlg::Es256), point)))
        }
        ("OKP", Some("Ed25519")) => {
            let x = bytes("x")?;
            (SigningAlg::EdDsa, Material::Encoded(UnparsedPublicKey::new(verification_alg(SigningAlg::EdDsa), x)))
        }
        _ => return None,
    };
    // A key that names its algorithm must name the one its type implies.
    if field("alg").is_some_and(|a| a != alg.as_str()) {
        return None;
    }
    Some((kid, PublicKey { alg, der }))
}

/// The `kid` in a JWS header, without verifying anything (to decide whether
/// a key reload is worth trying).
#[must_use]
pub fn peek_kid(token: &str) -> Option<String> {
    let h = token.split('.').next()?;
    let v: Value = serde_json::from_slice(&b64::decode(h)?).ok()?;
    v.get("kid")?.as_str().map(str::to_owned)
}

/// OIDC Core §3.1.3.6 / §3.3.2.11: base64url of the left half of the SHA-256
/// of `value` (`at_hash`, `c_hash` for the RS256/ES256 family).
#[must_use]
pub fn half_hash(value: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    b64::encode(&d.as_ref()[..16])
}

/// RFC 7636 §4.6, S256: `base64url(SHA-256(code_verifier))`.
#[must_use]
pub fn pkce_s256(verifier: &str) -> String {
    b64::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod hash_tests {
    /// RFC 7636 Appendix B.
    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        assert_eq!(
            super::pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn half_hash_is_16_bytes() {
        assert_eq!(super::half_hash("x").len(), 22);
    }
}
