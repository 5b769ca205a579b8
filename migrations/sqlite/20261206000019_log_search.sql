-- Searching the System Log (see domain::audit::search).
--
-- - An index for each attribute searches compare exactly, with the time, so a page in
--   time order reads only what it shows (audit_log_by_time serves time alone).
-- - Keywords: every entry's text in a full-text index of trigrams (audit_text), so a
--   keyword of three letters or more finds its entries without reading the log. Its rows
--   are the log's `seq`, a stable integer key: the log is rebuilt once with it.
-- - The retention setting (days; 0 keeps entries forever).

CREATE TABLE audit_log_keyed (
    seq            INTEGER PRIMARY KEY,
    id             BLOB NOT NULL UNIQUE,
    occurred_at    TEXT NOT NULL,
    action         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT,
    actor_display  TEXT,
    target_kind    TEXT,
    target_id      TEXT,
    target_display TEXT,
    client_address TEXT,
    request_id     TEXT,
    reason         TEXT
);

INSERT INTO audit_log_keyed (id, occurred_at, action, outcome, actor_kind, actor_id, actor_display,
    target_kind, target_id, target_display, client_address, request_id, reason)
    SELECT id, occurred_at, action, outcome, actor_kind, actor_id, actor_display,
        target_kind, target_id, target_display, client_address, request_id, reason
    FROM audit_log ORDER BY occurred_at, id;

DROP TABLE audit_log;
ALTER TABLE audit_log_keyed RENAME TO audit_log;

CREATE INDEX audit_log_by_time ON audit_log (occurred_at, id);
CREATE INDEX audit_log_by_action ON audit_log (action, occurred_at);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, occurred_at);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_display, occurred_at);
CREATE INDEX audit_log_by_target ON audit_log (target_id, occurred_at);
CREATE INDEX audit_log_by_target_name ON audit_log (target_display, occurred_at);

-- The System Log is append-only: an entry, once written, never changes.
CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the System Log is append-only');
END;

CREATE VIRTUAL TABLE audit_text USING fts5(text, tokenize = 'trigram', content = '', contentless_delete = 1);

CREATE TRIGGER audit_log_text AFTER INSERT ON audit_log
BEGIN
    INSERT INTO audit_text (rowid, text) VALUES (new.seq, LOWER(new.action || ' ' || new.outcome || ' ' || new.actor_kind || ' ' || COALESCE(new.actor_id, '') || ' ' || COALESCE(new.actor_display, '') || ' ' || COALESCE(new.target_kind, '') || ' ' || COALESCE(new.target_id, '') || ' ' || COALESCE(new.target_display, '') || ' ' || COALESCE(new.client_address, '') || ' ' || COALESCE(new.request_id, '') || ' ' || COALESCE(new.reason, '')));
END;

CREATE TRIGGER audit_log_text_gone AFTER DELETE ON audit_log
BEGIN
    DELETE FROM audit_text WHERE rowid = old.seq;
END;

INSERT INTO audit_text (rowid, text) SELECT seq, LOWER(action || ' ' || outcome || ' ' || actor_kind || ' ' || COALESCE(actor_id, '') || ' ' || COALESCE(actor_display, '') || ' ' || COALESCE(target_kind, '') || ' ' || COALESCE(target_id, '') || ' ' || COALESCE(target_display, '') || ' ' || COALESCE(client_address, '') || ' ' || COALESCE(request_id, '') || ' ' || COALESCE(reason, '')) FROM audit_log;

CREATE TABLE log_settings (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    retention_days INTEGER NOT NULL,
    updated_at     TEXT NOT NULL
);
