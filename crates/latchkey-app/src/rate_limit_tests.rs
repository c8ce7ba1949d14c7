//! Rate limits per client and per source, on the real database of the
//! test run, with a `ManualClock` (no sleeps): a noisy caller is refused
//! while a calm one sees no errors; two nodes enforce one limit together.

use latchkey_core::{TenantId, TokenErrorCode};

use super::*;
use crate::AppError;
use crate::test_world::{ADMIN_SECRET, World, admin, cc, m2m, world, world_with};
use crate::tokens::client_auth::PresentedAuth;

fn basic(id: &str, secret: &str) -> PresentedAuth {
    PresentedAuth::Basic { client_id: id.into(), secret: secret.into() }
}

fn refused(w: &World, limit: &str) -> u64 {
    w.app.kernel.metrics.rate_limited.get_or_create(&LimitLabels { limit: limit.into() }).get()
}

/// Issue 15: one client at 10× its limit for ten seconds gets exactly its
/// limit and 429s for the rest; another client within its own limit, at
/// the same time and from the same address, sees no error.
#[tokio::test]
async fn one_client_at_ten_times_its_limit_is_refused_while_another_within_its_own_sees_no_errors() {
    let w = world_with(|o| o.rate_limits.per_client = Rate::new(5.0, 5)).await;
    let (noisy, noisy_secret) = m2m(&w, "jwt").await;
    let (calm, calm_secret) = m2m(&w, "opaque").await;
    let source = Some("192.0.2.10");
    for _ in 0..10 {
        let (mut ok, mut limited) = (0, 0);
        for _ in 0..50 {
            match w.app.tokens.token(&w.ctx, &basic(&noisy, &noisy_secret), &cc(), source).await {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!((e.code, e.retry_after), (TokenErrorCode::TemporarilyUnavailable, Some(1)), "{e}");
                    limited += 1;
                }
            }
        }
        assert_eq!((ok, limited), (5, 45), "the limit, and nothing more");
        for _ in 0..5 {
            w.app.tokens.token(&w.ctx, &basic(&calm, &calm_secret), &cc(), source).await.unwrap();
        }
        w.clock.advance(1);
    }
    assert_eq!(refused(&w, "client"), 450);
    // Introspection and revocation spend the same budget.
    let token = w.app.tokens.token(&w.ctx, &basic(&noisy, &noisy_secret), &cc(), source).await.unwrap();
    for _ in 0..4 {
        w.app.tokens.introspect(&w.ctx, &basic(&noisy, &noisy_secret), &token.access_token, source).await.unwrap();
    }
    let e = w.app.tokens.revoke(&w.ctx, &basic(&noisy, &noisy_secret), &token.access_token, source).await;
    assert_eq!(e.unwrap_err().retry_after, Some(1));
}

/// A stranger naming a client with a wrong secret spends nothing of the
/// client's budget (only an authenticated client does).
#[tokio::test]
async fn only_an_authenticated_client_spends_its_budget() {
    let w = world_with(|o| o.rate_limits.per_client = Rate::new(1.0, 2)).await;
    let (id, secret) = m2m(&w, "jwt").await;
    for _ in 0..8 {
        let e = w.app.tokens.token(&w.ctx, &basic(&id, "lks_wrong"), &cc(), Some("203.0.113.5")).await.unwrap_err();
        assert_ne!(e.code, TokenErrorCode::TemporarilyUnavailable);
    }
    for _ in 0..2 {
        w.app.tokens.token(&w.ctx, &basic(&id, &secret), &cc(), Some("192.0.2.1")).await.unwrap();
    }
    assert!(w.app.tokens.token(&w.ctx, &basic(&id, &secret), &cc(), Some("192.0.2.1")).await.is_err());
}

