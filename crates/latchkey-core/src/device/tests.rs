use super::*;
use crate::client::{ClientConfig, ClientStatus, ClientType};
use crate::ids::{ClientId, TenantId};

fn cli() -> Client {
    Client {
        tenant: TenantId::default_tenant(),
        client_id: ClientId::parse("cli").unwrap(),
        name: "cli".into(),
        description: String::new(),
        client_type: ClientType::Device,
        status: ClientStatus::Active,
        protected: false,
        managed_by: None,
        created_at: 0,
        updated_at: 0,
        created_by: "test".into(),
        last_used_at: None,
        revision: 1,
        tokens_valid_after: None,
        token_epoch: 7,
        config: ClientConfig { grant_types: vec![GrantType::DeviceCode], ..ClientConfig::default() },
    }
}

fn stored(state: DeviceState, last_polled_at: Option<UnixTime>) -> StoredDevice<'static> {
    StoredDevice {
        client_id: "cli",
        state,
        created_at: 1_000,
        expires_at: 1_600,
        interval: 5,
        last_polled_at,
        client_epoch: 7,
    }
}

type Case = (&'static str, StoredDevice<'static>, Client, Option<i64>, UnixTime, Result<PollDecision, TokenErrorCode>);

#[test]
fn device_poll_decides_from_the_stored_code_and_now() {
    use DeviceState::{Approved, Denied, Pending, Redeemed};
    let client = cli();
    let mut other = cli();
    other.client_id = ClientId::parse("other").unwrap();
    let mut reborn = cli();
    reborn.token_epoch = 8;
    let mut disabled = cli();
    disabled.status = ClientStatus::Disabled;
    let approved = Approved { user_epoch: 9 };
    let cases: Vec<Case> = vec![
        ("first poll, pending", stored(Pending, None), client.clone(), None, 1_010, Ok(PollDecision::Pending)),
        (
            "pending, polled after the interval",
            stored(Pending, Some(1_010)),
            client.clone(),
            None,
            1_015,
            Ok(PollDecision::Pending),
        ),
        (
            "pending, polled too fast: interval raised by 5",
            stored(Pending, Some(1_010)),
            client.clone(),
            None,
            1_012,
            Ok(PollDecision::SlowDown { interval: 10 }),
        ),
        ("approved: issue", stored(approved, Some(1_010)), client.clone(), Some(9), 1_011, Ok(PollDecision::Issue)),
        ("denied", stored(Denied, None), client.clone(), None, 1_010, Err(TokenErrorCode::AccessDenied)),
        (
            "expired while pending",
            stored(Pending, None),
            client.clone(),
            None,
            1_600,
            Err(TokenErrorCode::ExpiredToken),
        ),
        (
            "expired after approval",
            stored(approved, None),
            client.clone(),
            Some(9),
            1_700,
            Err(TokenErrorCode::ExpiredToken),
        ),
        ("redeemed already", stored(Redeemed, None), client.clone(), Some(9), 1_010, Err(TokenErrorCode::InvalidGrant)),
        ("another client", stored(approved, None), other, Some(9), 1_010, Err(TokenErrorCode::InvalidGrant)),
        (
            "client deleted and re-created",
            stored(approved, None),
            reborn,
            Some(9),
            1_010,
            Err(TokenErrorCode::InvalidGrant),
        ),
        ("client disabled", stored(Pending, None), disabled, None, 1_010, Err(TokenErrorCode::InvalidGrant)),
        (
            "user disabled or reset since approval",
            stored(approved, None),
            client.clone(),
            Some(10),
            1_010,
            Err(TokenErrorCode::InvalidGrant),
        ),
        (
            "user gone or inactive",
            stored(approved, None),
            client.clone(),
            None,
            1_010,
            Err(TokenErrorCode::InvalidGrant),
        ),
    ];
    for (case, s, c, user_epoch, now, expected) in cases {
        let got = poll(&s, &c, user_epoch, now).map_err(|e| e.code);
        assert_eq!(got, expected, "{case}");
    }
}

