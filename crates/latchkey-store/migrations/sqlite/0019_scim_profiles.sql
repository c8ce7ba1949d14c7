-- Issue 14: what a connector sends of a user beyond Latchkey's user model,
-- kept so it reads back as written (RFC 7643 §4.1): the `name` object
-- (given and family name, ...) and the `emails` list with types, as JSON.
-- The user's display name and primary email stay on the user row, which
-- every other part of Latchkey reads.
CREATE TABLE scim_user_profiles (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    name      TEXT,
    emails    TEXT,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
