-- Upstream authorization-code flows (SPEC §8): an administrator obtaining
-- an authorization, or a person signing in with a provider (federated
-- sign-in). A flow is keyed by the SHA-256 of its random `state`, bound
-- to the browser that started it (hash of a cookie value), used once
-- (`used_at`) and short-lived. Its PKCE verifier, nonce and what to do on
-- return are an AES-256-GCM envelope under the "remote-credentials"
-- subkey, bound to tenant and state hash.

CREATE TABLE remote_flows (
    tenant_id     TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    state_hash    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    provider      TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    sealed_data   BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    PRIMARY KEY (tenant_id, state_hash)
);
CREATE INDEX remote_flows_expiry ON remote_flows (expires_at);

-- Which upstream account (provider, `sub`) signs in as which user.
CREATE TABLE federated_links (
    tenant_id   TEXT NOT NULL,
    provider    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, provider, subject),
    FOREIGN KEY (tenant_id, provider) REFERENCES remote_providers (tenant_id, name) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX federated_links_user ON federated_links (tenant_id, user_id);
