-- Flows and their versions. A version is a whole flow definition (JSON), never changed
-- once written; saving makes the next one. Whether a flow is on and its folder belong to
-- the flow, not to a version.

CREATE TABLE flows (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    folder_id       BLOB REFERENCES folders (id) ON DELETE SET NULL,
    enabled         INTEGER NOT NULL DEFAULT 0,
    -- the current version's trigger, so an event finds its flows without reading them all
    trigger_kind    TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX flows_by_trigger ON flows (trigger_kind, enabled);

CREATE TABLE flow_versions (
    flow_id    BLOB NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (flow_id, version)
);

CREATE TRIGGER flow_versions_are_immutable BEFORE UPDATE ON flow_versions
BEGIN
    SELECT RAISE(ABORT, 'a flow version never changes; save a new one');
END;
