-- Sign-in with OpenID Connect: which IdP account is which user, and the IdP a Super
-- Admin set up in Settings (environment variables take precedence over it).

-- An IdP account (issuer + subject) belongs to exactly one user, linked at its first
-- sign-in; a user may have accounts at several issuers.
CREATE TABLE sso_identities (
    issuer          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_at       TEXT NOT NULL,
    last_sign_in_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);

CREATE INDEX sso_identities_by_user ON sso_identities (user_id);

-- At most one row: the identity provider configured in Settings.
CREATE TABLE sso_settings (
    id            INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    display_name  TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL
);
