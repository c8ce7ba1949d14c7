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
    (6, "token_cutoff", include_str!("../migrations/sqlite/0006_token_cutoff.sql")),
    (7, "assertions", include_str!("../migrations/sqlite/0007_assertions.sql")),
    (9, "throttle", include_str!("../migrations/sqlite/0009_throttle.sql")),
    (11, "client_roles", include_str!("../migrations/sqlite/0011_client_roles.sql")),
    (12, "token_epochs", include_str!("../migrations/sqlite/0012_token_epochs.sql")),
    (13, "device_codes", include_str!("../migrations/sqlite/0013_device_codes.sql")),
    (14, "scim", include_str!("../migrations/sqlite/0014_scim.sql")),
    (15, "sign_ins_and_sync", include_str!("../migrations/sqlite/0015_sign_ins_and_sync.sql")),
    (16, "rate_limits", include_str!("../migrations/sqlite/0016_rate_limits.sql")),
    (17, "installation_keys", include_str!("../migrations/sqlite/0017_installation_keys.sql")),
    (18, "search_redirect_uris", include_str!("../migrations/sqlite/0018_search_redirect_uris.sql")),
    (19, "scim_profiles", include_str!("../migrations/sqlite/0019_scim_profiles.sql")),
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

/// Connections are replaced this often, so that each picks up the planner
/// statistics `maintain` refreshed (SQLite reads them when it opens one).
const STATISTICS_REACH: Duration = Duration::from_secs(600);

/// Planner statistics where they help, and only there. Without them SQLite
/// walks the `created_at` index for a client search instead of the trigram
/// index (92 ms vs 4 ms at 1M clients), so `PRAGMA optimize` gathers them.
/// But statistics taken while a table is nearly empty ("2 rows") make the
/// planner scan that table instead of using its primary key, and the table
/// then grows under that plan: a refresh-token lookup scanned every token.
/// So statistics of tables under 1,000 rows are dropped, and the planner
/// assumes what it assumes without any: large tables, use the index.
async fn refresh_statistics(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("PRAGMA optimize=0x10002").execute(&mut *conn).await.map_err(StoreError::from_sqlx)?;
    let has_stats: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'")
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    if has_stats.is_some() {
        // The first number of `stat` is the table's row count.
        sqlx::query("DELETE FROM sqlite_stat1 WHERE CAST(stat AS INTEGER) < 1000")
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Writes a consistent copy of the SQLite database at `url` to `target`
/// (`VACUUM INTO`), while a server may be writing to it: the copy is one
/// snapshot, compacted, without a WAL to go with it. The live database is
/// opened read-only and never changed. `target` must not exist.
///
/// # Errors
/// When the database cannot be opened or the copy cannot be written.
pub async fn sqlite_backup(url: &str, target: &std::path::Path) -> Result<(), StoreError> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|err| StoreError::Internal(format!("invalid SQLite URL: {err}")))?
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    let mut conn =
        <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts).await.map_err(StoreError::from_sqlx)?;
    let target = target.to_str().ok_or_else(|| StoreError::Internal("the backup path is not UTF-8".into()))?;
    let done = sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await.map_err(StoreError::from_sqlx);
    sqlx::Connection::close(conn).await.map_err(StoreError::from_sqlx)?;
    done.map(|_| ())
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
            .pragma("cache_size", "-4000");
        // Statistics are read when a connection opens: settle them first.
        let mut once =
            <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts).await.map_err(StoreError::from_sqlx)?;
        refresh_statistics(&mut once).await?;
        sqlx::Connection::close(once).await.map_err(StoreError::from_sqlx)?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .max_lifetime(STATISTICS_REACH)
            .acquire_timeout(Duration::from_secs(30))
            // A COMMIT that fails (disk full, a read-only file system) ends
            // the transaction inside SQLite, but sqlx still counts it open,
            // and its ROLLBACK on drop then fails too: the connection would
            // refuse every later `BEGIN IMMEDIATE`. Let a queued rollback
            // run, and replace a connection still counted in a transaction.
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    if !conn.is_in_transaction() {
                        return Ok(true);
                    }
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(opts.clone())
            .await
            .map_err(StoreError::from_sqlx)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .max_lifetime(STATISTICS_REACH)
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

    /// A refresh rotation is one upsert statement (see `rotate_refresh`):
    /// SQLite has one writer, so the statement's existence check cannot be
    /// overtaken, and one statement is one hand-off to the database thread
    /// instead of four.
    const ROTATE_IN_ONE_STATEMENT: bool = true;

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

    async fn database_time(&self) -> Result<latchkey_core::UnixTime, StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT CAST(unixepoch() AS INTEGER)")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn is_exclusive(&self) -> bool {
        true
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await.map_err(StoreError::from_sqlx)?;
        refresh_statistics(&mut conn).await
    }

    async fn invalidations(&self) -> Result<Option<crate::Invalidations>, StoreError> {
        Ok(None)
    }
}

/// `db.system` of this adapter's spans (OpenTelemetry semantic conventions).
const DB_SYSTEM: &str = "sqlite";

impl_repos!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Store;

    async fn plan(store: &SqliteStore, sql: &str) -> String {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(&store.pool)
                .await
                .unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    /// Statistics taken on nearly empty tables made the refresh-token
    /// lookup a scan of every token; they are dropped, large tables' kept.
    #[tokio::test]
    async fn statistics_of_small_tables_never_turn_key_lookups_into_scans() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        sqlx::query("ANALYZE").execute(&store.writer).await.unwrap();
        for (tbl, idx, stat) in [
            ("refresh_tokens", "sqlite_autoindex_refresh_tokens_1", "2 2 1"),
            ("refresh_families", "sqlite_autoindex_refresh_families_1", "1 1 1"),
            ("clients", "clients_by_created", "50000 1"),
        ] {
            sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ($1, $2, $3)")
                .bind(tbl)
                .bind(idx)
                .bind(stat)
                .execute(&store.writer)
                .await
                .unwrap();
        }
        let lookup = "SELECT t.token_hash FROM refresh_tokens t JOIN refresh_families f \
                      ON f.tenant_id = t.tenant_id AND f.family_id = t.family_id \
                      WHERE t.tenant_id = 'a' AND t.token_hash = x'00'";
        // A restart: `connect` settles the statistics before its connections open.
        let fresh = SqliteStore::connect(&url).await.unwrap();
        assert!(plan(&fresh, lookup).await.contains("SEARCH t USING INDEX"), "{}", plan(&fresh, lookup).await);
        let kept: Vec<String> =
            sqlx::query_scalar("SELECT tbl FROM sqlite_stat1").fetch_all(&fresh.pool).await.unwrap();
        assert_eq!(kept, vec!["clients".to_owned()], "large tables keep their statistics");

        // The same holds after `maintain` on a running store.
        sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('refresh_tokens', 'x', '3 1')")
            .execute(&fresh.writer)
            .await
            .unwrap();
        fresh.maintain().await.unwrap();
        let small: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'refresh_tokens'")
            .fetch_one(&fresh.pool)
            .await
            .unwrap();
        assert_eq!(small, 0);
    }
}
