//! Scopes (RFC 6749 §3.3): a set of tokens, order irrelevant.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )`, at most 128 bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    /// Longest scope token, in bytes.
    pub const MAX_LEN: usize = 128;

    /// # Errors
    /// When the token is empty, too long or has a character RFC 6749 forbids.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new("scope", "a scope is 1-128 printable ASCII characters without spaces, '\"' or '\\'"))
        }
    }

    /// The scope token as it appears in the `scope` parameter.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Scope {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> Self {
        s.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({})", self.0)
    }
}

/// A set of scopes. Displays as the space-delimited `scope` parameter, in
/// sorted order so equal sets always print the same.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[serde(transparent)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-delimited `scope` parameter. Repeated spaces are
    /// tolerated; an empty string is the empty set.
    ///
    /// # Errors
    /// When a token is malformed or the parameter is longer than 4 KiB.
    pub fn parse_param(s: &str) -> Result<Self, FieldError> {
        if s.len() > 4096 {
            return Err(FieldError::new("scope", "the scope parameter is longer than 4096 bytes"));
        }
        s.split(' ').filter(|t| !t.is_empty()).map(Scope::parse).collect::<Result<_, _>>().map(Self)
    }

    /// Whether the set holds no scope (an absent or empty `scope` parameter).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many scopes the set holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the scope `s` is in the set.
    #[must_use]
    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|x| x.as_str() == s)
    }

    /// Whether every scope of `self` is also in `other`, as a request must be
    /// within what is allowed.
    #[must_use]
    pub fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Every scope in either set.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// The members of `self` not in `other`, for error messages.
    #[must_use]
    pub fn difference<'a>(&'a self, other: &Self) -> Vec<&'a str> {
        self.0.iter().filter(|s| !other.0.contains(*s)).map(Scope::as_str).collect()
    }

    /// The scopes, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Adds a scope; adding one already present changes nothing.
    pub fn insert(&mut self, s: Scope) {
        self.0.insert(s);
    }

    /// Keeps only the scopes for which `f` returns true.
    pub fn retain(&mut self, f: impl FnMut(&Scope) -> bool) {
        self.0.retain(f);
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
            first = false;
        }
        Ok(())
    }
}

/// On the wire a scope set is a JSON array of distinct scope tokens.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ScopeSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let token = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(Scope::MAX_LEN))
            .pattern(Some(r"^[\x21\x23-\x5B\x5D-\x7E]+$"));
        ArrayBuilder::new()
            .items(token)
            .unique_items(true)
            .description(Some("A set of scope tokens (RFC 6749 §3.3); order is irrelevant."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ScopeSet {}

#[cfg(test)]
mod tests;
