//! `ThrottleRepo`: failure counters shared by the nodes. Expanded by
//! [`impl_repos!`](super::impl_repos) inside each adapter's `repos` module.

macro_rules! throttle_repos {
    ($store:ident, $db:ty) => {
        use crate::{ThrottleRepo, ThrottleState};

        fn throttle_from_row(r: &DbRow) -> Result<ThrottleState> {
            let failures: i64 = r.try_get("failures").map_err(e)?;
            Ok(ThrottleState {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
                last_failure_at: r.try_get("last_failure_at").map_err(e)?,
            })
        }

        #[async_trait]
        impl ThrottleRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn record_failure(
                &self,
                tenant: &TenantId,
                key: &str,
                now: UnixTime,
                window: i64,
            ) -> Result<ThrottleState> {
                // One statement: concurrent failures on several nodes all count.
                let row = sqlx::query(
                    "INSERT INTO auth_throttle (tenant_id, throttle_key, failures, last_failure_at) \
                     VALUES ($1, $2, 1, $3) \
                     ON CONFLICT (tenant_id, throttle_key) DO UPDATE SET \
                     failures = CASE WHEN auth_throttle.last_failure_at + $4 <= $3 THEN 1 \
                     ELSE auth_throttle.failures + 1 END, \
                     last_failure_at = $3 \
                     RETURNING failures, last_failure_at",
                )
                .bind(tenant.as_str())
                .bind(key)
                .bind(now)
                .bind(window)
                .fetch_one(&self.pool)
                .await
                .map_err(e)?;
                throttle_from_row(&row)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn throttle_state(
                &self,
                tenant: &TenantId,
                key: &str,
                now: UnixTime,
                window: i64,
            ) -> Result<Option<ThrottleState>> {
                let row = sqlx::query(
                    "SELECT failures, last_failure_at FROM auth_throttle \
                     WHERE tenant_id = $1 AND throttle_key = $2 AND last_failure_at + $4 > $3",
                )
                .bind(tenant.as_str())
                .bind(key)
                .bind(now)
                .bind(window)
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?;
                row.as_ref().map(throttle_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn clear_throttle(&self, tenant: &TenantId, key: &str) -> Result<()> {
                sqlx::query("DELETE FROM auth_throttle WHERE tenant_id = $1 AND throttle_key = $2")
                    .bind(tenant.as_str())
                    .bind(key)
                    .execute(&self.pool)
                    .await
                    .map_err(e)?;
                Ok(())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn purge_throttle(&self, before: UnixTime) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM auth_throttle WHERE last_failure_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(e)?
                    .rows_affected())
            }
        }
    };
}

pub(crate) use throttle_repos;
