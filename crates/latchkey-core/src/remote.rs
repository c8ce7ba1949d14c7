//! Pure rules of the outbound side (SPEC §8): when a stored upstream token
//! must be renewed, and what a namespace or name may look like.

use crate::UnixTime;

/// How long before expiry a token is renewed, at most.
pub const REFRESH_SKEW: i64 = 60;

/// Whether a token obtained at `obtained_at` and expiring at `expires_at`
/// must be renewed at `now`: within [`REFRESH_SKEW`] of its expiry, but
/// never earlier than half its lifetime (a 60 s token is used for 30 s).
/// A token without an expiry never needs renewal.
#[must_use]
pub fn refresh_due(now: UnixTime, obtained_at: UnixTime, expires_at: Option<UnixTime>) -> bool {
    let Some(exp) = expires_at else { return false };
    let lifetime = (exp - obtained_at).max(0);
    let skew = REFRESH_SKEW.min(lifetime / 2);
    now >= exp - skew
}

/// A namespace, provider or remote-client name: 1-100 characters of
/// `A-Z a-z 0-9 . _ -`, starting with a letter or digit, so that it is one
/// URL path segment as it stands.
///
/// # Errors
/// A message saying what is allowed.
pub fn check_name(s: &str) -> Result<(), &'static str> {
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err("1-100 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_due_within_the_skew_or_half_the_lifetime() {
        // One hour: renewed in the last minute.
        assert!(!refresh_due(1_000 + 3_539, 1_000, Some(4_600)));
        assert!(refresh_due(1_000 + 3_540, 1_000, Some(4_600)));
        // One minute: renewed after half of it.
        assert!(!refresh_due(1_029, 1_000, Some(1_060)));
        assert!(refresh_due(1_030, 1_000, Some(1_060)));
        // Expired or odd data: due. No expiry: never.
        assert!(refresh_due(2_000, 1_000, Some(900)));
        assert!(!refresh_due(i64::MAX / 2, 1_000, None));
    }

    #[test]
    fn names_are_single_path_segments() {
        for ok in ["a", "billing", "crm-prod_2", "x.y", &"a".repeat(100)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", ".a", "a/b", "a b", "ä", "a%2F", &"a".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