#[test]
fn waiting_answers_carry_the_rfc_8628_codes() {
    assert_eq!(PollDecision::Pending.error().map(|e| e.code), Some(TokenErrorCode::AuthorizationPending));
    assert_eq!(PollDecision::SlowDown { interval: 10 }.error().map(|e| e.code), Some(TokenErrorCode::SlowDown));
    assert_eq!(PollDecision::Issue.error(), None);
    assert_eq!(TokenErrorCode::ExpiredToken.as_str(), "expired_token");
}

type StartCase<'a> = (&'static str, &'a Client, Option<&'a ScopeSet>, Result<ScopeSet, TokenErrorCode>);

#[test]
fn a_device_request_needs_the_grant_and_scopes_the_client_may_have() {
    let client = cli();
    let mut web = cli();
    web.config.grant_types = vec![GrantType::AuthorizationCode];
    let allowed = ScopeSet::parse_param("openid admin").unwrap();
    let admin = ScopeSet::parse_param("admin").unwrap();
    let other = ScopeSet::parse_param("api:write").unwrap();
    let cases: Vec<StartCase<'_>> = vec![
        ("scope asked", &client, Some(&admin), Ok(admin.clone())),
        ("no scope: everything allowed", &client, None, Ok(allowed.clone())),
        ("scope beyond the client", &client, Some(&other), Err(TokenErrorCode::InvalidScope)),
        ("not registered for the grant", &web, Some(&admin), Err(TokenErrorCode::UnauthorizedClient)),
    ];
    for (case, c, requested, expected) in cases {
        assert_eq!(start(c, requested, &allowed).map_err(|e| e.code), expected, "{case}");
    }
}

#[test]
fn user_codes_parse_case_and_dash_insensitively() {
    let cases: &[(&str, Option<&str>)] = &[
        ("BCDF-GHJK", Some("BCDFGHJK")),
        ("bcdfghjk", Some("BCDFGHJK")),
        ("bcdf-ghjk", Some("BCDFGHJK")),
        (" BcDf GhJk ", Some("BCDFGHJK")),
        ("BCDF-GHJ", None),
        ("BCDF-GHJKL", None),
        ("BCDF-GHJ0", None),
        ("BCDF-GHJO", None),
        ("BCDF-GHJ1", None),
        ("BCDF-GHJI", None),
        ("BCDF-GHJA", None),
        ("BCDF_GHJK", None),
        ("", None),
        ("BCDF-GHJÉ", None),
    ];
    for (input, expected) in cases {
        assert_eq!(UserCode::parse(input).as_ref().map(UserCode::as_str), *expected, "{input:?}");
    }
    assert_eq!(UserCode::parse("bcdfghjk").unwrap().display(), "BCDF-GHJK");
    assert!(UserCode::parse(&"-".repeat(40)).is_none());
}

#[test]
fn user_codes_come_evenly_from_the_alphabet() {
    // Bytes at or above 240 are skipped, so each letter is equally likely.
    let bytes = [0u8, 19, 20, 239, 240, 255, 1, 2, 3, 4];
    assert_eq!(UserCode::from_random(&bytes).unwrap().as_str(), "BZBZCDFG");
    assert!(UserCode::from_random(&[250; 32]).is_none());
    let all: Vec<u8> = (0..=255).collect();
    let code = UserCode::from_random(&all).unwrap();
    assert_eq!(UserCode::parse(&code.display()), Some(code));
}

#[test]
fn a_group_restricted_client_is_approved_only_by_its_groups() {
    let mut client = cli();
    assert!(may_approve(&client, &[]), "no restriction: anyone signed in");
    client.config.allowed_groups = vec!["ops".into()];
    assert!(!may_approve(&client, &[]));
    assert!(!may_approve(&client, &["sales".to_owned()]));
    assert!(may_approve(&client, &["sales".to_owned(), "ops".to_owned()]));
}
