-- Issue 14 item 5: a user's and a client's page list device sign-ins until
-- they end, not only until their tokens are collected. A redeemed device
-- code remembers the refresh family it started; its row then lives as long
-- as that family (`expires_at` moves to the family's), so the device's
-- facts (user agent, address, when it was allowed) stay beside the tokens
-- and revoking the sign-in revokes the family.
ALTER TABLE device_codes ADD COLUMN family_id TEXT;

-- The latest SCIM requests a provisioning connector had refused (4xx after
-- it authenticated), shown on its client page beside its changes: at most
-- 20 per connector are kept, so a misbehaving connector cannot grow it;
-- they go with the client, so a client re-created under the same id starts
-- with none.
CREATE TABLE scim_errors (
    tenant_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    error_id    TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    scim_type   TEXT,
    detail      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, error_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, client_id) ON DELETE CASCADE
);
CREATE INDEX scim_errors_by_time ON scim_errors (tenant_id, client_id, occurred_at);
