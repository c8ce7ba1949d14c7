//! The SQL shared by both adapters.
//!
//! `impl_repos!(Store, Database)` implements every capability trait for one
//! adapter. The SQL text is the same for SQLite and PostgreSQL (sqlx binds
//! `$N` on both); what differs lives in the adapter: connecting, migrations
//! and `begin_write` (SQLite needs `BEGIN IMMEDIATE` for read-then-write).

use latchkey_core::{Client, ClientConfig, ClientId, ClientStatus, ClientType, SigningAlg, TenantId};

use crate::{KeyPurpose, Result, StoreError};

pub(crate) mod catalog;
pub(crate) mod clients;
pub(crate) mod device;
pub(crate) mod federation;
pub(crate) mod flows;
pub(crate) mod people;
pub(crate) mod rate;
pub(crate) mod remote;
pub(crate) mod scim;
pub(crate) mod seal;
pub(crate) mod throttle;

pub(crate) const CLIENT_COLUMNS: &str = "tenant_id, client_id, name, description, client_type, status, protected, \
     managed_by, created_at, updated_at, created_by, last_used_at, revision, config, tokens_valid_after, token_epoch";

/// A stored config whose URI lists hold entries today's rules refuse: those
/// entries dropped (and logged), if that is all that is wrong with it.
fn legacy_config(config: &str, tenant: &str, client_id: &str) -> Option<ClientConfig> {
    use latchkey_core::redirect::{CorsOrigin, RedirectUri};
    let mut v: serde_json::Value = serde_json::from_str(config).ok()?;
    type Valid = fn(&serde_json::Value) -> bool;
    let fields: [(&str, Valid); 3] = [
        ("redirect_uris", |u| serde_json::from_value::<RedirectUri>(u.clone()).is_ok()),
        ("post_logout_redirect_uris", |u| serde_json::from_value::<RedirectUri>(u.clone()).is_ok()),
        ("allowed_cors_origins", |u| serde_json::from_value::<CorsOrigin>(u.clone()).is_ok()),
    ];
    for (field, valid) in fields {
        if let Some(list) = v.get_mut(field).and_then(serde_json::Value::as_array_mut) {
            let dropped: Vec<serde_json::Value> = list.iter().filter(|u| !valid(u)).cloned().collect();
            if !dropped.is_empty() {
                tracing::warn!(
                    tenant,
                    client_id,
                    field,
                    ?dropped,
                    "ignoring stored values the rules refuse; fix the client"
                );
                list.retain(valid);
            }
        }
    }
    serde_json::from_value(v).ok()
}

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
    tokens_valid_after: Option<i64>,
) -> Result<Client> {
    let bad = |what: &str| StoreError::Internal(format!("stored client has an invalid {what}"));
    // Redirect URIs and CORS origins are parsed here. Versions before they
    // were typed could store a URI the registration rules refuse (bootstrap
    // wrote the console's from any public URL, e.g. `http://10.0.0.5:8080`);
    // such a URI never matched then and is dropped now, loudly, so the
    // client still loads. Anything else malformed is corrupt data.
    let config: ClientConfig = match serde_json::from_str(config) {
        Ok(c) => c,
        Err(err) => legacy_config(config, tenant, client_id).ok_or_else(|| {
            StoreError::Internal(format!("stored client {tenant}/{client_id} has an invalid config: {err}"))
        })?,
    };
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
        tokens_valid_after,
        token_epoch: 0,
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

/// The redirect URIs, lower-cased and space-separated, for the text
/// search (URIs never contain spaces).
pub(crate) fn redirect_text(c: &Client) -> String {
    c.config.redirect_uris.iter().map(|u| u.as_str().to_lowercase()).collect::<Vec<_>>().join(" ")
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

/// Column lists of the inserts the single-row and batch paths share.
pub(crate) const CLIENT_INSERT_COLUMNS: &str = "tenant_id, client_id, name, name_lower, description, client_type, \
     status, protected, managed_by, created_at, updated_at, created_by, last_used_at, revision, config, grant_types, labels, token_epoch, redirect_text";
pub(crate) const SECRET_INSERT_COLUMNS: &str =
    "tenant_id, client_id, secret_id, secret_hash, sealed_secret, hint, label, created_at, expires_at, last_used_at";
pub(crate) const AUDIT_INSERT_COLUMNS: &str = "tenant_id, event_id, occurred_at, actor, actor_type, action, \
     target_type, target_id, source_ip, request_id, changes";

macro_rules! impl_repos {
    ($store:ident, $db:ty) => {
        mod repos {
            use super::{DB_SYSTEM, $store};
            use async_trait::async_trait;
            use latchkey_core::{Client, ClientId, ClientStatus, TenantId, UnixTime};
            use sqlx::Row;

            use crate::sql::{
                AUDIT_INSERT_COLUMNS, CLIENT_COLUMNS, CLIENT_INSERT_COLUMNS, SECRET_INSERT_COLUMNS, client_from_parts,
                config_json, config_references, grants_text, labels_text, like_escape, parse_alg, parse_purpose,
                redirect_text,
            };
            use crate::{
                AuditQuery, AuditRecord, AuditRepo, ClientInsert, ClientQuery, ClientRepo, ClientSort, ClientState,
                KeyRepo, Result, ScopeRecord, ScopeRepo, SecretRecord, SecurityClassRecord, SigningKeyRecord, SortKey,
                StoreError, TenantBootstrap, TenantRecord, TenantRepo, TokenRepo, Usage, UsageCount, UsageRepo,
                UserRecord, UserRepo,
            };

            type Tx = sqlx::Transaction<'static, $db>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn e(err: sqlx::Error) -> StoreError {
                StoreError::from_sqlx(err)
            }

            fn client_from_row(r: &DbRow) -> Result<Client> {
                let mut c = client_from_parts(
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
                    r.try_get("tokens_valid_after").map_err(e)?,
                )?;
                c.token_epoch = r.try_get("token_epoch").map_err(e)?;
                Ok(c)
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

            fn tenant_from_row(r: &DbRow) -> Result<TenantRecord> {
                let settings: String = r.try_get("settings").map_err(e)?;
                let id: String = r.try_get("tenant_id").map_err(e)?;
                Ok(TenantRecord {
                    tenant_id: latchkey_core::TenantId::parse(&id)
                        .map_err(|_| StoreError::Internal(format!("stored tenant id {id} is invalid")))?,
                    display_name: r.try_get("display_name").map_err(e)?,
                    status: latchkey_core::TenantStatus::parse(&r.try_get::<String, _>("status").map_err(e)?)
                        .ok_or_else(|| StoreError::Internal("stored tenant has an invalid status".into()))?,
                    settings: serde_json::from_str(&settings)
                        .map_err(|_| StoreError::Internal("stored tenant settings are invalid".into()))?,
                    key_check: r.try_get("key_check").map_err(e)?,
                    created_at: r.try_get("created_at").map_err(e)?,
                })
            }

            fn client_state(status: Option<String>) -> ClientState {
                ClientState::from(status.as_deref().and_then(ClientStatus::parse))
            }

            async fn insert_audit(tx: &mut Tx, tenant: &str, a: &AuditRecord) -> Result<()> {
                insert_audit_rows(tx, tenant, &[a]).await
            }

            /// Rows per multi-row insert (well under both databases' limits
            /// on bound parameters).
            const ROWS: usize = 500;

            /// Inserts audit events, many rows per statement.
            async fn insert_audit_rows(tx: &mut Tx, tenant: &str, events: &[&AuditRecord]) -> Result<()> {
                for chunk in events.chunks(ROWS) {
                    let mut qb =
                        sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO audit_events ({AUDIT_INSERT_COLUMNS}) "));
                    qb.push_values(chunk, |mut r, a| {
                        r.push_bind(tenant)
                            .push_bind(&a.event_id)
                            .push_bind(a.occurred_at)
                            .push_bind(&a.actor)
                            .push_bind(&a.actor_type)
                            .push_bind(&a.action)
                            .push_bind(&a.target_type)
                            .push_bind(&a.target_id)
                            .push_bind(&a.source_ip)
                            .push_bind(&a.request_id)
                            .push_bind(&a.changes);
                    });
                    qb.build().execute(&mut **tx).await.map_err(e)?;
                }
                Ok(())
            }

            /// Inserts clients of one tenant, many rows per statement.
            async fn insert_client_rows(tx: &mut Tx, tenant: &str, clients: &[&Client]) -> Result<()> {
                for chunk in clients.chunks(ROWS) {
                    let rows = chunk.iter().map(|c| Ok((*c, config_json(c)?))).collect::<Result<Vec<_>>>()?;
                    let mut qb =
                        sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO clients ({CLIENT_INSERT_COLUMNS}) "));
                    qb.push_values(rows, |mut r, (c, config)| {
                        r.push_bind(tenant)
                            .push_bind(c.client_id.as_str())
                            .push_bind(&c.name)
                            .push_bind(c.name.to_lowercase())
                            .push_bind(&c.description)
                            .push_bind(c.client_type.as_str())
                            .push_bind(c.status.as_str())
                            .push_bind(c.protected)
                            .push_bind(&c.managed_by)
                            .push_bind(c.created_at)
                            .push_bind(c.updated_at)
                            .push_bind(&c.created_by)
                            .push_bind(c.last_used_at)
                            .push_bind(c.revision)
                            .push_bind(config)
                            .push_bind(grants_text(c))
                            .push_bind(labels_text(c))
                            .push_bind(c.token_epoch)
                            .push_bind(redirect_text(c));
                    });
                    qb.build().execute(&mut **tx).await.map_err(e)?;
                }
                Ok(())
            }

            /// Inserts secrets (each with its client), many rows per statement.
            async fn insert_secret_rows(tx: &mut Tx, tenant: &str, secrets: &[(&Client, &SecretRecord)]) -> Result<()> {
                for chunk in secrets.chunks(ROWS) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO client_secrets ({SECRET_INSERT_COLUMNS}) "
                    ));
                    qb.push_values(chunk, |mut r, (c, s)| {
                        r.push_bind(tenant)
                            .push_bind(c.client_id.as_str())
                            .push_bind(&s.secret_id)
                            .push_bind(&s.secret_hash)
                            .push_bind(&s.sealed_secret)
                            .push_bind(&s.hint)
                            .push_bind(&s.label)
                            .push_bind(s.created_at)
                            .push_bind(s.expires_at)
                            .push_bind(s.last_used_at);
                    });
                    qb.build().execute(&mut **tx).await.map_err(e)?;
                }
                Ok(())
            }

            /// Ends a mutation of one row: when nothing matched, roll back and
            /// answer `false`; otherwise write its audit event (and the cache
            /// invalidation other nodes need, if any) and commit.
            async fn finish(
                mut tx: Tx,
                affected: u64,
                tenant: &str,
                audit: &AuditRecord,
                notify: Option<String>,
            ) -> Result<bool> {
                if affected == 0 {
                    tx.rollback().await.map_err(e)?;
                    return Ok(false);
                }
                insert_audit(&mut tx, tenant, audit).await?;
                if let Some(message) = notify {
                    $store::notify(&mut tx, &message).await?;
                }
                tx.commit().await.map_err(e)?;
                Ok(true)
            }

            async fn insert_client_tx(tx: &mut Tx, c: &Client, secrets: &[SecretRecord]) -> Result<()> {
                let tenant = c.tenant.as_str();
                insert_client_rows(tx, tenant, &[c]).await?;
                let secrets: Vec<(&Client, &SecretRecord)> = secrets.iter().map(|s| (c, s)).collect();
                insert_secret_rows(tx, tenant, &secrets).await
            }

            async fn insert_key_tx(tx: &mut Tx, tenant: &str, k: &SigningKeyRecord) -> Result<()> {
                // `status` is a legacy column, always 'active': a key's state
                // follows from its timestamps.
                sqlx::query(
                    "INSERT INTO signing_keys (tenant_id, kid, alg, purpose, status, sealed_private, public_jwk, \
                 created_at, activated_at, retired_at) VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9)",
                )
                .bind(tenant)
                .bind(&k.kid)
                .bind(k.alg.as_str())
                .bind(k.purpose.as_str())
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

            crate::sql::catalog::catalog_repos!($store, $db);
            crate::sql::clients::client_repo!($store, $db);
            crate::sql::people::people_repos!($store, $db);
            crate::sql::scim::scim_repos!($store, $db);
            crate::sql::flows::flow_repos!($store, $db);
            crate::sql::device::device_repos!($store, $db);
            crate::sql::remote::remote_repos!($store, $db);
            crate::sql::federation::federation_repos!($store, $db);
            crate::sql::throttle::throttle_repos!($store, $db);
            crate::sql::rate::rate_repos!($store, $db);
            crate::sql::seal::seal_repos!($store, $db);
        }
    };
}

