-- Keys of the installation that must outlive a master-key rotation, sealed
-- under the current master key. Today one: the key client secrets are
-- hashed with ("client-secret-hmac"). A client secret's stored hash cannot
-- be recomputed without the secret, so `latchkey master-key rotate` keeps
-- the key it was made with here, re-sealed under the new master key, rather
-- than derive a new one that no stored hash matches (ADR 0017).
CREATE TABLE installation_keys (
    purpose    TEXT PRIMARY KEY,
    sealed     BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
