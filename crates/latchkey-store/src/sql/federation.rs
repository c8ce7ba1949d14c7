//! `FederationRepo`: upstream authorization-code flows and federated
//! sign-in links. Expanded by [`impl_repos!`](super::impl_repos) inside each
//! adapter's `repos` module, where the shared helpers are in scope.

macro_rules! federation_repos {
    ($store:ident, $db:ty) => {
        use crate::{FederatedLinkRecord, FederationRepo, RemoteFlowRecord};

        const FLOW_COLUMNS: &str =
            "state_hash, kind, provider, browser_hash, sealed_data, created_at, expires_at, used_at";

        fn flow_from_row(r: &DbRow) -> Result<RemoteFlowRecord> {
            Ok(RemoteFlowRecord {
                state_hash: r.try_get("state_hash").map_err(e)?,
                kind: r.try_get("kind").map_err(e)?,
                provider: r.try_get("provider").map_err(e)?,
                browser_hash: r.try_get("browser_hash").map_err(e)?,
                sealed_data: r.try_get("sealed_data").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
                used_at: r.try_get("used_at").map_err(e)?,
            })
        }

        fn link_from_row(r: &DbRow) -> Result<FederatedLinkRecord> {
            Ok(FederatedLinkRecord {
                provider: r.try_get("provider").map_err(e)?,
                subject: r.try_get("subject").map_err(e)?,
                user_id: r.try_get("user_id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
            })
        }

        #[async_trait]
        impl FederationRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_remote_flow(
                &self,
                tenant: &TenantId,
                f: &RemoteFlowRecord,
                audit: Option<&AuditRecord>,
            ) -> Result<()> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO remote_flows (tenant_id, {FLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(t)
                    .bind(&f.state_hash)
                    .bind(&f.kind)
                    .bind(&f.provider)
                    .bind(&f.browser_hash)
                    .bind(&f.sealed_data)
                    .bind(f.created_at)
                    .bind(f.expires_at)
                    .bind(f.used_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                if let Some(a) = audit {
                    insert_audit(&mut tx, t, a).await?;
                }
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn take_remote_flow(
                &self,
                tenant: &TenantId,
                state_hash: &str,
                now: UnixTime,
            ) -> Result<Option<RemoteFlowRecord>> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE remote_flows SET used_at = $3 \
                     WHERE tenant_id = $1 AND state_hash = $2 AND used_at IS NULL AND expires_at > $3 \
                     RETURNING {FLOW_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(state_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(e)?;
                tx.commit().await.map_err(e)?;
                row.as_ref().map(flow_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn purge_remote_flows(&self, tenant: &TenantId, before: UnixTime) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM remote_flows WHERE tenant_id = $1 AND expires_at < $2")
                    .bind(tenant.as_str())
                    .bind(before)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                tx.commit().await.map_err(e)?;
                Ok(n)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_federated_link(
                &self,
                tenant: &TenantId,
                provider: &str,
                subject: &str,
            ) -> Result<Option<FederatedLinkRecord>> {
                sqlx::query(
                    "SELECT provider, subject, user_id, created_at FROM federated_links \
                     WHERE tenant_id = $1 AND provider = $2 AND subject = $3",
                )
                .bind(tenant.as_str())
                .bind(provider)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?
                .as_ref()
                .map(link_from_row)
                .transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_federated_links(&self, tenant: &TenantId, user_id: &str) -> Result<Vec<FederatedLinkRecord>> {
                let rows = sqlx::query(
                    "SELECT provider, subject, user_id, created_at FROM federated_links \
                     WHERE tenant_id = $1 AND user_id = $2 ORDER BY provider, subject",
                )
                .bind(tenant.as_str())
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(link_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_federated_link(
                &self,
                tenant: &TenantId,
                link: &FederatedLinkRecord,
                new_user: Option<&UserRecord>,
                audit: &AuditRecord,
            ) -> Result<()> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                if let Some(u) = new_user {
                    insert_user_tx(&mut tx, t, u).await?;
                }
                sqlx::query(
                    "INSERT INTO federated_links (tenant_id, provider, subject, user_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(t)
                .bind(&link.provider)
                .bind(&link.subject)
                .bind(&link.user_id)
                .bind(link.created_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                insert_audit(&mut tx, t, audit).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_federated_link(
                &self,
                tenant: &TenantId,
                provider: &str,
                subject: &str,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let n =
                    sqlx::query("DELETE FROM federated_links WHERE tenant_id = $1 AND provider = $2 AND subject = $3")
                        .bind(t)
                        .bind(provider)
                        .bind(subject)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?
                        .rows_affected();
                finish(tx, n, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn users_with_email(&self, tenant: &TenantId, email: &str) -> Result<Vec<String>> {
                let rows = sqlx::query(
                    "SELECT user_id FROM users WHERE tenant_id = $1 AND LOWER(email) = LOWER($2) \
                     AND status = 'active' ORDER BY user_id LIMIT 2",
                )
                .bind(tenant.as_str())
                .bind(email)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(|r| r.try_get::<String, _>("user_id").map_err(e)).collect()
            }
        }
    };
}

pub(crate) use federation_repos;
