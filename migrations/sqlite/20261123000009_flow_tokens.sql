-- A flow started by an API call (API Endpoint trigger) is called with its own secret;
-- only a SHA-256 of it is kept.
ALTER TABLE flows ADD COLUMN invoke_token_hash TEXT;