/// One address at 10× its limit is refused — before its credentials are
/// even looked at — while another address sees no error; an IPv6 host is
/// limited by its /64.
#[tokio::test]
async fn one_source_at_ten_times_its_limit_is_refused_while_another_sees_no_errors() {
    let w = world_with(|o| o.rate_limits.per_source = Rate::new(2.0, 4)).await;
    let (id, secret) = m2m(&w, "jwt").await;
    let (mut ok, mut limited) = (0, 0);
    for _ in 0..5 {
        for _ in 0..20 {
            match w.app.tokens.token(&w.ctx, &basic(&id, &secret), &cc(), Some("203.0.113.9")).await {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!((e.code, e.retry_after), (TokenErrorCode::TemporarilyUnavailable, Some(1)));
                    limited += 1;
                }
            }
        }
        for _ in 0..2 {
            w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("198.51.100.7")).await.unwrap_or_else(|e| {
                panic!("the other source, within its limit, was refused: {e}");
            });
        }
        w.clock.advance(1);
    }
    assert_eq!((ok, limited), (4 + 4 * 2, 100 - 12), "the burst, then the rate");
    // Refused before authentication: a wrong secret is not even a failure.
    for _ in 0..2 {
        w.app.tokens.token(&w.ctx, &basic(&id, &secret), &cc(), Some("203.0.113.9")).await.unwrap();
    }
    let e = w.app.tokens.token(&w.ctx, &basic(&id, "lks_wrong"), &cc(), Some("203.0.113.9")).await.unwrap_err();
    assert_eq!(e.code, TokenErrorCode::TemporarilyUnavailable);
    assert_eq!(w.app.kernel.metrics.client_auth_failures.get(), 0);
    // IPv6: one /64 is one source.
    for _ in 0..4 {
        w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("2001:db8:1:2::1")).await.unwrap();
    }
    assert!(w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("2001:db8:1:2::ffff")).await.is_err());
    assert!(w.app.tokens.token(&w.ctx, &admin(), &cc(), Some("2001:db8:1:3::1")).await.is_ok());
    assert_eq!(source_prefix("::ffff:192.0.2.1"), "192.0.2.1");
    assert_eq!(source_prefix("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
}

/// The admin API counts per source, then per caller: a client's token
/// requests and its admin calls share one budget.
#[tokio::test]
async fn the_admin_api_is_limited_per_caller_and_source() {
    let w = world_with(|o| {
        o.rate_limits.per_client = Rate::new(1.0, 3);
        o.rate_limits.per_source = Rate::new(1.0, 6);
    })
    .await;
    let req = crate::tokens::TokenRequest { scope: Some("admin".into()), ..cc() };
    let auth = basic("latchkey-admin", ADMIN_SECRET);
    let token = w.app.tokens.token(&w.ctx, &auth, &req, Some("192.0.2.1")).await.unwrap().access_token;
    let call = |source: &'static str| {
        let token = token.clone();
        let app = w.app.clone();
        let ctx = w.ctx.clone();
        async move { app.tokens.api_actor(&ctx, Some(&token), Some(source.into()), None).await }
    };
    assert!(call("192.0.2.1").await.is_ok());
    assert!(call("192.0.2.2").await.is_ok());
    assert!(matches!(call("192.0.2.3").await, Err(AppError::TooManyRequests(1))), "the client's third request");
    w.clock.advance(1);
    assert!(call("192.0.2.1").await.is_ok());
    // Per source: a bad token from a busy address is refused before it is read.
    for _ in 0..4 {
        let r = w.app.tokens.api_actor(&w.ctx, Some("not-a-token"), Some("192.0.2.1".into()), None).await;
        assert!(matches!(r, Err(AppError::Unauthorized(_))), "{r:?}");
    }
    let r = w.app.tokens.api_actor(&w.ctx, Some("not-a-token"), Some("192.0.2.1".into()), None).await;
    assert!(matches!(r, Err(AppError::TooManyRequests(1))), "{r:?}");
    // Without limits nothing is counted.
    let free = world().await;
    assert!(!free.app.rate.enabled());
    for _ in 0..100 {
        free.app.tokens.token(&free.ctx, &admin(), &cc(), Some("192.0.2.1")).await.unwrap();
    }
    assert_eq!(free.app.rate.buckets(), 0);
}

