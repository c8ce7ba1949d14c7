-- The device authorization grant (RFC 8628). A row is one device's request:
-- the device code and the user code are stored only as hashes. Its status
-- moves pending -> approved -> redeemed or pending -> denied, each step one
-- conditional UPDATE, so a code is decided once and redeemed once. The
-- client's epoch is taken at the request, the approving user's at approval
-- (ADR 0014): a code outlives neither incarnation.
CREATE TABLE device_codes (
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    device_hash    BLOB NOT NULL,
    user_code_hash BLOB NOT NULL,
    client_id      TEXT NOT NULL,
    scope          TEXT NOT NULL,
    device_ip      TEXT,
    device_agent   TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    poll_interval  INTEGER NOT NULL,
    last_polled_at INTEGER,
    client_epoch   BIGINT NOT NULL,
    status         TEXT NOT NULL,
    user_id        TEXT,
    user_epoch     BIGINT,
    auth_time      INTEGER,
    sid            TEXT,
    decided_at     INTEGER,
    PRIMARY KEY (tenant_id, device_hash)
);
CREATE UNIQUE INDEX device_codes_by_user_code ON device_codes (tenant_id, user_code_hash);
CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);
