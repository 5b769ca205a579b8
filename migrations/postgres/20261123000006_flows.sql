-- Flows and their versions. A version is a whole flow definition (JSON), never changed
-- once written; saving makes the next one. Whether a flow is on and its folder belong to
-- the flow, not to a version.

CREATE TABLE flows (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    folder_id       UUID REFERENCES folders (id) ON DELETE SET NULL,
    enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    -- the current version's trigger, so an event finds its flows without reading them all
    trigger_kind    TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX flows_by_trigger ON flows (trigger_kind, enabled);

CREATE TABLE flow_versions (
    flow_id    UUID NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    definition JSONB NOT NULL,
    author     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (flow_id, version)
);

CREATE FUNCTION flow_versions_are_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a flow version never changes; save a new one';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER flow_versions_are_immutable BEFORE UPDATE ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION flow_versions_are_immutable();
