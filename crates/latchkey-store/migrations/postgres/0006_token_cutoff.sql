-- Tokens a client holds from before it was disabled stay invalid after it
-- is enabled again: set to the time of enabling, compared with a token's
-- issue time on every check.
ALTER TABLE clients ADD COLUMN tokens_valid_after BIGINT;
