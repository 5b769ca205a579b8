-- Executions: accepted before they are acknowledged, claimed by workers with a lease,
-- with each card's record stored as the card finishes. `progress` is where the execution
-- is and what its finished cards gave; it is written with each card's record, in one
-- transaction, so a restarted worker resumes after the last finished card.

CREATE TABLE executions (
    id           BLOB PRIMARY KEY NOT NULL,
    flow_id      BLOB NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_version INTEGER NOT NULL,
    status       TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    input        TEXT NOT NULL,
    -- the user it is about, when there is one (for the history's filters)
    subject      TEXT,
    -- repeated events with the same key start one execution per flow
    dedupe_key   TEXT,
    causal_chain TEXT NOT NULL DEFAULT '[]',
    progress     TEXT NOT NULL,
    output       TEXT,
    error        TEXT,
    steps        INTEGER NOT NULL DEFAULT 0,
    queued_at    TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    run_after    TEXT NOT NULL,
    locked_by    TEXT,
    locked_until TEXT
);

CREATE UNIQUE INDEX executions_deduplicated ON executions (flow_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX executions_ready ON executions (status, run_after);
CREATE INDEX executions_by_flow ON executions (flow_id, queued_at);

CREATE TABLE execution_steps (
    execution_id BLOB NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    card_id      INTEGER NOT NULL,
    card_kind    TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    inputs       TEXT,
    outputs      TEXT,
    error        TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

