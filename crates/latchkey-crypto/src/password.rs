//! argon2id for user passwords (PHC strings carry their own parameters).
//! About 15 ms per hash at the OWASP minimum: callers run it off the async
//! workers and never inside a database transaction.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

/// Cost parameters. `Default` is the OWASP minimum for argon2id
/// (m = 19 MiB, t = 2, p = 1).
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2 }
    }
}

fn hasher(cost: PasswordCost) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None).map_err(|_| PasswordError)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with a salt made from 16 caller-supplied random bytes.
///
/// # Errors
/// When the parameters are invalid.
pub fn hash(password: &str, salt16: &[u8; 16], cost: PasswordCost) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt16).map_err(|_| PasswordError)?;
    let h = hasher(cost)?.hash_password(password.as_bytes(), &salt).map_err(|_| PasswordError)?;
    Ok(h.to_string())
}

/// Checks `password` against a PHC string (constant-time inside argon2).
#[must_use]
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}
