//! Conformance cases for the sign-in flows: sessions, authorization codes,
//! refresh families, consents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;

fn session(hash: u8, user: &str) -> crate::SessionRecord {
    crate::SessionRecord {
        session_hash: vec![hash; 32],
        sid: format!("sid-{hash}"),
        user_id: user.into(),
        auth_time: 1_000,
        created_at: 1_000,
        expires_at: 5_000,
    }
}

fn code(hash: u8) -> crate::CodeRecord {
    crate::CodeRecord {
        code_hash: vec![hash; 32],
        client_id: "boot-client".into(),
        user_id: "u-acme".into(),
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_given: true,
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        nonce: Some("n-1".into()),
        scope: "openid profile".into(),
        auth_time: 1_000,
        sid: Some("sid-1".into()),
        created_at: 1_000,
        expires_at: 1_060,
        used_at: None,
        access_jti: None,
        access_exp: None,
        family_id: None,
        client_epoch: 7,
        user_epoch: 9,
    }
}

fn family(id: &str) -> (crate::FamilyRecord, crate::RefreshRecord) {
    (
        crate::FamilyRecord {
            family_id: id.into(),
            client_id: "boot-client".into(),
            user_id: "u-acme".into(),
            scope: "openid offline_access".into(),
            auth_time: 1_000,
            sid: None,
            created_at: 1_000,
            expires_at: 100_000,
            revoked_at: None,
            client_epoch: 7,
            user_epoch: 9,
        },
        refresh(id, 1, "at-1"),
    )
}

fn refresh(family: &str, hash: u8, jti: &str) -> crate::RefreshRecord {
    crate::RefreshRecord {
        token_hash: vec![hash; 32],
        family_id: family.into(),
        created_at: 1_000,
        expires_at: 50_000,
        used_at: None,
        access_jti: jti.into(),
        access_exp: 4_600,
        successor: None,
    }
}

pub async fn sessions_round_trip_and_expire(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_session(&t, &session(1, "u-acme"), &audit("user.login", "u-acme")).await.unwrap();
    let got = store.get_session(&t, &[1; 32], 2_000).await.unwrap().unwrap();
    assert_eq!(got, session(1, "u-acme"));
    assert!(store.get_session(&t, &[1; 32], 5_000).await.unwrap().is_none(), "expired sessions are not returned");
    assert!(store.get_session(&t, &[2; 32], 2_000).await.unwrap().is_none());
    assert!(store.delete_session(&t, &[1; 32], &audit("user.logout", "u-acme")).await.unwrap());
    assert!(!store.delete_session(&t, &[1; 32], &audit("user.logout", "u-acme")).await.unwrap());
    assert!(store.get_session(&t, &[1; 32], 2_000).await.unwrap().is_none());
    let actions: Vec<String> = store.list_audit(&t, 10).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(actions.iter().filter(|a| *a == "user.logout").count(), 1, "a failed delete writes no event");
}

pub async fn d31_code_is_single_use(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_code(&t, &code(1)).await.unwrap();
    assert_eq!(store.get_code(&t, &[1; 32]).await.unwrap().unwrap(), code(1));
    let (f, rt) = family("fam-1");
    assert!(store.redeem_code(&t, &[1; 32], 1_010, ("at-1", 4_600), Some((&f, &rt))).await.unwrap());
    assert!(!store.redeem_code(&t, &[1; 32], 1_011, ("at-2", 4_600), None).await.unwrap(), "second redemption loses");
    let used = store.get_code(&t, &[1; 32]).await.unwrap().unwrap();
    assert_eq!(
        (used.used_at, used.access_jti.as_deref(), used.family_id.as_deref()),
        (Some(1_010), Some("at-1"), Some("fam-1")),
        "the losing call changed nothing"
    );
    assert!(store.get_refresh(&t, &[1; 32]).await.unwrap().is_some(), "the family started with the redemption");
    // An expired code cannot be redeemed.
    store.insert_code(&t, &code(2)).await.unwrap();
    assert!(!store.redeem_code(&t, &[2; 32], 1_060, ("at-3", 4_600), None).await.unwrap());
}

