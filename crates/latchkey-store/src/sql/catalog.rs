//! `TenantRepo`, `KeyRepo`, `TokenRepo` and `ScopeRepo` (scopes and security classes).
//! Expanded by [`impl_repos!`](super::impl_repos) inside each adapter's
//! `repos` module, where the shared helpers and imports are in scope.

macro_rules! catalog_repos {
    ($store:ident, $db:ty) => {
        #[async_trait]
        impl TenantRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn bootstrap_tenant(&self, b: &TenantBootstrap) -> Result<bool> {
                let t = &b.tenant;
                let tenant = t.tenant_id.as_str();
                let settings =
                    serde_json::to_string(&t.settings).map_err(|err| StoreError::Internal(err.to_string()))?;
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO tenants (tenant_id, display_name, status, settings, key_check, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id) DO NOTHING",
                )
                .bind(tenant)
                .bind(&t.display_name)
                .bind(t.status.as_str())
                .bind(settings)
                .bind(&t.key_check)
                .bind(t.created_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if inserted == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                for k in &b.keys {
                    insert_key_tx(&mut tx, tenant, k).await?;
                }
                for s in &b.scopes {
                    insert_scope_tx(&mut tx, tenant, s).await?;
                }
                for (c, secrets) in &b.clients {
                    insert_client_tx(&mut tx, c, secrets).await?;
                }
                for u in &b.users {
                    insert_user_tx(&mut tx, tenant, u).await?;
                }
                for a in &b.audit {
                    insert_audit(&mut tx, tenant, a).await?;
                }
                for (elsewhere, a) in &b.audit_elsewhere {
                    insert_audit(&mut tx, elsewhere.as_str(), a).await?;
                }
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<TenantRecord>> {
                let row = sqlx::query(
                    "SELECT tenant_id, display_name, status, settings, key_check, created_at \
                     FROM tenants WHERE tenant_id = $1",
                )
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?;
                row.as_ref().map(tenant_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
                let rows = sqlx::query(
                    "SELECT tenant_id, display_name, status, settings, key_check, created_at \
                     FROM tenants ORDER BY tenant_id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(tenant_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_tenant(
                &self,
                t: &TenantRecord,
                now: UnixTime,
                by: &TenantId,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let settings =
                    serde_json::to_string(&t.settings).map_err(|err| StoreError::Internal(err.to_string()))?;
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE tenants SET display_name = $2, status = $3, settings = $4, updated_at = $5 \
                     WHERE tenant_id = $1",
                )
                .bind(t.tenant_id.as_str())
                .bind(&t.display_name)
                .bind(t.status.as_str())
                .bind(settings)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, by.as_str(), audit, Some(format!("tenant:{}", t.tenant_id))).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_tenant(&self, tenant: &TenantId, by: &TenantId, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                // Tables without a foreign key to the tenant (kept apart so
                // high-volume inserts skip the check) are emptied here.
                for table in ["audit_events", "revoked_jtis"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE tenant_id = $1")))
                        .bind(tenant.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
                }
                // Every other row of the tenant goes with it (ON DELETE CASCADE).
                let n = sqlx::query("DELETE FROM tenants WHERE tenant_id = $1")
                    .bind(tenant.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                finish(tx, n, by.as_str(), audit, Some(format!("tenant:{tenant}"))).await
            }
        }

        #[async_trait]
        impl KeyRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_signing_key(&self, tenant: &TenantId, key: &SigningKeyRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_key_tx(&mut tx, tenant.as_str(), key).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn rotate_signing_key(
                &self,
                tenant: &TenantId,
                key: &SigningKeyRecord,
                now: UnixTime,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let t = tenant.as_str();
                let mut tx = self.begin_write().await?;
                let pending: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM signing_keys WHERE tenant_id = $1 AND purpose = $2 AND activated_at > $3",
                )
                .bind(t)
                .bind(key.purpose.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(e)?;
                if pending > 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE signing_keys SET retired_at = $3 \
                     WHERE tenant_id = $1 AND purpose = $2 AND (retired_at IS NULL OR retired_at > $3)",
                )
                .bind(t)
                .bind(key.purpose.as_str())
                .bind(key.activated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                insert_key_tx(&mut tx, t, key).await?;
                finish(tx, 1, t, audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_signing_keys(&self, tenant: &TenantId) -> Result<Vec<SigningKeyRecord>> {
                let rows = sqlx::query(
                    "SELECT kid, alg, purpose, sealed_private, public_jwk, created_at, activated_at, \
                     retired_at FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid",
                )
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(key_from_row).collect()
            }
        }

        #[async_trait]
        impl TokenRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn revoke_jti(
                &self,
                tenant: &TenantId,
                jti: &str,
                client_id: &str,
                expires_at: UnixTime,
                now: UnixTime,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO revoked_jtis (tenant_id, jti, client_id, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, jti) DO NOTHING",
                )
                .bind(tenant.as_str())
                .bind(jti)
                .bind(client_id)
                .bind(expires_at)
                .bind(now)
                .execute(self.writer())
                .await
                .map_err(e)?;
                Ok(())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn jwt_state(
                &self,
                tenant: &TenantId,
                client_id: &str,
                jti: &str,
                issued_at: UnixTime,
                client_epoch: i64,
                user: Option<(&str, i64)>,
            ) -> Result<(ClientState, bool)> {
                let row = sqlx::query(
                    "SELECT (SELECT status FROM clients WHERE tenant_id = $1 AND client_id = $2) AS client_status, \
                     (SELECT tokens_valid_after FROM clients WHERE tenant_id = $1 AND client_id = $2) AS cutoff, \
                     (SELECT token_epoch FROM clients WHERE tenant_id = $1 AND client_id = $2) AS epoch, \
                     (SELECT COUNT(*) FROM revoked_jtis WHERE tenant_id = $1 AND jti = $3) AS revoked, \
                     (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND user_id = $4 AND status = 'active' \
                         AND token_epoch = $5) AS user_live",
                )
                .bind(tenant.as_str())
                .bind(client_id)
                .bind(jti)
                .bind(user.map_or("", |u| u.0))
                .bind(user.map_or(0, |u| u.1))
                .fetch_one(&self.pool)
                .await
                .map_err(e)?;
                let revoked: i64 = row.try_get("revoked").map_err(e)?;
                let user_live: i64 = row.try_get("user_live").map_err(e)?;
                let cutoff: Option<i64> = row.try_get("cutoff").map_err(e)?;
                let epoch: Option<i64> = row.try_get("epoch").map_err(e)?;
                let state = match client_state(row.try_get("client_status").map_err(e)?) {
                    // Another incarnation, or issued before the client was
                    // disabled and enabled again.
                    ClientState::Active if epoch != Some(client_epoch) || cutoff.is_some_and(|c| issued_at < c) => {
                        ClientState::Disabled
                    }
                    other => other,
                };
                Ok((state, revoked > 0 || (user.is_some() && user_live == 0)))
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_revoked_jtis(&self, now: UnixTime) -> Result<Vec<(String, String, UnixTime)>> {
                let rows = sqlx::query("SELECT tenant_id, jti, expires_at FROM revoked_jtis WHERE expires_at > $1")
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("tenant_id").map_err(e)?,
                            r.try_get("jti").map_err(e)?,
                            r.try_get("expires_at").map_err(e)?,
                        ))
                    })
                    .collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn use_assertion_jti(
                &self,
                tenant: &TenantId,
                client_id: &str,
                jti: &str,
                expires_at: UnixTime,
            ) -> Result<bool> {
                let n = sqlx::query(
                    "INSERT INTO client_assertion_jtis (tenant_id, client_id, jti, expires_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(tenant.as_str())
                .bind(client_id)
                .bind(jti)
                .bind(expires_at)
                .execute(self.writer())
                .await
                .map_err(e)?
                .rows_affected();
                Ok(n == 1)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn purge_expired(&self, before: UnixTime) -> Result<u64> {
                let mut n = sqlx::query("DELETE FROM revoked_jtis WHERE expires_at < $1")
                    .bind(before)
                    .execute(self.writer())
                    .await
                    .map_err(e)?
                    .rows_affected();
                n += sqlx::query("DELETE FROM client_assertion_jtis WHERE expires_at < $1")
                    .bind(before)
                    .execute(self.writer())
                    .await
                    .map_err(e)?
                    .rows_affected();
                Ok(n)
            }
        }

        #[async_trait]
        impl ScopeRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_scope(&self, tenant: &TenantId, scope: &ScopeRecord, audit: &AuditRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_scope_tx(&mut tx, tenant.as_str(), scope).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_scopes(&self, tenant: &TenantId) -> Result<Vec<ScopeRecord>> {
                let rows = sqlx::query(
                    "SELECT name, description, created_at, updated_at FROM scopes WHERE tenant_id = $1 ORDER BY name",
                )
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter()
                    .map(|r| {
                        Ok(ScopeRecord {
                            name: r.try_get("name").map_err(e)?,
                            description: r.try_get("description").map_err(e)?,
                            created_at: r.try_get("created_at").map_err(e)?,
                            updated_at: r.try_get("updated_at").map_err(e)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_scope(&self, tenant: &TenantId, scope: &ScopeRecord, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE scopes SET description = $3, updated_at = $4 WHERE tenant_id = $1 AND name = $2",
                )
                .bind(tenant.as_str())
                .bind(&scope.name)
                .bind(&scope.description)
                .bind(scope.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, tenant.as_str(), audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_scope(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM scopes WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant.as_str())
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                finish(tx, n, tenant.as_str(), audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_class(
                &self,
                tenant: &TenantId,
                c: &SecurityClassRecord,
                audit: &AuditRecord,
            ) -> Result<()> {
                let scopes = serde_json::to_string(&c.scopes).map_err(|err| StoreError::Internal(err.to_string()))?;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO security_classes (tenant_id, name, description, scopes, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(tenant.as_str())
                .bind(&c.name)
                .bind(&c.description)
                .bind(scopes)
                .bind(c.created_at)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("classes:{tenant}")).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_classes(&self, tenant: &TenantId) -> Result<Vec<SecurityClassRecord>> {
                let rows = sqlx::query(
                    "SELECT name, description, scopes, created_at, updated_at FROM security_classes \
                     WHERE tenant_id = $1 ORDER BY name",
                )
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter()
                    .map(|r| {
                        let scopes: String = r.try_get("scopes").map_err(e)?;
                        Ok(SecurityClassRecord {
                            name: r.try_get("name").map_err(e)?,
                            description: r.try_get("description").map_err(e)?,
                            scopes: serde_json::from_str(&scopes)
                                .map_err(|_| StoreError::Internal("stored class scopes are invalid".into()))?,
                            created_at: r.try_get("created_at").map_err(e)?,
                            updated_at: r.try_get("updated_at").map_err(e)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_class(
                &self,
                tenant: &TenantId,
                c: &SecurityClassRecord,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let scopes = serde_json::to_string(&c.scopes).map_err(|err| StoreError::Internal(err.to_string()))?;
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE security_classes SET description = $3, scopes = $4, updated_at = $5 \
                     WHERE tenant_id = $1 AND name = $2",
                )
                .bind(tenant.as_str())
                .bind(&c.name)
                .bind(&c.description)
                .bind(scopes)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, tenant.as_str(), audit, Some(format!("classes:{tenant}"))).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_class(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM security_classes WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant.as_str())
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                finish(tx, n, tenant.as_str(), audit, Some(format!("classes:{tenant}"))).await
            }
        }
    };
}

pub(crate) use catalog_repos;
