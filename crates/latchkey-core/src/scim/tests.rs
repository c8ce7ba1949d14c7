use super::*;

fn user(path: &str) -> Vec<Value> {
    let s = |v: &str| Value::Str(v.to_owned());
    match path {
        "username" => vec![s("Alice.Smith")],
        "emails.value" | "emails" => vec![s("alice@example.com"), s("a.smith@work.example")],
        "externalid" => vec![s("EXT-1")],
        "displayname" => vec![s("Alice Smith")],
        "active" => vec![Value::Bool(true)],
        "meta.lastmodified" => vec![s(&date_time(1_700_000_000))],
        _ => vec![],
    }
}

#[test]
fn filters_match_as_rfc_7644_says() {
    let cases: &[(&str, bool)] = &[
        (r#"userName eq "alice.smith""#, true),
        (r#"username EQ "ALICE.SMITH""#, true),
        (r#"userName eq "bob""#, false),
        (r#"userName ne "bob""#, true),
        (r#"userName co "smi""#, true),
        (r#"userName sw "ali""#, true),
        (r#"userName sw "smi""#, false),
        (r#"userName ew "smith""#, true),
        (r#"emails.value eq "a.smith@work.example""#, true),
        (r#"emails co "work""#, true),
        (r#"externalId eq "EXT-1""#, true),
        (r#"externalId eq "ext-1""#, false),
        (r#"displayName sw "Alice" and userName co "smith""#, true),
        (r#"displayName sw "Bob" or userName co "smith""#, true),
        (r#"displayName sw "Bob" or userName co "nobody""#, false),
        (r#"not (userName eq "bob")"#, true),
        (r#"(userName eq "bob" or userName eq "alice.smith") and active eq true"#, true),
        (r#"userName eq "bob" or userName eq "x" and active eq true"#, false),
        ("externalId pr", true),
        ("title pr", false),
        (r#"meta.lastModified gt "2023-11-14T00:00:00Z""#, true),
        (r#"meta.lastModified lt "2023-11-14T00:00:00Z""#, false),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Alice.Smith""#, true),
        ("active eq false", false),
        ("title eq null", true),
        (r#"userName eq "a\"b""#, false),
    ];
    for (filter, expected) in cases {
        let f = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(f.matches(&user), *expected, "{filter}");
    }
}

#[test]
fn malformed_filters_are_invalid_filter_never_a_panic() {
    let too_deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
    let too_long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
    let nots = format!("{}userName pr{}", "not (".repeat(1000), ")".repeat(1000));
    let cases: Vec<&str> = vec![
        "",
        "userName",
        "userName eq",
        "userName xx \"a\"",
        "userName eq bob",
        "userName eq \"unterminated",
        "userName eq \"bad \\q escape\"",
        "(userName pr",
        "userName pr)",
        "userName pr and",
        "and userName pr",
        "not userName pr",
        "emails[type eq \"work\"]",
        "a.b.c pr",
        "1abc pr",
        "userName eq \"a\" garbage",
        "userName eq 1e999",
        "\"string\" eq \"x\"",
        &too_deep,
        &too_long,
        &nots,
    ];
    for c in cases {
        assert!(parse_filter(c).is_err(), "{c:?} should be invalid");
    }
}

#[test]
fn parses_to_the_expected_tree() {
    assert_eq!(
        parse_filter(r#"a eq "x" or b pr and not (c gt 3)"#).unwrap(),
        Filter::Or(
            Box::new(Filter::Compare("a".into(), CompareOp::Eq, Value::Str("x".into()))),
            Box::new(Filter::And(
                Box::new(Filter::Present("b".into())),
                Box::new(Filter::Not(Box::new(Filter::Compare("c".into(), CompareOp::Gt, Value::Num(3.0))))),
            )),
        )
    );
}

#[test]
fn date_times_are_rfc_3339_utc() {
    assert_eq!(date_time(0), "1970-01-01T00:00:00Z");
    assert_eq!(date_time(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(date_time(951_782_400), "2000-02-29T00:00:00Z");
}

proptest::proptest! {
    #[test]
    fn any_input_parses_or_is_refused(s in "\\PC{0,80}") {
        let _ = parse_filter(&s);
    }

    #[test]
    fn filter_shaped_input_never_panics(s in "[ ()\"a-zA-Z.:0-9\\\\]{0,120}") {
        if let Ok(f) = parse_filter(&s) {
            let _ = f.matches(&user);
        }
    }
}
