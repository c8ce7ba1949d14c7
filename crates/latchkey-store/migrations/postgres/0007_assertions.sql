-- Client assertions (RFC 7523, private_key_jwt) seen, by jti, until they
-- expire: a second use of one is refused (checklist 42).
CREATE TABLE client_assertion_jtis (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);
CREATE INDEX client_assertion_jtis_by_expiry ON client_assertion_jtis (expires_at);
