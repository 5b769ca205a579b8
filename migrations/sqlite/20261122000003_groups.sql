-- Groups and their members, provisioned over SCIM or made in the console.

CREATE TABLE groups (
    id                BLOB PRIMARY KEY NOT NULL,
    display_name      TEXT NOT NULL,
    -- lower-cased display_name: group names are unique regardless of case
    display_name_key  TEXT NOT NULL UNIQUE,
    external_id       TEXT,
    attributes        TEXT NOT NULL DEFAULT '{}',
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id  BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_by_user ON group_members (user_id);
