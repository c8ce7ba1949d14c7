//! Latchkey's pure core.
//!
//! Value types that are valid by construction (parse, don't validate), the
//! rules that decide what a request may obtain, and the RFC error enums every
//! client-visible OAuth error is a variant of.
//!
//! **Architecture invariant:** this crate performs no I/O, reads no clock,
//! draws no randomness and has no async code. Time (`now`) and random bytes
//! are parameters; the application layer owns both.

#![deny(missing_docs)]

pub mod authorize;
pub mod client;
pub mod device;
pub mod draft;
pub mod error;
pub mod grant;
pub mod ids;
pub mod redirect;
pub mod remote;
pub mod role;
pub mod rules;
pub mod scim;
pub mod scope;
pub mod sign_in;
pub mod status;
pub mod tenant;
pub mod time;
pub mod token;
pub mod user_grant;

pub use client::{AccessTokenFormat, Client, ClientStatus, ClientType};
pub use client::{ClientConfig, RefreshTokenPolicy};
pub use draft::ClientDraft;
pub use error::{FieldError, TokenError, TokenErrorCode};
pub use grant::{GrantType, TokenEndpointAuthMethod};
pub use ids::{ClientId, TenantId};
pub use role::AdminRole;
pub use scope::{Scope, ScopeSet};
pub use status::{TenantStatus, UserStatus};
pub use tenant::TenantSettings;
pub use token::SigningAlg;
pub use token::{AccessTokenClaims, Lifetime, LifetimeSource, UnixTime};
