-- Tables flows keep state in: a schema (typed columns, optional key column) and rows as
-- JSON objects. A row's key, when the table has a key column, is unique in its table.

CREATE TABLE tables (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    -- lower-cased name: table names are unique regardless of case
    name_key   TEXT NOT NULL UNIQUE,
    folder_id  BLOB REFERENCES folders (id) ON DELETE SET NULL,
    schema     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE table_rows (
    id         BLOB PRIMARY KEY NOT NULL,
    table_id   BLOB NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    row_key    TEXT,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE UNIQUE INDEX table_rows_by_key ON table_rows (table_id, row_key) WHERE row_key IS NOT NULL;
CREATE INDEX table_rows_in_order ON table_rows (table_id, id);
