use axum::http::HeaderValue;

use super::*;

fn basic(raw: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let v = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
    h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
    h
}

#[test]
fn repeated_parameters_are_rejected() {
    let f = Form::parse(b"grant_type=a&scope=x&scope=y").unwrap();
    assert!(f.check_no_repeats().is_err());
    assert!(f.single("scope").is_err());
}

#[test]
fn empty_values_are_absent_and_plus_is_space() {
    let f = Form::parse(b"scope=&a=b+c%2B").unwrap();
    assert_eq!(f.single("scope").unwrap(), None);
    assert_eq!(f.single("a").unwrap(), Some("b c+"));
}

#[test]
fn invalid_utf8_is_invalid_request() {
    assert!(Form::parse(b"a=%ff").is_err());
    assert!(Form::parse(&[0x61, 0x3d, 0xff]).is_err());
}

#[test]
fn basic_credentials_are_form_decoded() {
    // RFC 6749 §2.3.1: a secret with ':' '%' '+' arrives url-encoded.
    let (id, secret) = match client_auth(&basic("my%20id:s%3Ac%25r%2Bt"), &Form::default()).unwrap() {
        PresentedAuth::Basic { client_id, secret } => (client_id, secret),
        other => panic!("{other:?}"),
    };
    assert_eq!(id, "my id");
    assert_eq!(secret, "s:c%r+t");
}

#[test]
fn malformed_basic_headers_are_invalid_client() {
    for raw in ["Basic !!!", "Basic", "Basic bm9jb2xvbg==", "Bearer abc", "Basic Og=="] {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(raw).unwrap());
        let e = client_auth(&h, &Form::default()).unwrap_err();
        assert_eq!(e.code, latchkey_core::TokenErrorCode::InvalidClient, "{raw}");
    }
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {}", "A".repeat(8192))).unwrap());
    assert!(client_auth(&h, &Form::default()).is_err());
}

#[test]
fn two_methods_or_mismatched_ids_are_refused() {
    let f = Form::parse(b"client_secret=x&client_id=a").unwrap();
    assert_eq!(client_auth(&basic("a:b"), &f).unwrap_err().code, latchkey_core::TokenErrorCode::InvalidRequest);
    let f = Form::parse(b"client_id=other").unwrap();
    assert_eq!(client_auth(&basic("a:b"), &f).unwrap_err().code, latchkey_core::TokenErrorCode::InvalidClient);
    let f = Form::parse(b"client_id=a").unwrap();
    assert!(matches!(client_auth(&basic("a:b"), &f).unwrap(), PresentedAuth::Basic { .. }));
}

#[test]
fn post_none_and_missing_auth() {
    let f = Form::parse(b"client_id=a&client_secret=b").unwrap();
    assert!(matches!(client_auth(&HeaderMap::new(), &f).unwrap(), PresentedAuth::Post { .. }));
    let f = Form::parse(b"client_id=a").unwrap();
    assert!(matches!(client_auth(&HeaderMap::new(), &f).unwrap(), PresentedAuth::None { .. }));
    let e = client_auth(&HeaderMap::new(), &Form::default()).unwrap_err();
    assert_eq!(e.code, latchkey_core::TokenErrorCode::InvalidClient);
}
