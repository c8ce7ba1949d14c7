//! The device authorization grant as a service, on the real database of the
//! test run, with a `ManualClock`: polling, slow_down, deciding, expiry,
//! single use, client binding and revocation through epochs.

use latchkey_core::{ClientStatus, TokenErrorCode};

use super::TokenRequest;
use super::client_auth::PresentedAuth;
use super::device::{Decider, DeviceAuthorization, DeviceInfo, UserCodeError};
use crate::admin::Actor;
use crate::admin::clients::NewClient;
use crate::admin::users::NewUser;
use crate::test_world::{World, world};

struct Setup {
    w: World,
    cli: String,
    other: String,
    user_id: String,
}

async fn device_client(w: &World, name: &str) -> String {
    let body = serde_json::json!({
        "name": name, "type": "device", "scopes": ["openid", "profile"],
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
    });
    let new: NewClient = serde_json::from_value(body).unwrap();
    w.app.clients.create_client(&w.ctx, &Actor::system(), new).await.unwrap().client.client_id
}

async fn setup() -> Setup {
    let w = world().await;
    let cli = device_client(&w, "Shell").await;
    let other = device_client(&w, "Other").await;
    let user = NewUser {
        username: "alice".into(),
        password: Some("correct horse battery staple".into()),
        display_name: "Alice".into(),
        ..NewUser::default()
    };
    let user_id = w.app.users.create_user(&w.ctx, &Actor::system(), user).await.unwrap().user.id;
    Setup { w, cli, other, user_id }
}

impl Setup {
    async fn start(&self) -> DeviceAuthorization {
        let auth = PresentedAuth::None { client_id: self.cli.clone() };
        let device = DeviceInfo { ip: Some("192.0.2.7".into()), user_agent: Some("latchkey/1.0".into()) };
        self.w.app.tokens.device_authorization(&self.w.ctx, &auth, Some("openid profile"), device, None).await.unwrap()
    }

    async fn poll_as(&self, client_id: &str, device_code: &str) -> Result<super::TokenResponse, TokenErrorCode> {
        let auth = PresentedAuth::None { client_id: client_id.into() };
        let authed = self.w.app.tokens.authenticate_client(&self.w.ctx, &auth, None).await.map_err(|e| e.code)?;
        let req = TokenRequest {
            grant_type: Some("urn:ietf:params:oauth:grant-type:device_code".into()),
            device_code: Some(device_code.into()),
            ..TokenRequest::default()
        };
        self.w.app.tokens.device_code_grant(&self.w.ctx, &authed, &req).await.map_err(|e| e.code)
    }

    async fn refresh(&self, refresh_token: &str) -> Result<super::TokenResponse, TokenErrorCode> {
        let auth = PresentedAuth::None { client_id: self.cli.clone() };
        let req = TokenRequest {
            grant_type: Some("refresh_token".into()),
            refresh_token: Some(refresh_token.into()),
            ..TokenRequest::default()
        };
        self.w.app.tokens.token(&self.w.ctx, &auth, &req, None).await.map_err(|e| e.code)
    }

    async fn poll(&self, device_code: &str) -> Result<super::TokenResponse, TokenErrorCode> {
        self.poll_as(&self.cli, device_code).await
    }

    async fn decide(&self, user_code: &str, allow: bool) -> Result<bool, UserCodeError> {
        let decider = Decider {
            user_id: &self.user_id,
            auth_time: self.w.clock.now_for_test(),
            sid: None,
            source: Some("198.51.100.1"),
        };
        self.w.app.tokens.decide_device(&self.w.ctx, user_code, &decider, allow).await
    }
}

#[tokio::test]
async fn device_flow_issues_tokens_bound_to_the_approving_user_once() {
    let s = setup().await;
    let d = s.start().await;
    assert_eq!((d.expires_in, d.interval, d.user_code.len()), (600, 5, 9));
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::AuthorizationPending);
    // The person sees what asks, typed in any case without the dash.
    let (pending, _) =
        s.w.app.tokens.pending_device(&s.w.ctx, &d.user_code.replace('-', "").to_lowercase(), None).await.unwrap();
    assert_eq!((pending.client_name.as_str(), pending.scope.to_string().as_str()), ("Shell", "openid profile"));
    assert_eq!(
        (pending.device_ip.as_deref(), pending.device_agent.as_deref()),
        (Some("192.0.2.7"), Some("latchkey/1.0"))
    );
    assert!(s.decide(&d.user_code, true).await.unwrap());
    s.w.clock.advance(5);
    let t = s.poll(&d.device_code).await.unwrap();
    assert!(t.refresh_token.is_some() && t.id_token.is_some());
    let claims = s.w.app.tokens.read_access_token(&s.w.ctx, &t.access_token).await.unwrap().unwrap();
    assert_eq!(claims.sub, s.user_id);
    s.w.clock.advance(5);
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::InvalidGrant, "redeemed once");
}

