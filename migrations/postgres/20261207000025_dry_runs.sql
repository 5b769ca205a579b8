-- Dry run: a test run (see 20261201000013) whose cards that change something are judged
-- as they would be and not made: directory and table writes, and every call to a
-- connected service. Each such card's record says what it would have done. Nothing is
-- written but the execution's own record, marked as a dry run.

ALTER TABLE executions ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT FALSE;
