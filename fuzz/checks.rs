//! The invariants the fuzz targets check, one function per target. Shared
//! by the `cargo fuzz` targets (`fuzz_targets/*.rs`) and by the stable test
//! that replays the committed corpus (`crates/latchkey-web/tests/fuzz_corpus.rs`),
//! so both check the same things. Each function takes arbitrary bytes and
//! panics only when an invariant breaks.

use std::sync::OnceLock;

use base64::Engine;
use latchkey_core::redirect::{CorsOrigin, RedirectUri, find_match};
use latchkey_core::scim::{CompareOp, Filter, Value as ScimValue, attribute_path, parse_filter};
use serde_json::{Value, json};

/// Splits an input in two at its first NUL byte (or not at all).
fn halves(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Redirect URIs: registration, the matcher and CORS origins. Lines before
/// the NUL byte are registered URIs, the text after it is the candidate.
/// A match is always one of the registered URIs, the candidate is itself a
/// valid URI, and it equals the registered text except for the loopback
/// port and the wildcard label.
pub fn redirect(data: &[u8]) {
    let (reg, cand) = halves(data);
    let (Ok(reg), Ok(candidate)) = (std::str::from_utf8(reg), std::str::from_utf8(cand)) else { return };
    let approved = vec!["example.com".to_owned(), "apps.example.org".to_owned()];
    let mut registered = Vec::new();
    for line in reg.lines() {
        let syntax = RedirectUri::parse_syntax(line);
        if let Ok(uri) = RedirectUri::parse(line, &approved) {
            assert!(syntax.is_ok(), "parse accepts what parse_syntax refuses: {line:?}");
            assert_eq!(uri.as_str(), line);
            // Stored text deserializes to the same URI.
            let back: RedirectUri = serde_json::from_value(Value::String(line.to_owned())).expect("stored form");
            assert!(back == uri);
            if !uri.is_wildcard() {
                assert!(uri.matches(line), "a registered URI does not match itself: {line:?}");
                assert!(find_match(std::slice::from_ref(&uri), line, &approved).is_some());
            }
            registered.push(uri);
        }
        if let Ok(o) = CorsOrigin::parse(line) {
            assert!(o.matches(line));
            assert!(!line.contains('/') || line.matches('/').count() == 2, "an origin with a path: {line:?}");
        }
    }
    if let Some(m) = find_match(&registered, candidate, &approved) {
        assert!(registered.iter().any(|r| std::ptr::eq(r, m)), "the match is not a registered URI");
        assert!(m.matches(candidate));
        assert!(RedirectUri::parse_syntax(candidate).is_ok(), "an invalid candidate matched: {candidate:?}");
        assert!(!candidate.contains('#'), "a fragment matched");
        if !m.is_wildcard() && !m.is_loopback() {
            assert_eq!(m.as_str(), candidate, "an exact URI matched other text");
        }
        if m.is_loopback() {
            let strip_port = |s: &str| {
                let rest = s.strip_prefix("http://").unwrap_or(s);
                let (host, path) = rest.find(['/', '?']).map_or((rest, ""), |i| rest.split_at(i));
                let host = if host.starts_with('[') {
                    host.find(']').map_or(host, |i| &host[..=i])
                } else {
                    host.split(':').next().unwrap_or(host)
                };
                format!("{host}{path}")
            };
            assert_eq!(strip_port(m.as_str()), strip_port(candidate), "a loopback match differs beyond the port");
        }
        if m.is_wildcard() {
            let tail = &m.as_str()["https://*".len()..];
            let label = candidate.strip_prefix("https://").and_then(|c| c.strip_suffix(tail)).expect("wildcard shape");
            assert!(!label.is_empty() && !label.contains(['.', '/', ':', '@', '?', '#']), "label {label:?}");
        }
    }
    // A URI without policy approval never matches through find_match.
    if let Some(m) = find_match(&registered, candidate, &[]) {
        assert!(!m.is_wildcard(), "a wildcard matched without an approved parent");
    }
}

/// The token endpoint's form body: parse → render → parse gives the same
/// pairs, and client authentication never panics.
pub fn form(data: &[u8]) {
    let Some(pairs) = latchkey_web::fuzzing::form(data) else {
        assert!(std::str::from_utf8(data).is_err() || data.contains(&b'%'), "a UTF-8 body without % refused");
        return;
    };
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        ser.append_pair(k, v);
    }
    let rendered = ser.finish();
    let again = latchkey_web::fuzzing::form(rendered.as_bytes()).expect("a rendered form parses");
    assert_eq!(pairs, again, "form round trip through {rendered:?}");
    let _ = latchkey_web::fuzzing::client_auth(None, data);
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1): any header value is
/// refused or decoded without a panic; `client_id` and secret, form-encoded
/// and base64'd, decode to themselves; the header and the body never
/// disagree about the client.
pub fn basic(data: &[u8]) {
    let (header, body) = halves(data);
    if let Some((id, _secret)) = latchkey_web::fuzzing::basic(header) {
        assert!(!id.is_empty());
    }
    // The two halves as a client_id and a secret, encoded by the RFC.
    if let (Ok(id), Ok(secret)) = (std::str::from_utf8(header), std::str::from_utf8(body)) {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
        );
        let got = latchkey_web::fuzzing::basic(value.as_bytes());
        if !id.is_empty() && value.len() <= 4096 {
            assert_eq!(got, Some((id.to_owned(), secret.to_owned())), "Basic round trip of {value:?}");
        } else {
            assert!(got.is_none(), "an empty or oversized client_id accepted");
        }
    }
    // The header together with a body that names a client.
    let mut body_form = b"grant_type=client_credentials&".to_vec();
    body_form.extend_from_slice(body);
    if let (Some((id, _)), Some(("basic", who))) =
        (latchkey_web::fuzzing::basic(header), latchkey_web::fuzzing::client_auth(Some(header), &body_form))
    {
        assert_eq!(id, who, "the header's client and the authenticated client differ");
    }
}

