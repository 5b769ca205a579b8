-- Searching the System Log (see domain::audit::search).
--
-- - An index for each attribute searches compare exactly, with the time, so a page in
--   time order reads only what it shows (audit_log_by_time serves time alone).
-- - Keywords: a trigram index (pg_trgm) over every entry's text, the very expression a
--   keyword is matched against, so a keyword of three letters or more finds its entries
--   without reading the log.
-- - The retention setting (days; 0 keeps entries forever).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX audit_log_by_action ON audit_log (action, occurred_at);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, occurred_at);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_display, occurred_at);
CREATE INDEX audit_log_by_target ON audit_log (target_id, occurred_at);
CREATE INDEX audit_log_by_target_name ON audit_log (target_display, occurred_at);
CREATE INDEX audit_log_text ON audit_log USING gin ((LOWER(action || ' ' || outcome || ' ' || actor_kind || ' ' || COALESCE(actor_id, '') || ' ' || COALESCE(actor_display, '') || ' ' || COALESCE(target_kind, '') || ' ' || COALESCE(target_id, '') || ' ' || COALESCE(target_display, '') || ' ' || COALESCE(client_address, '') || ' ' || COALESCE(request_id, '') || ' ' || COALESCE(reason, ''))) gin_trgm_ops);

CREATE TABLE log_settings (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    retention_days BIGINT NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
