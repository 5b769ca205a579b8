-- SCIM attributes of users, the directory event outbox, and SCIM bearer tokens.

ALTER TABLE users ADD COLUMN external_id TEXT;
-- Every other SCIM attribute (core and enterprise) as JSON, as the identity provider sent it.
ALTER TABLE users ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
-- meta.version: bumped by every change.
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN last_provisioned_at TEXT;

CREATE TABLE directory_events (
    id            BLOB PRIMARY KEY NOT NULL,
    occurred_at   TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    subject_kind  TEXT NOT NULL,
    subject_id    BLOB NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    actor_display TEXT,
    -- [{"attribute": …, "old": …, "new": …}]
    changes       TEXT NOT NULL DEFAULT '[]',
    -- the events (by id) that led to this one, oldest first
    causal_chain  TEXT NOT NULL DEFAULT '[]',
    processed_at  TEXT
);

CREATE INDEX directory_events_unprocessed ON directory_events (processed_at, occurred_at);
CREATE INDEX directory_events_by_subject ON directory_events (subject_id, occurred_at);

CREATE TABLE scim_tokens (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    -- SHA-256 of the token, hex; the token itself is never stored
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
