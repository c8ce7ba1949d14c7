//! The PostgreSQL adapter, for several stateless nodes on one database.
//! Migrations run under sqlx's advisory lock, so nodes may start together.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::sql::impl_repos;
use crate::{Store, StoreError};

/// The `LISTEN`/`NOTIFY` channel for cache invalidations.
const CHANNEL: &str = "latchkey_invalidate";

/// Migrations, embedded in the binary; numbers match `migrations/sqlite`.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/postgres/0001_initial.sql")),
    (2, "oidc", include_str!("../migrations/postgres/0002_oidc.sql")),
    (3, "remote", include_str!("../migrations/postgres/0003_remote.sql")),
    (4, "usage", include_str!("../migrations/postgres/0004_usage.sql")),
    (5, "fed", include_str!("../migrations/postgres/0005_fed.sql")),
    (6, "token_cutoff", include_str!("../migrations/postgres/0006_token_cutoff.sql")),
    (7, "assertions", include_str!("../migrations/postgres/0007_assertions.sql")),
    (9, "throttle", include_str!("../migrations/postgres/0009_throttle.sql")),
    (11, "client_roles", include_str!("../migrations/postgres/0011_client_roles.sql")),
    (12, "token_epochs", include_str!("../migrations/postgres/0012_token_epochs.sql")),
    (13, "device_codes", include_str!("../migrations/postgres/0013_device_codes.sql")),
    (14, "scim", include_str!("../migrations/postgres/0014_scim.sql")),
    (15, "sign_ins_and_sync", include_str!("../migrations/postgres/0015_sign_ins_and_sync.sql")),
    (16, "rate_limits", include_str!("../migrations/postgres/0016_rate_limits.sql")),
    (17, "installation_keys", include_str!("../migrations/postgres/0017_installation_keys.sql")),
    (18, "search_redirect_uris", include_str!("../migrations/postgres/0018_search_redirect_uris.sql")),
    (19, "scim_profiles", include_str!("../migrations/postgres/0019_scim_profiles.sql")),
];

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// How long a request waits for a database connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl PgStore {
    /// # Errors
    /// When the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            // Bounds how long a request waits for a connection when the
            // database is down or saturated: then a 503 with Retry-After
            // is better than a request that hangs until the client gives up.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(Self { pool })
    }

    /// The pool for statements that write outside a transaction.
    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(StoreError::from_sqlx)
    }

    /// Concurrent upserts would each pass their snapshot's existence check:
    /// rotation takes the row lock with an `UPDATE` first.
    const ROTATE_IN_ONE_STATEMENT: bool = false;

    /// The GIN index answers every search itself (the planner weighs it
    /// against an ordered scan); rows are never probed.
    const PROBES_TEXT_INDEX: bool = false;

    #[allow(clippy::unused_async)] // same signature as the SQLite adapter's
    async fn probe_text(&self, _: &str, _: u32) -> Result<Option<Vec<i64>>, StoreError> {
        Ok(None)
    }

    /// Never reached: `PROBES_TEXT_INDEX` is false. Matches nothing, should
    /// that ever change without an implementation here.
    fn push_rowids(qb: &mut sqlx::QueryBuilder<Postgres>, _: &[i64]) {
        qb.push(" AND FALSE");
    }

    /// Substring search through the trigram GIN index on the same expression.
    ///
    /// A GIN scan reads every posting list of a key whose trigrams are all
    /// frequent: `service 004217` over a million "Service nnnnnnn" names
    /// took 22 ms. A second key made of a token that carries digits (ids,
    /// numbers: the rare part of most such queries) lets the scan skip
    /// through the frequent lists: 1 ms. The extra condition is implied by
    /// the full one, so the result is the same.
    fn push_text_search(qb: &mut sqlx::QueryBuilder<Postgres>, needle: &str) {
        const EXPR: &str =
            " AND (name_lower || ' ' || lower(client_id) || ' ' || lower(description) || ' ' || redirect_text) LIKE ";
        for token in rare_tokens(needle) {
            qb.push(EXPR).push_bind(format!("%{}%", crate::sql::like_escape(token)));
        }
        qb.push(EXPR).push_bind(format!("%{}%", crate::sql::like_escape(needle)));
    }

    /// Publishes an invalidation; delivered to every node when the
    /// transaction commits, and not at all if it rolls back.
    async fn notify(tx: &mut sqlx::Transaction<'static, Postgres>, payload: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(StoreError::from_sqlx)
    }
}

/// The tokens of a multi-word needle likely to be rare: three characters or
/// more (a trigram at least) and holding a digit.
fn rare_tokens(needle: &str) -> Vec<&str> {
    let tokens: Vec<&str> = needle.split_whitespace().collect();
    if tokens.len() < 2 {
        return Vec::new();
    }
    tokens.into_iter().filter(|t| t.chars().count() >= 3 && t.chars().any(|c| c.is_ascii_digit())).collect()
}

fn migrator() -> Migrator {
    let mut m = Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(v, d, sql)| {
                Migration::new(*v, (*d).into(), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(*sql), false)
            })
            .collect(),
    );
    // pg_advisory_lock around the run: several nodes starting at once apply
    // each migration exactly once.
    m.set_locking(true);
    m
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.pool).await.map_err(|err| StoreError::Internal(format!("migration failed: {err}")))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(StoreError::from_sqlx)
    }

    async fn database_time(&self) -> Result<latchkey_core::UnixTime, StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn is_exclusive(&self) -> bool {
        false
    }

    /// Autovacuum keeps PostgreSQL's statistics current.
    async fn maintain(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn invalidations(&self) -> Result<Option<crate::Invalidations>, StoreError> {
        use futures_util::StreamExt;
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await.map_err(StoreError::from_sqlx)?;
        listener.listen(CHANNEL).await.map_err(StoreError::from_sqlx)?;
        let stream =
            listener.into_stream().map(|n| n.map(|n| n.payload().to_owned()).map_err(StoreError::from_sqlx)).boxed();
        Ok(Some(stream))
    }
}

/// `db.system` of this adapter's spans (OpenTelemetry semantic conventions).
const DB_SYSTEM: &str = "postgresql";

impl_repos!(PgStore, sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::rare_tokens;

    #[test]
    fn rare_tokens_are_the_numbered_words_of_a_phrase() {
        assert_eq!(rare_tokens("service 004217"), vec!["004217"]);
        assert_eq!(rare_tokens("team 42"), Vec::<&str>::new(), "too short for a trigram");
        assert_eq!(rare_tokens("svc2024"), Vec::<&str>::new(), "one word: the full pattern is the key");
        assert_eq!(rare_tokens("billing prod"), Vec::<&str>::new());
        assert_eq!(rare_tokens("a1b2 x 9z9"), vec!["a1b2", "9z9"]);
    }
}
