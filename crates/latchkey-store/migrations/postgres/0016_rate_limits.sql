-- Requests admitted per rate-limit key (a client or a source address,
-- hashed: no ids or addresses in the clear), per node and per minute.
-- Each node adds its own counts about once a second and reads the other
-- nodes', so a rate limit holds across the nodes of an installation (ADR
-- 0016). Rows are purged a few minutes after their window.
CREATE TABLE rate_usage (
    rate_key     TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    node         TEXT NOT NULL,
    admitted     BIGINT NOT NULL,
    PRIMARY KEY (rate_key, window_start, node)
);
CREATE INDEX rate_usage_window ON rate_usage (window_start);
