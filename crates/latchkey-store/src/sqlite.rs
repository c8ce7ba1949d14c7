//! The SQLite adapter: WAL mode, `BEGIN IMMEDIATE` for every write
//! transaction (a deferred `BEGIN` that later upgrades fails at once with
//! `SQLITE_BUSY`, whatever the busy timeout), single node only.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Sqlite;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::sql::impl_repos;
use crate::{Store, StoreError};

/// Migrations, embedded in the binary; numbers match `migrations/postgres`.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/sqlite/0001_initial.sql")),
    (2, "oidc", include_str!("../migrations/sqlite/0002_oidc.sql")),
    (3, "remote", include_str!("../migrations/sqlite/0003_remote.sql")),
    (4, "usage", include_str!("../migrations/sqlite/0004_usage.sql")),
    (5, "fed", include_str!("../migrations/sqlite/0005_fed.sql")),
];

/// Reads go through `pool`; every write goes through `writer`, a pool of
/// one connection. SQLite allows one writer at a time, and a writer that
/// finds the lock taken waits in SQLite's busy handler, which sleeps in
/// steps of milliseconds; queueing writers in the async pool instead keeps
/// them back to back (measured: ~900 -> see docs/benchmarks.md creates/s).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite:` URL.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|err| StoreError::Internal(format!("invalid SQLite URL: {err}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives a process crash (kill -9);
            // only an OS crash or power loss can lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-4000")
            // Planner statistics: without them SQLite walks the created_at
            // index for a search instead of the trigram index (measured 92 ms
            // vs 4 ms at 1M clients). Cheap when the statistics are current.
            .pragma("optimize", "0x10002");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.clone())
            .await
            .map_err(StoreError::from_sqlx)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(Self { pool, writer })
    }

    /// The pool for statements that write outside a transaction.
    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from_sqlx)
    }

    /// Searches probe the trigram index first (see `search_clients`).
    const PROBES_TEXT_INDEX: bool = true;

    /// The rowids of the clients (of any tenant) whose text contains
    /// `needle`, when there are fewer than `cap`; `None` when there are more.
    async fn probe_text(&self, needle: &str, cap: u32) -> Result<Option<Vec<i64>>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM clients_search WHERE search_text LIKE $1 LIMIT $2")
            .bind(format!("%{needle}%"))
            .bind(i64::from(cap))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok((rows.len() < cap as usize).then_some(rows))
    }

    fn push_rowids(qb: &mut sqlx::QueryBuilder<Sqlite>, ids: &[i64]) {
        let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        qb.push(" AND rowid IN (SELECT value FROM json_each(").push_bind(list).push("))");
    }

    /// Substring search through the FTS5 trigram index. Patterns shorter
    /// than three characters cannot use a trigram index; SQLite then scans
    /// the (small) index table, which is still correct.
    fn push_text_search(qb: &mut sqlx::QueryBuilder<Sqlite>, needle: &str) {
        qb.push(" AND rowid IN (SELECT rowid FROM clients_search WHERE search_text LIKE ")
            .push_bind(format!("%{needle}%"))
            .push(")");
    }

    /// Single node: nobody to notify.
    #[allow(clippy::unused_async)] // same signature as the PostgreSQL adapter's
    async fn notify(_: &mut sqlx::Transaction<'static, Sqlite>, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(v, d, sql)| {
                Migration::new(*v, (*d).into(), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(*sql), false)
            })
            .collect(),
    )
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.writer).await.map_err(|err| StoreError::Internal(format!("migration failed: {err}")))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(StoreError::from_sqlx)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn is_exclusive(&self) -> bool {
        true
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA optimize").execute(&self.writer).await.map(|_| ()).map_err(StoreError::from_sqlx)
    }

    async fn invalidations(&self) -> Result<Option<crate::Invalidations>, StoreError> {
        Ok(None)
    }
}

impl_repos!(SqliteStore, sqlx::Sqlite);
