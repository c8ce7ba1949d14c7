-- The client search also matches redirect URIs (issue 17): a denormalised
-- column of the client's redirect URIs, lower-cased and space-separated,
-- joins the expression the trigram index covers.
ALTER TABLE clients ADD COLUMN redirect_text TEXT NOT NULL DEFAULT '';
UPDATE clients SET redirect_text = COALESCE(
    (SELECT string_agg(lower(u), ' ') FROM jsonb_array_elements_text(config::jsonb -> 'redirect_uris') AS u), '');

DROP INDEX clients_search;
CREATE INDEX clients_search ON clients
    USING gin ((name_lower || ' ' || lower(client_id) || ' ' || lower(description) || ' ' || redirect_text)
        gin_trgm_ops);
