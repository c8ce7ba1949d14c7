-- Signing in people (issue 4): browser sessions, authorization codes,
-- refresh-token families and remembered consents. Every secret handle
-- (session id, code, refresh token) is stored only as its SHA-256 hash.

CREATE TABLE browser_sessions (
    tenant_id     TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    session_hash  BYTEA NOT NULL,
    -- The public session id put in ID tokens (`sid`); not a credential.
    sid           TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    auth_time     BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, session_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX browser_sessions_by_user ON browser_sessions (tenant_id, user_id);
CREATE INDEX browser_sessions_by_expiry ON browser_sessions (expires_at);

-- Single use: redemption is `UPDATE … WHERE used_at IS NULL`. What a code
-- produced (its access token, its refresh family) is recorded in the same
-- statement, so a replay can revoke it.
CREATE TABLE authorization_codes (
    tenant_id          TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    code_hash          BYTEA NOT NULL,
    client_id          TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    redirect_uri       TEXT NOT NULL,
    redirect_uri_given BOOLEAN NOT NULL,
    code_challenge     TEXT,
    nonce              TEXT,
    scope              TEXT NOT NULL,
    auth_time          BIGINT NOT NULL,
    sid                TEXT,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    used_at            BIGINT,
    access_jti         TEXT,
    access_exp         BIGINT,
    family_id          TEXT,
    PRIMARY KEY (tenant_id, code_hash)
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);

-- A refresh-token family: every token rotated from one authorization.
CREATE TABLE refresh_families (
    tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    sid         TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    PRIMARY KEY (tenant_id, family_id)
);
CREATE INDEX refresh_families_by_user ON refresh_families (tenant_id, user_id);
CREATE INDEX refresh_families_by_expiry ON refresh_families (expires_at);

-- One row per refresh token; `access_jti` is the access token issued with
-- it, revoked with the family.
CREATE TABLE refresh_tokens (
    tenant_id   TEXT NOT NULL,
    token_hash  BYTEA NOT NULL,
    family_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    access_jti  TEXT NOT NULL,
    access_exp  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, family_id) REFERENCES refresh_families (tenant_id, family_id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (tenant_id, family_id);

-- Remembered consent: a user approved these scopes for a client.
CREATE TABLE consents (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
