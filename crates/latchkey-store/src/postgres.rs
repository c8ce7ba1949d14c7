//! The PostgreSQL adapter, for several stateless nodes on one database.
//! Migrations run under sqlx's advisory lock, so nodes may start together.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::sql::impl_repos;
use crate::{Store, StoreError};

/// Migrations, embedded in the binary; numbers match `migrations/sqlite`.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "initial", include_str!("../migrations/postgres/0001_initial.sql"))];

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

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(StoreError::from_sqlx)
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
}

impl_repos!(PgStore, sqlx::Postgres);
