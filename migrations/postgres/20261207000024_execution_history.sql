-- The execution history at volume: the Executions tab's newest-first pages (any flow),
-- and a user's timeline (the executions about them), each read from an index rather than
-- sorting the whole history.

CREATE INDEX executions_newest ON executions (queued_at, id);
CREATE INDEX executions_by_subject ON executions (subject, queued_at) WHERE subject IS NOT NULL;
