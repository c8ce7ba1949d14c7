-- Issue 14 item 3: SCIM provisioning. A provisioned user is an ordinary
-- user; what SCIM adds is the connector's own identifier for it
-- (`externalId`). Deleting the user deletes this row with it.
CREATE TABLE scim_users (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);

-- SCIM groups as first-class objects. Membership stays where clients'
-- `allowed_groups` read it, `user_groups` (a user's `groups`), by name:
-- a group's members are the users holding its display name.
CREATE TABLE scim_groups (
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    group_id     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    external_id  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
CREATE UNIQUE INDEX scim_groups_name ON scim_groups (tenant_id, display_name);
CREATE INDEX user_groups_by_name ON user_groups (tenant_id, group_name);
