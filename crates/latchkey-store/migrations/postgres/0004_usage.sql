-- Per-client usage (SPEC §2.5): access tokens issued and failed client
-- authentications per hour, for the console's dashboard. Counted in memory
-- on the token path and added here in batches; rows older than 30 days are
-- purged. Rows outlive a deleted client until then (no foreign key to
-- clients: a flush must never fail because a client was just deleted).

CREATE TABLE client_usage (
    tenant_id  TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    -- Unix time of the start of the hour.
    hour       BIGINT NOT NULL,
    issued     BIGINT NOT NULL DEFAULT 0,
    failed     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, client_id, hour)
);

CREATE INDEX client_usage_by_hour ON client_usage (tenant_id, hour);
CREATE INDEX client_usage_purge ON client_usage (hour);
