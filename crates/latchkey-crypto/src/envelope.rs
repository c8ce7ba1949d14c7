//! The master key and envelope encryption of data at rest.
//!
//! The master key (32 bytes, from `master.key` or `LATCHKEY_MASTER_KEY`)
//! never encrypts data directly: HKDF-SHA-256 derives one subkey per purpose,
//! so the secret-hashing key and the key-encryption key are independent.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("the master key must be 32 bytes, base64 or hex encoded")]
    BadMasterKey,
    #[error("encryption failed")]
    Seal,
    #[error("the data could not be decrypted with this master key")]
    Open,
}

/// The 32-byte root secret of an installation.
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(****)")
    }
}

struct Len32;
impl KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl MasterKey {
    #[must_use]
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// Parses the text form: 64 hex digits or 43/44 base64 characters.
    ///
    /// # Errors
    /// When the text is neither.
    pub fn parse(text: &str) -> Result<Self, EnvelopeError> {
        use base64::Engine;
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap_or(0)).collect::<Vec<u8>>()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t))
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
                .map_err(|_| EnvelopeError::BadMasterKey)?
        };
        let arr: [u8; 32] = bytes.try_into().map_err(|_| EnvelopeError::BadMasterKey)?;
        Ok(Self(arr))
    }

    /// The text form written to `master.key`.
    #[must_use]
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Derives the 32-byte subkey for `purpose` (HKDF-SHA-256).
    #[must_use]
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let salt = Salt::new(HKDF_SHA256, b"latchkey/v1");
        let prk = salt.extract(&self.0);
        let info = [purpose.as_bytes()];
        let mut out = [0u8; 32];
        if let Ok(okm) = prk.expand(&info, Len32) {
            // `fill` only fails for a length mismatch, which Len32 rules out.
            let _ = okm.fill(&mut out);
        }
        out
    }

    /// The envelope for data at rest (signing keys, `client_secret_jwt` secrets).
    ///
    /// # Errors
    /// Never in practice; the AEAD key has the right length by construction.
    pub fn envelope(&self) -> Result<Envelope, EnvelopeError> {
        self.envelope_for("envelope")
    }

    /// An envelope under the subkey of another purpose (e.g. opaque tokens),
    /// so data of one purpose can never be opened as another's.
    ///
    /// # Errors
    /// Never in practice; the AEAD key has the right length by construction.
    pub fn envelope_for(&self, purpose: &str) -> Result<Envelope, EnvelopeError> {
        let key = RandomizedNonceKey::new(&AES_256_GCM, &self.derive(purpose)).map_err(|_| EnvelopeError::Seal)?;
        Ok(Envelope { key })
    }
}

/// AES-256-GCM with random nonces: `nonce (12) || ciphertext || tag (16)`.
/// The associated data binds a ciphertext to its place (e.g. tenant and key id).
pub struct Envelope {
    key: RandomizedNonceKey,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Envelope(****)")
    }
}

impl Envelope {
    /// # Errors
    /// When the AEAD fails (not expected).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let mut buf = plaintext.to_vec();
        let nonce = self.key.seal_in_place_append_tag(Aad::from(aad), &mut buf).map_err(|_| EnvelopeError::Seal)?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// # Errors
    /// When the data was sealed under another key or with other associated
    /// data, or was altered.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if sealed.len() < NONCE_LEN {
            return Err(EnvelopeError::Open);
        }
        let (n, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| EnvelopeError::Open)?;
        let mut buf = ct.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| EnvelopeError::Open)?;
        Ok(plain.to_vec())
    }
}
