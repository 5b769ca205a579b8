-- Helper flows: an execution started by Call Flow or For Each names the execution and
-- card that started it (and, for For Each, the item's place in the list). The parent
-- waits (status 'waiting') until its children have ended; the last one to end wakes it.
-- A Pause card also waits, until its time or until resumed through the API.

ALTER TABLE executions ADD COLUMN parent_id BLOB;
ALTER TABLE executions ADD COLUMN parent_card INTEGER;
ALTER TABLE executions ADD COLUMN child_index INTEGER;

CREATE INDEX executions_children ON executions (parent_id, parent_card, child_index) WHERE parent_id IS NOT NULL;
