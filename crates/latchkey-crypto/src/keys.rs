//! Signing keys. A key is parsed from PKCS#8 once, when it is loaded, and
//! signs from then on without re-parsing (CRATES.md: re-parsing an RSA key per
//! token costs more than signing with it).

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use latchkey_core::SigningAlg;
use serde_json::{Value, json};

use crate::b64;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key could not be generated")]
    Generate,
    #[error("the stored key is not a valid PKCS#8 {0} key")]
    Parse(&'static str),
    #[error("signing failed")]
    Sign,
}

enum Pair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// A private signing key with its key id (RFC 7638 thumbprint).
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    pair: Pair,
    rng: SystemRandom,
    jwk: Value,
    public: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

/// Generates a new private key and returns its PKCS#8 DER document.
/// RSA-2048 takes tens of milliseconds: call it off the async workers.
///
/// # Errors
/// When the crypto library cannot generate the key.
pub fn generate_pkcs8(alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
    let rng = SystemRandom::new();
    match alg {
        SigningAlg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| KeyError::Generate),
        SigningAlg::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
            pair.as_der().map(|d| d.as_ref().to_vec()).map_err(|_| KeyError::Generate)
        }
        SigningAlg::EdDsa => {
            Ed25519KeyPair::generate_pkcs8v1(&rng).map(|d| d.as_ref().to_vec()).map_err(|_| KeyError::Generate)
        }
    }
}

impl SigningKey {
    /// Parses a PKCS#8 private key once.
    ///
    /// # Errors
    /// When the document is not a key of the given algorithm.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, KeyError> {
        let (pair, jwk, public) = match alg {
            SigningAlg::Es256 => {
                let p = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| KeyError::Parse("P-256"))?;
                // Uncompressed point: 0x04 || x (32) || y (32).
                let pt = p.public_key().as_ref();
                if pt.len() != 65 {
                    return Err(KeyError::Parse("P-256"));
                }
                let jwk =
                    json!({"kty": "EC", "crv": "P-256", "x": b64::encode(&pt[1..33]), "y": b64::encode(&pt[33..65])});
                let public = pt.to_vec();
                (Pair::Es256(p), jwk, public)
            }
            SigningAlg::Rs256 => {
                let p = RsaKeyPair::from_pkcs8(der).map_err(|_| KeyError::Parse("RSA"))?;
                let public = p.public_key();
                let n = public.modulus().big_endian_without_leading_zero().to_vec();
                let e = public.exponent().big_endian_without_leading_zero().to_vec();
                let jwk = json!({"kty": "RSA", "n": b64::encode(n), "e": b64::encode(e)});
                let public = p.public_key().as_ref().to_vec();
                (Pair::Rs256(p), jwk, public)
            }
            SigningAlg::EdDsa => {
                let p = Ed25519KeyPair::from_pkcs8(der).map_err(|_| KeyError::Parse("Ed25519"))?;
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(p.public_key().as_ref())});
                let public = p.public_key().as_ref().to_vec();
                (Pair::EdDsa(p), jwk, public)
            }
        };
        let kid = thumbprint(&jwk);
        let mut jwk = jwk;
        if let Value::Object(m) = &mut jwk {
            m.insert("kid".into(), Value::String(kid.clone()));
            m.insert("alg".into(), Value::String(alg.as_str().into()));
            m.insert("use".into(), Value::String("sig".into()));
        }
        Ok(Self { kid, alg, pair, rng: SystemRandom::new(), jwk, public })
    }

    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    #[must_use]
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The public JWK (RFC 7517) with `kid`, `alg` and `use`; never a private member.
    #[must_use]
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// The public key in the form signature verification takes (SEC1 point,
    /// PKCS#1 `RSAPublicKey`, or the raw Ed25519 key).
    #[must_use]
    pub fn public_key_bytes(&self) -> &[u8] {
        &self.public
    }

    /// Signs `input` and returns the raw JWS signature bytes.
    ///
    /// # Errors
    /// When the crypto library fails (not expected for a parsed key).
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Es256(p) => p.sign(&self.rng, input).map(|s| s.as_ref().to_vec()).map_err(|_| KeyError::Sign),
            Pair::Rs256(p) => {
                let mut sig = vec![0; p.public_modulus_len()];
                p.sign(&signature::RSA_PKCS1_SHA256, &self.rng, input, &mut sig).map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
            Pair::EdDsa(p) => Ok(p.sign(input).as_ref().to_vec()),
        }
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url): the required members in
/// lexicographic order, no whitespace.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str() {
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().unwrap_or_default(),
            jwk["x"].as_str().unwrap_or_default(),
            jwk["y"].as_str().unwrap_or_default()
        ),
        Some("RSA") => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap_or_default(),
            jwk["n"].as_str().unwrap_or_default()
        ),
        _ => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            jwk["crv"].as_str().unwrap_or_default(),
            jwk["x"].as_str().unwrap_or_default()
        ),
    };
    b64::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()))
}

#[cfg(test)]
mod tests;