#[tokio::test]
async fn device_polling_too_fast_gets_slow_down_and_a_raised_interval() {
    let s = setup().await;
    let d = s.start().await;
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::AuthorizationPending);
    s.w.clock.advance(2);
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::SlowDown);
    // The interval is now 10 s, remembered for the code: 5 s is too fast.
    s.w.clock.advance(5);
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::SlowDown);
    s.w.clock.advance(15);
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::AuthorizationPending);
}

#[tokio::test]
async fn device_denied_and_expired_codes_end_the_flow() {
    let s = setup().await;
    let denied = s.start().await;
    assert!(s.decide(&denied.user_code, false).await.unwrap());
    assert_eq!(s.poll(&denied.device_code).await.unwrap_err(), TokenErrorCode::AccessDenied);
    let late = s.start().await;
    s.w.clock.advance(600);
    assert_eq!(s.decide(&late.user_code, true).await.unwrap_err(), UserCodeError::Unknown, "an expired user code");
    assert_eq!(s.poll(&late.device_code).await.unwrap_err(), TokenErrorCode::ExpiredToken);
}

#[tokio::test]
async fn device_wrong_and_reused_user_codes_are_refused_and_throttled() {
    let s = setup().await;
    let d = s.start().await;
    assert_eq!(s.decide("BBBB-BBBB", true).await.unwrap_err(), UserCodeError::Unknown, "wrong code");
    assert_eq!(s.decide("not a code", true).await.unwrap_err(), UserCodeError::Unknown, "malformed code");
    assert!(s.decide(&d.user_code, true).await.unwrap());
    assert_eq!(s.decide(&d.user_code, false).await.unwrap_err(), UserCodeError::Unknown, "reused code");
    // Guessing from one source is slowed down, even for a right code.
    for _ in 0..3 {
        let _ = s.decide("CCCC-CCCC", true).await;
    }
    let next = s.start().await;
    assert!(matches!(s.decide(&next.user_code, true).await, Err(UserCodeError::Throttled(_))));
}

#[tokio::test]
async fn device_code_of_another_client_is_invalid_grant() {
    let s = setup().await;
    let d = s.start().await;
    assert!(s.decide(&d.user_code, true).await.unwrap());
    assert_eq!(s.poll_as(&s.other, &d.device_code).await.unwrap_err(), TokenErrorCode::InvalidGrant);
    assert!(s.poll(&d.device_code).await.is_ok(), "the rightful client still redeems it");
}

#[tokio::test]
async fn device_code_dies_with_its_client_and_user_epochs() {
    // The client disabled (and enabled again: a new epoch).
    let s = setup().await;
    let d = s.start().await;
    assert!(s.decide(&d.user_code, true).await.unwrap());
    let sys = Actor::system();
    s.w.app.clients.set_client_status(&s.w.ctx, &sys, &s.cli, ClientStatus::Disabled, false).await.unwrap();
    s.w.app.clients.set_client_status(&s.w.ctx, &sys, &s.cli, ClientStatus::Active, false).await.unwrap();
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::InvalidGrant);

    // The user disabled after approving.
    let d = s.start().await;
    assert!(s.decide(&d.user_code, true).await.unwrap());
    s.w.app.users.set_user_status(&s.w.ctx, &sys, &s.user_id, false).await.unwrap();
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::InvalidGrant);
    s.w.app.users.set_user_status(&s.w.ctx, &sys, &s.user_id, true).await.unwrap();
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::InvalidGrant, "a new incarnation");

    // The client deleted: its pending code cannot be approved or polled.
    let d = s.start().await;
    s.w.app.clients.delete_client(&s.w.ctx, &sys, &s.cli, false).await.unwrap();
    assert_eq!(s.decide(&d.user_code, true).await.unwrap_err(), UserCodeError::Unknown);
    assert_eq!(s.poll(&d.device_code).await.unwrap_err(), TokenErrorCode::InvalidClient);
}

#[tokio::test]
async fn device_request_of_a_group_restricted_client_is_decided_only_by_its_groups() {
    let s = setup().await;
    let body = serde_json::json!({
        "name": "Ops shell", "type": "device", "scopes": ["openid"],
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
        "allowed_groups": ["ops"],
    });
    let new: NewClient = serde_json::from_value(body).unwrap();
    let ops = s.w.app.clients.create_client(&s.w.ctx, &Actor::system(), new).await.unwrap().client.client_id;
    let auth = PresentedAuth::None { client_id: ops.clone() };
    let d = s.w.app.tokens.device_authorization(&s.w.ctx, &auth, None, DeviceInfo::default(), None).await.unwrap();

    // Alice is in no group: she can neither see the request nor decide it.
    let seen = s.w.app.tokens.pending_device_for(&s.w.ctx, &d.user_code, &s.user_id, None).await;
    assert_eq!(seen.unwrap_err(), UserCodeError::NotInAllowedGroup);
    assert_eq!(s.decide(&d.user_code, true).await.unwrap_err(), UserCodeError::NotInAllowedGroup);
    assert_eq!(s.poll_as(&ops, &d.device_code).await.unwrap_err(), TokenErrorCode::AuthorizationPending);
    // Once in the group, she can.
    let sys = Actor::system();
    let patch = serde_json::from_value(serde_json::json!({"groups": ["ops"]})).unwrap();
    s.w.app.users.update_user(&s.w.ctx, &sys, &s.user_id, patch).await.unwrap();
    assert!(s.decide(&d.user_code, true).await.unwrap());
    s.w.clock.advance(5);
    assert!(s.poll_as(&ops, &d.device_code).await.is_ok());
}

