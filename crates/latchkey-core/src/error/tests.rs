use super::*;

#[test]
fn description_keeps_only_rfc6749_characters() {
    let e = TokenError::invalid_request("bad \"quote\" \\ line\nbreak\ttab é");
    assert_eq!(e.description(), "bad  quote    line break tab  ");
}

#[test]
fn codes_serialize_as_their_rfc_strings() {
    for code in [
        TokenErrorCode::InvalidRequest,
        TokenErrorCode::InvalidClient,
        TokenErrorCode::InvalidGrant,
        TokenErrorCode::UnauthorizedClient,
        TokenErrorCode::UnsupportedGrantType,
        TokenErrorCode::InvalidScope,
        TokenErrorCode::InvalidTarget,
        TokenErrorCode::UnsupportedTokenType,
        TokenErrorCode::TemporarilyUnavailable,
    ] {
        let json = serde_json::to_value(code).unwrap();
        assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
    }
}