pub(crate) use impl_repos;

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(config: &str) -> Result<Client> {
        let times = (1, 1, None);
        client_from_parts(
            "acme",
            "spa",
            "Spa".into(),
            String::new(),
            "spa",
            "active",
            false,
            None,
            times,
            "t".into(),
            1,
            config,
            None,
        )
    }

    #[test]
    fn stored_uris_the_rules_refuse_are_dropped_and_other_corruption_fails_loudly() {
        let ok = decode(r#"{"redirect_uris": ["https://*.preview.example.com/cb"], "allowed_cors_origins": ["https://app.example"]}"#)
            .unwrap();
        assert!(ok.config.redirect_uris[0].is_wildcard(), "approval is checked where the URI is used");
        // URIs an older version stored although today's rules refuse them
        // (they never matched): dropped, and the client still loads.
        let legacy = decode(
            r#"{"redirect_uris": ["http://10.0.0.5:8080/console/callback", "https://app.example/cb"],
                "post_logout_redirect_uris": ["javascript:alert(1)"], "allowed_cors_origins": ["https://app.example/"]}"#,
        )
        .unwrap();
        assert_eq!(
            legacy.config.redirect_uris.iter().map(latchkey_core::redirect::RedirectUri::as_str).collect::<Vec<_>>(),
            ["https://app.example/cb"]
        );
        assert!(legacy.config.post_logout_redirect_uris.is_empty() && legacy.config.allowed_cors_origins.is_empty());
        // Anything else malformed is corrupt data, said loudly.
        for bad in [r#"{"redirect_uris": "not a list"}"#, r#"{"require_pkce": "yes"}"#, "not json"] {
            let Err(StoreError::Internal(m)) = decode(bad) else { panic!("{bad} must not decode") };
            assert!(m.starts_with("stored client acme/spa has an invalid config: "), "{m}");
        }
    }
}
