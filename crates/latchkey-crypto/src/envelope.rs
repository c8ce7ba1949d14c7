//! The master key and envelope encryption of data at rest.
//!
//! The master key (32 bytes, from `master.key` or `LATCHKEY_MASTER_KEY`)
//! never encrypts data directly: HKDF-SHA-256 derives one subkey per purpose,
//! so the secret-hashing key and the key-encryption key are independent.
//!
//! A master key is a ring: the first key seals, every key opens. After
//! `latchkey master-key rotate` the ring holds the new key first and the
//! previous ones after it, so values sealed before the rotation (opaque
//! access tokens in clients' hands, sign-in transactions in flight) still
//! open until `latchkey master-key retire` drops the previous keys.

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

/// The 32-byte root secret of an installation, with the previous ones it
/// still opens with after a rotation (at most [`MasterKey::MAX_RING`] keys).
pub struct MasterKey(Vec<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(**** and {} previous)", self.0.len() - 1)
    }
}

struct Len32;
impl KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl MasterKey {
    /// The most keys a ring holds (the current one and its predecessors).
    pub const MAX_RING: usize = 8;

    #[must_use]
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(vec![b])
    }

    /// Parses the text form: one key per line (or separated by commas or
    /// spaces), each 64 hex digits or 43/44 base64 characters, the current
    /// key first; lines starting with `#` are comments.
    ///
    /// # Errors
    /// When a key is neither, there is none, or there are more than
    /// [`MasterKey::MAX_RING`].
    pub fn parse(text: &str) -> Result<Self, EnvelopeError> {
        let keys = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(|l| l.split([',', ' ', '\t']))
            .filter(|t| !t.trim().is_empty())
            .map(parse_one)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() || keys.len() > Self::MAX_RING {
            return Err(EnvelopeError::BadMasterKey);
        }
        Ok(Self(keys))
    }

    /// The text form of the current key alone.
    #[must_use]
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0[0])
    }

    /// The text form of the whole ring written to `master.key`: the current
    /// key first, one per line.
    #[must_use]
    pub fn to_text(&self) -> String {
        use base64::Engine;
        let mut out = String::new();
        for k in &self.0 {
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(k));
            out.push('\n');
        }
        out
    }

    /// How many previous keys the ring still holds.
    #[must_use]
    pub fn previous(&self) -> usize {
        self.0.len() - 1
    }

    /// The ring with `new` as its current key and this ring's keys after it.
    ///
    /// # Errors
    /// When the ring would hold more than [`MasterKey::MAX_RING`] keys (retire
    /// the previous ones first).
    pub fn rotated(&self, new: [u8; 32]) -> Result<Self, EnvelopeError> {
        if self.0.len() >= Self::MAX_RING {
            return Err(EnvelopeError::BadMasterKey);
        }
        let mut keys = vec![new];
        keys.extend_from_slice(&self.0);
        Ok(Self(keys))
    }

    /// The current key alone, without the previous ones.
    #[must_use]
    pub fn current_only(&self) -> Self {
        Self(vec![self.0[0]])
    }

    /// Derives the 32-byte subkey of the current key for `purpose`
    /// (HKDF-SHA-256).
    #[must_use]
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        derive(&self.0[0], purpose)
    }

    /// The envelope for data at rest (signing keys, `client_secret_jwt` secrets).
    ///
    /// # Errors
    /// Never in practice; the AEAD key has the right length by construction.
    pub fn envelope(&self) -> Result<Envelope, EnvelopeError> {
        self.envelope_for("envelope")
    }

    /// An envelope under the subkey of another purpose (e.g. opaque tokens),
    /// so data of one purpose can never be opened as another's. It seals
    /// with the current key and opens with any key of the ring.
    ///
    /// # Errors
    /// Never in practice; the AEAD key has the right length by construction.
    pub fn envelope_for(&self, purpose: &str) -> Result<Envelope, EnvelopeError> {
        let keys = self
            .0
            .iter()
            .map(|k| RandomizedNonceKey::new(&AES_256_GCM, &derive(k, purpose)).map_err(|_| EnvelopeError::Seal))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Envelope { keys })
    }
}

fn parse_one(text: &str) -> Result<[u8; 32], EnvelopeError> {
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
    bytes.try_into().map_err(|_| EnvelopeError::BadMasterKey)
}

fn derive(key: &[u8; 32], purpose: &str) -> [u8; 32] {
    let salt = Salt::new(HKDF_SHA256, b"latchkey/v1");
    let prk = salt.extract(key);
    let info = [purpose.as_bytes()];
    let mut out = [0u8; 32];
    if let Ok(okm) = prk.expand(&info, Len32) {
        // `fill` only fails for a length mismatch, which Len32 rules out.
        let _ = okm.fill(&mut out);
    }
    out
}

/// AES-256-GCM with random nonces: `nonce (12) || ciphertext || tag (16)`.
/// The associated data binds a ciphertext to its place (e.g. tenant and key id).
pub struct Envelope {
    /// The ring's keys for one purpose, the sealing one first.
    keys: Vec<RandomizedNonceKey>,
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
        let nonce = self.keys[0].seal_in_place_append_tag(Aad::from(aad), &mut buf).map_err(|_| EnvelopeError::Seal)?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens with the ring's keys in turn (the current one first).
    ///
    /// # Errors
    /// When the data was sealed under no key of the ring or with other
    /// associated data, or was altered.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.open_with_index(sealed, aad).map(|(plain, _)| plain)
    }

    /// Opens as [`Envelope::open`] does and says which key of the ring
    /// opened it (0: the current key).
    ///
    /// # Errors
    /// As [`Envelope::open`].
    pub fn open_with_index(&self, sealed: &[u8], aad: &[u8]) -> Result<(Vec<u8>, usize), EnvelopeError> {
        if sealed.len() < NONCE_LEN {
            return Err(EnvelopeError::Open);
        }
        let (n, ct) = sealed.split_at(NONCE_LEN);
        for (i, key) in self.keys.iter().enumerate() {
            let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| EnvelopeError::Open)?;
            let mut buf = ct.to_vec();
            if let Ok(plain) = key.open_in_place(nonce, Aad::from(aad), &mut buf) {
                return Ok((plain.to_vec(), i));
            }
        }
        Err(EnvelopeError::Open)
    }
}
