-- A flow's API secrets. Rotating one with a grace period keeps the secret it replaced
-- working until `valid_until`; a secret without it works until it is rotated out or
-- revoked. Only a SHA-256 of each is kept. The one secret a flow could have before moves
-- here.

CREATE TABLE flow_secrets (
    id          UUID PRIMARY KEY NOT NULL,
    flow_id     UUID NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    hash        TEXT NOT NULL UNIQUE,
    made_at     TIMESTAMPTZ NOT NULL,
    made_by     TEXT NOT NULL DEFAULT '',
    valid_until TIMESTAMPTZ
);

CREATE INDEX flow_secrets_of_flow ON flow_secrets (flow_id);

INSERT INTO flow_secrets (id, flow_id, hash, made_at, made_by)
    SELECT gen_random_uuid(), id, invoke_token_hash, updated_at, '' FROM flows
    WHERE invoke_token_hash IS NOT NULL;

ALTER TABLE flows DROP COLUMN invoke_token_hash;
