//! The SQL shared by both adapters.
//!
//! `impl_repos!(Store, Database)` implements every capability trait for one
//! adapter. The SQL text is the same for SQLite and PostgreSQL (sqlx binds
//! `$N` on both); what differs lives in the adapter: connecting, migrations
//! and `begin_write` (SQLite needs `BEGIN IMMEDIATE` for read-then-write).

use latchkey_core::{Client, ClientConfig, ClientId, ClientStatus, ClientType, SigningAlg, TenantId};

use crate::{KeyPurpose, Result, StoreError};

pub(crate) const CLIENT_COLUMNS: &str = "tenant_id, client_id, name, description, client_type, status, protected, \
     managed_by, created_at, updated_at, created_by, last_used_at, revision, config";

/// Builds a `Client` from its columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn client_from_parts(
    tenant: &str,
    client_id: &str,
    name: String,
    description: String,
    client_type: &str,
    status: &str,
    protected: bool,
    managed_by: Option<String>,
    times: (i64, i64, Option<i64>),
    created_by: String,
    revision: i64,
    config: &str,
) -> Result<Client> {
    let bad = |what: &str| StoreError::Internal(format!("stored client has an invalid {what}"));
    let config: ClientConfig = serde_json::from_str(config).map_err(|_| bad("config"))?;
    Ok(Client {
        tenant: TenantId::parse(tenant).map_err(|_| bad("tenant"))?,
        client_id: ClientId::parse(client_id).map_err(|_| bad("client_id"))?,
        name,
        description,
        client_type: client_type.parse::<ClientType>().map_err(|_| bad("type"))?,
        status: ClientStatus::parse(status).ok_or_else(|| bad("status"))?,
        protected,
        managed_by,
        created_at: times.0,
        updated_at: times.1,
        created_by,
        last_used_at: times.2,
        revision,
        config,
    })
}

pub(crate) fn config_json(c: &Client) -> Result<String> {
    serde_json::to_string(&c.config).map_err(|e| StoreError::Internal(e.to_string()))
}

/// `' grant1 grant2 '`: a `LIKE '% grant %'` finds one grant exactly.
pub(crate) fn grants_text(c: &Client) -> String {
    let mut s = String::from(" ");
    for g in &c.config.grant_types {
        s.push_str(g.as_str());
        s.push(' ');
    }
    s
}

/// `' key=value key2=value2 '` (labels never contain spaces).
pub(crate) fn labels_text(c: &Client) -> String {
    let mut s = String::from(" ");
    for (k, v) in &c.config.labels {
        s.push_str(k);
        s.push('=');
        s.push_str(v);
        s.push(' ');
    }
    s
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether a client's config lists `value` under `field` (`scopes` or
/// `security_classes`), checked on the parsed document.
pub(crate) fn config_references(config: &str, field: &str, value: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(config) else { return false };
    doc.get(field).and_then(|v| v.as_array()).is_some_and(|a| a.iter().any(|x| x.as_str() == Some(value)))
}

pub(crate) fn parse_alg(s: &str) -> Result<SigningAlg> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StoreError::Internal(format!("stored key has unknown alg {s}")))
}

pub(crate) fn parse_purpose(s: &str) -> Result<KeyPurpose> {
    KeyPurpose::parse(s).ok_or_else(|| StoreError::Internal(format!("stored key has unknown purpose {s}")))
}

