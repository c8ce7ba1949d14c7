-- Client actors act with an administrative role of their own (`admin_role`
-- in the client's configuration); before this, every client holding the
-- `admin` scope acted as an owner. Existing clients that can obtain admin
-- tokens of their own keep what they can do, below owner: the default
-- tenant's latchkey-admin is the one built-in owner client.
UPDATE clients SET config = (config::jsonb || jsonb_build_object('admin_role',
    CASE
        WHEN tenant_id = 'default' AND client_id = 'latchkey-admin' THEN 'owner'
        WHEN config::jsonb -> 'scopes' ? 'admin' THEN 'tenant-admin'
        ELSE 'viewer'
    END))::text
WHERE COALESCE(config::jsonb -> 'admin_role', 'null'::jsonb) = 'null'::jsonb
  AND config::jsonb -> 'scopes' ?| array['admin', 'admin:read']
  AND config::jsonb -> 'grant_types' ? 'client_credentials';
