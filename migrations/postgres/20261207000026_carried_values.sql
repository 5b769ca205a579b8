-- What executions carried, for the history's search by a value (an email, a user id)
-- and a user's timeline, answered from an index instead of reading every execution's
-- JSON: each string value in an ended execution's input and outputs, lowercased (at most
-- 256 characters). `carried` marks the executions whose values are kept; the store keeps
-- them a batch at a time, after the execution ends, away from the engine's work.

ALTER TABLE executions ADD COLUMN carried BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX executions_not_carried ON executions (id) WHERE NOT carried;

-- Byte order ("C"), so a prefix is one range of the index.
CREATE TABLE execution_values (
    value        TEXT COLLATE "C" NOT NULL,
    execution_id UUID NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    PRIMARY KEY (value, execution_id)
);
CREATE INDEX execution_values_by_execution ON execution_values (execution_id);
