use super::*;
use crate::authorize::{Prompt, ResponseMode, ResponseType};
use crate::client::{ClientConfig, ClientStatus, ClientType};
use crate::ids::{ClientId, TenantId};

const NOW: UnixTime = 10_000;

fn client(require_consent: bool, allowed_groups: &[&str]) -> Client {
    Client {
        tenant: TenantId::default_tenant(),
        client_id: ClientId::parse("app").unwrap(),
        name: "App".into(),
        description: String::new(),
        client_type: ClientType::Web,
        status: ClientStatus::Active,
        protected: false,
        managed_by: None,
        created_at: 0,
        updated_at: 0,
        created_by: "t".into(),
        last_used_at: None,
        revision: 1,
        tokens_valid_after: None,
        token_epoch: 1,
        config: ClientConfig {
            require_consent,
            allowed_groups: allowed_groups.iter().map(|g| (*g).to_owned()).collect(),
            ..ClientConfig::default()
        },
    }
}

fn request(prompt: &str, max_age: Option<u32>, scope: &str) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: ClientId::parse("app").unwrap(),
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_given: true,
        response_type: ResponseType::Code,
        response_mode: ResponseMode::Query,
        scope: ScopeSet::parse_param(scope).unwrap(),
        state: None,
        nonce: None,
        prompt: Prompt {
            none: prompt.contains("none"),
            login: prompt.contains("login"),
            consent: prompt.contains("consent"),
        },
        max_age,
        login_hint: None,
        code_challenge: None,
    }
}

/// (case, prompt, max_age, scope, require consent, allowed groups, signed in, expected)
type Case<'a> = (&'a str, &'a str, Option<u32>, &'a str, bool, &'a [&'a str], Option<SignedIn<'a>>, Step);

fn user<'a>(auth_time: UnixTime, groups: &'a [String], consent: Option<&'a ScopeSet>) -> SignedIn<'a> {
    SignedIn { auth_time, groups, remembered_consent: consent }
}

#[test]
fn the_next_step_follows_from_session_consent_groups_and_prompt() {
    let staff = &["staff".to_owned()][..];
    let none: &[String] = &[];
    let openid = &ScopeSet::parse_param("openid").unwrap();
    let both = &ScopeSet::parse_param("openid profile").unwrap();
    let cases: Vec<Case<'_>> = vec![
        ("nobody signed in", "", None, "openid", false, &[], None, Step::SignIn),
        ("nobody, prompt=none", "none", None, "openid", false, &[], None, Step::LoginRequired),
        ("signed in, nothing to ask", "", None, "openid", false, &[], Some(user(NOW, none, None)), Step::Issue),
        ("prompt=login forces sign-in", "login", None, "openid", false, &[], Some(user(NOW, none, None)), Step::SignIn),
        ("within max_age", "", Some(60), "openid", false, &[], Some(user(NOW - 60, none, None)), Step::Issue),
        ("past max_age", "", Some(60), "openid", false, &[], Some(user(NOW - 61, none, None)), Step::SignIn),
        (
            "past max_age, prompt=none",
            "none",
            Some(60),
            "openid",
            false,
            &[],
            Some(user(NOW - 61, none, None)),
            Step::LoginRequired,
        ),
        ("consent needed, none remembered", "", None, "openid", true, &[], Some(user(NOW, none, None)), Step::Consent),
        ("remembered consent covers", "", None, "openid", true, &[], Some(user(NOW, none, Some(both))), Step::Issue),
        (
            "remembered consent too narrow",
            "",
            None,
            "openid profile",
            true,
            &[],
            Some(user(NOW, none, Some(openid))),
            Step::Consent,
        ),
        (
            "consent needed, prompt=none",
            "none",
            None,
            "openid",
            true,
            &[],
            Some(user(NOW, none, None)),
            Step::ConsentRequired,
        ),
        (
            "prompt=consent asks again",
            "consent",
            None,
            "openid",
            false,
            &[],
            Some(user(NOW, none, Some(both))),
            Step::Consent,
        ),
        ("in an allowed group", "", None, "openid", false, &["staff"], Some(user(NOW, staff, None)), Step::Issue),
        (
            "in no allowed group",
            "",
            None,
            "openid",
            false,
            &["admins"],
            Some(user(NOW, staff, None)),
            Step::NotInAllowedGroup,
        ),
        (
            "no groups at all",
            "",
            None,
            "openid",
            false,
            &["staff"],
            Some(user(NOW, none, None)),
            Step::NotInAllowedGroup,
        ),
        (
            "consent comes before groups",
            "",
            None,
            "openid",
            true,
            &["admins"],
            Some(user(NOW, staff, None)),
            Step::Consent,
        ),
    ];
    for (case, prompt, max_age, scope, consent, groups, signed_in, expected) in cases {
        let got = next_step(&request(prompt, max_age, scope), &client(consent, groups), signed_in, NOW);
        assert_eq!(got, expected, "{case}");
    }
}
