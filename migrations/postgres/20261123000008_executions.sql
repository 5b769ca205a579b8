-- Executions: accepted before they are acknowledged, claimed by workers with a lease,
-- with each card's record stored as the card finishes. `progress` is where the execution
-- is and what its finished cards gave; it is written with each card's record, in one
-- transaction, so a restarted worker resumes after the last finished card.

CREATE TABLE executions (
    id           UUID PRIMARY KEY,
    flow_id      UUID NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    flow_version BIGINT NOT NULL,
    status       TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    input        JSONB NOT NULL,
    -- the user it is about, when there is one (for the history's filters)
    subject      TEXT,
    -- repeated events with the same key start one execution per flow
    dedupe_key   TEXT,
    causal_chain JSONB NOT NULL DEFAULT '[]',
    progress     JSONB NOT NULL,
    output       JSONB,
    error        TEXT,
    steps        BIGINT NOT NULL DEFAULT 0,
    queued_at    TIMESTAMPTZ NOT NULL,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    run_after    TIMESTAMPTZ NOT NULL,
    locked_by    TEXT,
    locked_until TIMESTAMPTZ
);

CREATE UNIQUE INDEX executions_deduplicated ON executions (flow_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX executions_ready ON executions (status, run_after);
CREATE INDEX executions_by_flow ON executions (flow_id, queued_at);

CREATE TABLE execution_steps (
    execution_id UUID NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    card_id      BIGINT NOT NULL,
    card_kind    TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    inputs       JSONB,
    outputs      JSONB,
    error        TEXT,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

