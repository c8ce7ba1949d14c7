use serde_json::{Value, json};

use super::*;
use crate::client::ClientType;
use crate::redirect::{CorsOrigin, RedirectUri};

const PARENT: &str = "preview.example.com";

fn settings(parents: &[&str]) -> TenantSettings {
    TenantSettings {
        approved_wildcard_parents: parents.iter().map(|p| (*p).to_owned()).collect(),
        ..TenantSettings::default()
    }
}

/// A web client's preset with `fields` merged over it, as the admin API does.
fn draft(fields: &Value) -> ClientDraft {
    let mut doc = serde_json::to_value(ClientType::Web.preset()).unwrap();
    for (k, v) in fields.as_object().unwrap() {
        doc[k] = v.clone();
    }
    serde_json::from_value(doc).unwrap()
}

fn errors(fields: &Value, parents: &[&str]) -> Vec<(String, String)> {
    draft(fields).check(&settings(parents)).1.into_iter().map(|e| (e.field, e.message)).collect()
}

/// Fields merged over the preset, approved parents, the errors expected.
type Case<'a> = (Value, &'a [&'a str], &'a [(&'a str, String)]);

#[test]
fn the_boundary_reports_every_bad_entry_with_its_field_and_text() {
    let http = "http is only allowed for the loopback hosts 127.0.0.1, [::1] and localhost";
    let approval = "the wildcard's parent domain is not approved in the tenant's settings";
    let cases: &[Case<'_>] = &[
        (json!({"redirect_uris": ["https://app.example/cb"]}), &[], &[]),
        (
            json!({"redirect_uris": ["http://app.example/cb", "https://app.example/cb"]}),
            &[],
            &[("redirect_uris", format!("http://app.example/cb: {http}"))],
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb", "https://app.example/cb"]}),
            &[],
            &[("redirect_uris", "https://app.example/cb is listed twice".to_owned())],
        ),
        (
            json!({"redirect_uris": ["https://*.preview.example.com/cb"]}),
            &[],
            &[("redirect_uris", format!("https://*.preview.example.com/cb: {approval}"))],
        ),
        (json!({"redirect_uris": ["https://*.preview.example.com/cb"]}), &[PARENT], &[]),
        (
            // Every entry bad: the errors say so, not "add at least one".
            json!({"redirect_uris": ["https://app.example/cb#x"]}),
            &[],
            &[(
                "redirect_uris",
                "https://app.example/cb#x: must not contain a fragment ('#'), RFC 6749 §3.1.2".to_owned(),
            )],
        ),
        (
            json!({"redirect_uris": []}),
            &[],
            &[(
                "redirect_uris",
                "add at least one redirect URI for the authorization_code or implicit grant".to_owned(),
            )],
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "post_logout_redirect_uris": ["http://evil.example/"]}),
            &[],
            &[("post_logout_redirect_uris", format!("http://evil.example/: {http}"))],
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "allowed_cors_origins": ["https://app.example/"]}),
            &[],
            &[(
                "allowed_cors_origins",
                "https://app.example/: an origin is scheme://host[:port] with no path (not even '/'), query or fragment"
                    .to_owned(),
            )],
        ),
    ];
    for (fields, parents, want) in cases {
        let want: Vec<(String, String)> = want.iter().map(|(f, m)| ((*f).to_owned(), m.clone())).collect();
        assert_eq!(errors(fields, parents), want, "{fields}");
    }
}

#[test]
fn uris_are_validated_on_every_list_and_reported_in_rule_order() {
    let got = errors(
        &json!({
            "grant_types": ["authorization_code", "refresh_token", "refresh_token"],
            "redirect_uris": ["http://app.example.com/cb", "https://app.example.com/cb#x"],
            "post_logout_redirect_uris": ["javascript:alert(1)"],
            "allowed_cors_origins": ["https://app.example.com/path"],
            "metadata": {"logo_uri": "data:image/png;base64,AAAA"},
            "audiences": ["not a uri"],
            "labels": {"bad key": "x"},
        }),
        &[],
    );
    let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "grant_types",
            "redirect_uris",
            "redirect_uris",
            "post_logout_redirect_uris",
            "allowed_cors_origins",
            "logo_uri",
            "audiences",
            "labels"
        ],
        "{got:?}"
    );
}

#[test]
fn a_valid_draft_becomes_the_typed_config_and_round_trips_as_strings() {
    let fields = json!({
        "redirect_uris": ["https://app.example/cb", "http://localhost/cb", "https://*.preview.example.com/cb"],
        "post_logout_redirect_uris": ["com.example.app:/bye"],
        "allowed_cors_origins": ["https://app.example"],
    });
    let (config, errors) = draft(&fields).check(&settings(&[PARENT]));
    assert_eq!(errors, []);
    let texts: Vec<&str> = config.redirect_uris.iter().map(RedirectUri::as_str).collect();
    assert_eq!(texts, ["https://app.example/cb", "http://localhost/cb", "https://*.preview.example.com/cb"]);
    assert_eq!(config.allowed_cors_origins, [CorsOrigin::parse("https://app.example").unwrap()]);
    let stored = serde_json::to_value(&config).unwrap();
    for k in ["redirect_uris", "post_logout_redirect_uris", "allowed_cors_origins"] {
        assert_eq!(stored[k], fields[k], "{k} is stored as the strings given");
    }
    assert_eq!(serde_json::from_value::<ClientConfig>(stored).unwrap(), config);
}

#[test]
fn stored_configs_parse_the_grammar_and_refuse_malformed_values_loudly() {
    let stored = |k: &str, v: &str| serde_json::from_value::<ClientConfig>(json!({ k: [v] }));
    // A wildcard deserializes whatever its parent: approval is checked at use.
    let c = stored("redirect_uris", "https://*.preview.example.com/cb").unwrap();
    assert!(c.redirect_uris[0].is_wildcard());
    for (k, v) in [
        ("redirect_uris", "http://app.example/cb"),
        ("redirect_uris", "javascript:alert(1)"),
        ("post_logout_redirect_uris", "https://app.example/cb#x"),
        ("allowed_cors_origins", "https://app.example/"),
    ] {
        assert!(stored(k, v).is_err(), "{k}={v}");
    }
}
