//! Syntax and policy: the tenant's approved wildcard parents are checked at
//! registration and again at every use.

use super::*;

const WILDCARD: &str = "https://*.preview.example.com/cb";
const OTHER: &str = "https://*.staging.example.com/cb";

fn approved(parents: &[&str]) -> Vec<String> {
    parents.iter().map(|p| (*p).to_owned()).collect()
}

#[test]
fn a_wildcard_uri_whose_parent_approval_was_withdrawn_never_matches() {
    let registered = [
        RedirectUri::parse("https://app.example/cb", &[]).unwrap(),
        RedirectUri::parse(WILDCARD, &approved(&["preview.example.com"])).unwrap(),
        RedirectUri::parse(OTHER, &approved(&["staging.example.com"])).unwrap(),
    ];
    let cases: &[(&[&str], &str, Option<&str>)] = &[
        (&["preview.example.com", "staging.example.com"], "https://pr-1.preview.example.com/cb", Some(WILDCARD)),
        (&["preview.example.com", "staging.example.com"], "https://pr-1.staging.example.com/cb", Some(OTHER)),
        // Approval of preview withdrawn: its wildcard is dead, the others live.
        (&["staging.example.com"], "https://pr-1.preview.example.com/cb", None),
        (&["staging.example.com"], "https://pr-1.staging.example.com/cb", Some(OTHER)),
        (&[], "https://pr-1.preview.example.com/cb", None),
        (&[], "https://pr-1.staging.example.com/cb", None),
        // Exact URIs do not depend on the approvals.
        (&[], "https://app.example/cb", Some("https://app.example/cb")),
        // Comparison of approvals ignores letter case, as at registration.
        (&["Preview.Example.COM"], "https://pr-1.preview.example.com/cb", Some(WILDCARD)),
        // A parent is compared whole, never by suffix.
        (&["example.com"], "https://pr-1.preview.example.com/cb", None),
    ];
    for (parents, candidate, want) in cases {
        let parents = approved(parents);
        let got = find_match(&registered, candidate, &parents).map(RedirectUri::as_str);
        assert_eq!(got, *want, "{candidate} under {parents:?}");
        let explained = explain_match(&registered, candidate, &parents);
        assert_eq!(explained.matched.as_deref(), *want, "{candidate} under {parents:?}: {explained:?}");
    }
}

#[test]
fn policy_is_separate_from_syntax() {
    let cases: &[(&str, &[&str], bool, bool)] = &[
        // (uri, approved parents, parses as syntax, allowed under parents)
        ("https://app.example/cb", &[], true, true),
        ("http://127.0.0.1:8080/cb", &[], true, true),
        (WILDCARD, &["preview.example.com"], true, true),
        (WILDCARD, &[], true, false),
        (WILDCARD, &["other.example.com"], true, false),
        // A single-label parent is never approvable.
        ("https://*.com/cb", &["com"], true, false),
        ("http://*.preview.example.com/cb", &["preview.example.com"], false, false),
        ("https://app.example/cb#x", &[], false, false),
    ];
    for (uri, parents, syntax, allowed) in cases {
        let parents = approved(parents);
        let parsed = RedirectUri::parse_syntax(uri);
        assert_eq!(parsed.is_ok(), *syntax, "{uri}");
        assert_eq!(parsed.as_ref().is_ok_and(|u| u.allowed_under(&parents)), *allowed, "{uri} under {parents:?}");
        assert_eq!(RedirectUri::parse(uri, &parents).is_ok(), *allowed, "registration of {uri} under {parents:?}");
    }
}

#[test]
fn registered_uris_deserialize_by_their_grammar_and_serialize_as_text() {
    let ok: RedirectUri = serde_json::from_value(serde_json::json!(WILDCARD)).unwrap();
    assert_eq!(serde_json::to_value(&ok).unwrap(), serde_json::json!(WILDCARD));
    for bad in ["http://evil.example/cb", "https://app.example/cb#x", "javascript:alert(1)", ""] {
        assert!(serde_json::from_value::<RedirectUri>(serde_json::json!(bad)).is_err(), "{bad:?}");
    }
}
