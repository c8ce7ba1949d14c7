//! `ScimRepo`: what SCIM provisioning stores beyond the user row (the
//! connector's `externalId`, the `name` and `emails` it wrote), and
//! deleting a user.
//! Expanded by [`impl_repos!`](super::impl_repos) after `people_repos!`,
//! whose helpers (`insert_user_tx`, `update_user_tx`) it shares.

macro_rules! scim_repos {
    ($store:ident, $db:ty) => {
        async fn set_attributes(
            tx: &mut Tx,
            tenant: &str,
            user_id: &str,
            a: &crate::ScimAttributes,
        ) -> Result<()> {
            for sql in [
                "DELETE FROM scim_users WHERE tenant_id = $1 AND user_id = $2",
                "DELETE FROM scim_user_profiles WHERE tenant_id = $1 AND user_id = $2",
            ] {
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            if let Some(x) = &a.external_id {
                sqlx::query("INSERT INTO scim_users (tenant_id, user_id, external_id) VALUES ($1, $2, $3)")
                    .bind(tenant)
                    .bind(user_id)
                    .bind(x)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            if a.name.is_some() || a.emails.is_some() {
                sqlx::query(
                    "INSERT INTO scim_user_profiles (tenant_id, user_id, name, emails) VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant)
                .bind(user_id)
                .bind(&a.name)
                .bind(&a.emails)
                .execute(&mut **tx)
                .await
                .map_err(e)?;
            }
            Ok(())
        }

        async fn set_members(tx: &mut Tx, tenant: &str, names: &[&str], name: &str, members: &[String]) -> Result<()> {
            for n in names {
                sqlx::query("DELETE FROM user_groups WHERE tenant_id = $1 AND group_name = $2")
                    .bind(tenant)
                    .bind(*n)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            for m in members {
                sqlx::query("INSERT INTO user_groups (tenant_id, user_id, group_name) VALUES ($1, $2, $3)")
                    .bind(tenant)
                    .bind(m)
                    .bind(name)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            Ok(())
        }

        fn group_from_row(r: &DbRow) -> Result<crate::ScimGroupRecord> {
            Ok(crate::ScimGroupRecord {
                group_id: r.try_get("group_id").map_err(e)?,
                display_name: r.try_get("display_name").map_err(e)?,
                external_id: r.try_get("external_id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        const GROUP_COLUMNS: &str = "group_id, display_name, external_id, created_at, updated_at";

        /// A user's SCIM attributes, from both of their tables in one query.
        const ATTRIBUTES: &str = "SELECT u.user_id, s.external_id, p.name, p.emails FROM users u \
             LEFT JOIN scim_users s ON s.tenant_id = u.tenant_id AND s.user_id = u.user_id \
             LEFT JOIN scim_user_profiles p ON p.tenant_id = u.tenant_id AND p.user_id = u.user_id";

        fn attributes_from_row(r: &DbRow) -> Result<crate::ScimAttributes> {
            Ok(crate::ScimAttributes {
                external_id: r.try_get("external_id").map_err(e)?,
                name: r.try_get("name").map_err(e)?,
                emails: r.try_get("emails").map_err(e)?,
            })
        }

        #[async_trait]
        impl crate::ScimRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn scim_attributes_all(&self, tenant: &TenantId) -> Result<Vec<(String, crate::ScimAttributes)>> {
                let sql = format!(
                    "{ATTRIBUTES} WHERE u.tenant_id = $1 AND (s.user_id IS NOT NULL OR p.user_id IS NOT NULL) \
                     ORDER BY u.user_id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).fetch_all(&self.pool).await.map_err(e)?;
                rows.iter().map(|r| Ok((r.try_get("user_id").map_err(e)?, attributes_from_row(r)?))).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn scim_attributes(&self, tenant: &TenantId, user_id: &str) -> Result<crate::ScimAttributes> {
                let sql = format!("{ATTRIBUTES} WHERE u.tenant_id = $1 AND u.user_id = $2");
                let row =
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(user_id).fetch_optional(&self.pool).await.map_err(e)?;
                row.map_or_else(|| Ok(crate::ScimAttributes::default()), |r| attributes_from_row(&r))
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_scim_user(
                &self,
                tenant: &TenantId,
                u: &UserRecord,
                attributes: &crate::ScimAttributes,
                audit: &AuditRecord,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_user_tx(&mut tx, tenant.as_str(), u).await?;
                set_attributes(&mut tx, tenant.as_str(), &u.user_id, attributes).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_scim_user(
                &self,
                tenant: &TenantId,
                u: &UserRecord,
                attributes: &crate::ScimAttributes,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let renamed = sqlx::query(
                    "UPDATE users SET username = $3, username_lower = $4 WHERE tenant_id = $1 AND user_id = $2",
                )
                .bind(tenant.as_str())
                .bind(&u.user_id)
                .bind(&u.username)
                .bind(u.username.to_lowercase())
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if renamed == 0 || !update_user_tx(&mut tx, tenant.as_str(), u).await? {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                set_attributes(&mut tx, tenant.as_str(), &u.user_id, attributes).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_user(&self, tenant: &TenantId, user_id: &str, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_str())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_scim_groups(&self, tenant: &TenantId) -> Result<Vec<crate::ScimGroupRecord>> {
                let sql = format!("SELECT {GROUP_COLUMNS} FROM scim_groups WHERE tenant_id = $1 ORDER BY display_name");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                rows.iter().map(group_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_scim_group(
                &self,
                tenant: &TenantId,
                group_id: &str,
            ) -> Result<Option<crate::ScimGroupRecord>> {
                let sql = format!("SELECT {GROUP_COLUMNS} FROM scim_groups WHERE tenant_id = $1 AND group_id = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(group_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                row.as_ref().map(group_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn group_members(&self, tenant: &TenantId, name: &str) -> Result<Vec<(String, String)>> {
                let rows = sqlx::query(
                    "SELECT u.user_id, u.username FROM user_groups g JOIN users u \
                     ON u.tenant_id = g.tenant_id AND u.user_id = g.user_id \
                     WHERE g.tenant_id = $1 AND g.group_name = $2 ORDER BY u.username_lower",
                )
                .bind(tenant.as_str())
                .bind(name)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(|r| Ok((r.try_get("user_id").map_err(e)?, r.try_get("username").map_err(e)?))).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_scim_group(
                &self,
                tenant: &TenantId,
                g: &crate::ScimGroupRecord,
                members: &[String],
                audit: &AuditRecord,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO scim_groups (tenant_id, group_id, display_name, external_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(tenant.as_str())
                .bind(&g.group_id)
                .bind(&g.display_name)
                .bind(&g.external_id)
                .bind(g.created_at)
                .bind(g.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                set_members(&mut tx, tenant.as_str(), &[&g.display_name], &g.display_name, members).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_scim_group(
                &self,
                tenant: &TenantId,
                g: &crate::ScimGroupRecord,
                old_name: &str,
                members: &[String],
                audit: &AuditRecord,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE scim_groups SET display_name = $3, external_id = $4, updated_at = $5 \
                     WHERE tenant_id = $1 AND group_id = $2",
                )
                .bind(tenant.as_str())
                .bind(&g.group_id)
                .bind(&g.display_name)
                .bind(&g.external_id)
                .bind(g.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                set_members(&mut tx, tenant.as_str(), &[old_name, &g.display_name], &g.display_name, members).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_scim_group(&self, tenant: &TenantId, group_id: &str, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(
                    "DELETE FROM scim_groups WHERE tenant_id = $1 AND group_id = $2 RETURNING display_name",
                )
                .bind(tenant.as_str())
                .bind(group_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(e)?;
                let Some(row) = row else {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                };
                let name: String = row.try_get("display_name").map_err(e)?;
                set_members(&mut tx, tenant.as_str(), &[&name], &name, &[]).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn record_scim_error(
                &self,
                tenant: &TenantId,
                client_id: &str,
                err: &crate::ScimErrorRecord,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "INSERT INTO scim_errors (tenant_id, client_id, error_id, occurred_at, method, path, status, \
                     scim_type, detail) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
                     WHERE EXISTS (SELECT 1 FROM clients WHERE tenant_id = $1 AND client_id = $2)",
                )
                .bind(tenant.as_str())
                .bind(client_id)
                .bind(&err.error_id)
                .bind(err.occurred_at)
                .bind(&err.method)
                .bind(&err.path)
                .bind(i32::from(err.status))
                .bind(&err.scim_type)
                .bind(&err.detail)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if n > 0 {
                    sqlx::query(
                        "DELETE FROM scim_errors WHERE tenant_id = $1 AND client_id = $2 AND error_id NOT IN \
                         (SELECT error_id FROM scim_errors WHERE tenant_id = $1 AND client_id = $2 \
                          ORDER BY occurred_at DESC, error_id DESC LIMIT $3)",
                    )
                    .bind(tenant.as_str())
                    .bind(client_id)
                    .bind(crate::SCIM_ERRORS_KEPT)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                }
                tx.commit().await.map_err(e)?;
                Ok(())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_scim_errors(
                &self,
                tenant: &TenantId,
                client_id: &str,
            ) -> Result<Vec<crate::ScimErrorRecord>> {
                let rows = sqlx::query(
                    "SELECT error_id, occurred_at, method, path, status, scim_type, detail FROM scim_errors \
                     WHERE tenant_id = $1 AND client_id = $2 ORDER BY occurred_at DESC, error_id DESC LIMIT $3",
                )
                .bind(tenant.as_str())
                .bind(client_id)
                .bind(crate::SCIM_ERRORS_KEPT)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter()
                    .map(|r| {
                        let status: i32 = r.try_get("status").map_err(e)?;
                        Ok(crate::ScimErrorRecord {
                            error_id: r.try_get("error_id").map_err(e)?,
                            occurred_at: r.try_get("occurred_at").map_err(e)?,
                            method: r.try_get("method").map_err(e)?,
                            path: r.try_get("path").map_err(e)?,
                            status: u16::try_from(status).unwrap_or_default(),
                            scim_type: r.try_get("scim_type").map_err(e)?,
                            detail: r.try_get("detail").map_err(e)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use scim_repos;
