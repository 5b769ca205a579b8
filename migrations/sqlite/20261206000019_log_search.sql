-- Searching the System Log: indexes for the attributes searches compare exactly (each
-- with the time, so a page in time order reads only what it shows), and the retention
-- setting (days; 0 keeps entries forever). The existing audit_log_by_time serves
-- searches by time alone.

CREATE INDEX audit_log_by_action ON audit_log (action, occurred_at);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, occurred_at);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_display, occurred_at);
CREATE INDEX audit_log_by_target ON audit_log (target_id, occurred_at);
CREATE INDEX audit_log_by_target_name ON audit_log (target_display, occurred_at);

CREATE TABLE log_settings (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    retention_days INTEGER NOT NULL,
    updated_at     TEXT NOT NULL
);
