//! `UserRepo` (users, roles, groups) and `AuditRepo`.
//! Expanded by [`impl_repos!`](super::impl_repos) inside each adapter's
//! `repos` module, where the shared helpers and imports are in scope.

macro_rules! people_repos {
    ($store:ident, $db:ty) => {
        async fn insert_user_links(tx: &mut Tx, tenant: &str, u: &UserRecord) -> Result<()> {
            for role in &u.roles {
                sqlx::query("INSERT INTO role_assignments (tenant_id, user_id, role) VALUES ($1, $2, $3)")
                    .bind(tenant)
                    .bind(&u.user_id)
                    .bind(role.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            for g in &u.groups {
                sqlx::query("INSERT INTO user_groups (tenant_id, user_id, group_name) VALUES ($1, $2, $3)")
                    .bind(tenant)
                    .bind(&u.user_id)
                    .bind(g)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            Ok(())
        }

        /// The user row with its roles and groups (shared with federated
        /// just-in-time provisioning).
        async fn insert_user_tx(tx: &mut Tx, tenant: &str, u: &UserRecord) -> Result<()> {
            sqlx::query(
                "INSERT INTO users (tenant_id, user_id, username, username_lower, email, display_name, \
                 password_hash, status, created_at, updated_at, token_epoch) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(tenant)
            .bind(&u.user_id)
            .bind(&u.username)
            .bind(u.username.to_lowercase())
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(&u.password_hash)
            .bind(u.status.as_str())
            .bind(u.created_at)
            .bind(u.updated_at)
            .bind(u.token_epoch)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
            insert_user_links(tx, tenant, u).await
        }

        /// Replaces a user's row, roles and groups (moving the token epoch
        /// on a status or password change); `false` when there is no such user.
        async fn update_user_tx(tx: &mut Tx, tenant: &str, u: &UserRecord) -> Result<bool> {
            let n = sqlx::query(
                "UPDATE users SET email = $3, display_name = $4, password_hash = $5, status = $6, updated_at = $7, \
                 token_epoch = CASE WHEN status <> $6 OR password_hash <> $5 THEN token_epoch + 1 \
                 ELSE token_epoch END \
                 WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tenant)
            .bind(&u.user_id)
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(&u.password_hash)
            .bind(u.status.as_str())
            .bind(u.updated_at)
            .execute(&mut **tx)
            .await
            .map_err(e)?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            for table in ["role_assignments", "user_groups"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE tenant_id = $1 AND user_id = $2")))
                    .bind(tenant)
                    .bind(&u.user_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
            }
            insert_user_links(tx, tenant, u).await?;
            Ok(true)
        }

        const USER_COLUMNS: &str =
            "user_id, username, email, display_name, password_hash, status, created_at, updated_at, token_epoch";

        impl $store {
            async fn user_from_row(&self, tenant: &TenantId, r: &DbRow) -> Result<UserRecord> {
                let user_id: String = r.try_get("user_id").map_err(e)?;
                let roles = sqlx::query(
                    "SELECT role FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 ORDER BY role",
                )
                .bind(tenant.as_str())
                .bind(&user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?
                .iter()
                .map(|r| {
                    let name = r.try_get::<String, _>("role").map_err(e)?;
                    latchkey_core::AdminRole::parse(&name)
                        .map_err(|_| StoreError::Internal(format!("stored user {user_id} has an unknown role {name}")))
                })
                .collect::<Result<Vec<_>>>()?;
                let groups = sqlx::query(
                    "SELECT group_name FROM user_groups WHERE tenant_id = $1 AND user_id = $2 ORDER BY group_name",
                )
                .bind(tenant.as_str())
                .bind(&user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?
                .iter()
                .map(|r| r.try_get::<String, _>("group_name").map_err(e))
                .collect::<Result<Vec<_>>>()?;
                Ok(UserRecord {
                    user_id,
                    username: r.try_get("username").map_err(e)?,
                    email: r.try_get("email").map_err(e)?,
                    display_name: r.try_get("display_name").map_err(e)?,
                    password_hash: r.try_get("password_hash").map_err(e)?,
                    status: latchkey_core::UserStatus::parse(&r.try_get::<String, _>("status").map_err(e)?)
                        .ok_or_else(|| StoreError::Internal("stored user has an invalid status".into()))?,
                    roles,
                    groups,
                    created_at: r.try_get("created_at").map_err(e)?,
                    updated_at: r.try_get("updated_at").map_err(e)?,
                    token_epoch: r.try_get("token_epoch").map_err(e)?,
                })
            }
        }

        #[async_trait]
        impl UserRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username_lower = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(username.to_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                match row {
                    Some(r) => Ok(Some(self.user_from_row(tenant, &r).await?)),
                    None => Ok(None),
                }
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_user(&self, tenant: &TenantId, user_id: &str) -> Result<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND user_id = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                match row {
                    Some(r) => Ok(Some(self.user_from_row(tenant, &r).await?)),
                    None => Ok(None),
                }
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_user(&self, tenant: &TenantId, u: &UserRecord, audit: &AuditRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_user_tx(&mut tx, tenant.as_str(), u).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_users(
                &self,
                tenant: &TenantId,
                q: Option<&str>,
                after: Option<&str>,
                limit: u32,
            ) -> Result<Vec<UserRecord>> {
                let mut qb =
                    sqlx::QueryBuilder::<$db>::new(format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = "));
                qb.push_bind(tenant.as_str().to_owned());
                if let Some(q) = q.filter(|q| !q.is_empty()) {
                    let pat = format!("%{}%", like_escape(&q.to_lowercase()));
                    qb.push(" AND (username_lower LIKE ").push_bind(pat.clone()).push(" ESCAPE '\\'");
                    qb.push(" OR lower(display_name) LIKE ").push_bind(pat.clone()).push(" ESCAPE '\\'");
                    qb.push(" OR lower(COALESCE(email, '')) LIKE ").push_bind(pat).push(" ESCAPE '\\')");
                }
                if let Some(a) = after {
                    qb.push(" AND username_lower > ").push_bind(a.to_lowercase());
                }
                qb.push(" ORDER BY username_lower LIMIT ").push_bind(i64::from(limit));
                let rows = qb.build().fetch_all(&self.pool).await.map_err(e)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(self.user_from_row(tenant, r).await?);
                }
                Ok(out)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_user(&self, tenant: &TenantId, u: &UserRecord, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                if !update_user_tx(&mut tx, tenant.as_str(), u).await? {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }
        }

        #[async_trait]
        impl AuditRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_audit(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditRecord>> {
                let rows = sqlx::query(
                    "SELECT event_id, occurred_at, actor, actor_type, action, target_type, target_id, source_ip, \
                     request_id, changes FROM audit_events WHERE tenant_id = $1 \
                     ORDER BY occurred_at DESC, event_id DESC LIMIT $2",
                )
                .bind(tenant.as_str())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(audit_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn search_audit(&self, tenant: &TenantId, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT event_id, occurred_at, actor, actor_type, action, target_type, target_id, source_ip, \
                     request_id, changes FROM audit_events WHERE tenant_id = ",
                );
                qb.push_bind(tenant.as_str().to_owned());
                for (col, val) in [
                    ("target_type", &q.target_type),
                    ("target_id", &q.target_id),
                    ("actor", &q.actor),
                    ("action", &q.action),
                ] {
                    if let Some(v) = val {
                        qb.push(format!(" AND {col} = ")).push_bind(v.clone());
                    }
                }
                if let Some(needle) = q.q.as_deref().filter(|n| !n.is_empty()) {
                    let pattern = format!("%{}%", like_escape(&needle.to_lowercase()));
                    qb.push(" AND (LOWER(actor) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
                    qb.push(" OR LOWER(action) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
                    qb.push(" OR LOWER(target_id) LIKE ").push_bind(pattern).push(" ESCAPE '\\')");
                }
                if !q.exclude_actions.is_empty() {
                    qb.push(" AND action NOT IN (");
                    let mut list = qb.separated(", ");
                    for a in &q.exclude_actions {
                        list.push_bind(a.clone());
                    }
                    list.push_unseparated(")");
                }
                if let Some(since) = q.since {
                    qb.push(" AND occurred_at >= ").push_bind(since);
                }
                if let Some(until) = q.until {
                    qb.push(" AND occurred_at < ").push_bind(until);
                }
                if let Some((at, id)) = &q.before {
                    qb.push(" AND (occurred_at < ").push_bind(*at).push(" OR (occurred_at = ").push_bind(*at);
                    qb.push(" AND event_id < ").push_bind(id.clone()).push("))");
                }
                qb.push(" ORDER BY occurred_at DESC, event_id DESC LIMIT ").push_bind(i64::from(q.limit));
                let rows = qb.build().fetch_all(&self.pool).await.map_err(e)?;
                rows.iter().map(audit_from_row).collect()
            }
        }
    };
}

pub(crate) use people_repos;
