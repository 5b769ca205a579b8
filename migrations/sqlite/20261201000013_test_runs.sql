-- Test Flow: an execution started from the builder's Test button with sample input. It
-- runs the cards for real, but always keeps every card's inputs and outputs (whatever the
-- flow's "save all data" says) and is marked as a test in the history.

ALTER TABLE executions ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
