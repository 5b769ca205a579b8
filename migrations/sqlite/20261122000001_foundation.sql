-- Users of the console, their local credentials, sign-in throttling and the System Log.

CREATE TABLE users (
    id                   BLOB PRIMARY KEY NOT NULL,
    user_name            TEXT NOT NULL,
    -- lower-cased user_name: userName is unique regardless of case
    user_name_key        TEXT NOT NULL UNIQUE,
    display_name         TEXT,
    email                TEXT,
    role                 TEXT NOT NULL DEFAULT 'unassigned_user',
    status               TEXT NOT NULL DEFAULT 'active',
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    last_sign_in_at      TEXT,
    sessions_valid_after TEXT
);

CREATE TABLE local_credentials (
    user_id       BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE sign_in_throttle (
    key               TEXT PRIMARY KEY NOT NULL,
    failures          INTEGER NOT NULL,
    window_started_at TEXT NOT NULL,
    locked_until      TEXT
);

CREATE TABLE audit_log (
    id             BLOB PRIMARY KEY NOT NULL,
    occurred_at    TEXT NOT NULL,
    action         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT,
    actor_display  TEXT,
    target_kind    TEXT,
    target_id      TEXT,
    target_display TEXT,
    client_address TEXT,
    request_id     TEXT,
    reason         TEXT
);

CREATE INDEX audit_log_by_time ON audit_log (occurred_at, id);

-- The System Log is append-only: an entry, once written, never changes.
CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the System Log is append-only');
END;
