-- The hosts and ranges a Super Admin lets flows reach despite the outbound guard (one row,
-- besides each server's IDFLOW_OUTBOUND_ALLOW): a list as `outbound::Allowed` reads it.
CREATE TABLE outbound_settings (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    allow      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