#[tokio::test]
async fn device_sign_ins_are_listed_and_a_revoked_one_never_yields_tokens() {
    let s = setup().await;
    let pending = s.start().await;
    s.w.clock.advance(1);
    let approved = s.start().await;
    assert!(s.decide(&approved.user_code, true).await.unwrap());
    let users = &s.w.app.users;
    let of_client = users.list_device_sign_ins(&s.w.ctx, Some(&s.cli), None).await.unwrap();
    assert_eq!(of_client.iter().map(|d| d.status).collect::<Vec<_>>(), ["approved", "pending"], "newest first");
    let of_user = users.list_device_sign_ins(&s.w.ctx, None, Some(&s.user_id)).await.unwrap();
    assert_eq!(of_user.len(), 1, "only the approved one has a user");
    assert_eq!(of_user[0].device_agent.as_deref(), Some("latchkey/1.0"));
    assert!(users.list_device_sign_ins(&s.w.ctx, Some(&s.other), None).await.unwrap().is_empty());

    // A viewer may look but not revoke; a writer revokes, once.
    let viewer = Actor::user("usr_viewer", latchkey_core::AdminRole::Viewer, true);
    let id = of_user[0].id.clone();
    assert!(matches!(users.revoke_device_sign_in(&s.w.ctx, &viewer, &id).await, Err(crate::AppError::Forbidden(_))));
    let admin = Actor::user("usr_admin", latchkey_core::AdminRole::TenantAdmin, true);
    users.revoke_device_sign_in(&s.w.ctx, &admin, &id).await.unwrap();
    assert!(matches!(users.revoke_device_sign_in(&s.w.ctx, &admin, &id).await, Err(crate::AppError::NotFound)));
    assert!(matches!(users.revoke_device_sign_in(&s.w.ctx, &admin, "zz").await, Err(crate::AppError::NotFound)));
    s.w.clock.advance(5);
    assert_eq!(s.poll(&approved.device_code).await.unwrap_err(), TokenErrorCode::AccessDenied);

    // A pending one, revoked, can no longer be approved either.
    let pending_id = users.list_device_sign_ins(&s.w.ctx, Some(&s.cli), None).await.unwrap()[0].id.clone();
    users.revoke_device_sign_in(&s.w.ctx, &admin, &pending_id).await.unwrap();
    assert_eq!(s.decide(&pending.user_code, true).await.unwrap_err(), UserCodeError::Unknown);
    assert_eq!(s.poll(&pending.device_code).await.unwrap_err(), TokenErrorCode::AccessDenied);
    assert!(users.list_device_sign_ins(&s.w.ctx, Some(&s.cli), None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_signed_in_device_stays_listed_until_revoked_and_revoking_ends_its_tokens() {
    let s = setup().await;
    let d = s.start().await;
    assert!(s.decide(&d.user_code, true).await.unwrap());
    s.w.clock.advance(5);
    let t = s.poll(&d.device_code).await.unwrap();
    let users = &s.w.app.users;
    s.w.clock.advance(3_600);
    let listed = users.list_device_sign_ins(&s.w.ctx, None, Some(&s.user_id)).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.status).collect::<Vec<_>>(), ["signed-in"], "still signed in an hour later");
    assert_eq!(listed[0].device_agent.as_deref(), Some("latchkey/1.0"));
    assert_eq!(users.list_device_sign_ins(&s.w.ctx, Some(&s.cli), None).await.unwrap().len(), 1);

    let admin = Actor::user("usr_admin", latchkey_core::AdminRole::TenantAdmin, true);
    s.w.clock.advance(10);
    let fresh = s.refresh(t.refresh_token.as_deref().unwrap()).await.unwrap();
    users.revoke_device_sign_in(&s.w.ctx, &admin, &listed[0].id).await.unwrap();
    assert!(users.list_device_sign_ins(&s.w.ctx, None, Some(&s.user_id)).await.unwrap().is_empty());
    assert!(
        s.w.app.tokens.read_access_token(&s.w.ctx, &fresh.access_token).await.unwrap().is_none(),
        "the device's access token stops at once"
    );
    let refresh = fresh.refresh_token.as_deref().unwrap();
    assert_eq!(s.refresh(refresh).await.unwrap_err(), TokenErrorCode::InvalidGrant);
    let again = users.revoke_device_sign_in(&s.w.ctx, &admin, &listed[0].id).await;
    assert!(matches!(again, Err(crate::AppError::NotFound)), "an ended sign-in is not there to revoke");
    let (events, _) = s.w.app.audit.search_audit(&s.w.ctx, &crate::admin::AuditSearch::default()).await.unwrap();
    assert!(events.iter().any(|a| a.action == "device.revoke"), "the revocation is audited");
}
