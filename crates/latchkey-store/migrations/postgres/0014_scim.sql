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
