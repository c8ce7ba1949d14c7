//! The states of users and tenants: enums, stored and shown as the
//! lowercase words `active` and `disabled`.

use serde::{Deserialize, Serialize};

/// Whether a user may sign in and their tokens count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// Signs in; their tokens count.
    Active,
    /// Signs in nowhere; every token issued to them is dead.
    Disabled,
}

/// Whether a tenant serves requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// Serves its endpoints.
    Active,
    /// Answers nothing but "no such tenant"; may be deleted.
    Disabled,
}

macro_rules! words {
    ($t:ty) => {
        impl $t {
            /// `active` or `disabled`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    Self::Active => "active",
                    Self::Disabled => "disabled",
                }
            }

            /// The state a stored or requested word names, if any.
            #[must_use]
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    "active" => Some(Self::Active),
                    "disabled" => Some(Self::Disabled),
                    _ => None,
                }
            }

            /// Active (or, given `false`, disabled).
            #[must_use]
            pub fn from_active(active: bool) -> Self {
                if active { Self::Active } else { Self::Disabled }
            }

            /// Whether this is `Active`.
            #[must_use]
            pub fn is_active(self) -> bool {
                self == Self::Active
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(UserStatus);
words!(TenantStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_the_words_they_are_stored_as() {
        for (s, word) in [(UserStatus::Active, "active"), (UserStatus::Disabled, "disabled")] {
            assert_eq!(s.as_str(), word);
            assert_eq!(UserStatus::parse(word), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(word));
        }
        assert_eq!(TenantStatus::parse("Active"), None, "exact words only");
        assert!(TenantStatus::from_active(true).is_active() && !TenantStatus::from_active(false).is_active());
    }
}
