-- SCIM filters answered from indexes: the values identity providers look users up by
-- that live inside the SCIM attributes (each email's value, the displayName), lowercased
-- as SCIM compares them, one row each; the external id and the list order indexed.
-- Rows written before this migration get their keys when idflow next starts
-- (`keys_version` 0), since lowercasing as SCIM does is not SQL's lower().

CREATE TABLE user_keys (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    PRIMARY KEY (kind, key, user_id)
);
CREATE INDEX user_keys_by_user ON user_keys (user_id);

ALTER TABLE users ADD COLUMN keys_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_by_external_id ON users (external_id);
CREATE INDEX users_in_order ON users (created_at, id);
