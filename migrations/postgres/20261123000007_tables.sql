-- Tables flows keep state in: a schema (typed columns, optional key column) and rows as
-- JSON objects. A row's key, when the table has a key column, is unique in its table.

CREATE TABLE tables (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    -- lower-cased name: table names are unique regardless of case
    name_key   TEXT NOT NULL UNIQUE,
    folder_id  UUID REFERENCES folders (id) ON DELETE SET NULL,
    schema     JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE table_rows (
    id         UUID PRIMARY KEY,
    table_id   UUID NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    row_key    TEXT,
    data       JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX table_rows_by_key ON table_rows (table_id, row_key) WHERE row_key IS NOT NULL;
CREATE INDEX table_rows_in_order ON table_rows (table_id, id);
