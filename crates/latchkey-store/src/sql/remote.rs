//! `RemoteRepo`: providers, remote clients and their authorizations.
//! Expanded by [`impl_repos!`](super::impl_repos) inside each adapter's
//! `repos` module, where the shared helpers and imports are in scope.

macro_rules! remote_repos {
    ($store:ident, $db:ty) => {
        use crate::{AuthorizationRecord, ProviderRecord, RemoteClientRecord, RemoteRepo};

        const REMOTE_CLIENT_COLUMNS: &str = "namespace, name, provider, client_id, sealed_secret, secret_hint, params, \
             created_at, updated_at";
        const AUTHORIZATION_COLUMNS: &str = "namespace, name, grant_type, status, sealed_tokens, scope, expires_at, \
             generation, last_error, created_at, updated_at";

        fn provider_from_row(r: &DbRow) -> Result<ProviderRecord> {
            Ok(ProviderRecord {
                name: r.try_get("name").map_err(e)?,
                settings: r.try_get("settings").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        fn remote_client_from_row(r: &DbRow) -> Result<RemoteClientRecord> {
            Ok(RemoteClientRecord {
                namespace: r.try_get("namespace").map_err(e)?,
                name: r.try_get("name").map_err(e)?,
                provider: r.try_get("provider").map_err(e)?,
                client_id: r.try_get("client_id").map_err(e)?,
                sealed_secret: r.try_get("sealed_secret").map_err(e)?,
                secret_hint: r.try_get("secret_hint").map_err(e)?,
                params: r.try_get("params").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        fn authorization_from_row(r: &DbRow) -> Result<AuthorizationRecord> {
            Ok(AuthorizationRecord {
                namespace: r.try_get("namespace").map_err(e)?,
                name: r.try_get("name").map_err(e)?,
                grant_type: r.try_get("grant_type").map_err(e)?,
                status: r.try_get("status").map_err(e)?,
                sealed_tokens: r.try_get("sealed_tokens").map_err(e)?,
                scope: r.try_get("scope").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
                generation: r.try_get("generation").map_err(e)?,
                last_error: r.try_get("last_error").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        #[async_trait]
        impl RemoteRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_provider(&self, tenant: &TenantId, p: &ProviderRecord, audit: &AuditRecord) -> Result<()> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO remote_providers (tenant_id, name, settings, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(t)
                .bind(&p.name)
                .bind(&p.settings)
                .bind(p.created_at)
                .bind(p.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                finish(tx, 1, t, audit, None).await.map(|_| ())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_provider(&self, tenant: &TenantId, name: &str) -> Result<Option<ProviderRecord>> {
                sqlx::query(
                    "SELECT name, settings, created_at, updated_at FROM remote_providers \
                     WHERE tenant_id = $1 AND name = $2",
                )
                .bind(tenant.as_str())
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?
                .as_ref()
                .map(provider_from_row)
                .transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_providers(&self, tenant: &TenantId) -> Result<Vec<ProviderRecord>> {
                let rows = sqlx::query(
                    "SELECT name, settings, created_at, updated_at FROM remote_providers \
                     WHERE tenant_id = $1 ORDER BY name",
                )
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(provider_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_provider(
                &self,
                tenant: &TenantId,
                p: &ProviderRecord,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE remote_providers SET settings = $3, updated_at = $4 WHERE tenant_id = $1 AND name = $2",
                )
                .bind(t)
                .bind(&p.name)
                .bind(&p.settings)
                .bind(p.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_provider(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM remote_providers WHERE tenant_id = $1 AND name = $2")
                    .bind(t)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                // Sign-ins under way with it end too: a provider created
                // again under this name never receives their codes.
                sqlx::query("DELETE FROM remote_flows WHERE tenant_id = $1 AND provider = $2")
                    .bind(t)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                finish(tx, n, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_remote_client(
                &self,
                tenant: &TenantId,
                c: &RemoteClientRecord,
                audit: &AuditRecord,
            ) -> Result<()> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO remote_clients (tenant_id, {REMOTE_CLIENT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(t)
                    .bind(&c.namespace)
                    .bind(&c.name)
                    .bind(&c.provider)
                    .bind(&c.client_id)
                    .bind(&c.sealed_secret)
                    .bind(&c.secret_hint)
                    .bind(&c.params)
                    .bind(c.created_at)
                    .bind(c.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                finish(tx, 1, t, audit, None).await.map(|_| ())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_remote_client(
                &self,
                tenant: &TenantId,
                namespace: &str,
                name: &str,
            ) -> Result<Option<RemoteClientRecord>> {
                let sql = format!(
                    "SELECT {REMOTE_CLIENT_COLUMNS} FROM remote_clients \
                     WHERE tenant_id = $1 AND namespace = $2 AND name = $3"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(namespace)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?
                    .as_ref()
                    .map(remote_client_from_row)
                    .transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_remote_clients(&self, tenant: &TenantId) -> Result<Vec<RemoteClientRecord>> {
                let sql = format!(
                    "SELECT {REMOTE_CLIENT_COLUMNS} FROM remote_clients WHERE tenant_id = $1 ORDER BY namespace, name"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                rows.iter().map(remote_client_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_remote_client(
                &self,
                tenant: &TenantId,
                c: &RemoteClientRecord,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE remote_clients SET provider = $4, client_id = $5, sealed_secret = $6, secret_hint = $7, \
                     params = $8, updated_at = $9 WHERE tenant_id = $1 AND namespace = $2 AND name = $3",
                )
                .bind(t)
                .bind(&c.namespace)
                .bind(&c.name)
                .bind(&c.provider)
                .bind(&c.client_id)
                .bind(&c.sealed_secret)
                .bind(&c.secret_hint)
                .bind(&c.params)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_remote_client(
                &self,
                tenant: &TenantId,
                namespace: &str,
                name: &str,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM remote_authorizations WHERE tenant_id = $1 AND namespace = $2 AND name = $3")
                    .bind(t)
                    .bind(namespace)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                let n = sqlx::query("DELETE FROM remote_clients WHERE tenant_id = $1 AND namespace = $2 AND name = $3")
                    .bind(t)
                    .bind(namespace)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                finish(tx, n, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn put_authorization(
                &self,
                tenant: &TenantId,
                a: &AuthorizationRecord,
                audit: &AuditRecord,
            ) -> Result<()> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO remote_authorizations (tenant_id, {AUTHORIZATION_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (tenant_id, namespace, name) DO UPDATE SET grant_type = excluded.grant_type, \
                     status = excluded.status, sealed_tokens = excluded.sealed_tokens, scope = excluded.scope, \
                     expires_at = excluded.expires_at, \
                     generation = remote_authorizations.generation + 1, last_error = excluded.last_error, \
                     updated_at = excluded.updated_at"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(t)
                    .bind(&a.namespace)
                    .bind(&a.name)
                    .bind(&a.grant_type)
                    .bind(&a.status)
                    .bind(&a.sealed_tokens)
                    .bind(&a.scope)
                    .bind(a.expires_at)
                    .bind(a.generation)
                    .bind(&a.last_error)
                    .bind(a.created_at)
                    .bind(a.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                finish(tx, 1, t, audit, None).await.map(|_| ())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_authorization(
                &self,
                tenant: &TenantId,
                namespace: &str,
                name: &str,
            ) -> Result<Option<AuthorizationRecord>> {
                let sql = format!(
                    "SELECT {AUTHORIZATION_COLUMNS} FROM remote_authorizations \
                     WHERE tenant_id = $1 AND namespace = $2 AND name = $3"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(namespace)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?
                    .as_ref()
                    .map(authorization_from_row)
                    .transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_authorizations(&self, tenant: &TenantId) -> Result<Vec<AuthorizationRecord>> {
                let sql = format!(
                    "SELECT {AUTHORIZATION_COLUMNS} FROM remote_authorizations WHERE tenant_id = $1 \
                     ORDER BY namespace, name"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                rows.iter().map(authorization_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_authorization(
                &self,
                tenant: &TenantId,
                a: &AuthorizationRecord,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE remote_authorizations SET status = $4, sealed_tokens = $5, scope = $6, expires_at = $7, \
                     generation = $8, last_error = $9, updated_at = $10 \
                     WHERE tenant_id = $1 AND namespace = $2 AND name = $3 AND generation = $8 - 1",
                )
                .bind(t)
                .bind(&a.namespace)
                .bind(&a.name)
                .bind(&a.status)
                .bind(&a.sealed_tokens)
                .bind(&a.scope)
                .bind(a.expires_at)
                .bind(a.generation)
                .bind(&a.last_error)
                .bind(a.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_authorization(
                &self,
                tenant: &TenantId,
                namespace: &str,
                name: &str,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "DELETE FROM remote_authorizations WHERE tenant_id = $1 AND namespace = $2 AND name = $3",
                )
                .bind(t)
                .bind(namespace)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn record_audit(&self, tenant: &TenantId, audit: &AuditRecord) -> Result<()> {
                let t = tenant.as_str();
                let tx = self.begin_write().await?;
                finish(tx, 1, t, audit, None).await.map(|_| ())
            }
        }
    };
}

pub(crate) use remote_repos;
