-- Who may do what beyond a user's direct role: groups mapped to a role ("push group"),
-- and folders with grants to users or groups.

CREATE TABLE group_roles (
    group_id   UUID PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    mapped_at  TIMESTAMPTZ NOT NULL
);


CREATE TABLE folders (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    -- lower-cased name: folder names are unique regardless of case
    name_key    TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- A grant goes to exactly one user or one group.
CREATE TABLE folder_grants (
    folder_id   UUID NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    user_id     UUID REFERENCES users (id) ON DELETE CASCADE,
    group_id    UUID REFERENCES groups (id) ON DELETE CASCADE,
    grant_role  TEXT NOT NULL,
    granted_at  TIMESTAMPTZ NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);

CREATE UNIQUE INDEX folder_grants_per_user ON folder_grants (folder_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX folder_grants_per_group ON folder_grants (folder_id, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX folder_grants_by_user ON folder_grants (user_id);
CREATE INDEX folder_grants_by_group ON folder_grants (group_id);
