-- Which flows may use a connection: NULL, every flow; otherwise a JSON array of folder ids
-- whose flows may (a Connection Manager shares it with them).
ALTER TABLE connections ADD COLUMN folders JSONB;
