-- Okta Event Hook deliveries. Each event is kept once per connection (Okta delivers at
-- least once, sometimes twice: its `uuid` tells a repeat), before the delivery is
-- answered, and handed to flows in the order Okta published them.

CREATE TABLE okta_events (
    id            UUID PRIMARY KEY NOT NULL,
    connection_id UUID NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    uuid          TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    published     TIMESTAMPTZ NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    event         JSONB NOT NULL,
    processed_at  TIMESTAMPTZ,
    UNIQUE (connection_id, uuid)
);

CREATE INDEX okta_events_waiting ON okta_events (published, id) WHERE processed_at IS NULL;
CREATE INDEX okta_events_done ON okta_events (processed_at) WHERE processed_at IS NOT NULL;

-- What each accepted delivery held, for the connection's page.
CREATE TABLE okta_hook_deliveries (
    id            UUID PRIMARY KEY NOT NULL,
    connection_id UUID NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    received_at   TIMESTAMPTZ NOT NULL,
    events        BIGINT NOT NULL,
    new_events    BIGINT NOT NULL,
    event_types   TEXT NOT NULL
);

CREATE INDEX okta_hook_deliveries_recent ON okta_hook_deliveries (connection_id, received_at);
