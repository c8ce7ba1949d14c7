//! Conformance cases for device codes (RFC 8628): decided once, redeemed
//! once, found by user code only while pending, per tenant, purged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;
use crate::{DeviceApproval, DeviceRecord, DeviceStatus};

fn device(hash: u8) -> DeviceRecord {
    DeviceRecord {
        device_hash: vec![hash; 32],
        user_code_hash: vec![hash, 0xAA, 0xBB],
        client_id: "latchkey-cli".into(),
        scope: "openid admin".into(),
        device_ip: Some("192.0.2.7".into()),
        device_agent: Some("latchkey/1.0".into()),
        created_at: 1_000,
        expires_at: 1_600,
        interval: 5,
        last_polled_at: None,
        client_epoch: 7,
        status: DeviceStatus::Pending,
        approval: None,
        family_id: None,
    }
}

fn approval() -> DeviceApproval {
    DeviceApproval { user_id: "u-acme".into(), user_epoch: 9, auth_time: 1_005, sid: Some("sid-1".into()) }
}

fn family_for(id: &str, hash: u8) -> (crate::FamilyRecord, crate::RefreshRecord) {
    (
        crate::FamilyRecord {
            family_id: id.into(),
            client_id: "latchkey-cli".into(),
            user_id: "u-acme".into(),
            scope: "openid admin".into(),
            auth_time: 1_005,
            sid: None,
            created_at: 1_010,
            expires_at: 100_000,
            revoked_at: None,
            client_epoch: 7,
            user_epoch: 9,
        },
        crate::RefreshRecord {
            token_hash: vec![hash, 1, 2, 3],
            family_id: id.into(),
            created_at: 1_010,
            expires_at: 50_000,
            used_at: None,
            access_jti: format!("at-{id}"),
            access_exp: 4_600,
            successor: None,
        },
    )
}

pub async fn device_codes_are_decided_once_and_redeemed_once(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_device_code(&t, &device(1)).await.unwrap();
    assert_eq!(store.get_device_code(&t, &[1; 32]).await.unwrap().unwrap(), device(1));
    let found = store.find_pending_user_code(&t, &[1, 0xAA, 0xBB], 1_010).await.unwrap().unwrap();
    assert_eq!(found.device_hash, vec![1; 32]);
    assert!(store.find_pending_user_code(&t, &[1, 0xAA, 0xBB], 1_600).await.unwrap().is_none(), "expired");
    let mut taken = device(2);
    taken.user_code_hash = device(1).user_code_hash;
    assert!(
        matches!(store.insert_device_code(&t, &taken).await, Err(StoreError::Conflict(_))),
        "user codes are unique"
    );

    // Polls move the interval.
    store.record_device_poll(&t, &[1; 32], 1_010, 10).await.unwrap();
    let polled = store.get_device_code(&t, &[1; 32]).await.unwrap().unwrap();
    assert_eq!((polled.last_polled_at, polled.interval), (Some(1_010), 10));

    // Not approved yet: nothing to redeem.
    assert!(!store.redeem_device_code(&t, &[1; 32], 1_011, None).await.unwrap());
    let a = approval();
    assert!(store.decide_device_code(&t, &[1; 32], 1_012, Some(&a), &audit("device.approve", "u-acme")).await.unwrap());
    assert!(
        !store.decide_device_code(&t, &[1; 32], 1_013, None, &audit("device.deny", "u-acme")).await.unwrap(),
        "a decided code is not decided again"
    );
    let approved = store.get_device_code(&t, &[1; 32]).await.unwrap().unwrap();
    assert_eq!((approved.status, approved.approval), (DeviceStatus::Approved, Some(a)));
    assert!(store.find_pending_user_code(&t, &[1, 0xAA, 0xBB], 1_013).await.unwrap().is_none(), "single use");

    let (f, rt) = family_for("fam-d1", 1);
    assert!(store.redeem_device_code(&t, &[1; 32], 1_020, Some((&f, &rt))).await.unwrap());
    assert!(!store.redeem_device_code(&t, &[1; 32], 1_021, None).await.unwrap(), "second redemption loses");
    assert_eq!(store.get_device_code(&t, &[1; 32]).await.unwrap().unwrap().status, DeviceStatus::Redeemed);
    assert!(store.get_refresh(&t, &rt.token_hash).await.unwrap().is_some(), "the family started with the redemption");

    // Denied codes are never redeemed; expired ones are neither decided nor redeemed.
    store.insert_device_code(&t, &device(3)).await.unwrap();
    assert!(store.decide_device_code(&t, &[3; 32], 1_010, None, &audit("device.deny", "u-acme")).await.unwrap());
    assert_eq!(store.get_device_code(&t, &[3; 32]).await.unwrap().unwrap().status, DeviceStatus::Denied);
    assert!(!store.redeem_device_code(&t, &[3; 32], 1_011, None).await.unwrap());
    store.insert_device_code(&t, &device(4)).await.unwrap();
    assert!(
        !store.decide_device_code(&t, &[4; 32], 1_600, Some(&approval()), &audit("device.approve", "u")).await.unwrap()
    );
    let actions: Vec<String> = store.list_audit(&t, 10).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("device.")).count(),
        2,
        "only decisions that happened are audited"
    );
}

