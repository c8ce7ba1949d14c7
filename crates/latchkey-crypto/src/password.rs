//! argon2id for user passwords (PHC strings carry their own parameters).
//! About 15 ms per hash at the OWASP minimum: callers run it off the async
//! workers, a bounded number at a time, and never inside a database
//! transaction.
//!
//! **Memory goes back to the system after each hash.** argon2 needs its
//! whole cost (19 MiB by default) at once. Left to allocate it itself, it
//! asks the allocator for exactly that, and glibc — whose mmap threshold
//! rises to the size of the largest mapping freed, up to 32 MiB — serves
//! the second and later 19 MiB blocks from per-thread arenas that it never
//! hands back: a burst of sign-ins left a server at 788 MiB. Here the block
//! memory is one allocation of at least [`MIN_ALLOCATION`] bytes, above
//! glibc's largest possible threshold, so it is always a fresh mapping,
//! unmapped when the hash ends (mallopt(3), `M_MMAP_THRESHOLD`). Only the
//! pages argon2 touches (its cost) become resident.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

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

/// The smallest allocation for argon2's blocks: above glibc's largest mmap
/// threshold on 64-bit systems (`4 * 1024 * 1024 * sizeof(long)` = 32 MiB),
/// so the blocks never come from (and stay in) a malloc arena.
pub const MIN_ALLOCATION: usize = 33 * 1024 * 1024;

/// Runs argon2 into `out` with block memory that is returned to the system
/// afterwards (see the module documentation).
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), PasswordError> {
    let count = argon.params().block_count();
    let mut blocks: Vec<Block> = Vec::with_capacity(count.max(MIN_ALLOCATION / Block::SIZE));
    blocks.resize(count, Block::new());
    argon.hash_password_into_with_memory(password, salt, out, &mut blocks).map_err(|_| PasswordError)
}

/// Hashes `password` with a salt made from 16 caller-supplied random bytes.
///
/// # Errors
/// When the parameters are invalid.
pub fn hash(password: &str, salt16: &[u8; 16], cost: PasswordCost) -> Result<String, PasswordError> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None).map_err(|_| PasswordError)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::encode_b64(salt16).map_err(|_| PasswordError)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, password.as_bytes(), salt16, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| PasswordError)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|_| PasswordError)?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a PHC string (argon2 with the string's own
/// algorithm, version and parameters; the result compared in constant time).
#[must_use]
pub fn verify(password: &str, phc: &str) -> bool {
    verify_phc(password, phc).unwrap_or(false)
}

fn verify_phc(password: &str, phc: &str) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let expected = parsed.hash?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let mut out = vec![0u8; expected.len()];
    compute(&Argon2::new(algorithm, version, params), password.as_bytes(), salt, &mut out).ok()?;
    Some(out.as_slice().ct_eq(expected.as_bytes()).into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    use super::*;

    const CHEAP: PasswordCost = PasswordCost { memory_kib: 1024, iterations: 1 };

    #[test]
    fn hashes_exactly_as_the_argon2_crate_does() {
        let salt = [7u8; 16];
        let ours = hash("correct horse battery", &salt, CHEAP).unwrap();
        let params = Params::new(CHEAP.memory_kib, CHEAP.iterations, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery", &SaltString::encode_b64(&salt).unwrap())
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs);
        assert!(ours.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    }

    #[test]
    fn verifies_its_own_and_foreign_hashes() {
        let phc = hash("correct horse battery", &[1u8; 16], CHEAP).unwrap();
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        // Written by another implementation (the argon2 crate's defaults: m=19456).
        let salt = SaltString::encode_b64(&[2u8; 16]).unwrap();
        let foreign = Argon2::default().hash_password(b"pw-from-elsewhere", &salt).unwrap().to_string();
        assert!(verify("pw-from-elsewhere", &foreign));
        assert!(!verify("pw-from-elsewher", &foreign));
        // argon2i and argon2d strings are checked with their own algorithm.
        let params = Params::new(1024, 1, 1, None).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params).hash_password(b"legacy", &salt).unwrap();
        assert!(verify("legacy", &argon2i.to_string()));
        assert!(!verify("Legacy", &argon2i.to_string()));
    }

    #[test]
    fn garbage_never_verifies() {
        for phc in [
            "",
            "$argon2id$",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ",
            "$bcrypt$xyz",
            "$argon2id$v=99$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Q6nyAg3X3rHtjB6N+Y1mVRmdWXHpGgqa6WqdgMA9pB0",
        ] {
            assert!(!verify("whatever", phc), "{phc}");
        }
    }
}
