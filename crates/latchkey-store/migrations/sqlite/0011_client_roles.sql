-- Client actors act with an administrative role of their own (`admin_role`
-- in the client's configuration); before this, every client holding the
-- `admin` scope acted as an owner. Existing clients that can obtain admin
-- tokens of their own keep what they can do, below owner: the default
-- tenant's latchkey-admin is the one built-in owner client.
UPDATE clients SET config = json_set(config, '$.admin_role',
    CASE
        WHEN tenant_id = 'default' AND client_id = 'latchkey-admin' THEN 'owner'
        WHEN EXISTS (SELECT 1 FROM json_each(clients.config, '$.scopes') WHERE value = 'admin') THEN 'tenant-admin'
        ELSE 'viewer'
    END)
WHERE json_extract(config, '$.admin_role') IS NULL
  AND EXISTS (SELECT 1 FROM json_each(clients.config, '$.scopes') WHERE value IN ('admin', 'admin:read'))
  AND EXISTS (SELECT 1 FROM json_each(clients.config, '$.grant_types') WHERE value = 'client_credentials');
