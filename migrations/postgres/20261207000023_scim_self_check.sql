-- The SCIM self-check (Settings). The temporary token each run makes is marked, so the
-- directory events its requests cause start no flow and Settings does not list it; and
-- each run's report is kept for the page.

ALTER TABLE scim_tokens ADD COLUMN self_check BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE scim_self_checks (
    id     UUID PRIMARY KEY NOT NULL,
    ran_at TIMESTAMPTZ NOT NULL,
    ran_by TEXT NOT NULL,
    checks JSONB NOT NULL
);

CREATE INDEX scim_self_checks_recent ON scim_self_checks (ran_at);
