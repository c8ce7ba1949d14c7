-- Failed sign-ins and client authentications per key (account and source
-- address, or a source alone), shared by every node: a key's failures
-- decide its progressive delay. Keys hold no secret; rows are purged an
-- hour after their last failure.
CREATE TABLE auth_throttle (
    tenant_id       TEXT NOT NULL,
    throttle_key    TEXT NOT NULL,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, throttle_key)
);
CREATE INDEX auth_throttle_last_failure ON auth_throttle (last_failure_at);
