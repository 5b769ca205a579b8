-- Connections: the accounts flows use to reach services outside idflow. Secrets are kept
-- only sealed (XChaCha20-Poly1305 under a key that is never in the database), each bound
-- to its row and field; `secrets` maps a field's name to its sealed value.
CREATE TABLE connections (
    id                BLOB PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL,
    settings          TEXT NOT NULL,
    secrets           TEXT NOT NULL,
    version           INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT NOT NULL,
    last_test_at      TEXT,
    last_test_ok      BOOLEAN,
    last_test_message TEXT
);

-- The SSO client secret of Settings is kept sealed too: idflow seals one it finds in the
-- clear when it starts (this column says which it is).
ALTER TABLE sso_settings ADD COLUMN client_secret_sealed BOOLEAN NOT NULL DEFAULT FALSE;
