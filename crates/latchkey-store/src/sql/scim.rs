//! `ScimRepo`: what SCIM provisioning stores beyond the user row (the
//! connector's `externalId`), and deleting a user.
//! Expanded by [`impl_repos!`](super::impl_repos) after `people_repos!`,
//! whose helpers (`insert_user_tx`, `update_user_tx`) it shares.

macro_rules! scim_repos {
    ($store:ident, $db:ty) => {
        async fn set_external_id(tx: &mut Tx, tenant: &str, user_id: &str, external_id: Option<&str>) -> Result<()> {
            sqlx::query("DELETE FROM scim_users WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant)
                .bind(user_id)
                .execute(&mut **tx)
                .await
                .map_err(e)?;
            if let Some(x) = external_id {
                sqlx::query("INSERT INTO scim_users (tenant_id, user_id, external_id) VALUES ($1, $2, $3)")
                    .bind(tenant)
                    .bind(user_id)
                    .bind(x)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            Ok(())
        }

        #[async_trait]
        impl crate::ScimRepo for $store {
            async fn scim_external_ids(&self, tenant: &TenantId) -> Result<Vec<(String, String)>> {
                let rows = sqlx::query("SELECT user_id, external_id FROM scim_users WHERE tenant_id = $1")
                    .bind(tenant.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                rows.iter()
                    .map(|r| Ok((r.try_get("user_id").map_err(e)?, r.try_get("external_id").map_err(e)?)))
                    .collect()
            }

            async fn scim_external_id(&self, tenant: &TenantId, user_id: &str) -> Result<Option<String>> {
                let row = sqlx::query("SELECT external_id FROM scim_users WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_str())
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                row.map(|r| r.try_get("external_id").map_err(e)).transpose()
            }

            async fn insert_scim_user(
                &self,
                tenant: &TenantId,
                u: &UserRecord,
                external_id: Option<&str>,
                audit: &AuditRecord,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_user_tx(&mut tx, tenant.as_str(), u).await?;
                set_external_id(&mut tx, tenant.as_str(), &u.user_id, external_id).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)
            }

            async fn update_scim_user(
                &self,
                tenant: &TenantId,
                u: &UserRecord,
                external_id: Option<&str>,
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
                set_external_id(&mut tx, tenant.as_str(), &u.user_id, external_id).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

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
        }
    };
}

pub(crate) use scim_repos;
