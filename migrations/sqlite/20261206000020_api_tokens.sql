-- API tokens for the REST API (/api/v1). A personal token acts as its owner; a service
-- token acts with its role while the person who made it (owner_id) still holds that
-- role's rights. Scopes (names separated by spaces) narrow both. Only a SHA-256 of each
-- token is kept; every token expires.

CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('personal', 'service')),
    owner_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    owner_name   TEXT NOT NULL,
    role         TEXT,
    scopes       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE INDEX api_tokens_of_owner ON api_tokens (owner_id, created_at);

-- A POST to the REST API with an Idempotency-Key: claimed before it runs, its answer kept
-- when it succeeds, so a retry with the same key gets that answer instead of doing it
-- twice. Kept a day.
CREATE TABLE api_idempotency (
    token_id    BLOB NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER,
    body        TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (token_id, key)
);
