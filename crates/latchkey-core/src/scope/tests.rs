use super::*;

#[test]
fn order_and_repeated_spaces_do_not_matter() {
    let a = ScopeSet::parse_param("b a  c").unwrap();
    let b = ScopeSet::parse_param("c b a").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_string(), "a b c");
}

#[test]
fn rejects_forbidden_characters() {
    for bad in ["a\"b", "a\\b", "é", "a\tb"] {
        assert!(ScopeSet::parse_param(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn subset_and_difference() {
    let allowed = ScopeSet::parse_param("api:read api:write").unwrap();
    let asked = ScopeSet::parse_param("api:read admin").unwrap();
    assert!(!asked.is_subset(&allowed));
    assert_eq!(asked.difference(&allowed), vec!["admin"]);
}

#[test]
fn empty_parameter_is_empty_set() {
    assert!(ScopeSet::parse_param("").unwrap().is_empty());
    assert!(ScopeSet::parse_param("   ").unwrap().is_empty());
}