fn signing_key() -> &'static latchkey_crypto::keys::SigningKey {
    static KEY: OnceLock<latchkey_crypto::keys::SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use latchkey_core::SigningAlg;
        use latchkey_crypto::keys::{SigningKey, generate_pkcs8};
        let der = generate_pkcs8(SigningAlg::Es256).expect("key");
        SigningKey::from_pkcs8(SigningAlg::Es256, &der).expect("key")
    })
}

/// JWS/JWT headers and client assertions (the pure part of the
/// `private_key_jwt` path: the claimed client, the JWK Set, the signature
/// check): no panic on any token or JWK Set; nothing but a token this key
/// signed verifies; sign → verify gives back the payload.
pub fn jws(data: &[u8]) {
    use latchkey_app::tokens::client_assertion::claimed_client_id;
    use latchkey_crypto::jws::{Verifier, peek_kid, sign};

    let key = signing_key();
    let (a, b) = halves(data);
    let token = String::from_utf8_lossy(a);
    let _ = claimed_client_id(&token);
    let _ = peek_kid(&token);
    let mut ours = Verifier::default();
    ours.add(key);
    if ours.verify(&token).is_ok() {
        // Only a token this key signed verifies: three parts, our header.
        let head = token.split('.').next().unwrap_or_default();
        assert_eq!(token.split('.').count(), 3, "a verified token without three parts");
        assert_eq!(peek_kid(&token).as_deref(), Some(key.kid()), "a verified token names another key: {head}");
    }
    // The key's own JWK Set as a client would register it.
    let jwks = json!({ "keys": [key.public_jwk()] });
    let theirs = Verifier::from_jwks(&jwks);
    assert_eq!(theirs.len(), 1);
    let _ = theirs.verify(&token);
    // Arbitrary JSON as a JWK Set.
    if let Ok(v) = serde_json::from_slice::<Value>(b) {
        let set = Verifier::from_jwks(&v);
        let _ = set.verify(&token);
    }
    // Round trip: our signature over arbitrary bytes verifies, once.
    let signed = sign(key, "client-authentication+jwt", b).expect("sign");
    let (typ, payload) = theirs.verify(&signed).expect("our own signature verifies");
    assert_eq!(typ.as_deref(), Some("client-authentication+jwt"));
    assert_eq!(payload, b);
    let mut tampered = signed.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    if let Ok(t) = String::from_utf8(tampered) {
        assert!(theirs.verify(&t).is_err() || t == signed, "a changed signature verifies");
    }
}

fn render_value(v: &ScimValue) -> String {
    match v {
        ScimValue::Str(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        ScimValue::Bool(b) => b.to_string(),
        ScimValue::Num(n) => n.to_string(),
        ScimValue::Null => "null".to_owned(),
    }
}

fn op_word(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Ge => "ge",
        CompareOp::Lt => "lt",
        CompareOp::Le => "le",
    }
}

/// Renders a filter with the fewest parentheses (`or` < `and` < the rest).
pub fn render_filter(f: &Filter, level: u8) -> String {
    let (s, own) = match f {
        Filter::Compare(p, op, v) => (format!("{p} {} {}", op_word(*op), render_value(v)), 2),
        Filter::Present(p) => (format!("{p} pr"), 2),
        Filter::Not(a) => (format!("not ({})", render_filter(a, 0)), 2),
        Filter::And(a, b) => (format!("{} and {}", render_filter(a, 1), render_filter(b, 2)), 1),
        Filter::Or(a, b) => (format!("{} or {}", render_filter(a, 0), render_filter(b, 1)), 0),
    };
    if own < level { format!("({s})") } else { s }
}

/// SCIM filters: parse → render → parse gives the same filter; evaluation
/// never panics; attribute paths normalise idempotently.
pub fn scim_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = attribute_path(text) {
        assert_eq!(attribute_path(&p).as_deref(), Ok(p.as_str()), "attribute_path is not idempotent");
    }
    let Ok(f) = parse_filter(text) else { return };
    let rendered = render_filter(&f, 0);
    let again = parse_filter(&rendered).unwrap_or_else(|e| panic!("{rendered:?} from {text:?} does not parse: {e}"));
    assert_eq!(f, again, "filter round trip through {rendered:?}");
    let values = |path: &str| match path {
        "username" => vec![ScimValue::Str("Bjørn".to_owned())],
        "active" => vec![ScimValue::Bool(true)],
        "emails.value" => vec![ScimValue::Str("a@example.com".to_owned()), ScimValue::Null],
        "meta.version" => vec![ScimValue::Num(1.5)],
        _ => Vec::new(),
    };
    let m = f.matches(&values);
    assert_eq!(Filter::Not(Box::new(f)).matches(&values), !m);
}

/// SCIM PATCH bodies and paths on a user and a group: refused or applied,
/// never a panic; an applied patch gives input that parses as a resource.
pub fn scim_patch(data: &[u8]) {
    use latchkey_app::scim::{groups, users};
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjorn", "active": true, "displayName": "Bjørn",
        "name": {"givenName": "Bjørn", "familyName": "Berg"},
        "emails": [{"value": "b@example.com", "primary": true}],
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "staff", "members": [{"value": "u1"}],
    });
    let body: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        // Not JSON: the bytes as the path of one operation.
        Err(_) => json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": String::from_utf8_lossy(data), "value": "x"}],
        }),
    };
    let _ = users::patch_user(&user, &body);
    let _ = groups::patch_group(&group, &body);
    let _ = users::parse_user(&body);
    let _ = groups::parse_group(&body);
}