pub async fn d33_concurrent_redemptions_exactly_one_wins(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    for round in 0..5u8 {
        store.insert_code(&t, &code(10 + round)).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (s, t) = (store.clone(), t.clone());
            tasks.push(tokio::spawn(async move {
                let (f, rt) = family(&format!("fam-{round}-{i}"));
                let mut rt = rt;
                rt.token_hash = vec![100 + round, i, 0, 1];
                s.redeem_code(&t, &[10 + round; 32], 1_001, (&format!("at-{i}"), 4_600), Some((&f, &rt))).await.unwrap()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        assert_eq!(wins, 1, "round {round}: exactly one of 16 concurrent redemptions wins");
    }
}

pub async fn refresh_rotation_reuse_and_revocation(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_code(&t, &code(1)).await.unwrap();
    let (f, rt1) = family("fam");
    assert!(store.redeem_code(&t, &[1; 32], 1_001, ("at-1", 4_600), Some((&f, &rt1))).await.unwrap());
    let (tok, fam) = store.get_refresh(&t, &[1; 32]).await.unwrap().unwrap();
    assert_eq!((tok, fam), (rt1.clone(), f.clone()));

    let rt2 = refresh("fam", 2, "at-2");
    assert!(store.rotate_refresh(&t, &[1; 32], 2_000, true, &rt2, Some(b"sealed")).await.unwrap());
    // A rotated token never rotates again: no second live successor.
    assert!(!store.rotate_refresh(&t, &[1; 32], 2_001, true, &refresh("fam", 3, "at-3"), None).await.unwrap());
    let (used, _) = store.get_refresh(&t, &[1; 32]).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(2_000), "the first use is kept");
    assert_eq!(used.successor.as_deref(), Some(&b"sealed"[..]), "the rotation's answer is kept");
    // Without rotation the token stays unused; the new row records the
    // access token only (it is inserted used).
    let mut record = refresh("fam", 4, "at-4");
    record.used_at = Some(2_002);
    assert!(store.rotate_refresh(&t, &[2; 32], 2_002, false, &record, None).await.unwrap());
    let (rt2_now, _) = store.get_refresh(&t, &[2; 32]).await.unwrap().unwrap();
    assert_eq!(rt2_now.used_at, None);

    let live = store.revoke_family(&t, "fam", 3_000, &audit("refresh.reuse", "fam")).await.unwrap();
    let mut jtis: Vec<String> = live.into_iter().map(|(j, _)| j).collect();
    jtis.sort();
    assert_eq!(jtis, vec!["at-1", "at-2", "at-4"], "every access token of the family");
    assert!(store.get_refresh(&t, &[2; 32]).await.unwrap().unwrap().1.revoked_at.is_some());
    assert!(
        !store.rotate_refresh(&t, &[2; 32], 3_001, true, &refresh("fam", 6, "at-6"), None).await.unwrap(),
        "no rotation in a revoked family"
    );

    // A revoked consent revokes every family of that user at that client.
    store.insert_code(&t, &code(9)).await.unwrap();
    let (f2, rt) = family("fam-2");
    let mut rt = rt;
    rt.token_hash = vec![9; 32];
    rt.access_jti = "at-9".into();
    assert!(store.redeem_code(&t, &[9; 32], 1_001, ("at-9", 4_600), Some((&f2, &rt))).await.unwrap());
    assert!(store.revoke_families_of(&t, "u-acme", "other-client", 3_000).await.unwrap().is_empty());
    let live = store.revoke_families_of(&t, "u-acme", "boot-client", 3_000).await.unwrap();
    assert_eq!(live, vec![("at-9".to_owned(), 4_600)], "only unrevoked families");
    assert!(store.get_refresh(&t, &[9; 32]).await.unwrap().unwrap().1.revoked_at.is_some());

    // Signing a user out everywhere ends their sessions and every live family.
    store.insert_session(&t, &session(7, "u-acme"), &audit("user.login", "u-acme")).await.unwrap();
    store.insert_code(&t, &code(8)).await.unwrap();
    let (f3, rt) = family("fam-3");
    let mut rt = rt;
    rt.token_hash = vec![8; 32];
    rt.access_jti = "at-8".into();
    assert!(store.redeem_code(&t, &[8; 32], 1_001, ("at-8", 4_600), Some((&f3, &rt))).await.unwrap());
    // A code redeemed without a refresh family: its access token too.
    store.insert_code(&t, &code(6)).await.unwrap();
    assert!(store.redeem_code(&t, &[6; 32], 1_001, ("at-6", 4_600), None).await.unwrap());
    let other = with_tenant(&*store, "other").await;
    assert!(store.sign_out_user(&other, "u-acme", 3_000).await.unwrap().is_empty(), "another tenant: nothing");
    assert!(store.get_session(&t, &[7; 32], 2_000).await.unwrap().is_some());
    let live = store.sign_out_user(&t, "u-acme", 3_000).await.unwrap();
    let mut live = live;
    live.sort();
    assert_eq!(
        live,
        vec![
            ("boot-client".to_owned(), "at-6".to_owned(), 4_600),
            ("boot-client".to_owned(), "at-8".to_owned(), 4_600)
        ]
    );
    assert!(store.get_session(&t, &[7; 32], 2_000).await.unwrap().is_none(), "sessions ended");
    assert!(store.get_refresh(&t, &[8; 32]).await.unwrap().unwrap().1.revoked_at.is_some());
    // No family is left; a code's token is reported again (revoking twice is harmless).
    let again = store.sign_out_user(&t, "u-acme", 3_001).await.unwrap();
    assert!(again.iter().all(|(_, jti, _)| jti == "at-6"), "{again:?}");
}

pub async fn f47_concurrent_refreshes_exactly_one_wins(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_code(&t, &code(1)).await.unwrap();
    let (f, rt1) = family("fam");
    assert!(store.redeem_code(&t, &[1; 32], 1_001, ("at-1", 4_600), Some((&f, &rt1))).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let (s, t) = (store.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            s.rotate_refresh(&t, &[1; 32], 2_000, true, &refresh("fam", 50 + i, &format!("at-{i}")), None)
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

pub async fn consents_upsert_list_delete(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut c = crate::ConsentRecord {
        user_id: "u-acme".into(),
        client_id: "boot-client".into(),
        scope: "openid".into(),
        granted_at: 1_000,
        updated_at: 1_000,
    };
    store.upsert_consent(&t, &c, &audit("consent.grant", "boot-client")).await.unwrap();
    c.scope = "openid profile".into();
    c.updated_at = 2_000;
    store.upsert_consent(&t, &c, &audit("consent.grant", "boot-client")).await.unwrap();
    let got = store.get_consent(&t, "u-acme", "boot-client").await.unwrap().unwrap();
    assert_eq!((got.scope.as_str(), got.granted_at, got.updated_at), ("openid profile", 1_000, 2_000));
    assert_eq!(store.list_consents(&t, "u-acme").await.unwrap().len(), 1);
    assert!(store.delete_consent(&t, "u-acme", "boot-client", &audit("consent.revoke", "boot-client")).await.unwrap());
    assert!(store.get_consent(&t, "u-acme", "boot-client").await.unwrap().is_none());
    assert!(!store.delete_consent(&t, "u-acme", "boot-client", &audit("consent.revoke", "x")).await.unwrap());
}

pub async fn cors_origins_are_found_exactly(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    let mut c = client(&t, "spa", "Spa", 2_000);
    c.config.allowed_cors_origins = vec![latchkey_core::redirect::CorsOrigin::parse("https://app.example").unwrap()];
    c.description = "\"https://evil.example\"".into();
    store.insert_client(&c, &[], &audit("c", "spa")).await.unwrap();
    assert!(store.cors_origin_registered(&t, "https://app.example").await.unwrap());
    assert!(!store.cors_origin_registered(&t, "https://app.example.evil").await.unwrap());
    assert!(!store.cors_origin_registered(&t, "https://app.exampl").await.unwrap());
    assert!(!store.cors_origin_registered(&t, "https://evil.example").await.unwrap());
    assert!(!store.cors_origin_registered(&t, "%").await.unwrap());
}

/// Checklist item 60: a session, code, refresh token or consent of tenant A
/// is useless in tenant B.
pub async fn i60_flows_are_isolated_per_tenant(store: Arc<dyn Store>) {
    let a = with_tenant(&*store, "tenant-a").await;
    let b = with_tenant(&*store, "tenant-b").await;
    store.insert_session(&a, &session(1, "u-tenant-a"), &audit("user.login", "a")).await.unwrap();
    let mut cd = code(1);
    cd.user_id = "u-tenant-a".into();
    store.insert_code(&a, &cd).await.unwrap();
    let c = crate::ConsentRecord {
        user_id: "u-tenant-a".into(),
        client_id: "boot-client".into(),
        scope: "openid".into(),
        granted_at: 1,
        updated_at: 1,
    };
    store.upsert_consent(&a, &c, &audit("consent.grant", "a")).await.unwrap();

    assert!(store.get_session(&b, &[1; 32], 2_000).await.unwrap().is_none());
    assert!(!store.delete_session(&b, &[1; 32], &audit("user.logout", "a")).await.unwrap());
    assert!(store.get_code(&b, &[1; 32]).await.unwrap().is_none());
    let (f, rt) = family("fam");
    assert!(!store.redeem_code(&b, &[1; 32], 1_001, ("x", 2), Some((&f, &rt))).await.unwrap());
    assert!(store.get_consent(&b, "u-tenant-a", "boot-client").await.unwrap().is_none());
    assert!(!store.delete_consent(&b, "u-tenant-a", "boot-client", &audit("consent.revoke", "a")).await.unwrap());

    assert!(store.redeem_code(&a, &[1; 32], 1_001, ("at", 4_600), Some((&f, &rt))).await.unwrap());
    assert!(store.get_refresh(&b, &[1; 32]).await.unwrap().is_none());
    assert!(!store.rotate_refresh(&b, &[1; 32], 2_000, true, &refresh("fam", 2, "x"), None).await.unwrap());
    assert!(store.revoke_family(&b, "fam", 2_000, &audit("refresh.reuse", "fam")).await.unwrap().is_empty());
    // Tenant A's state is untouched.
    assert!(store.get_session(&a, &[1; 32], 2_000).await.unwrap().is_some());
    assert!(store.get_refresh(&a, &[1; 32]).await.unwrap().unwrap().1.revoked_at.is_none());
    assert!(store.get_consent(&a, "u-tenant-a", "boot-client").await.unwrap().is_some());
}

pub async fn expired_flows_are_purged(store: Arc<dyn Store>) {
    let t = with_tenant(&*store, "acme").await;
    store.insert_session(&t, &session(1, "u-acme"), &audit("user.login", "u")).await.unwrap();
    store.insert_code(&t, &code(1)).await.unwrap();
    assert_eq!(store.purge_expired_flows(2_000).await.unwrap(), 1, "only the code expired");
    assert!(store.get_code(&t, &[1; 32]).await.unwrap().is_none());
    assert_eq!(store.purge_expired_flows(10_000).await.unwrap(), 1);
    assert!(store.get_session(&t, &[1; 32], 1_500).await.unwrap().is_none());
}
