-- What each CSV import into a table did: how many rows it added, and every row it
-- refused with the reasons, so the admin can read the report again and fix the file.

CREATE TABLE table_imports (
    id         UUID PRIMARY KEY,
    table_id   UUID NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    file_name  TEXT NOT NULL,
    actor      TEXT NOT NULL,
    imported   BIGINT NOT NULL,
    rejects    JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX table_imports_by_table ON table_imports (table_id, id);
