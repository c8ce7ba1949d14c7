use std::path::Path;

use serde_json::json;

use super::*;

const EXAMPLE: &str = r"
version: 1
scopes:
  - name: api:read
    description: Read the API
security_classes:
  - name: billing
    description: Billing services
    scopes: [api:read]
clients:
  - client_id: billing-svc
    name: Billing service
    type: m2m
    description: Charges cards
    grant_types: [client_credentials]
    scopes: [api:read]
    security_classes: [billing]
    access_token_lifetime: 600
    access_token_format: jwt
    labels: {team: payments}
    refresh_token_policy: {rotate: true}
    metadata: {client_uri: 'https://billing.example.com', contacts: [ops@example.com]}
    secret: {env: BILLING_SECRET}
  - client_id: web
    name: Web
    secret: {file: ./web.secret}
";

fn live_billing() -> Value {
    serde_json::from_str(
        r#"{
        "client_id": "billing-svc", "name": "Billing service", "description": "Charges cards", "type": "m2m",
        "status": "active", "protected": false, "managed_by": "latchkey-apply",
        "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"],
        "response_types": [], "redirect_uris": [], "post_logout_redirect_uris": [], "allowed_cors_origins": [],
        "scopes": ["api:read"], "security_classes": ["billing"], "audiences": [],
        "access_token_lifetime": 600, "refresh_token_lifetime": null, "id_token_lifetime": null,
        "access_token_format": "jwt", "require_pkce": true, "require_consent": false, "allowed_groups": [],
        "refresh_token_policy": {"rotate": true, "reuse_grace_seconds": 0}, "jwks": null, "jwks_uri": null,
        "metadata": {"client_uri": "https://billing.example.com", "contacts": ["ops@example.com"]},
        "labels": {"team": "payments"},
        "effective_access_token_lifetime": {"seconds": 600, "source": "client"},
        "created_at": 1, "updated_at": 2, "created_by": "latchkey-admin", "last_used_at": null, "revision": 4,
        "secrets": [{"id": "sec_1", "label": null, "hint": "abcd", "created_at": 1, "expires_at": null, "last_used_at": null}]
    }"#,
    )
    .unwrap()
}

#[test]
fn parses_the_documented_example() {
    let p = parse(EXAMPLE, Path::new("/etc/latchkey")).unwrap();
    assert_eq!(p.doc.scopes.len(), 1);
    assert_eq!(p.doc.security_classes[0].scopes.as_deref(), Some(&["api:read".to_owned()][..]));
    assert_eq!(p.doc.clients.len(), 2);
    let b = &p.doc.clients[0];
    assert_eq!(b.name.as_deref(), Some("Billing service"));
    assert_eq!(b.access_token_lifetime, Some(600));
    assert_eq!(b.refresh_token_policy, Some(RefreshPolicySpec { rotate: Some(true), reuse_grace_seconds: None }));
    assert_eq!(p.secrets["billing-svc"], SecretRef::Env("BILLING_SECRET".into()));
    assert_eq!(p.secrets["web"], SecretRef::File(Path::new("/etc/latchkey/./web.secret").to_path_buf()));
}

#[test]
fn rejects_mistakes_with_the_place_named() {
    let base = Path::new(".");
    let e = parse("version: 1\nclients:\n  - client_id: a\n    nmae: x\n", base).unwrap_err();
    assert!(format!("{e:#}").contains("entry 1") && format!("{e:#}").contains("nmae"), "{e:#}");
    let e = parse("version: 1\nclients:\n  - client_id: a\n    secret: {env: A, file: b}\n", base).unwrap_err();
    assert!(format!("{e:#}").contains("exactly one"), "{e:#}");
    let e = parse("version: 1\nclients:\n  - client_id: a\n  - client_id: a\n", base).unwrap_err();
    assert!(e.to_string().contains("appears twice"), "{e}");
    let e = parse("version: 2\n", base).unwrap_err();
    assert!(e.to_string().contains("unsupported version"), "{e}");
    assert!(parse("version: 1\nsecrets: []\n", base).is_err());
    assert!(parse("version: 1\nclients:\n  - name: no id\n", base).is_err());
}

