-- The client search also matches redirect URIs (issue 17): a denormalised
-- column of the client's redirect URIs, lower-cased and space-separated,
-- joins the text the FTS5 trigram index holds.
ALTER TABLE clients ADD COLUMN redirect_text TEXT NOT NULL DEFAULT '';
UPDATE clients SET redirect_text = COALESCE(
    (SELECT group_concat(lower(value), ' ') FROM json_each(clients.config, '$.redirect_uris')), '');

DROP TRIGGER clients_search_insert;
DROP TRIGGER clients_search_update;
CREATE TRIGGER clients_search_insert AFTER INSERT ON clients BEGIN
    INSERT INTO clients_search (rowid, search_text)
    VALUES (new.rowid, new.name_lower || ' ' || lower(new.client_id) || ' ' || lower(new.description)
        || ' ' || new.redirect_text);
END;
CREATE TRIGGER clients_search_update AFTER UPDATE OF name_lower, description, redirect_text ON clients BEGIN
    UPDATE clients_search
    SET search_text = new.name_lower || ' ' || lower(new.client_id) || ' ' || lower(new.description)
        || ' ' || new.redirect_text
    WHERE rowid = old.rowid;
END;
UPDATE clients_search SET search_text = (
    SELECT c.name_lower || ' ' || lower(c.client_id) || ' ' || lower(c.description) || ' ' || c.redirect_text
    FROM clients c WHERE c.rowid = clients_search.rowid);