pub async fn device_concurrent_redemptions_exactly_one_wins(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    for round in 0..5u8 {
        store.insert_device_code(&t, &device(10 + round)).await.unwrap();
        assert!(
            store
                .decide_device_code(&t, &[10 + round; 32], 1_005, Some(&approval()), &audit("device.approve", "u"))
                .await
                .unwrap()
        );
        let mut tasks = Vec::new();
        for i in 0..2u8 {
            let (s, t) = (store.clone(), t.clone());
            tasks.push(tokio::spawn(async move {
                let (f, rt) = family_for(&format!("fam-{round}-{i}"), 100 + round * 2 + i);
                s.redeem_device_code(&t, &[10 + round; 32], 1_010, Some((&f, &rt))).await.unwrap()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        assert_eq!(wins, 1, "round {round}: exactly one of two concurrent redemptions wins");
    }
}

pub async fn device_codes_are_isolated_per_tenant_and_purged(store: Arc<dyn Store>) {
    let a = with_tenant(&*store, "tenant-a").await;
    let b = with_tenant(&*store, "tenant-b").await;
    store.insert_device_code(&a, &device(1)).await.unwrap();
    store.insert_device_code(&b, &device(1)).await.unwrap(); // the same user code in another tenant is fine
    store.insert_device_code(&a, &device(2)).await.unwrap();
    assert!(
        store.decide_device_code(&b, &[1; 32], 1_010, Some(&approval()), &audit("device.approve", "u")).await.unwrap()
    );
    assert!(store.redeem_device_code(&b, &[1; 32], 1_011, None).await.unwrap());
    // Tenant B's decision and redemption left tenant A's code pending.
    assert_eq!(store.get_device_code(&a, &[1; 32]).await.unwrap().unwrap().status, DeviceStatus::Pending);
    assert!(store.get_device_code(&b, &[2; 32]).await.unwrap().is_none());
    assert!(store.find_pending_user_code(&b, &[2, 0xAA, 0xBB], 1_010).await.unwrap().is_none());
    assert!(!store.decide_device_code(&b, &[2; 32], 1_010, None, &audit("device.deny", "u")).await.unwrap());
    store.record_device_poll(&b, &[2; 32], 1_010, 99).await.unwrap();
    assert_eq!(store.get_device_code(&a, &[2; 32]).await.unwrap().unwrap().interval, 5);

    let mut later = device(3);
    later.expires_at = 9_000;
    store.insert_device_code(&a, &later).await.unwrap();
    assert_eq!(store.purge_expired_flows(2_000).await.unwrap(), 3, "the three expired device codes");
    assert!(store.get_device_code(&a, &[1; 32]).await.unwrap().is_none());
    assert!(store.get_device_code(&a, &[3; 32]).await.unwrap().is_some());
}

pub async fn open_device_codes_are_listed_per_client_and_user_and_revoked_once(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    for h in 20..24u8 {
        let mut d = device(h);
        d.created_at = 1_000 + i64::from(h);
        d.client_id = if h == 23 { "tv".into() } else { "latchkey-cli".into() };
        store.insert_device_code(&t, &d).await.unwrap();
    }
    store.insert_device_code(&other, &device(29)).await.unwrap();
    store
        .decide_device_code(&t, &[21; 32], 1_030, Some(&approval()), &audit("device.approve", "u-acme"))
        .await
        .unwrap();
    store.decide_device_code(&t, &[22; 32], 1_030, None, &audit("device.deny", "u-acme")).await.unwrap();
    let hashes = |v: Vec<DeviceRecord>| v.into_iter().map(|d| d.device_hash[0]).collect::<Vec<u8>>();

    // Pending and approved, newest first; denied ones are not open.
    let cli = store.list_open_device_codes(&t, Some("latchkey-cli"), None, 1_100).await.unwrap();
    assert_eq!(hashes(cli), vec![21, 20]);
    assert_eq!(hashes(store.list_open_device_codes(&t, None, None, 1_100).await.unwrap()), vec![23, 21, 20]);
    let by_user = store.list_open_device_codes(&t, None, Some("u-acme"), 1_100).await.unwrap();
    assert_eq!(hashes(by_user), vec![21], "only approved codes have a user");
    assert!(store.list_open_device_codes(&t, None, None, 1_600).await.unwrap().is_empty(), "expired");
    assert_eq!(hashes(store.list_open_device_codes(&other, None, None, 1_100).await.unwrap()), vec![29]);

    // Revoking an approved code denies it: it is no longer open nor redeemable.
    assert!(store.revoke_device_code(&t, &[21; 32], 1_040, &audit("device.revoke", "admin")).await.unwrap());
    assert!(!store.revoke_device_code(&t, &[21; 32], 1_041, &audit("device.revoke", "admin")).await.unwrap());
    assert_eq!(store.get_device_code(&t, &[21; 32]).await.unwrap().unwrap().status, DeviceStatus::Denied);
    assert!(!store.redeem_device_code(&t, &[21; 32], 1_042, None).await.unwrap());
    assert!(
        !store.revoke_device_code(&other, &[20; 32], 1_043, &audit("device.revoke", "admin")).await.unwrap(),
        "another tenant's code is out of reach"
    );
    let revokes = store.list_audit(&t, 20).await.unwrap().into_iter().filter(|a| a.action == "device.revoke").count();
    assert_eq!(revokes, 1, "only the revocation that happened is audited");
}

/// A redeemed device code stays listed while the refresh family it started
/// lives, and leaves the list when the family is revoked or expires or its
/// user's incarnation ends; it is kept (not purged) as long as the family.
pub async fn redeemed_device_codes_are_listed_while_their_family_lives(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut cli = client(&t, "latchkey-cli", "CLI", 900);
    cli.token_epoch = 7;
    store.insert_client(&cli, &[], &audit("client.create", "latchkey-cli")).await.unwrap();
    // The tenant's bootstrap created the user `u-acme`; families carry its epoch.
    let user_epoch = store.get_user(&t, "u-acme").await.unwrap().unwrap().token_epoch;
    let hashes = |v: Vec<DeviceRecord>| v.into_iter().map(|d| d.device_hash[0]).collect::<Vec<u8>>();
    for h in [40u8, 41] {
        let mut d = device(h);
        d.created_at = 1_000 + i64::from(h);
        store.insert_device_code(&t, &d).await.unwrap();
        store
            .decide_device_code(&t, &[h; 32], 1_005, Some(&approval()), &audit("device.approve", "u-acme"))
            .await
            .unwrap();
        let (mut f, rt) = family_for(&format!("fam-{h}"), h);
        f.user_epoch = user_epoch;
        assert!(store.redeem_device_code(&t, &[h; 32], 1_010, Some((&f, &rt))).await.unwrap());
    }
    let got = store.get_device_code(&t, &[40; 32]).await.unwrap().unwrap();
    assert_eq!(got.status, DeviceStatus::Redeemed);
    assert_eq!(got.family_id.as_deref(), Some("fam-40"));
    assert_eq!(got.expires_at, 100_000, "kept as long as its family");

    let by_user = store.list_open_device_codes(&t, None, Some("u-acme"), 2_000).await.unwrap();
    assert_eq!(hashes(by_user), vec![41, 40], "redeemed with a live family: still signed in");
    assert_eq!(store.purge_expired_flows(2_000).await.unwrap(), 0, "nothing of a live sign-in is purged");
    assert_eq!(
        hashes(store.list_open_device_codes(&t, Some("latchkey-cli"), None, 2_000).await.unwrap()),
        vec![41, 40]
    );

    store.revoke_family(&t, "fam-41", 2_100, &audit("device.revoke", "admin")).await.unwrap();
    let left = store.list_open_device_codes(&t, None, Some("u-acme"), 2_200).await.unwrap();
    assert_eq!(hashes(left), vec![40], "a revoked family ends its sign-in");

    let mut changed = store.get_user(&t, "u-acme").await.unwrap().unwrap();
    changed.password_hash = "$argon2id$other".into();
    assert!(store.update_user(&t, &changed, &audit("user.password", "u-acme")).await.unwrap());
    assert!(
        store.list_open_device_codes(&t, None, Some("u-acme"), 2_300).await.unwrap().is_empty(),
        "a new incarnation of the user ends every sign-in of the old one"
    );
    assert!(store.list_open_device_codes(&t, None, None, 200_000).await.unwrap().is_empty(), "expired");
}
