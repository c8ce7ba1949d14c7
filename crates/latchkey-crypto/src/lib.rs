//! Cryptography for Latchkey, on aws-lc-rs.
//!
//! - [`keys`]: signing keys, parsed once and kept ready; their public JWKs.
//! - [`jws`]: compact JWS signing and verification (see ADR 0002 for why
//!   this is ~100 lines here rather than a JOSE crate's per-call key parsing).
//! - [`secret`]: client secrets (`lks_` prefix, checksum), keyed hashing and
//!   constant-time verification; opaque token handles.
//! - [`envelope`]: the master key, its derived subkeys and AES-256-GCM
//!   envelope encryption of data at rest.
//! - [`password`]: argon2id for user passwords.
//!
//! Key generation and AEAD nonces draw from the OS CSPRNG through aws-lc-rs;
//! every other random value is chosen by the application layer and passed in.

pub mod envelope;
pub mod jws;
pub mod keys;
pub mod password;
pub mod secret;

mod b64;

pub use envelope::{Envelope, EnvelopeError, MasterKey};
pub use jws::{JwsError, Verifier};
pub use keys::{KeyError, SigningKey};
pub use secret::{ClientSecret, SecretHasher};
