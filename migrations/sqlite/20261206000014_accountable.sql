-- Nobody gets more power than they were given.
--
-- A flow acts for an accountable person: whoever last saved it or turned it on. Its
-- cards may do only what that person may do in the console, judged on their rights when
-- the card runs. Each execution records the person it acted for.
ALTER TABLE flows ADD COLUMN owner_id BLOB REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE executions ADD COLUMN acting_for BLOB;

-- Flows saved before this: the author of their current version, when still a user.
UPDATE flows SET owner_id = (
    SELECT u.id FROM flow_versions v JOIN users u ON u.user_name = v.author
    WHERE v.flow_id = flows.id AND v.version = flows.current_version
);

-- A SCIM token may give or take Super Admin only if a Super Admin made it (and still is
-- one), or an operator at the command line. Older tokens have no maker: they may not.
ALTER TABLE scim_tokens ADD COLUMN created_by BLOB;
ALTER TABLE scim_tokens ADD COLUMN created_by_operator INTEGER NOT NULL DEFAULT 0;

-- Okta's password sync sends `password`; idflow never keeps it.
UPDATE users SET attributes = json_remove(attributes, '$.password')
WHERE json_extract(attributes, '$.password') IS NOT NULL;
