use super::*;
use crate::client::{ClientConfig, ClientStatus, ClientType, RefreshTokenPolicy};
use crate::error::TokenErrorCode;
use crate::ids::{ClientId, TenantId};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn web(policy: RefreshTokenPolicy) -> Client {
    Client {
        tenant: TenantId::default_tenant(),
        client_id: ClientId::parse("web").unwrap(),
        name: "web".into(),
        description: String::new(),
        client_type: ClientType::Web,
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
        config: ClientConfig { refresh_token_policy: policy, ..ClientConfig::default() },
    }
}

fn code() -> StoredCode<'static> {
    StoredCode {
        client_id: "web",
        redirect_uri: "https://app.example/cb",
        redirect_uri_given: true,
        code_challenge: Some(CHALLENGE),
        expires_at: 1_060,
        used: false,
        client_epoch: 7,
        user_epoch: 9,
    }
}

fn redemption(client: &Client) -> Redemption<'_> {
    Redemption {
        client,
        redirect_uri: Some("https://app.example/cb"),
        code_verifier: Some(VERIFIER),
        verifier_s256: Some(CHALLENGE),
        user_epoch: Some(9),
        now: 1_010,
    }
}

/// Every way a redemption can go, one row each.
#[test]
fn code_redemption_table() {
    use TokenErrorCode::{InvalidGrant, InvalidRequest};
    let client = web(RefreshTokenPolicy::default());
    let other = Client { client_id: ClientId::parse("other").unwrap(), ..client.clone() };
    let reborn = Client { token_epoch: 8, ..client.clone() };
    type Case = (
        &'static str,
        fn(&mut StoredCode<'static>),
        Box<dyn Fn(&mut Redemption<'_>)>,
        Result<CodeDecision, TokenErrorCode>,
    );
    let cases: Vec<Case> = vec![
        ("the happy path", |_| {}, Box::new(|_| {}), Ok(CodeDecision::Redeem)),
        ("expired", |c| c.expires_at = 1_010, Box::new(|_| {}), Err(InvalidGrant)),
        (
            "another redirect_uri",
            |_| {},
            Box::new(|r| r.redirect_uri = Some("https://evil.example/cb")),
            Err(InvalidGrant),
        ),
        ("redirect_uri left out", |_| {}, Box::new(|r| r.redirect_uri = None), Err(InvalidGrant)),
        ("no verifier", |_| {}, Box::new(|r| r.code_verifier = None), Err(InvalidGrant)),
        ("a wrong verifier", |_| {}, Box::new(|r| r.verifier_s256 = Some("nope")), Err(InvalidGrant)),
        ("a malformed verifier", |_| {}, Box::new(|r| r.code_verifier = Some("short")), Err(InvalidGrant)),
        ("a verifier without a challenge", |c| c.code_challenge = None, Box::new(|_| {}), Err(InvalidRequest)),
        ("no PKCE at all", |c| c.code_challenge = None, Box::new(|r| r.code_verifier = None), Ok(CodeDecision::Redeem)),
        ("used: a replay", |c| c.used = true, Box::new(|_| {}), Ok(CodeDecision::Replay)),
        ("the user is gone or disabled", |_| {}, Box::new(|r| r.user_epoch = None), Err(InvalidGrant)),
        ("the user's password was reset", |_| {}, Box::new(|r| r.user_epoch = Some(10)), Err(InvalidGrant)),
    ];
    for (name, code_change, req_change, expected) in cases {
        let mut c = code();
        code_change(&mut c);
        let mut r = redemption(&client);
        req_change(&mut r);
        assert_eq!(redeem_code(&c, &r).map_err(|e| e.code), expected, "{name}");
    }
    // A thief with another client's credentials learns nothing and revokes nothing.
    let mut used = code();
    used.used = true;
    assert_eq!(redeem_code(&used, &redemption(&other)).unwrap_err().code, InvalidGrant);
    // A client deleted and created again under the same id.
    assert_eq!(redeem_code(&code(), &redemption(&reborn)).unwrap_err().code, InvalidGrant);
}

fn stored() -> StoredRefresh<'static> {
    StoredRefresh {
        client_id: "web",
        family_revoked: false,
        expires_at: 5_000,
        family_expires_at: 9_000,
        created_at: 1_000,
        used_at: None,
        client_epoch: 7,
        user_epoch: 9,
    }
}

/// Every way a refresh can go, one row each.
#[test]
fn refresh_table() {
    use RefreshDecision::{Issue, ReplaySuccessor, RevokeFamily};
    let rotating = web(RefreshTokenPolicy { rotate: true, reuse_grace_seconds: 0 });
    let graceful = web(RefreshTokenPolicy { rotate: true, reuse_grace_seconds: 60 });
    let fixed = web(RefreshTokenPolicy { rotate: false, reuse_grace_seconds: 0 });
    let disabled = Client { status: ClientStatus::Disabled, ..rotating.clone() };
    let reborn = Client { token_epoch: 8, ..rotating.clone() };
    let bad = Err(TokenErrorCode::InvalidGrant);
    type Case<'a> =
        (&'static str, StoredRefresh<'static>, &'a Client, Option<i64>, Result<RefreshDecision, TokenErrorCode>);
    let cases: Vec<Case<'_>> = vec![
        ("rotation", stored(), &rotating, Some(9), Ok(Issue { rotate: true })),
        ("no rotation", stored(), &fixed, Some(9), Ok(Issue { rotate: false })),
        ("another client", StoredRefresh { client_id: "other", ..stored() }, &rotating, Some(9), bad.clone()),
        ("revoked family", StoredRefresh { family_revoked: true, ..stored() }, &rotating, Some(9), bad.clone()),
        ("expired token", StoredRefresh { expires_at: 2_000, ..stored() }, &rotating, Some(9), bad.clone()),
        ("expired family", StoredRefresh { family_expires_at: 2_000, ..stored() }, &rotating, Some(9), bad.clone()),
        ("disabled client", stored(), &disabled, Some(9), bad.clone()),
        ("a namesake client", stored(), &reborn, Some(9), bad.clone()),
        ("user gone or disabled", stored(), &rotating, None, bad.clone()),
        ("user's password reset", stored(), &rotating, Some(10), bad.clone()),
        (
            "reuse without grace",
            StoredRefresh { used_at: Some(1_990), ..stored() },
            &rotating,
            Some(9),
            Ok(RevokeFamily),
        ),
        (
            "reuse inside grace",
            StoredRefresh { used_at: Some(1_950), ..stored() },
            &graceful,
            Some(9),
            Ok(ReplaySuccessor),
        ),
        ("reuse after grace", StoredRefresh { used_at: Some(1_900), ..stored() }, &graceful, Some(9), Ok(RevokeFamily)),
    ];
    for (name, s, client, user_epoch, expected) in cases {
        assert_eq!(use_refresh(&s, client, user_epoch, 2_000).map_err(|e| e.code), expected, "{name}");
    }
}

/// (case, client, legacy grants on, requested, expected)
type PasswordCase<'a> = (&'a str, &'a Client, bool, Option<&'a ScopeSet>, Result<ScopeSet, TokenErrorCode>);

