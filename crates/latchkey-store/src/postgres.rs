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
];

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// # Errors
    /// When the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
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

    /// Substring search through the trigram GIN index on the same expression.
    fn push_text_search(qb: &mut sqlx::QueryBuilder<Postgres>, needle: &str) {
        qb.push(" AND (name_lower || ' ' || lower(client_id) || ' ' || lower(description)) LIKE ")
            .push_bind(format!("%{}%", crate::sql::like_escape(needle)));
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

impl_repos!(PgStore, sqlx::Postgres);
