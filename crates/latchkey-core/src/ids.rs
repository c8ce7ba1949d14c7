//! Identifiers. Each is a newtype that can only hold a valid value.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Characters allowed in identifiers we hand out or accept: RFC 3986
/// "unreserved", so an id never needs escaping in a URL, a form or Basic auth.
fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// A tenant's short name (`default`, `acme`): lowercase, URL-path safe.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// Longest tenant name, in characters.
    pub const MAX_LEN: usize = 63;

    /// The tenant created on first start; its issuer is the public base URL.
    #[must_use]
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }

    /// # Errors
    /// When the name is empty, too long, or not `[a-z0-9-]` starting with a letter.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new("tenant", "must be 1-63 characters of a-z, 0-9 and '-', starting with a letter"))
        }
    }

    /// The tenant name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> Self {
        t.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

/// A client identifier: 1-128 unreserved characters. Generated ids are
/// unguessable (see the app layer); imported ids are accepted as given.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    /// Longest client id, in characters.
    pub const MAX_LEN: usize = 128;

    /// # Errors
    /// When the id is empty, longer than 128 characters or has a character
    /// outside RFC 3986 "unreserved".
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.chars().all(is_unreserved) {
            return Err(FieldError::new(
                "client_id",
                "must be 1-128 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The `client_id` as it appears on the wire.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ClientId> for String {
    fn from(c: ClientId) -> Self {
        c.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

#[cfg(test)]
mod tests;
