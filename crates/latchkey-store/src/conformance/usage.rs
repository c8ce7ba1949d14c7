//! Hourly usage counts (SPEC §2.5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use std::sync::Arc;

use crate::{Store, UsageCount};

use super::{bootstrap, tenant};

fn count(t: &latchkey_core::TenantId, client: &str, hour: i64, issued: i64, failed: i64) -> UsageCount {
    UsageCount { tenant: t.clone(), client_id: client.into(), hour, issued, failed }
}

/// Increments add up per tenant, client and hour; reads filter by client
/// and time and stay inside the tenant; the purge drops old hours only.
pub async fn usage_counts_add_up_per_hour_and_purge(store: Arc<dyn Store>) {
    let (a, b) = (tenant("usage-a"), tenant("usage-b"));
    for t in [&a, &b] {
        assert!(store.bootstrap_tenant(&bootstrap(t)).await.unwrap());
    }
    store.add_usage_counts(&[]).await.unwrap();
    store
        .add_usage_counts(&[
            count(&a, "one", 3600, 5, 0),
            count(&a, "two", 3600, 1, 2),
            count(&a, "one", 7200, 3, 1),
            count(&b, "one", 3600, 100, 100),
        ])
        .await
        .unwrap();
    store.add_usage_counts(&[count(&a, "one", 3600, 2, 1)]).await.unwrap();

    let all = store.usage_counts(&a, None, 0).await.unwrap();
    assert_eq!(
        all,
        vec![count(&a, "one", 3600, 7, 1), count(&a, "two", 3600, 1, 2), count(&a, "one", 7200, 3, 1)],
        "ordered by hour, then client; increments added"
    );
    let one = store.usage_counts(&a, Some("one"), 7200).await.unwrap();
    assert_eq!(one, vec![count(&a, "one", 7200, 3, 1)]);
    assert_eq!(store.usage_counts(&b, None, 0).await.unwrap(), vec![count(&b, "one", 3600, 100, 100)]);
    assert!(store.usage_counts(&a, Some("nobody"), 0).await.unwrap().is_empty());

    assert_eq!(store.purge_usage_counts(7200).await.unwrap(), 3, "the 3600 rows of both tenants");
    assert_eq!(store.usage_counts(&a, None, 0).await.unwrap(), vec![count(&a, "one", 7200, 3, 1)]);
    assert!(store.usage_counts(&b, None, 0).await.unwrap().is_empty());
}

/// Throttle counters: failures add up per tenant and key, concurrently
/// too; a window ends `window` seconds after the last failure; clearing
/// and purging forget.
pub async fn throttle_counters_are_shared_and_windowed(store: Arc<dyn Store>) {
    let (a, b) = (tenant("throttle-a"), tenant("throttle-b"));
    let w = 3_600;
    assert_eq!(store.throttle_state(&a, "k", 1_000, w).await.unwrap(), None);
    for i in 1..=3 {
        let s = store.record_failure(&a, "k", 1_000 + i, w).await.unwrap();
        assert_eq!((s.failures, s.last_failure_at), (u32::try_from(i).unwrap(), 1_000 + i));
    }
    assert_eq!(store.throttle_state(&b, "k", 1_010, w).await.unwrap(), None, "per tenant");
    assert_eq!(store.throttle_state(&a, "k", 1_010, w).await.unwrap().unwrap().failures, 3);
    // Concurrent failures (several nodes) all count.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, a) = (store.clone(), a.clone());
            tokio::spawn(async move { store.record_failure(&a, "k", 1_020, w).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.throttle_state(&a, "k", 1_020, w).await.unwrap().unwrap().failures, 11);
    // The window ends an hour after the last failure: then it starts again.
    assert_eq!(store.throttle_state(&a, "k", 1_020 + w, w).await.unwrap(), None);
    assert_eq!(store.record_failure(&a, "k", 1_020 + w, w).await.unwrap().failures, 1);
    store.clear_throttle(&a, "k").await.unwrap();
    assert_eq!(store.throttle_state(&a, "k", 1_020 + w, w).await.unwrap(), None);
    store.record_failure(&b, "old", 100, w).await.unwrap();
    store.record_failure(&b, "new", 5_000, w).await.unwrap();
    assert_eq!(store.purge_throttle(1_000).await.unwrap(), 1);
    assert!(store.throttle_state(&b, "new", 5_000, w).await.unwrap().is_some());
}

fn rate(key: &str, window: i64, node: &str, admitted: i64) -> crate::RateCount {
    crate::RateCount { key: key.into(), window, node: node.into(), admitted }
}

/// Rate-limit counters: each node's additions add up per key and window;
/// a node reads every other node's counters (never its own) from a window
/// on; many keys go in one call; the purge drops old windows only.
pub async fn rate_counters_are_exchanged_between_nodes(store: Arc<dyn Store>) {
    let sorted = |mut v: Vec<crate::RateCount>| {
        v.sort_by(|a, b| (&a.key, a.window, &a.node).cmp(&(&b.key, b.window, &b.node)));
        v
    };
    assert!(store.exchange_rate_counts("node-a", &[], 0).await.unwrap().is_empty());
    let seen = store.exchange_rate_counts("node-a", &[("k1".into(), 60, 5), ("k2".into(), 60, 1)], 0).await.unwrap();
    assert!(seen.is_empty(), "a node never reads its own counts");
    store.exchange_rate_counts("node-a", &[("k1".into(), 60, 2)], 0).await.unwrap();
    let seen = store.exchange_rate_counts("node-b", &[("k1".into(), 120, 4)], 0).await.unwrap();
    assert_eq!(sorted(seen), vec![rate("k1", 60, "node-a", 7), rate("k2", 60, "node-a", 1)], "additions add up");
    let seen = store.exchange_rate_counts("node-a", &[], 120).await.unwrap();
    assert_eq!(seen, vec![rate("k1", 120, "node-b", 4)], "only windows from `since` on");

    // Many keys at once (more than one statement's worth).
    let many: Vec<(String, i64, i64)> = (0..1_200).map(|i| (format!("m{i}"), 180, i)).collect();
    store.exchange_rate_counts("node-c", &many, 0).await.unwrap();
    let seen = store.exchange_rate_counts("node-a", &[], 180).await.unwrap();
    assert_eq!(seen.len(), 1_200);
    assert_eq!(seen.iter().map(|c| c.admitted).sum::<i64>(), (0..1_200).sum::<i64>());

    assert_eq!(store.purge_rate_counts(120).await.unwrap(), 2, "the window-60 rows of node-a");
    let seen = store.exchange_rate_counts("node-z", &[], 0).await.unwrap();
    assert_eq!(seen.len(), 1 + 1_200);
}
