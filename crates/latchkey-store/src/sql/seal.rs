//! `SealRepo`: the sealed columns, listed and replaced by compare-and-swap.
//! Expanded by [`impl_repos!`](super::impl_repos) inside each adapter's
//! `repos` module.

use crate::SealedKind;

/// Where a kind lives: table, sealed column, text key columns after
/// `tenant_id`, and the binary key column.
pub(crate) fn place(kind: SealedKind) -> (&'static str, &'static str, &'static [&'static str], Option<&'static str>) {
    match kind {
        SealedKind::TenantKeyCheck => ("tenants", "key_check", &[], None),
        SealedKind::SigningKey => ("signing_keys", "sealed_private", &["kid"], None),
        SealedKind::RemoteClientSecret => ("remote_clients", "sealed_secret", &["namespace", "name"], None),
        SealedKind::RemoteTokens => ("remote_authorizations", "sealed_tokens", &["namespace", "name"], None),
        SealedKind::RemoteFlow => ("remote_flows", "sealed_data", &["state_hash"], None),
        SealedKind::RefreshSuccessor => ("refresh_tokens", "successor", &["family_id"], Some("token_hash")),
    }
}

macro_rules! seal_repos {
    ($store:ident, $db:ty) => {
        use crate::{SealRepo, SealedKind, SealedValue};

        #[async_trait]
        impl SealRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn sealed_values(&self, kind: SealedKind) -> Result<Vec<SealedValue>> {
                let (table, column, keys, hash) = crate::sql::seal::place(kind);
                let mut cols = vec!["tenant_id"];
                cols.extend_from_slice(keys);
                cols.extend(hash);
                let sql = format!(
                    "SELECT {}, {column} AS sealed FROM {table} WHERE {column} IS NOT NULL ORDER BY {}",
                    cols.join(", "),
                    cols.join(", ")
                );
                // Names from `place` only: the text holds no input.
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(e)?;
                rows.iter()
                    .map(|r| {
                        Ok(SealedValue {
                            kind,
                            tenant_id: r.try_get("tenant_id").map_err(e)?,
                            keys: keys.iter().map(|k| r.try_get::<String, _>(*k).map_err(e)).collect::<Result<_>>()?,
                            hash: hash.map(|h| r.try_get::<Vec<u8>, _>(h).map_err(e)).transpose()?,
                            sealed: r.try_get("sealed").map_err(e)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn replace_sealed(&self, value: &SealedValue, resealed: &[u8]) -> Result<bool> {
                let (table, column, keys, hash) = crate::sql::seal::place(value.kind);
                if keys.len() != value.keys.len() || hash.is_some() != value.hash.is_some() {
                    return Err(StoreError::Internal(format!("{:?}: wrong keys", value.kind)));
                }
                let mut sql = format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2 AND tenant_id = $3");
                let mut n = 3;
                for k in keys.iter().chain(hash.iter()) {
                    n += 1;
                    sql.push_str(&format!(" AND {k} = ${n}"));
                }
                // Names from `place` and placeholders only.
                let mut q =
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(resealed).bind(&value.sealed).bind(&value.tenant_id);
                for k in &value.keys {
                    q = q.bind(k);
                }
                if let Some(h) = &value.hash {
                    q = q.bind(h);
                }
                Ok(q.execute(self.writer()).await.map_err(e)?.rows_affected() == 1)
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn installation_key(&self, purpose: &str) -> Result<Option<Vec<u8>>> {
                let row = sqlx::query("SELECT sealed FROM installation_keys WHERE purpose = $1")
                    .bind(purpose)
                    .fetch_optional(self.writer())
                    .await
                    .map_err(e)?;
                row.map(|r| r.try_get("sealed").map_err(e)).transpose()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn put_installation_key(
                &self,
                purpose: &str,
                expected: Option<&[u8]>,
                sealed: &[u8],
                now: UnixTime,
            ) -> Result<bool> {
                let done = match expected {
                    None => sqlx::query(
                        "INSERT INTO installation_keys (purpose, sealed, updated_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (purpose) DO NOTHING",
                    )
                    .bind(purpose)
                    .bind(sealed)
                    .bind(now)
                    .execute(self.writer())
                    .await
                    .map_err(e)?,
                    Some(old) => sqlx::query(
                        "UPDATE installation_keys SET sealed = $1, updated_at = $2 WHERE purpose = $3 AND sealed = $4",
                    )
                    .bind(sealed)
                    .bind(now)
                    .bind(purpose)
                    .bind(old)
                    .execute(self.writer())
                    .await
                    .map_err(e)?,
                };
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use seal_repos;
