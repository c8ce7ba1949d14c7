//! `ClientRepo` (clients, their secrets, search) and `UsageRepo`.
//! Expanded by [`impl_repos!`](super::impl_repos) inside each adapter's
//! `repos` module, where the shared helpers and imports are in scope.

macro_rules! client_repo {
    ($store:ident, $db:ty) => {
        #[async_trait]
        impl ClientRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_client(&self, c: &Client, secrets: &[SecretRecord], audit: &AuditRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_client_tx(&mut tx, c, secrets).await?;
                insert_audit(&mut tx, c.tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("client:{}/{}", c.tenant, c.client_id)).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn insert_clients(&self, tenant: &TenantId, batch: &[ClientInsert]) -> Result<()> {
                // Multi-row statements: a batch costs a handful of round trips
                // instead of three per client. No invalidation is sent: new
                // clients are in no cache (misses are never cached).
                let t = tenant.as_str();
                if batch.iter().any(|b| b.client.tenant != *tenant) {
                    return Err(StoreError::Internal("batch insert across tenants".into()));
                }
                let clients: Vec<&Client> = batch.iter().map(|b| &b.client).collect();
                let secrets: Vec<(&Client, &SecretRecord)> =
                    batch.iter().flat_map(|b| b.secrets.iter().map(move |s| (&b.client, s))).collect();
                let events: Vec<&AuditRecord> = batch.iter().map(|b| &b.audit).collect();
                let mut tx = self.begin_write().await?;
                insert_client_rows(&mut tx, t, &clients).await?;
                insert_secret_rows(&mut tx, t, &secrets).await?;
                insert_audit_rows(&mut tx, t, &events).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_client(&self, tenant: &TenantId, id: &ClientId) -> Result<Option<Client>> {
                let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id = $1 AND client_id = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(e)?;
                row.as_ref().map(client_from_row).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn get_client_with_secrets(
                &self,
                tenant: &TenantId,
                id: &ClientId,
            ) -> Result<Option<(Client, Vec<SecretRecord>)>> {
                let Some(client) = self.get_client(tenant, id).await? else { return Ok(None) };
                let rows = sqlx::query(
                    "SELECT secret_id, secret_hash, sealed_secret, hint, label, created_at, expires_at, \
                     last_used_at FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 \
                     ORDER BY created_at, secret_id",
                )
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                let secrets = rows.iter().map(secret_from_row).collect::<Result<Vec<_>>>()?;
                Ok(Some((client, secrets)))
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn list_clients(
                &self,
                tenant: &TenantId,
                after: Option<(UnixTime, String)>,
                limit: u32,
            ) -> Result<Vec<Client>> {
                let (at, id) = after.unwrap_or((i64::MIN, String::new()));
                let sql = format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id = $1 \
                     AND (created_at > $2 OR (created_at = $2 AND client_id > $3)) \
                     ORDER BY created_at, client_id LIMIT $4"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.as_str())
                    .bind(at)
                    .bind(id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?;
                rows.iter().map(client_from_row).collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn set_client_status(
                &self,
                tenant: &TenantId,
                id: &ClientId,
                status: ClientStatus,
                now: UnixTime,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE clients SET status = $3, updated_at = $4, revision = revision + 1, \
                     tokens_valid_after = CASE WHEN $3 = 'active' AND status <> 'active' THEN $4 \
                     ELSE tokens_valid_after END, \
                     token_epoch = CASE WHEN status <> $3 THEN token_epoch + 1 ELSE token_epoch END \
                     WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant.as_str())
                .bind(id.as_str())
                .bind(status.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, tenant.as_str(), audit, Some(format!("client:{tenant}/{id}"))).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn delete_client(&self, tenant: &TenantId, id: &ClientId, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                finish(tx, n, tenant.as_str(), audit, Some(format!("client:{tenant}/{id}"))).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn search_clients(&self, tenant: &TenantId, query: &ClientQuery, now: UnixTime) -> Result<Vec<Client>> {
                let _ = now;
                let Some(needle) = query.q.as_deref().filter(|q| !q.is_empty()).map(str::to_lowercase) else {
                    return self.run_search(tenant, query, &Text::None, None).await;
                };
                if needle.contains(['%', '_', '\\']) || !$store::PROBES_TEXT_INDEX {
                    // LIKE metacharacters cannot go to the trigram index as they are.
                    let text = if needle.contains(['%', '_', '\\']) { Text::Like(needle) } else { Text::Index(needle) };
                    return self.run_search(tenant, query, &text, None).await;
                }
                // SQLite: a trigram lookup costs in proportion to its matches, an
                // ordered scan in proportion to the rows it reads before the page
                // is full. Few matches: fetch exactly those. Many: read rows in
                // order (a bounded window first). See docs/benchmarks.md.
                if let Some(rowids) = self.probe_text(&needle, PROBE_CAP).await? {
                    return self.run_search(tenant, query, &Text::Rowids(rowids), None).await;
                }
                if matches!(query.sort, ClientSort::LastUsedDesc) {
                    // No index serves this order: a scan would read every row.
                    return self.run_search(tenant, query, &Text::Index(needle), None).await;
                }
                if let Some(upto) = self.scan_window_end(tenant, query).await? {
                    let found = self.run_search(tenant, query, &Text::Like(needle.clone()), Some(&upto)).await?;
                    if found.len() >= query.limit as usize {
                        return Ok(found);
                    }
                    return self.run_search(tenant, query, &Text::Index(needle), None).await;
                }
                self.run_search(tenant, query, &Text::Like(needle), None).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn count_clients(&self, tenant: &TenantId, query: &ClientQuery, cap: u32) -> Result<u64> {
                let text = match query.q.as_deref().filter(|q| !q.is_empty()).map(str::to_lowercase) {
                    None => Text::None,
                    Some(needle) if needle.contains(['%', '_', '\\']) => Text::Like(needle),
                    Some(needle) if $store::PROBES_TEXT_INDEX => match self.probe_text(&needle, PROBE_CAP).await? {
                        Some(rowids) => Text::Rowids(rowids),
                        None => Text::Index(needle),
                    },
                    Some(needle) => Text::Index(needle),
                };
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM (SELECT 1 FROM clients WHERE tenant_id = ");
                qb.push_bind(tenant.as_str().to_owned());
                Self::push_filters(&mut qb, query, &text);
                qb.push(" LIMIT ").push_bind(i64::from(cap) + 1).push(") AS matching");
                let n: i64 = qb.build_query_scalar().fetch_one(&self.pool).await.map_err(e)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn update_client(&self, c: &Client, expected_revision: i64, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE clients SET name = $3, name_lower = $4, description = $5, client_type = $6, status = $7, \
                     protected = $8, managed_by = $9, updated_at = $10, revision = revision + 1, config = $11, \
                     grant_types = $12, labels = $13, redirect_text = $15, \
                     token_epoch = CASE WHEN status <> $7 THEN token_epoch + 1 ELSE token_epoch END \
                     WHERE tenant_id = $1 AND client_id = $2 AND revision = $14",
                )
                .bind(c.tenant.as_str())
                .bind(c.client_id.as_str())
                .bind(&c.name)
                .bind(c.name.to_lowercase())
                .bind(&c.description)
                .bind(c.client_type.as_str())
                .bind(c.status.as_str())
                .bind(c.protected)
                .bind(&c.managed_by)
                .bind(c.updated_at)
                .bind(config_json(c)?)
                .bind(grants_text(c))
                .bind(labels_text(c))
                .bind(expected_revision)
                .bind(redirect_text(c))
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                finish(tx, n, c.tenant.as_str(), audit, Some(format!("client:{}/{}", c.tenant, c.client_id))).await
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn add_secret(
                &self,
                tenant: &TenantId,
                id: &ClientId,
                secret: &SecretRecord,
                expire: Option<(&[String], UnixTime)>,
                max_valid: usize,
                now: UnixTime,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let bumped = sqlx::query(
                    "UPDATE clients SET revision = revision + 1, updated_at = $3 WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant.as_str())
                .bind(id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if bumped == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                for sid in expire.map_or(&[][..], |(ids, _)| ids) {
                    sqlx::query(
                        "UPDATE client_secrets SET expires_at = $4 WHERE tenant_id = $1 AND client_id = $2 \
                         AND secret_id = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .bind(sid)
                    .bind(expire.map_or(now, |(_, at)| at))
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                }
                sqlx::query(
                    "DELETE FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 \
                     AND expires_at IS NOT NULL AND expires_at <= $3",
                )
                .bind(tenant.as_str())
                .bind(id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                let valid: i64 = sqlx::query("SELECT COUNT(*) AS n FROM client_secrets WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(e)?
                    .try_get("n")
                    .map_err(e)?;
                if usize::try_from(valid).unwrap_or(usize::MAX) >= max_valid {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO client_secrets (tenant_id, client_id, secret_id, secret_hash, sealed_secret, \
                     hint, label, created_at, expires_at, last_used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(tenant.as_str())
                .bind(id.as_str())
                .bind(&secret.secret_id)
                .bind(&secret.secret_hash)
                .bind(&secret.sealed_secret)
                .bind(&secret.hint)
                .bind(&secret.label)
                .bind(secret.created_at)
                .bind(secret.expires_at)
                .bind(secret.last_used_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("client:{tenant}/{id}")).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn expire_secrets(
                &self,
                tenant: &TenantId,
                id: &ClientId,
                secret_ids: &[String],
                at: UnixTime,
                audit: &AuditRecord,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for sid in secret_ids {
                    sqlx::query(
                        "UPDATE client_secrets SET expires_at = $4 WHERE tenant_id = $1 AND client_id = $2 \
                         AND secret_id = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .bind(sid)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                }
                sqlx::query("UPDATE clients SET revision = revision + 1 WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("client:{tenant}/{id}")).await?;
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn clients_referencing(&self, tenant: &TenantId, field: &str, value: &str) -> Result<Vec<String>> {
                let rows = sqlx::query(
                    "SELECT client_id, config FROM clients WHERE tenant_id = $1 AND config LIKE $2 ESCAPE '\\' \
                     ORDER BY client_id",
                )
                .bind(tenant.as_str())
                .bind(format!("%\"{}\"%", like_escape(value)))
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                let mut out = Vec::new();
                for r in &rows {
                    let config: String = r.try_get("config").map_err(e)?;
                    if config_references(&config, field, value) {
                        out.push(r.try_get("client_id").map_err(e)?);
                    }
                }
                Ok(out)
            }
        }


        /// How a search's text condition is expressed.
        enum Text {
            None,
            /// LIKE over name, client id and description (no index).
            Like(String),
            /// Through the adapter's trigram index.
            Index(String),
            /// Exactly these rows (found by probing the index).
            Rowids(Vec<i64>),
        }

        /// Matches up to which a trigram probe hands back the rows themselves.
        const PROBE_CAP: u32 = 500;
        /// Rows an ordered scan reads before the trigram index takes over.
        const SCAN_WINDOW: i64 = 10_000;

        impl $store {
            fn sort_of(sort: ClientSort) -> (&'static str, bool) {
                match sort {
                    ClientSort::CreatedAsc => ("created_at", false),
                    ClientSort::CreatedDesc => ("created_at", true),
                    ClientSort::NameAsc => ("name_lower", false),
                    ClientSort::NameDesc => ("name_lower", true),
                    ClientSort::LastUsedDesc => ("COALESCE(last_used_at, 0)", true),
                }
            }

            fn push_after(qb: &mut sqlx::QueryBuilder<$db>, sort: ClientSort, after: &(SortKey, String), inclusive: bool) {
                let (key_expr, desc) = Self::sort_of(sort);
                let (op, id_op) = match (desc, inclusive) {
                    (false, false) => (">", ">"),
                    (true, false) => ("<", "<"),
                    // The end of a window, seen from its start.
                    (false, true) => ("<", "<="),
                    (true, true) => (">", ">="),
                };
                let (key, id) = after;
                qb.push(format!(" AND ({key_expr} {op} "));
                match key {
                    SortKey::Int(v) => qb.push_bind(*v),
                    SortKey::Text(v) => qb.push_bind(v.clone()),
                };
                qb.push(format!(" OR ({key_expr} = "));
                match key {
                    SortKey::Int(v) => qb.push_bind(*v),
                    SortKey::Text(v) => qb.push_bind(v.clone()),
                };
                qb.push(format!(" AND client_id {id_op} ")).push_bind(id.clone()).push("))");
            }

            /// The sort key of the last row of the window an ordered scan may
            /// read, or `None` when fewer rows remain (the scan is then complete).
            async fn scan_window_end(&self, tenant: &TenantId, query: &ClientQuery) -> Result<Option<(SortKey, String)>> {
                let (key_expr, desc) = Self::sort_of(query.sort);
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {key_expr} AS k, client_id FROM clients WHERE tenant_id = "));
                qb.push_bind(tenant.as_str().to_owned());
                if let Some(after) = &query.after {
                    Self::push_after(&mut qb, query.sort, after, false);
                }
                let dir = if desc { "DESC" } else { "ASC" };
                qb.push(format!(" ORDER BY {key_expr} {dir}, client_id {dir} LIMIT 1 OFFSET ")).push_bind(SCAN_WINDOW - 1);
                let Some(row) = qb.build().fetch_optional(&self.pool).await.map_err(e)? else { return Ok(None) };
                let key = if key_expr == "created_at" {
                    SortKey::Int(row.try_get("k").map_err(e)?)
                } else {
                    SortKey::Text(row.try_get("k").map_err(e)?)
                };
                Ok(Some((key, row.try_get("client_id").map_err(e)?)))
            }

            /// The conditions of a search after the tenant's: the text and every filter.
            fn push_filters(qb: &mut sqlx::QueryBuilder<$db>, query: &ClientQuery, text: &Text) {
                match text {
                    Text::None => {}
                    Text::Like(needle) => {
                        qb.push(" AND (name_lower || ' ' || lower(client_id) || ' ' || lower(description) || ' ' || redirect_text) LIKE ")
                            .push_bind(format!("%{}%", like_escape(needle)))
                            .push(" ESCAPE '\\'");
                    }
                    Text::Index(needle) => $store::push_text_search(qb, needle),
                    Text::Rowids(ids) => {
                        $store::push_rowids(qb, ids);
                    }
                }
                if let Some(t) = &query.client_type {
                    qb.push(" AND client_type = ").push_bind(t.clone());
                }
                if let Some(st) = &query.status {
                    qb.push(" AND status = ").push_bind(st.clone());
                }
                if let Some(g) = &query.grant_type {
                    qb.push(" AND grant_types LIKE ").push_bind(format!("% {} %", like_escape(g))).push(" ESCAPE '\\'");
                }
                if let Some(l) = &query.label {
                    qb.push(" AND labels LIKE ").push_bind(format!("% {} %", like_escape(l))).push(" ESCAPE '\\'");
                }
                if let Some(since) = query.unused_since {
                    qb.push(" AND COALESCE(last_used_at, created_at) < ").push_bind(since);
                }
                if let Some((from, to)) = query.secret_expires_between {
                    qb.push(
                        " AND EXISTS (SELECT 1 FROM client_secrets s WHERE s.tenant_id = clients.tenant_id \
                         AND s.client_id = clients.client_id AND s.expires_at > ",
                    )
                    .push_bind(from)
                    .push(" AND s.expires_at <= ")
                    .push_bind(to)
                    .push(")");
                }
            }

            async fn run_search(
                &self,
                tenant: &TenantId,
                query: &ClientQuery,
                text: &Text,
                upto: Option<&(SortKey, String)>,
            ) -> Result<Vec<Client>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id = "));
                qb.push_bind(tenant.as_str().to_owned());
                Self::push_filters(&mut qb, query, text);
                if let Some(after) = &query.after {
                    Self::push_after(&mut qb, query.sort, after, false);
                }
                if let Some(end) = upto {
                    Self::push_after(&mut qb, query.sort, end, true);
                }
                let (key_expr, desc) = Self::sort_of(query.sort);
                let dir = if desc { "DESC" } else { "ASC" };
                qb.push(format!(" ORDER BY {key_expr} {dir}, client_id {dir} LIMIT ")).push_bind(i64::from(query.limit));
                let rows = qb.build().fetch_all(&self.pool).await.map_err(e)?;
                rows.iter().map(client_from_row).collect()
            }
        }

        #[async_trait]
        impl UsageRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn record_usage(&self, usage: &[Usage]) -> Result<()> {
                if usage.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for u in usage {
                    sqlx::query(
                        "UPDATE clients SET last_used_at = $3 WHERE tenant_id = $1 AND client_id = $2 \
                         AND (last_used_at IS NULL OR last_used_at < $3)",
                    )
                    .bind(u.tenant.as_str())
                    .bind(&u.client_id)
                    .bind(u.at)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                    if let Some(sid) = &u.secret_id {
                        sqlx::query(
                            "UPDATE client_secrets SET last_used_at = $4 WHERE tenant_id = $1 AND client_id = $2 \
                             AND secret_id = $3 AND (last_used_at IS NULL OR last_used_at < $4)",
                        )
                        .bind(u.tenant.as_str())
                        .bind(&u.client_id)
                        .bind(sid)
                        .bind(u.at)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
                    }
                }
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn add_usage_counts(&self, counts: &[UsageCount]) -> Result<()> {
                if counts.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for c in counts {
                    sqlx::query(
                        "INSERT INTO client_usage (tenant_id, client_id, hour, issued, failed) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (tenant_id, client_id, hour) DO UPDATE SET \
                         issued = client_usage.issued + excluded.issued, failed = client_usage.failed + excluded.failed",
                    )
                    .bind(c.tenant.as_str())
                    .bind(&c.client_id)
                    .bind(c.hour)
                    .bind(c.issued)
                    .bind(c.failed)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                }
                tx.commit().await.map_err(e)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn usage_counts(
                &self,
                tenant: &TenantId,
                client_id: Option<&str>,
                since: UnixTime,
            ) -> Result<Vec<UsageCount>> {
                let rows = sqlx::query(
                    "SELECT client_id, hour, issued, failed FROM client_usage \
                     WHERE tenant_id = $1 AND hour >= $2 AND ($3 IS NULL OR client_id = $3) \
                     ORDER BY hour, client_id LIMIT 100000",
                )
                .bind(tenant.as_str())
                .bind(since)
                .bind(client_id)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter()
                    .map(|r| {
                        Ok(UsageCount {
                            tenant: tenant.clone(),
                            client_id: r.try_get("client_id").map_err(e)?,
                            hour: r.try_get("hour").map_err(e)?,
                            issued: r.try_get("issued").map_err(e)?,
                            failed: r.try_get("failed").map_err(e)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn purge_usage_counts(&self, before: UnixTime) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM client_usage WHERE hour < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                tx.commit().await.map_err(e)?;
                Ok(n)
            }
        }
    };
}

pub(crate) use client_repo;
