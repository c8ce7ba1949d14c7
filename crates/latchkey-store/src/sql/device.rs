//! `DeviceRepo`: device codes of the device authorization grant. Expanded
//! by [`impl_repos!`](super::impl_repos) inside each adapter's `repos`
//! module, after `flow_repos!` (whose family inserts it reuses).
//!
//! A decision and a redemption are each one `UPDATE … WHERE status = …`,
//! whose row count says who won.

macro_rules! device_repos {
    ($store:ident, $db:ty) => {
        use crate::{DeviceApproval, DeviceRecord, DeviceRepo, DeviceStatus};

        const DEVICE_COLUMNS: &str = "device_hash, user_code_hash, client_id, scope, device_ip, device_agent, \
             created_at, expires_at, poll_interval, last_polled_at, client_epoch, status, user_id, user_epoch, \
             auth_time, sid, family_id";

        fn device_from_row(r: &DbRow) -> Result<DeviceRecord> {
            let status: String = r.try_get("status").map_err(e)?;
            let status = DeviceStatus::parse(&status)
                .ok_or_else(|| StoreError::Internal(format!("stored device code has unknown status {status}")))?;
            let user_id: Option<String> = r.try_get("user_id").map_err(e)?;
            let user_epoch: Option<i64> = r.try_get("user_epoch").map_err(e)?;
            let approval = match (user_id, user_epoch) {
                (Some(user_id), Some(user_epoch)) => Some(DeviceApproval {
                    user_id,
                    user_epoch,
                    auth_time: r.try_get::<Option<i64>, _>("auth_time").map_err(e)?.unwrap_or_default(),
                    sid: r.try_get("sid").map_err(e)?,
                }),
                _ => None,
            };
            Ok(DeviceRecord {
                device_hash: r.try_get("device_hash").map_err(e)?,
                user_code_hash: r.try_get("user_code_hash").map_err(e)?,
                client_id: r.try_get("client_id").map_err(e)?,
                scope: r.try_get("scope").map_err(e)?,
                device_ip: r.try_get("device_ip").map_err(e)?,
                device_agent: r.try_get("device_agent").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
                interval: r.try_get("poll_interval").map_err(e)?,
                last_polled_at: r.try_get("last_polled_at").map_err(e)?,
                client_epoch: r.try_get("client_epoch").map_err(e)?,
                status,
                approval,
                family_id: r.try_get("family_id").map_err(e)?,
            })
        }

        #[async_trait]
        impl DeviceRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_device_code(&self, tenant: &TenantId, d: &DeviceRecord) -> Result<()> {
                let sql = format!(
                    "INSERT INTO device_codes (tenant_id, {DEVICE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                );
                let a = d.approval.as_ref();
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(&d.device_hash)
                    .bind(&d.user_code_hash)
                    .bind(&d.client_id)
                    .bind(&d.scope)
                    .bind(&d.device_ip)
                    .bind(&d.device_agent)
                    .bind(d.created_at)
                    .bind(d.expires_at)
                    .bind(d.interval)
                    .bind(d.last_polled_at)
                    .bind(d.client_epoch)
                    .bind(d.status.as_str())
                    .bind(a.map(|a| a.user_id.clone()))
                    .bind(a.map(|a| a.user_epoch))
                    .bind(a.map(|a| a.auth_time))
                    .bind(a.and_then(|a| a.sid.clone()))
                    .bind(&d.family_id)
                    .execute(self.writer())
                    .await
                    .map_err(e)?;
                Ok(())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_device_code(&self, tenant: &TenantId, device_hash: &[u8]) -> Result<Option<DeviceRecord>> {
                let sql =
                    format!("SELECT {DEVICE_COLUMNS} FROM device_codes WHERE tenant_id = $1 AND device_hash = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(device_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                row.as_ref().map(device_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn find_pending_user_code(
                &self,
                tenant: &TenantId,
                user_code_hash: &[u8],
                now: UnixTime,
            ) -> Result<Option<DeviceRecord>> {
                let sql = format!(
                    "SELECT {DEVICE_COLUMNS} FROM device_codes WHERE tenant_id = $1 AND user_code_hash = $2 \
                     AND status = 'pending' AND expires_at > $3"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(user_code_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                row.as_ref().map(device_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn decide_device_code(
                &self,
                tenant: &TenantId,
                device_hash: &[u8],
                now: UnixTime,
                approval: Option<&DeviceApproval>,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let status = if approval.is_some() { DeviceStatus::Approved } else { DeviceStatus::Denied };
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE device_codes SET status = $4, user_id = $5, user_epoch = $6, auth_time = $7, sid = $8, \
                     decided_at = $3 \
                     WHERE tenant_id = $1 AND device_hash = $2 AND status = 'pending' AND expires_at > $3",
                )
                .bind(tenant.as_str())
                .bind(device_hash)
                .bind(now)
                .bind(status.as_str())
                .bind(approval.map(|a| a.user_id.clone()))
                .bind(approval.map(|a| a.user_epoch))
                .bind(approval.map(|a| a.auth_time))
                .bind(approval.and_then(|a| a.sid.clone()))
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, tenant.as_str(), audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_open_device_codes(
                &self,
                tenant: &TenantId,
                client_id: Option<&str>,
                user_id: Option<&str>,
                now: UnixTime,
            ) -> Result<Vec<DeviceRecord>> {
                let mut sql = format!(
                    "SELECT {DEVICE_COLUMNS} FROM device_codes d WHERE tenant_id = $1 \
                     AND ((status IN ('pending', 'approved') AND expires_at > $2) \
                     OR (status = 'redeemed' AND EXISTS (SELECT 1 FROM refresh_families f \
                         JOIN users u ON u.tenant_id = f.tenant_id AND u.user_id = f.user_id \
                         JOIN clients c ON c.tenant_id = f.tenant_id AND c.client_id = f.client_id \
                         WHERE f.tenant_id = d.tenant_id AND f.family_id = d.family_id \
                         AND f.revoked_at IS NULL AND f.expires_at > $2 \
                         AND u.status = 'active' AND u.token_epoch = f.user_epoch \
                         AND c.status = 'active' AND c.token_epoch = f.client_epoch)))"
                );
                let mut n = 2;
                for (column, value) in [("client_id", client_id), ("user_id", user_id)] {
                    if value.is_some() {
                        n += 1;
                        sql.push_str(&format!(" AND d.{column} = ${n}"));
                    }
                }
                sql.push_str(" ORDER BY d.created_at DESC LIMIT 200");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(now);
                for v in [client_id, user_id].into_iter().flatten() {
                    q = q.bind(v);
                }
                let rows = q.fetch_all(&self.pool).await.map_err(e)?;
                rows.iter().map(device_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn revoke_device_code(
                &self,
                tenant: &TenantId,
                device_hash: &[u8],
                now: UnixTime,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE device_codes SET status = 'denied', decided_at = $3 \
                     WHERE tenant_id = $1 AND device_hash = $2 AND status IN ('pending', 'approved')",
                )
                .bind(tenant.as_str())
                .bind(device_hash)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, tenant.as_str(), audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn record_device_poll(
                &self,
                tenant: &TenantId,
                device_hash: &[u8],
                now: UnixTime,
                interval: i64,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE device_codes SET last_polled_at = $3, poll_interval = $4 \
                     WHERE tenant_id = $1 AND device_hash = $2",
                )
                .bind(tenant.as_str())
                .bind(device_hash)
                .bind(now)
                .bind(interval)
                .execute(self.writer())
                .await
                .map_err(e)?;
                Ok(())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn redeem_device_code(
                &self,
                tenant: &TenantId,
                device_hash: &[u8],
                now: UnixTime,
                family: Option<(&crate::FamilyRecord, &crate::RefreshRecord)>,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE device_codes SET status = 'redeemed', family_id = $4, expires_at = COALESCE($5, expires_at) \
                     WHERE tenant_id = $1 AND device_hash = $2 AND status = 'approved' AND expires_at > $3",
                )
                .bind(tenant.as_str())
                .bind(device_hash)
                .bind(now)
                .bind(family.map(|(f, _)| f.family_id.clone()))
                .bind(family.map(|(f, _)| f.expires_at))
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                if let Some((f, t)) = family {
                    insert_family_tx(&mut tx, tenant.as_str(), f).await?;
                    insert_refresh_tx(&mut tx, tenant.as_str(), t).await?;
                }
                tx.commit().await.map_err(e)?;
                Ok(true)
            }
        }
    };
}

pub(crate) use device_repos;
