-- Users of the console, their local credentials, sign-in throttling and the System Log.

CREATE TABLE users (
    id                   UUID PRIMARY KEY,
    user_name            TEXT NOT NULL,
    -- lower-cased user_name: userName is unique regardless of case
    user_name_key        TEXT NOT NULL UNIQUE,
    display_name         TEXT,
    email                TEXT,
    role                 TEXT NOT NULL DEFAULT 'unassigned_user',
    status               TEXT NOT NULL DEFAULT 'active',
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    last_sign_in_at      TIMESTAMPTZ,
    sessions_valid_after TIMESTAMPTZ
);

CREATE TABLE local_credentials (
    user_id       UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sign_in_throttle (
    key               TEXT PRIMARY KEY,
    failures          BIGINT NOT NULL,
    window_started_at TIMESTAMPTZ NOT NULL,
    locked_until      TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id             UUID PRIMARY KEY,
    occurred_at    TIMESTAMPTZ NOT NULL,
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
CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the System Log is append-only';
END;
$$;

CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update();
