//! `SessionRepo`, `CodeRepo`, `RefreshRepo` and `ConsentRepo`: the state of
//! signing people in. Expanded by [`impl_repos!`](super::impl_repos) inside
//! each adapter's `repos` module, where the shared helpers are in scope.
//!
//! Single use is decided by the database, never by a read followed by a
//! write: a code is redeemed and a refresh token rotated by one
//! `UPDATE … WHERE used_at IS NULL`, whose row count says who won.

macro_rules! flow_repos {
    ($store:ident, $db:ty) => {
        const CODE_COLUMNS: &str = "code_hash, client_id, user_id, redirect_uri, redirect_uri_given, code_challenge, \
             nonce, scope, auth_time, sid, created_at, expires_at, used_at, access_jti, access_exp, family_id, \
             client_epoch, user_epoch";
        const FAMILY_COLUMNS: &str =
            "f.family_id, f.client_id, f.user_id, f.scope, f.auth_time, f.sid, f.created_at AS f_created_at, \
             f.expires_at AS f_expires_at, f.revoked_at, f.client_epoch, f.user_epoch";

        fn session_from_row(r: &DbRow) -> Result<crate::SessionRecord> {
            Ok(crate::SessionRecord {
                session_hash: r.try_get("session_hash").map_err(e)?,
                sid: r.try_get("sid").map_err(e)?,
                user_id: r.try_get("user_id").map_err(e)?,
                auth_time: r.try_get("auth_time").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
            })
        }

        fn code_from_row(r: &DbRow) -> Result<crate::CodeRecord> {
            Ok(crate::CodeRecord {
                code_hash: r.try_get("code_hash").map_err(e)?,
                client_id: r.try_get("client_id").map_err(e)?,
                user_id: r.try_get("user_id").map_err(e)?,
                redirect_uri: r.try_get("redirect_uri").map_err(e)?,
                redirect_uri_given: r.try_get("redirect_uri_given").map_err(e)?,
                code_challenge: r.try_get("code_challenge").map_err(e)?,
                nonce: r.try_get("nonce").map_err(e)?,
                scope: r.try_get("scope").map_err(e)?,
                auth_time: r.try_get("auth_time").map_err(e)?,
                sid: r.try_get("sid").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
                used_at: r.try_get("used_at").map_err(e)?,
                access_jti: r.try_get("access_jti").map_err(e)?,
                access_exp: r.try_get("access_exp").map_err(e)?,
                family_id: r.try_get("family_id").map_err(e)?,
                client_epoch: r.try_get("client_epoch").map_err(e)?,
                user_epoch: r.try_get("user_epoch").map_err(e)?,
            })
        }

        fn family_from_row(r: &DbRow) -> Result<crate::FamilyRecord> {
            Ok(crate::FamilyRecord {
                family_id: r.try_get("family_id").map_err(e)?,
                client_id: r.try_get("client_id").map_err(e)?,
                user_id: r.try_get("user_id").map_err(e)?,
                scope: r.try_get("scope").map_err(e)?,
                auth_time: r.try_get("auth_time").map_err(e)?,
                sid: r.try_get("sid").map_err(e)?,
                created_at: r.try_get("f_created_at").map_err(e)?,
                expires_at: r.try_get("f_expires_at").map_err(e)?,
                revoked_at: r.try_get("revoked_at").map_err(e)?,
                client_epoch: r.try_get("client_epoch").map_err(e)?,
                user_epoch: r.try_get("user_epoch").map_err(e)?,
            })
        }

        /// `(client_id, access_jti, access_exp)`: a live access token to revoke.
        fn live_token_from_row(r: &DbRow) -> Result<(String, String, UnixTime)> {
            Ok((r.try_get("client_id").map_err(e)?, r.try_get("access_jti").map_err(e)?, r.try_get("access_exp").map_err(e)?))
        }

        fn consent_from_row(r: &DbRow) -> Result<crate::ConsentRecord> {
            Ok(crate::ConsentRecord {
                user_id: r.try_get("user_id").map_err(e)?,
                client_id: r.try_get("client_id").map_err(e)?,
                scope: r.try_get("scope").map_err(e)?,
                granted_at: r.try_get("granted_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        async fn insert_family_tx(tx: &mut Tx, tenant: &str, f: &crate::FamilyRecord) -> Result<()> {
            sqlx::query(
                "INSERT INTO refresh_families (tenant_id, family_id, client_id, user_id, scope, auth_time, sid, \
                 created_at, expires_at, revoked_at, client_epoch, user_epoch) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(tenant)
            .bind(&f.family_id)
            .bind(&f.client_id)
            .bind(&f.user_id)
            .bind(&f.scope)
            .bind(f.auth_time)
            .bind(&f.sid)
            .bind(f.created_at)
            .bind(f.expires_at)
            .bind(f.revoked_at)
            .bind(f.client_epoch)
            .bind(f.user_epoch)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
            Ok(())
        }

        async fn insert_refresh_tx(tx: &mut Tx, tenant: &str, t: &crate::RefreshRecord) -> Result<()> {
            sqlx::query(
                "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, created_at, expires_at, used_at, \
                 access_jti, access_exp, successor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(tenant)
            .bind(&t.token_hash)
            .bind(&t.family_id)
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.used_at)
            .bind(&t.access_jti)
            .bind(t.access_exp)
            .bind(&t.successor)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
            Ok(())
        }

        #[async_trait]
        impl crate::SessionRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_session(
                &self,
                tenant: &TenantId,
                s: &crate::SessionRecord,
                audit: &AuditRecord,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO browser_sessions (tenant_id, session_hash, sid, user_id, auth_time, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(tenant.as_str())
                .bind(&s.session_hash)
                .bind(&s.sid)
                .bind(&s.user_id)
                .bind(s.auth_time)
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                finish(tx, 1, tenant.as_str(), audit, None).await.map(|_| ())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_session(
                &self,
                tenant: &TenantId,
                session_hash: &[u8],
                now: UnixTime,
            ) -> Result<Option<crate::SessionRecord>> {
                let row = sqlx::query(
                    "SELECT session_hash, sid, user_id, auth_time, created_at, expires_at FROM browser_sessions \
                     WHERE tenant_id = $1 AND session_hash = $2 AND expires_at > $3",
                )
                .bind(tenant.as_str())
                .bind(session_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?;
                row.as_ref().map(session_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_session(&self, tenant: &TenantId, session_hash: &[u8], audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM browser_sessions WHERE tenant_id = $1 AND session_hash = $2")
                    .bind(tenant.as_str())
                    .bind(session_hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                finish(tx, n, tenant.as_str(), audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn purge_expired_flows(&self, before: UnixTime) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let mut total = 0;
                for sql in [
                    "DELETE FROM browser_sessions WHERE expires_at < $1",
                    "DELETE FROM authorization_codes WHERE expires_at < $1 AND (access_exp IS NULL OR access_exp < $1)",
                    "DELETE FROM refresh_tokens WHERE expires_at < $1 AND access_exp < $1",
                    "DELETE FROM refresh_families WHERE expires_at < $1",
                    "DELETE FROM device_codes WHERE expires_at < $1",
                ] {
                    total += sqlx::query(sql).bind(before).execute(&mut *tx).await.map_err(e)?.rows_affected();
                }
                tx.commit().await.map_err(e)?;
                Ok(total)
            }
        }

        #[async_trait]
        impl crate::CodeRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_code(&self, tenant: &TenantId, c: &crate::CodeRecord) -> Result<()> {
                let sql = format!(
                    "INSERT INTO authorization_codes (tenant_id, {CODE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(&c.code_hash)
                    .bind(&c.client_id)
                    .bind(&c.user_id)
                    .bind(&c.redirect_uri)
                    .bind(c.redirect_uri_given)
                    .bind(&c.code_challenge)
                    .bind(&c.nonce)
                    .bind(&c.scope)
                    .bind(c.auth_time)
                    .bind(&c.sid)
                    .bind(c.created_at)
                    .bind(c.expires_at)
                    .bind(c.used_at)
                    .bind(&c.access_jti)
                    .bind(c.access_exp)
                    .bind(&c.family_id)
                    .bind(c.client_epoch)
                    .bind(c.user_epoch)
                    .execute(self.writer())
                    .await
                    .map_err(e)?;
                Ok(())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_code(&self, tenant: &TenantId, code_hash: &[u8]) -> Result<Option<crate::CodeRecord>> {
                let sql = format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                row.as_ref().map(code_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn redeem_code(
                &self,
                tenant: &TenantId,
                code_hash: &[u8],
                now: UnixTime,
                access: (&str, UnixTime),
                family: Option<(&crate::FamilyRecord, &crate::RefreshRecord)>,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE authorization_codes SET used_at = $3, access_jti = $4, access_exp = $5, family_id = $6 \
                     WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > $3",
                )
                .bind(tenant.as_str())
                .bind(code_hash)
                .bind(now)
                .bind(access.0)
                .bind(access.1)
                .bind(family.map(|(f, _)| f.family_id.clone()))
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

        #[async_trait]
        impl crate::RefreshRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_refresh(
                &self,
                tenant: &TenantId,
                token_hash: &[u8],
            ) -> Result<Option<(crate::RefreshRecord, crate::FamilyRecord)>> {
                let sql = format!(
                    "SELECT t.token_hash, t.created_at, t.expires_at, t.used_at, t.access_jti, t.access_exp, t.successor, \
                     {FAMILY_COLUMNS} FROM refresh_tokens t JOIN refresh_families f \
                     ON f.tenant_id = t.tenant_id AND f.family_id = t.family_id \
                     WHERE t.tenant_id = $1 AND t.token_hash = $2"
                );
                let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?
                else {
                    return Ok(None);
                };
                let family = family_from_row(&r)?;
                let token = crate::RefreshRecord {
                    token_hash: r.try_get("token_hash").map_err(e)?,
                    family_id: family.family_id.clone(),
                    created_at: r.try_get("created_at").map_err(e)?,
                    expires_at: r.try_get("expires_at").map_err(e)?,
                    used_at: r.try_get("used_at").map_err(e)?,
                    access_jti: r.try_get("access_jti").map_err(e)?,
                    access_exp: r.try_get("access_exp").map_err(e)?,
                    successor: r.try_get("successor").map_err(e)?,
                };
                Ok(Some((token, family)))
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn rotate_refresh(
                &self,
                tenant: &TenantId,
                old_hash: &[u8],
                now: UnixTime,
                rotate: bool,
                new: &crate::RefreshRecord,
                successor: Option<&[u8]>,
            ) -> Result<bool> {
                if rotate && $store::ROTATE_IN_ONE_STATEMENT {
                    // The new token first, then the old one, whose row exists
                    // and so turns into the update of `used_at` and
                    // `successor`; both only when the old token is unused,
                    // unexpired and its family live. Two rows or none.
                    let n = sqlx::query(
                        "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, created_at, expires_at, \
                         used_at, access_jti, access_exp, successor) \
                         SELECT $1, v.h, $4, $5, $6, v.u, $7, $8, v.s \
                         FROM (SELECT $9 AS h, NULL AS u, NULL AS s UNION ALL SELECT $2, $3, $10) v \
                         WHERE EXISTS (SELECT 1 FROM refresh_tokens t JOIN refresh_families f \
                             ON f.tenant_id = t.tenant_id AND f.family_id = t.family_id \
                             WHERE t.tenant_id = $1 AND t.token_hash = $2 AND t.family_id = $4 \
                             AND t.expires_at > $3 AND t.used_at IS NULL \
                             AND f.revoked_at IS NULL AND f.expires_at > $3) \
                         ON CONFLICT (tenant_id, token_hash) \
                         DO UPDATE SET used_at = COALESCE(refresh_tokens.used_at, excluded.used_at), \
                         successor = COALESCE(refresh_tokens.successor, excluded.successor)",
                    )
                    .bind(tenant.as_str())
                    .bind(old_hash)
                    .bind(now)
                    .bind(&new.family_id)
                    .bind(new.created_at)
                    .bind(new.expires_at)
                    .bind(&new.access_jti)
                    .bind(new.access_exp)
                    .bind(&new.token_hash)
                    .bind(successor)
                    .execute(self.writer())
                    .await
                    .map_err(e)?
                    .rows_affected();
                    return Ok(n == 2);
                }
                let mut tx = self.begin_write().await?;
                // `used_at IS NULL` decides who rotates: a concurrent
                // rotation waits for the row and then matches nothing.
                let n = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = CASE WHEN $5 THEN $3 ELSE used_at END, \
                     successor = CASE WHEN $5 THEN $6 ELSE successor END \
                     WHERE tenant_id = $1 AND token_hash = $2 AND family_id = $4 AND expires_at > $3 \
                     AND used_at IS NULL \
                     AND EXISTS (SELECT 1 FROM refresh_families f WHERE f.tenant_id = $1 \
                         AND f.family_id = $4 AND f.revoked_at IS NULL AND f.expires_at > $3)",
                )
                .bind(tenant.as_str())
                .bind(old_hash)
                .bind(now)
                .bind(&new.family_id)
                .bind(rotate)
                .bind(successor)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_refresh_tx(&mut tx, tenant.as_str(), new).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn revoke_family(
                &self,
                tenant: &TenantId,
                family_id: &str,
                now: UnixTime,
                audit: &AuditRecord,
            ) -> Result<Vec<(String, UnixTime)>> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE refresh_families SET revoked_at = $3 \
                     WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
                )
                .bind(tenant.as_str())
                .bind(family_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                let rows = sqlx::query(
                    "SELECT access_jti, access_exp FROM refresh_tokens \
                     WHERE tenant_id = $1 AND family_id = $2 AND access_exp > $3",
                )
                .bind(tenant.as_str())
                .bind(family_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(e)?;
                let live = rows
                    .iter()
                    .map(|r| Ok((r.try_get("access_jti").map_err(e)?, r.try_get("access_exp").map_err(e)?)))
                    .collect::<Result<Vec<_>>>()?;
                if n > 0 {
                    insert_audit(&mut tx, tenant.as_str(), audit).await?;
                }
                tx.commit().await.map_err(e)?;
                Ok(live)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn revoke_families_of(
                &self,
                tenant: &TenantId,
                user_id: &str,
                client_id: &str,
                now: UnixTime,
            ) -> Result<Vec<(String, UnixTime)>> {
                let live = self.revoke_families_where(tenant, user_id, Some(client_id), now, false).await?;
                Ok(live.into_iter().map(|(_, jti, exp)| (jti, exp)).collect())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn sign_out_user(
                &self,
                tenant: &TenantId,
                user_id: &str,
                now: UnixTime,
            ) -> Result<Vec<(String, String, UnixTime)>> {
                self.revoke_families_where(tenant, user_id, None, now, true).await
            }
        }

        impl $store {
            /// Revokes the unrevoked families of a user (at one client, or at
            /// every client) and returns `(client, jti, exp)` of their live
            /// access tokens; `sign_out` also ends the user's browser sessions.
            async fn revoke_families_where(
                &self,
                tenant: &TenantId,
                user_id: &str,
                client_id: Option<&str>,
                now: UnixTime,
                sign_out: bool,
            ) -> Result<Vec<(String, String, UnixTime)>> {
                let only_client = if client_id.is_some() { " AND f.client_id = $4" } else { "" };
                let mut tx = self.begin_write().await?;
                let select = format!(
                    "SELECT f.client_id, t.access_jti, t.access_exp FROM refresh_tokens t JOIN refresh_families f \
                     ON f.tenant_id = t.tenant_id AND f.family_id = t.family_id \
                     WHERE f.tenant_id = $1 AND f.user_id = $2 AND f.revoked_at IS NULL \
                     AND t.access_exp > $3{only_client}"
                );
                // Only constant fragments are formatted in; values are bound.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(select)).bind(tenant.as_str()).bind(user_id).bind(now);
                if let Some(c) = client_id {
                    q = q.bind(c);
                }
                let rows = q.fetch_all(&mut *tx).await.map_err(e)?;
                let mut live = rows.iter().map(live_token_from_row).collect::<Result<Vec<_>>>()?;
                let update = format!(
                    "UPDATE refresh_families SET revoked_at = $3 \
                     WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL{}",
                    only_client.replace("f.", "")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(update)).bind(tenant.as_str()).bind(user_id).bind(now);
                if let Some(c) = client_id {
                    q = q.bind(c);
                }
                q.execute(&mut *tx).await.map_err(e)?;
                if sign_out {
                    // Access tokens of code redemptions that started no
                    // refresh family are known only from their code.
                    let rows = sqlx::query(
                        "SELECT client_id, access_jti, access_exp FROM authorization_codes \
                         WHERE tenant_id = $1 AND user_id = $2 AND family_id IS NULL \
                         AND access_jti IS NOT NULL AND access_exp > $3",
                    )
                    .bind(tenant.as_str())
                    .bind(user_id)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(e)?;
                    for r in &rows {
                        let token = live_token_from_row(r)?;
                        if !live.contains(&token) {
                            live.push(token);
                        }
                    }
                    sqlx::query("DELETE FROM browser_sessions WHERE tenant_id = $1 AND user_id = $2")
                        .bind(tenant.as_str())
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
                }
                tx.commit().await.map_err(e)?;
                Ok(live)
            }
        }

        #[async_trait]
        impl crate::ConsentRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_consent(
                &self,
                tenant: &TenantId,
                user_id: &str,
                client_id: &str,
            ) -> Result<Option<crate::ConsentRecord>> {
                let row = sqlx::query(
                    "SELECT user_id, client_id, scope, granted_at, updated_at FROM consents \
                     WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3",
                )
                .bind(tenant.as_str())
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?;
                row.as_ref().map(consent_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn upsert_consent(
                &self,
                tenant: &TenantId,
                c: &crate::ConsentRecord,
                audit: &AuditRecord,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO consents (tenant_id, user_id, client_id, scope, granted_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, user_id, client_id) \
                     DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
                )
                .bind(tenant.as_str())
                .bind(&c.user_id)
                .bind(&c.client_id)
                .bind(&c.scope)
                .bind(c.granted_at)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                finish(tx, 1, tenant.as_str(), audit, None).await.map(|_| ())
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_consents(&self, tenant: &TenantId, user_id: &str) -> Result<Vec<crate::ConsentRecord>> {
                let rows = sqlx::query(
                    "SELECT user_id, client_id, scope, granted_at, updated_at FROM consents \
                     WHERE tenant_id = $1 AND user_id = $2 ORDER BY client_id",
                )
                .bind(tenant.as_str())
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter().map(consent_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_consent(
                &self,
                tenant: &TenantId,
                user_id: &str,
                client_id: &str,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3")
                    .bind(tenant.as_str())
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                finish(tx, n, tenant.as_str(), audit, None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn cors_origin_registered(&self, tenant: &TenantId, origin: &str) -> Result<bool> {
                // A substring match narrows the candidates; the parsed
                // document decides (an origin may also appear elsewhere).
                let pattern = format!("%{}%", like_escape(&format!("\"{origin}\"")));
                let rows = sqlx::query(
                    "SELECT config FROM clients WHERE tenant_id = $1 AND config LIKE $2 ESCAPE '\\' LIMIT 100",
                )
                .bind(tenant.as_str())
                .bind(pattern)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                for r in &rows {
                    let config: String = r.try_get("config").map_err(e)?;
                    if config_references(&config, "allowed_cors_origins", origin) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    };
}

pub(crate) use flow_repos;
