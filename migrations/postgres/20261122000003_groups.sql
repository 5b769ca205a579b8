-- Groups and their members, provisioned over SCIM or made in the console.

CREATE TABLE groups (
    id                UUID PRIMARY KEY,
    display_name      TEXT NOT NULL,
    -- lower-cased display_name: group names are unique regardless of case
    display_name_key  TEXT NOT NULL UNIQUE,
    external_id       TEXT,
    attributes        JSONB NOT NULL DEFAULT '{}',
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE group_members (
    group_id  UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_by_user ON group_members (user_id);