#[test]
fn export_form_has_no_secret_and_round_trips() {
    let spec = client_spec(&live_billing()).unwrap();
    let doc = Document { version: 1, scopes: vec![], security_classes: vec![], clients: vec![spec.clone()] };
    let yaml = serde_yaml_ng::to_string(&doc).unwrap();
    assert!(!yaml.contains("secret:") && !yaml.contains("secrets:") && !yaml.contains("abcd"), "{yaml}");
    assert!(!yaml.contains("status") && !yaml.contains("revision") && !yaml.contains("null"), "{yaml}");
    let back = parse(&yaml, Path::new(".")).unwrap();
    assert_eq!(back.doc.clients[0], spec);
    assert!(back.secrets.is_empty());
    // The file example equals the live client: nothing to change.
    let p = parse(EXAMPLE, Path::new(".")).unwrap();
    assert_eq!(diff(&p.doc.clients[0], &spec, &CLIENT_IDENTITY), vec![]);
}

#[test]
fn diff_compares_only_what_the_file_says() {
    let have = client_spec(&live_billing()).unwrap();
    let want = ClientSpec {
        client_id: "billing-svc".into(),
        client_type: Some("web".into()),
        scopes: Some(vec!["api:read".into(), "api:read".into()]),
        grant_types: Some(vec!["client_credentials".into()]),
        redirect_uris: Some(vec![]),
        labels: Some([("team".to_owned(), "core".to_owned())].into()),
        refresh_token_policy: Some(RefreshPolicySpec { rotate: None, reuse_grace_seconds: Some(5) }),
        ..ClientSpec::default()
    };
    let changes = diff(&want, &have, &CLIENT_IDENTITY);
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["labels", "refresh_token_policy", "type"]);
    assert_eq!(changes[0].patch, json!({"team": "core"}));
    assert_eq!(changes[1].patch, json!({"rotate": true, "reuse_grace_seconds": 5}));
    assert_eq!(changes[2].patch, json!("web"));
    // Labels are exact: a key the file does not have is removed (null in the merge patch).
    let mut live = live_billing();
    live["labels"] = json!({"team": "payments", "env": "prod"});
    let want = ClientSpec { labels: Some([("team".to_owned(), "payments".to_owned())].into()), ..have.clone() };
    let changes = diff(&want, &client_spec(&live).unwrap(), &CLIENT_IDENTITY);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].patch, json!({"env": null}));
}

#[test]
fn sets_ignore_order_lists_do_not() {
    let have = ClientSpec {
        client_id: "x".into(),
        redirect_uris: Some(vec!["https://a/cb".into(), "https://b/cb".into()]),
        audiences: Some(vec!["a".into(), "b".into()]),
        ..ClientSpec::default()
    };
    let mut want = have.clone();
    want.redirect_uris = Some(vec!["https://b/cb".into(), "https://a/cb".into()]);
    assert!(diff(&want, &have, &CLIENT_IDENTITY).is_empty());
    want.audiences = Some(vec!["b".into(), "a".into()]);
    assert_eq!(diff(&want, &have, &CLIENT_IDENTITY).len(), 1, "the first audience is the default");
}

#[test]
fn scopes_and_classes() {
    let live = json!({"name": "billing", "description": "", "scopes": ["b", "a"], "created_at": 1});
    let c = class_spec(&live);
    assert_eq!(c, ClassSpec { name: "billing".into(), description: None, scopes: Some(vec!["b".into(), "a".into()]) });
    let want = ClassSpec {
        name: "billing".into(),
        description: Some("Billing".into()),
        scopes: Some(vec!["a".into(), "b".into()]),
    };
    let changes = diff(&want, &c, &NAME_IDENTITY);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].field, "description");
    assert_eq!(changes[0].before, Value::Null);
    let s = scope_spec(&json!({"name": "openid", "description": "Sign in"}));
    assert_eq!(s, ScopeSpec { name: "openid".into(), description: Some("Sign in".into()) });
}

#[path = "../../../../fuzz/yaml_check.rs"]
mod yaml_check;

/// The `yaml` fuzz target's invariant on stable, over its committed corpus
/// (`fuzz/corpus/yaml/`) and truncations of each input.
#[test]
fn fuzz_corpus_replays() {
    let parse = |text: &str| {
        let p = parse(text, Path::new(".")).ok()?;
        Some((serde_json::to_value(&p.doc).ok()?, serde_yaml_ng::to_string(&p.doc).ok()?))
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/yaml");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for cut in (0..=data.len()).step_by(7).chain([data.len()]) {
            yaml_check::yaml(&data[..cut], &parse);
        }
        n += 1;
    }
    assert!(n >= 10, "fewer than 10 corpus files in {}", dir.display());
}
