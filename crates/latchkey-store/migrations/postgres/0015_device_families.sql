-- Issue 14 item 5: a user's and a client's page list device sign-ins until
-- they end, not only until their tokens are collected. A redeemed device
-- code remembers the refresh family it started; its row then lives as long
-- as that family (`expires_at` moves to the family's), so the device's
-- facts (user agent, address, when it was allowed) stay beside the tokens
-- and revoking the sign-in revokes the family.
ALTER TABLE device_codes ADD COLUMN family_id TEXT;
