-- Latchkey as the client of other authorization servers (SPEC §8).
-- Providers and remote clients keep their settings as JSON text (ADR 0001:
-- a new field needs no migration). Secrets and tokens are AES-256-GCM
-- envelopes under the master key's "remote-credentials" subkey, bound to
-- tenant, namespace and name by the associated data.

CREATE TABLE remote_providers (
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    settings     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE remote_clients (
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    namespace      TEXT NOT NULL,
    name           TEXT NOT NULL,
    provider       TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    sealed_secret  BLOB,
    secret_hint    TEXT,
    params         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, namespace, name),
    -- A provider still used by a remote client cannot be deleted.
    FOREIGN KEY (tenant_id, provider) REFERENCES remote_providers (tenant_id, name)
);

CREATE TABLE remote_authorizations (
    tenant_id      TEXT NOT NULL,
    namespace      TEXT NOT NULL,
    name           TEXT NOT NULL,
    grant_type     TEXT NOT NULL,
    status         TEXT NOT NULL,
    sealed_tokens  BLOB NOT NULL,
    scope          TEXT,
    expires_at     INTEGER,
    generation     INTEGER NOT NULL,
    last_error     TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, namespace, name),
    FOREIGN KEY (tenant_id, namespace, name) REFERENCES remote_clients (tenant_id, namespace, name) ON DELETE CASCADE
);
