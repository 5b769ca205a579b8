-- A flow's concurrency limit, copied from its current version so workers can honour it
-- when they claim work.
ALTER TABLE flows ADD COLUMN max_concurrent INTEGER;
