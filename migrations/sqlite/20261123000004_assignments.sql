-- Who may do what beyond a user's direct role: groups mapped to a role ("push group"),
-- and folders with grants to users or groups.

CREATE TABLE group_roles (
    group_id   BLOB PRIMARY KEY NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    mapped_at  TEXT NOT NULL
);


CREATE TABLE folders (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    -- lower-cased name: folder names are unique regardless of case
    name_key    TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

-- A grant goes to exactly one user or one group.
CREATE TABLE folder_grants (
    folder_id   BLOB NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    user_id     BLOB REFERENCES users (id) ON DELETE CASCADE,
    group_id    BLOB REFERENCES groups (id) ON DELETE CASCADE,
    grant_role  TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);

CREATE UNIQUE INDEX folder_grants_per_user ON folder_grants (folder_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX folder_grants_per_group ON folder_grants (folder_id, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX folder_grants_by_user ON folder_grants (user_id);
CREATE INDEX folder_grants_by_group ON folder_grants (group_id);
