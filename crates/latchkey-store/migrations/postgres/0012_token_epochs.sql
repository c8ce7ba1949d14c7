-- Every token, code and refresh family names the incarnation of the client
-- and of the user it was issued for. A client or user gets a random epoch
-- when created and a new one whenever it is disabled, enabled or (users)
-- has its password reset; a token is honoured only while the epochs it
-- names are current. So a deleted object's tokens never come back through
-- an object of the same name, and a disable undone within the same second
-- still ends the tokens issued before it. Rows from before this migration
-- keep epoch 0, which tokens without an epoch claim name.
ALTER TABLE clients ADD COLUMN token_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN token_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE authorization_codes ADD COLUMN client_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE authorization_codes ADD COLUMN user_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refresh_families ADD COLUMN client_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refresh_families ADD COLUMN user_epoch BIGINT NOT NULL DEFAULT 0;
-- Item 9: within the reuse grace window a rotated refresh token answers
-- with the response its rotation gave (sealed under the master key), never
-- with a new live member of the family.
ALTER TABLE refresh_tokens ADD COLUMN successor BYTEA;
