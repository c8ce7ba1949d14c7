//! Property test of the redirect-URI matcher against an independent oracle
//! (split from `tests.rs` to keep files small).

use proptest::prelude::*;

use super::*;

fn reg(s: &str) -> RedirectUri {
    RedirectUri::parse(s, &["preview.example.com".to_owned()]).unwrap_or_else(|e| panic!("{s:?} should register: {e}"))
}
// ---------------------------------------------------------------------------
// Property: the matcher never says yes unless the oracle does, and vice versa.
// The oracle is written independently, with plain string operations.

const PROP_REGISTERED: [&str; 10] = [
    "https://app.example/cb",
    "https://app.example/cb?foo=bar",
    "https://app.example:8443/a/b/",
    "http://127.0.0.1/cb",
    "http://127.0.0.1:8080/cb?x=1",
    "http://[::1]/cb",
    "http://localhost",
    "https://*.preview.example.com/cb",
    "https://*.preview.example.com:8443/p?q=1",
    "com.example.app:/oauth/cb",
];

const NASTY: &[char] =
    &['/', '.', '%', '@', ':', ';', '?', '#', '&', '=', '\\', '*', 'a', 'A', '0', '-', ' ', '\t', '[', ']'];

const SUFFIXES: &[&str] = &[
    "",
    "/",
    "/FAKEPATH",
    "/..",
    "/../evil",
    "%2F..",
    "..;/",
    "?code=x",
    "&code=x",
    "#state=x",
    "@evil.example",
    ".evil.example",
    ":8080",
    "%00",
    "\\evil",
];

#[derive(Debug, Clone)]
enum Mutation {
    FlipCase(usize),
    Insert(usize, char),
    Delete(usize),
    Append(&'static str),
    SetPort(Option<String>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::FlipCase),
        (any::<usize>(), proptest::sample::select(NASTY)).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Delete),
        proptest::sample::select(SUFFIXES).prop_map(Mutation::Append),
        prop_oneof![
            Just(None),
            "[1-9][0-9]{0,4}".prop_map(Some),
            "[0-9]{1,6}".prop_map(Some),
            "[0-9a-z:@+ -]{0,4}".prop_map(Some),
        ]
        .prop_map(Mutation::SetPort),
    ]
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9][a-z0-9-]{0,6}[a-z0-9]", "[a-z0-9]", "[a-zA-Z0-9.@:*%_-]{0,8}", "[a-z]{64}"]
}

/// A byte index into `s` that is on a char boundary (candidates may hold
/// non-ASCII after mutation).
fn boundary(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Replaces or removes the `:port` after the host of `scheme://host...`.
fn set_port(s: &str, port: Option<&str>) -> String {
    let Some(start) = s.find("://").map(|i| i + 3) else { return s.to_owned() };
    let after_host = if s[start..].starts_with('[') {
        s[start..].find(']').map_or(s.len(), |i| start + i + 1)
    } else {
        s[start..].find([':', '/', '?']).map_or(s.len(), |i| start + i)
    };
    let rest_start = if s[after_host..].starts_with(':') {
        s[after_host + 1..].find(['/', '?']).map_or(s.len(), |i| after_host + 1 + i)
    } else {
        after_host
    };
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}{port}{}", &s[..after_host], &s[rest_start..])
}

fn apply(mut s: String, m: &Mutation) -> String {
    match m {
        Mutation::FlipCase(i) => {
            let i = boundary(&s, *i);
            if let Some(c) = s[i..].chars().next() {
                let flipped: String =
                    if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }.into();
                s.replace_range(i..i + c.len_utf8(), &flipped);
            }
        }
        Mutation::Insert(i, c) => s.insert(boundary(&s, *i), *c),
        Mutation::Delete(i) => {
            let i = boundary(&s, *i);
            if i < s.len() {
                s.remove(i);
            }
        }
        Mutation::Append(suffix) => s.push_str(suffix),
        Mutation::SetPort(port) => s = set_port(&s, port.as_deref()),
    }
    s
}

fn oracle_port_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.chars().all(|c| c.is_ascii_digit())
        && !p.starts_with('0')
        && p.parse::<u32>().is_ok_and(|n| n <= 65535)
}

/// `(scheme://host, port, rest)` for a URI on one of the loopback hosts.
fn oracle_split_loopback(s: &str) -> Option<(&'static str, Option<&str>, &str)> {
    let head = ["http://127.0.0.1", "http://[::1]", "http://localhost"].into_iter().find(|h| s.starts_with(h))?;
    let after = &s[head.len()..];
    match after.strip_prefix(':') {
        Some(p) => {
            let end = p.find(['/', '?']).unwrap_or(p.len());
            Some((head, Some(&p[..end]), &p[end..]))
        }
        None => Some((head, None, after)),
    }
}

fn oracle_label_ok(l: &str) -> bool {
    (1..=63).contains(&l.len())
        && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !l.starts_with('-')
        && !l.ends_with('-')
}

fn oracle(registered: &str, candidate: &str) -> bool {
    // A wildcard registration is a pattern, not a URI: even its literal text
    // does not match.
    if let Some(rest) = registered.strip_prefix("https://*.") {
        let Some((label, after)) = candidate.strip_prefix("https://").and_then(|c| c.split_once('.')) else {
            return false;
        };
        return after == rest && oracle_label_ok(label);
    }
    if candidate == registered {
        return true;
    }
    match (oracle_split_loopback(registered), oracle_split_loopback(candidate)) {
        (Some((h1, _, r1)), Some((h2, p2, r2))) => h1 == h2 && r1 == r2 && p2.is_none_or(oracle_port_ok),
        _ => false,
    }
}

fn candidate() -> impl Strategy<Value = (usize, String)> {
    (0..PROP_REGISTERED.len(), label(), proptest::collection::vec(mutation(), 0..4)).prop_map(
        |(i, label, mutations)| {
            let base = PROP_REGISTERED[i].replacen('*', &label, 1);
            (i, mutations.iter().fold(base, apply))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn prop_never_matches_unless_equal_loopback_port_or_wildcard_label((i, c) in candidate()) {
        let registered = PROP_REGISTERED[i];
        let r = reg(registered);
        let matched = r.matches(&c);
        prop_assert_eq!(matched, oracle(registered, &c), "registered {:?}, candidate {:?}", registered, c);
        if matched {
            prop_assert!(RedirectUri::parse(&c, &[]).is_ok(), "a match must itself be a valid URI: {:?}", c);
            prop_assert!(!c.contains("code="), "no pollution: {:?}", c);
        }
    }
}
