//! Client secrets and opaque token handles.
//!
//! A generated secret is `lks_` + 43 base62 characters (256 random bits) +
//! 6 base62 characters of CRC-32 checksum, so secret scanners can recognise a
//! leaked one and a typo is caught before any database lookup. At rest only
//! an HMAC-SHA-256 under a server key is kept (ADR 0003); comparison is
//! constant-time.

use std::fmt;

use aws_lc_rs::{digest, hmac};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const SECRET_PREFIX: &str = "lks_";
const BODY_LEN: usize = 43;
const CHECK_LEN: usize = 6;
/// How many random bytes [`random_base62`] needs for a 43-character body.
pub const RANDOM_BYTES: usize = 64;
/// Imported secrets must be at least this long.
pub const MIN_IMPORTED_LEN: usize = 32;

/// A plaintext client secret. No `PartialEq` (compare only through
/// [`SecretHasher::verify`]) and a redacted `Debug`, so it cannot be compared
/// in variable time or printed by accident.
#[derive(Clone)]
pub struct ClientSecret(String);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(****)")
    }
}

impl ClientSecret {
    /// Wraps a secret given by an administrator or a client.
    #[must_use]
    pub fn from_plaintext(s: String) -> Self {
        Self(s)
    }

    /// The plaintext, for the one response that shows it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters: a non-secret hint that tells secrets apart.
    #[must_use]
    pub fn hint(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

/// Maps random bytes to `len` base62 characters by rejection sampling
/// (bytes >= 248 are skipped so every character is uniform). Returns `None`
/// in the astronomically unlikely case the bytes run out.
#[must_use]
pub fn random_base62(random: &[u8], len: usize) -> Option<String> {
    let out: String =
        random.iter().filter(|&&b| b < 248).take(len).map(|&b| char::from(ALPHABET[usize::from(b % 62)])).collect();
    (out.len() == len).then_some(out)
}

fn base62_u32(mut v: u32, len: usize) -> String {
    let mut out = vec![b'0'; len];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(v % 62) as usize];
        v /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// CRC-32 (IEEE 802.3), bitwise: a checksum, not a security measure.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Builds a prefixed, checksummed handle (`lks_…`, `lkat_…`) from random bytes.
#[must_use]
pub fn new_handle(prefix: &str, random: &[u8; RANDOM_BYTES]) -> Option<String> {
    let body = random_base62(random, BODY_LEN)?;
    let check = base62_u32(crc32(body.as_bytes()), CHECK_LEN);
    Some(format!("{prefix}{body}{check}"))
}

/// Whether `s` has exactly the shape of a generated handle (prefix, 43 + 6
/// alphanumerics) but a checksum that does not match: a typo or a forgery
/// that can be refused before any lookup. Other shapes (imported secrets)
/// return `false`.
#[must_use]
pub fn looks_generated_but_corrupt(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == BODY_LEN + CHECK_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
        && !handle_checksum_ok(prefix, s)
}

/// Whether `s` has the shape of a handle with this prefix and a correct checksum.
#[must_use]
pub fn handle_checksum_ok(prefix: &str, s: &str) -> bool {
    let Some(rest) = s.strip_prefix(prefix) else { return false };
    if rest.len() != BODY_LEN + CHECK_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (body, check) = rest.split_at(BODY_LEN);
    base62_u32(crc32(body.as_bytes()), CHECK_LEN) == check
}

/// Generates a client secret from 64 random bytes.
#[must_use]
pub fn generate_client_secret(random: &[u8; RANDOM_BYTES]) -> Option<ClientSecret> {
    new_handle(SECRET_PREFIX, random).map(ClientSecret)
}

/// Keyed hashing of client secrets (HMAC-SHA-256 with a server key derived
/// from the master key). 0.2 µs per check: no slow hash is needed for 256-bit
/// random secrets, and a stolen database is useless without the key.
pub struct SecretHasher {
    key: hmac::Key,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher(****)")
    }
}

impl SecretHasher {
    #[must_use]
    pub fn new(key_bytes: &[u8; 32]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, key_bytes) }
    }

    #[must_use]
    pub fn hash(&self, secret: &ClientSecret) -> Vec<u8> {
        hmac::sign(&self.key, secret.0.as_bytes()).as_ref().to_vec()
    }

    /// The keyed MAC of arbitrary data (CSRF tokens and the like).
    #[must_use]
    pub fn mac(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, data).as_ref().to_vec()
    }

    /// Constant-time check of a MAC made by [`SecretHasher::mac`].
    #[must_use]
    pub fn verify_mac(&self, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.key, data, tag).is_ok()
    }

    /// Constant-time check of a presented secret against a stored hash.
    #[must_use]
    pub fn verify(&self, presented: &str, stored: &[u8]) -> bool {
        hmac::verify(&self.key, presented.as_bytes(), stored).is_ok()
    }
}

/// SHA-256 of an opaque token handle: what the store keeps and looks up by.
/// Handles carry 256 random bits, so an unkeyed hash suffices.
#[must_use]
pub fn token_hash(handle: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, handle.as_bytes()).as_ref().to_vec()
}

#[cfg(test)]
mod tests;
