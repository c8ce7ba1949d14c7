//! Test support: a fresh database per test on the backend the test run
//! selects (`LATCHKEY_TEST_BACKEND=sqlite|postgres`; `scripts/test.sh` runs
//! the suite once with each). PostgreSQL tests create a new database on the
//! throwaway cluster named by `LATCHKEY_TEST_PG_URL`.

use std::sync::atomic::{AtomicU32, Ordering};

/// Which backend the current test run uses.
#[must_use]
pub fn backend() -> String {
    std::env::var("LATCHKEY_TEST_BACKEND").unwrap_or_else(|_| "sqlite".into())
}

/// A database for one test. Keep it alive as long as the URL is used (the
/// SQLite file lives in its temporary directory).
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The admin URL of the throwaway PostgreSQL cluster.
///
/// # Panics
/// When `LATCHKEY_TEST_PG_URL` is not set: PostgreSQL tests never pass by
/// skipping. Run them through `scripts/test.sh`, which starts a cluster.
#[must_use]
#[allow(clippy::panic)]
pub fn pg_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("LATCHKEY_TEST_PG_URL is not set: run the suite with scripts/test.sh (it starts PostgreSQL)")
    })
}

/// Creates a new, empty PostgreSQL database and returns its URL.
///
/// # Panics
/// When the cluster cannot be reached.
#[allow(clippy::expect_used)]
pub async fn fresh_pg_database() -> String {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let name = format!(
        "lk_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::thread::current().name().map_or(0, str::len)
    );
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to the test PostgreSQL cluster");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
    format!("{base}/{name}")
}

impl TestDb {
    /// A fresh database on the selected backend.
    ///
    /// # Panics
    /// When it cannot be created.
    #[allow(clippy::expect_used)]
    pub async fn new() -> Self {
        if backend() == "postgres" {
            Self { url: fresh_pg_database().await, _dir: None }
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
            Self { url, _dir: Some(dir) }
        }
    }
}