/// Two nodes (two limiters on one database) enforce one limit: what one
/// admits, the other is charged with at its next sync, once.
#[tokio::test]
async fn two_nodes_enforce_one_limit_together() {
    let w = world().await;
    let limits = RateLimits { per_client: Rate::new(1.0, 10), per_source: None };
    let a = RateLimiter::with_sharing(w.app.kernel.clone(), limits, true);
    let b = RateLimiter::with_sharing(w.app.kernel.clone(), limits, true);
    let t = TenantId::default_tenant();
    for _ in 0..10 {
        a.check_client(&t, "noisy").unwrap();
    }
    assert_eq!(a.check_client(&t, "noisy"), Err(1));
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(b.check_client(&t, "noisy"), Err(1), "node B was charged with node A's requests");
    assert!(b.check_client(&t, "calm").is_ok(), "another client is not");
    // A second look charges nothing twice; refills count on both nodes.
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    w.clock.advance(3);
    for _ in 0..3 {
        b.check_client(&t, "noisy").unwrap();
    }
    assert!(b.check_client(&t, "noisy").is_err());
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    assert!(a.check_client(&t, "noisy").is_err(), "node A was charged with node B's three");
    // Across a window boundary (counters are per minute).
    w.clock.advance(WINDOW_SECONDS);
    for _ in 0..10 {
        a.check_client(&t, "noisy").unwrap();
    }
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert!(b.check_client(&t, "noisy").is_err());
    assert!(w.app.kernel.metrics.rate_limit_syncs.get() >= 8);
    // Old windows are purged.
    w.clock.advance(10 * WINDOW_SECONDS);
    a.purge().await.unwrap();
    assert!(w.app.kernel.store.exchange_rate_counts("someone", &[], 0).await.unwrap().is_empty());
    // A single-node store does not sync at all.
    assert_eq!(w.app.kernel.store.is_exclusive(), !w.app.rate.shared);
}

/// The buckets of a node are bounded: full buckets go first; past the
/// bound a request is admitted uncounted, never refused for it.
#[tokio::test]
async fn the_buckets_are_bounded() {
    let w = world().await;
    let limiter = RateLimiter::with_sharing(
        w.app.kernel.clone(),
        RateLimits { per_client: Rate::new(1.0, 1), ..RateLimits::default() },
        false,
    );
    limiter.set_capacity(3);
    let t = TenantId::default_tenant();
    for c in ["a", "b", "c"] {
        limiter.check_client(&t, c).unwrap();
    }
    for _ in 0..3 {
        assert!(limiter.check_client(&t, "d").is_ok(), "over the bound: admitted, uncounted");
    }
    assert_eq!(limiter.buckets(), 3);
    assert_eq!(w.app.kernel.metrics.rate_limit_overflows.get(), 3);
    w.clock.advance(1);
    limiter.check_client(&t, "d").unwrap();
    assert_eq!(limiter.check_client(&t, "d"), Err(1), "full buckets were dropped for it");
    assert_eq!(limiter.buckets(), 1);
}

#[test]
fn rates_and_waits() {
    assert_eq!(Rate::new(0.0, 5), None);
    assert_eq!(Rate::new(-1.0, 5), None);
    assert_eq!(Rate::new(f64::NAN, 5), None);
    assert_eq!(Rate::new(2.5, 0), Some(Rate { per_second: 2.5, burst: 3.0 }));
    assert_eq!(Rate::new(0.1, 0), Some(Rate { per_second: 0.1, burst: 1.0 }));
    let slow = Rate { per_second: 0.1, burst: 1.0 };
    assert_eq!(wait(slow, 0.0), 10);
    assert_eq!(wait(slow, -5.0), 60);
    assert_eq!(wait(Rate { per_second: 100.0, burst: 1.0 }, 0.99), 1);
    assert_eq!(wait(Rate { per_second: 1e-9, burst: 1.0 }, 0.0), 3_600);
}