macro_rules! impl_repos {
    ($store:ident, $db:ty) => {
      mod repos {
        use super::$store;
        use async_trait::async_trait;
        use latchkey_core::{Client, ClientId, ClientStatus, TenantId, UnixTime};
        use sqlx::Row;

        use crate::sql::{
            CLIENT_COLUMNS, client_from_parts, config_json, config_references, grants_text, labels_text, like_escape,
            parse_alg, parse_purpose,
        };
        use crate::{
            AuditQuery, ClientQuery, ClientSort, SecurityClassRecord, SortKey, Usage,
            AuditRecord, AuditRepo, ClientRepo, ClientState, KeyRepo, Result, ScopeRecord,
            ScopeRepo, SecretRecord, SigningKeyRecord, StoreError, TenantBootstrap, TenantRecord, TenantRepo,
            TokenRepo, UserRecord, UserRepo,
        };

        type Tx = sqlx::Transaction<'static, $db>;
        type DbRow = <$db as sqlx::Database>::Row;

        fn e(err: sqlx::Error) -> StoreError {
            StoreError::from_sqlx(err)
        }

        fn client_from_row(r: &DbRow) -> Result<Client> {
            client_from_parts(
                &r.try_get::<String, _>("tenant_id").map_err(e)?,
                &r.try_get::<String, _>("client_id").map_err(e)?,
                r.try_get("name").map_err(e)?,
                r.try_get("description").map_err(e)?,
                &r.try_get::<String, _>("client_type").map_err(e)?,
                &r.try_get::<String, _>("status").map_err(e)?,
                r.try_get("protected").map_err(e)?,
                r.try_get("managed_by").map_err(e)?,
                (
                    r.try_get("created_at").map_err(e)?,
                    r.try_get("updated_at").map_err(e)?,
                    r.try_get("last_used_at").map_err(e)?,
                ),
                r.try_get("created_by").map_err(e)?,
                r.try_get("revision").map_err(e)?,
                &r.try_get::<String, _>("config").map_err(e)?,
            )
        }

        fn secret_from_row(r: &DbRow) -> Result<SecretRecord> {
            Ok(SecretRecord {
                secret_id: r.try_get("secret_id").map_err(e)?,
                secret_hash: r.try_get("secret_hash").map_err(e)?,
                sealed_secret: r.try_get("sealed_secret").map_err(e)?,
                hint: r.try_get("hint").map_err(e)?,
                label: r.try_get("label").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
                last_used_at: r.try_get("last_used_at").map_err(e)?,
            })
        }

        fn key_from_row(r: &DbRow) -> Result<SigningKeyRecord> {
            Ok(SigningKeyRecord {
                kid: r.try_get("kid").map_err(e)?,
                alg: parse_alg(&r.try_get::<String, _>("alg").map_err(e)?)?,
                purpose: parse_purpose(&r.try_get::<String, _>("purpose").map_err(e)?)?,
                status: r.try_get("status").map_err(e)?,
                sealed_private: r.try_get("sealed_private").map_err(e)?,
                public_jwk: r.try_get("public_jwk").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                activated_at: r.try_get("activated_at").map_err(e)?,
                retired_at: r.try_get("retired_at").map_err(e)?,
            })
        }

        fn audit_from_row(r: &DbRow) -> Result<AuditRecord> {
            Ok(AuditRecord {
                event_id: r.try_get("event_id").map_err(e)?,
                occurred_at: r.try_get("occurred_at").map_err(e)?,
                actor: r.try_get("actor").map_err(e)?,
                actor_type: r.try_get("actor_type").map_err(e)?,
                action: r.try_get("action").map_err(e)?,
                target_type: r.try_get("target_type").map_err(e)?,
                target_id: r.try_get("target_id").map_err(e)?,
                source_ip: r.try_get("source_ip").map_err(e)?,
                request_id: r.try_get("request_id").map_err(e)?,
                changes: r.try_get("changes").map_err(e)?,
            })
        }

        fn client_state(status: Option<String>) -> ClientState {
            ClientState::from(status.as_deref().and_then(ClientStatus::parse))
        }

        async fn insert_audit(tx: &mut Tx, tenant: &str, a: &AuditRecord) -> Result<()> {
            sqlx::query(
                "INSERT INTO audit_events (tenant_id, event_id, occurred_at, actor, actor_type, action, \
                 target_type, target_id, source_ip, request_id, changes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(tenant)
            .bind(&a.event_id)
            .bind(a.occurred_at)
            .bind(&a.actor)
            .bind(&a.actor_type)
            .bind(&a.action)
            .bind(&a.target_type)
            .bind(&a.target_id)
            .bind(&a.source_ip)
            .bind(&a.request_id)
            .bind(&a.changes)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
            Ok(())
        }

        async fn insert_client_tx(tx: &mut Tx, c: &Client, secrets: &[SecretRecord]) -> Result<()> {
            let tenant = c.tenant.as_str();
            sqlx::query(
                "INSERT INTO clients (tenant_id, client_id, name, name_lower, description, client_type, status, \
                 protected, managed_by, created_at, updated_at, created_by, last_used_at, revision, config, \
                 grant_types, labels) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(tenant)
            .bind(c.client_id.as_str())
            .bind(&c.name)
            .bind(c.name.to_lowercase())
            .bind(&c.description)
            .bind(c.client_type.as_str())
            .bind(c.status.as_str())
            .bind(c.protected)
            .bind(&c.managed_by)
            .bind(c.created_at)
            .bind(c.updated_at)
            .bind(&c.created_by)
            .bind(c.last_used_at)
            .bind(c.revision)
            .bind(config_json(c)?)
            .bind(grants_text(c))
            .bind(labels_text(c))
            .execute(&mut **tx)
            .await
            .map_err(e)?;
            for s in secrets {
                sqlx::query(
                    "INSERT INTO client_secrets (tenant_id, client_id, secret_id, secret_hash, sealed_secret, \
                     hint, label, created_at, expires_at, last_used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(tenant)
                .bind(c.client_id.as_str())
                .bind(&s.secret_id)
                .bind(&s.secret_hash)
                .bind(&s.sealed_secret)
                .bind(&s.hint)
                .bind(&s.label)
                .bind(s.created_at)
                .bind(s.expires_at)
                .bind(s.last_used_at)
                .execute(&mut **tx)
                .await
                .map_err(e)?;
            }
            Ok(())
        }

        async fn insert_key_tx(tx: &mut Tx, tenant: &str, k: &SigningKeyRecord) -> Result<()> {
            sqlx::query(
                "INSERT INTO signing_keys (tenant_id, kid, alg, purpose, status, sealed_private, public_jwk, \
                 created_at, activated_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(tenant)
            .bind(&k.kid)
            .bind(k.alg.as_str())
            .bind(k.purpose.as_str())
            .bind(&k.status)
            .bind(&k.sealed_private)
            .bind(&k.public_jwk)
            .bind(k.created_at)
            .bind(k.activated_at)
            .bind(k.retired_at)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
            Ok(())
        }

        async fn insert_scope_tx(tx: &mut Tx, tenant: &str, s: &ScopeRecord) -> Result<()> {
            sqlx::query(
                "INSERT INTO scopes (tenant_id, name, description, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant)
            .bind(&s.name)
            .bind(&s.description)
            .bind(s.created_at)
            .bind(s.updated_at)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
            Ok(())
        }

        #[async_trait]
        impl TenantRepo for $store {
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
                .bind(&t.status)
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
                    sqlx::query(
                        "INSERT INTO users (tenant_id, user_id, username, username_lower, email, display_name, \
                         password_hash, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(tenant)
                    .bind(&u.user_id)
                    .bind(&u.username)
                    .bind(u.username.to_lowercase())
                    .bind(&u.email)
                    .bind(&u.display_name)
                    .bind(&u.password_hash)
                    .bind(&u.status)
                    .bind(u.created_at)
                    .bind(u.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                    insert_user_links(&mut tx, tenant, u).await?;
                }
                for a in &b.audit {
                    insert_audit(&mut tx, tenant, a).await?;
                }
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<TenantRecord>> {
                let row = sqlx::query(
                    "SELECT tenant_id, display_name, status, settings, key_check, created_at \
                     FROM tenants WHERE tenant_id = $1",
                )
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(e)?;
                let Some(r) = row else { return Ok(None) };
                let settings: String = r.try_get("settings").map_err(e)?;
                Ok(Some(TenantRecord {
                    tenant_id: tenant.clone(),
                    display_name: r.try_get("display_name").map_err(e)?,
                    status: r.try_get("status").map_err(e)?,
                    settings: serde_json::from_str(&settings)
                        .map_err(|_| StoreError::Internal("stored tenant settings are invalid".into()))?,
                    key_check: r.try_get("key_check").map_err(e)?,
                    created_at: r.try_get("created_at").map_err(e)?,
                }))
            }
        }

        #[async_trait]
        impl ClientRepo for $store {
            async fn insert_client(&self, c: &Client, secrets: &[SecretRecord], audit: &AuditRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_client_tx(&mut tx, c, secrets).await?;
                insert_audit(&mut tx, c.tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("client:{}/{}", c.tenant, c.client_id)).await?;
                tx.commit().await.map_err(e)
            }

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
                    "UPDATE clients SET status = $3, updated_at = $4, revision = revision + 1 \
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
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("client:{tenant}/{id}")).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            async fn delete_client(&self, tenant: &TenantId, id: &ClientId, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("client:{tenant}/{id}")).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            async fn search_clients(&self, tenant: &TenantId, query: &ClientQuery, now: UnixTime) -> Result<Vec<Client>> {
                let _ = now;
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id = "));
                qb.push_bind(tenant.as_str().to_owned());
                if let Some(q) = query.q.as_deref().filter(|q| !q.is_empty()) {
                    let needle = q.to_lowercase();
                    if needle.contains(['%', '_', '\\']) {
                        // LIKE metacharacters: escaped LIKE over the columns (no index).
                        let pat = format!("%{}%", like_escape(&needle));
                        qb.push(" AND (name_lower LIKE ").push_bind(pat.clone()).push(" ESCAPE '\\'");
                        qb.push(" OR lower(client_id) LIKE ").push_bind(pat.clone()).push(" ESCAPE '\\'");
                        qb.push(" OR lower(description) LIKE ").push_bind(pat).push(" ESCAPE '\\')");
                    } else {
                        $store::push_text_search(&mut qb, &needle);
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
                let (key_expr, desc) = match query.sort {
                    ClientSort::CreatedAsc => ("created_at", false),
                    ClientSort::CreatedDesc => ("created_at", true),
                    ClientSort::NameAsc => ("name_lower", false),
                    ClientSort::NameDesc => ("name_lower", true),
                    ClientSort::LastUsedDesc => ("COALESCE(last_used_at, 0)", true),
                };
                if let Some((key, id)) = &query.after {
                    let op = if desc { "<" } else { ">" };
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
                    qb.push(format!(" AND client_id {op} ")).push_bind(id.clone()).push("))");
                }
                let dir = if desc { "DESC" } else { "ASC" };
                qb.push(format!(" ORDER BY {key_expr} {dir}, client_id {dir} LIMIT ")).push_bind(i64::from(query.limit));
                let rows = qb.build().fetch_all(&self.pool).await.map_err(e)?;
                rows.iter().map(client_from_row).collect()
            }

            async fn update_client(&self, c: &Client, expected_revision: i64, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE clients SET name = $3, name_lower = $4, description = $5, client_type = $6, status = $7, \
                     protected = $8, managed_by = $9, updated_at = $10, revision = revision + 1, config = $11, \
                     grant_types = $12, labels = $13 \
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
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, c.tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("client:{}/{}", c.tenant, c.client_id)).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            async fn add_secret(
                &self,
                tenant: &TenantId,
                id: &ClientId,
                secret: &SecretRecord,
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

        #[async_trait]
        impl KeyRepo for $store {
            async fn insert_signing_key(&self, tenant: &TenantId, key: &SigningKeyRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_key_tx(&mut tx, tenant.as_str(), key).await?;
                tx.commit().await.map_err(e)
            }

            async fn list_signing_keys(&self, tenant: &TenantId) -> Result<Vec<SigningKeyRecord>> {
                let rows = sqlx::query(
                    "SELECT kid, alg, purpose, status, sealed_private, public_jwk, created_at, activated_at, \
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

            async fn jwt_state(&self, tenant: &TenantId, client_id: &str, jti: &str) -> Result<(ClientState, bool)> {
                let row = sqlx::query(
                    "SELECT (SELECT status FROM clients WHERE tenant_id = $1 AND client_id = $2) AS client_status, \
                     (SELECT COUNT(*) FROM revoked_jtis WHERE tenant_id = $1 AND jti = $3) AS revoked",
                )
                .bind(tenant.as_str())
                .bind(client_id)
                .bind(jti)
                .fetch_one(&self.pool)
                .await
                .map_err(e)?;
                let revoked: i64 = row.try_get("revoked").map_err(e)?;
                Ok((client_state(row.try_get("client_status").map_err(e)?), revoked > 0))
            }

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

            async fn purge_expired(&self, before: UnixTime) -> Result<u64> {
                let n = sqlx::query("DELETE FROM revoked_jtis WHERE expires_at < $1")
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
            async fn insert_scope(&self, tenant: &TenantId, scope: &ScopeRecord, audit: &AuditRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                insert_scope_tx(&mut tx, tenant.as_str(), scope).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)
            }

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

            async fn update_scope(&self, tenant: &TenantId, scope: &ScopeRecord, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("UPDATE scopes SET description = $3, updated_at = $4 WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant.as_str())
                    .bind(&scope.name)
                    .bind(&scope.description)
                    .bind(scope.updated_at)
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

            async fn delete_scope(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM scopes WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant.as_str())
                    .bind(name)
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

            async fn insert_class(&self, tenant: &TenantId, c: &SecurityClassRecord, audit: &AuditRecord) -> Result<()> {
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

            async fn update_class(&self, tenant: &TenantId, c: &SecurityClassRecord, audit: &AuditRecord) -> Result<bool> {
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
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("classes:{tenant}")).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            async fn delete_class(&self, tenant: &TenantId, name: &str, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM security_classes WHERE tenant_id = $1 AND name = $2")
                    .bind(tenant.as_str())
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?
                    .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                $store::notify(&mut tx, &format!("classes:{tenant}")).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }
        }

        async fn insert_user_links(tx: &mut Tx, tenant: &str, u: &UserRecord) -> Result<()> {
            for role in &u.roles {
                sqlx::query("INSERT INTO role_assignments (tenant_id, user_id, role) VALUES ($1, $2, $3)")
                    .bind(tenant)
                    .bind(&u.user_id)
                    .bind(role)
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

        const USER_COLUMNS: &str =
            "user_id, username, email, display_name, password_hash, status, created_at, updated_at";

        impl $store {
            async fn user_from_row(&self, tenant: &TenantId, r: &DbRow) -> Result<UserRecord> {
                let user_id: String = r.try_get("user_id").map_err(e)?;
                let roles = sqlx::query("SELECT role FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 ORDER BY role")
                    .bind(tenant.as_str())
                    .bind(&user_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(e)?
                    .iter()
                    .map(|r| r.try_get::<String, _>("role").map_err(e))
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
                    status: r.try_get("status").map_err(e)?,
                    roles,
                    groups,
                    created_at: r.try_get("created_at").map_err(e)?,
                    updated_at: r.try_get("updated_at").map_err(e)?,
                })
            }
        }

        #[async_trait]
        impl UserRepo for $store {
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

            async fn insert_user(&self, tenant: &TenantId, u: &UserRecord, audit: &AuditRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO users (tenant_id, user_id, username, username_lower, email, display_name, \
                     password_hash, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(tenant.as_str())
                .bind(&u.user_id)
                .bind(&u.username)
                .bind(u.username.to_lowercase())
                .bind(&u.email)
                .bind(&u.display_name)
                .bind(&u.password_hash)
                .bind(&u.status)
                .bind(u.created_at)
                .bind(u.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
                insert_user_links(&mut tx, tenant.as_str(), u).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)
            }

            async fn list_users(&self, tenant: &TenantId, q: Option<&str>, after: Option<&str>, limit: u32) -> Result<Vec<UserRecord>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = "));
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

            async fn update_user(&self, tenant: &TenantId, u: &UserRecord, audit: &AuditRecord) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE users SET email = $3, display_name = $4, password_hash = $5, status = $6, updated_at = $7 \
                     WHERE tenant_id = $1 AND user_id = $2",
                )
                .bind(tenant.as_str())
                .bind(&u.user_id)
                .bind(&u.email)
                .bind(&u.display_name)
                .bind(&u.password_hash)
                .bind(&u.status)
                .bind(u.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(e)?
                .rows_affected();
                if n == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                for table in ["role_assignments", "user_groups"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE tenant_id = $1 AND user_id = $2")))
                        .bind(tenant.as_str())
                        .bind(&u.user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(e)?;
                }
                insert_user_links(&mut tx, tenant.as_str(), u).await?;
                insert_audit(&mut tx, tenant.as_str(), audit).await?;
                tx.commit().await.map_err(e)?;
                Ok(true)
            }
        }

        #[async_trait]
        impl AuditRepo for $store {
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
      }
    };
}

pub(crate) use impl_repos;
