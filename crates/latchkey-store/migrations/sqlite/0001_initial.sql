-- Latchkey schema, SQLite. Every table carries tenant_id (SPEC §1).
-- Times are Unix seconds (INTEGER); lists and settings are JSON text.

CREATE TABLE tenants (
    tenant_id     TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    status        TEXT NOT NULL,
    settings      TEXT NOT NULL,
    key_check     BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE clients (
    tenant_id     TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_lower    TEXT NOT NULL,
    description   TEXT NOT NULL,
    client_type   TEXT NOT NULL,
    status        TEXT NOT NULL,
    protected     BOOLEAN NOT NULL,
    managed_by    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    last_used_at  INTEGER,
    revision      INTEGER NOT NULL,
    config        TEXT NOT NULL,
    -- Denormalised from config for filtering: ' grant1 grant2 ', ' k=v k2=v2 '.
    grant_types   TEXT NOT NULL,
    labels        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);
CREATE UNIQUE INDEX clients_name_unique ON clients (tenant_id, name_lower);
CREATE INDEX clients_by_created ON clients (tenant_id, created_at, client_id);
CREATE INDEX clients_by_last_used ON clients (tenant_id, last_used_at, client_id);

-- Substring search over name, client id and description: an FTS5 trigram
-- index kept in step by triggers (its rowid is the client row's rowid).
CREATE VIRTUAL TABLE clients_search USING fts5 (search_text, tokenize = 'trigram');
CREATE TRIGGER clients_search_insert AFTER INSERT ON clients BEGIN
    INSERT INTO clients_search (rowid, search_text)
    VALUES (new.rowid, new.name_lower || ' ' || lower(new.client_id) || ' ' || lower(new.description));
END;
CREATE TRIGGER clients_search_delete AFTER DELETE ON clients BEGIN
    DELETE FROM clients_search WHERE rowid = old.rowid;
END;
CREATE TRIGGER clients_search_update AFTER UPDATE OF name_lower, description ON clients BEGIN
    UPDATE clients_search
    SET search_text = new.name_lower || ' ' || lower(new.client_id) || ' ' || lower(new.description)
    WHERE rowid = old.rowid;
END;

CREATE TABLE client_secrets (
    tenant_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    secret_id     TEXT NOT NULL,
    secret_hash   BLOB NOT NULL,
    sealed_secret BLOB,
    hint          TEXT NOT NULL,
    label         TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    PRIMARY KEY (tenant_id, client_id, secret_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, client_id) ON DELETE CASCADE
);

CREATE TABLE signing_keys (
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    kid            TEXT NOT NULL,
    alg            TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    status         TEXT NOT NULL,
    sealed_private BLOB NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    activated_at   INTEGER,
    retired_at     INTEGER,
    PRIMARY KEY (tenant_id, kid)
);

-- Revoked access tokens (JWT and opaque alike), by jti, until they expire.
CREATE TABLE revoked_jtis (
    tenant_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);
CREATE INDEX revoked_jtis_by_expiry ON revoked_jtis (expires_at);

CREATE TABLE scopes (
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE security_classes (
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE users (
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    username       TEXT NOT NULL,
    username_lower TEXT NOT NULL,
    email          TEXT,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE UNIQUE INDEX users_username_unique ON users (tenant_id, username_lower);

CREATE TABLE role_assignments (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TABLE user_groups (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, group_name),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TABLE audit_events (
    tenant_id    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    actor_type   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    source_ip    TEXT,
    request_id   TEXT,
    changes      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX audit_events_by_time ON audit_events (tenant_id, occurred_at, event_id);
CREATE INDEX audit_events_by_target ON audit_events (tenant_id, target_type, target_id, occurred_at);
CREATE INDEX audit_events_by_actor ON audit_events (tenant_id, actor, occurred_at);