#[test]
fn the_password_grant_needs_the_tenant_the_client_and_scopes_it_may_have() {
    let mut client = web(RefreshTokenPolicy::default());
    client.config.grant_types = vec![crate::GrantType::Password];
    let allowed = ScopeSet::parse_param("openid api:read").unwrap();
    let read = ScopeSet::parse_param("api:read").unwrap();
    let write = ScopeSet::parse_param("api:write").unwrap();
    let mut public = client.clone();
    public.config.token_endpoint_auth_method = crate::TokenEndpointAuthMethod::None;
    let mut other = client.clone();
    other.config.grant_types = vec![crate::GrantType::ClientCredentials];
    let cases: Vec<PasswordCase<'_>> = vec![
        ("allowed, scope asked", &client, true, Some(&read), Ok(read.clone())),
        ("allowed, no scope: everything allowed", &client, true, None, Ok(allowed.clone())),
        ("legacy grants off", &client, false, Some(&read), Err(TokenErrorCode::UnsupportedGrantType)),
        ("not registered for it", &other, true, Some(&read), Err(TokenErrorCode::UnauthorizedClient)),
        ("public client", &public, true, Some(&read), Err(TokenErrorCode::UnauthorizedClient)),
        ("scope beyond the client", &client, true, Some(&write), Err(TokenErrorCode::InvalidScope)),
    ];
    for (case, c, legacy, requested, expected) in cases {
        let got = password(c, legacy, requested, &allowed).map_err(|e| e.code);
        assert_eq!(got, expected, "{case}");
    }
}
