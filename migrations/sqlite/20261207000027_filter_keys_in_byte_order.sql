-- SCIM filters run on user_keys (see domain::scim::sql): its keys compare in byte order,
-- as idflow compares strings in memory, so a prefix (`sw`) and an order (`gt`, `lt`) are
-- ranges of its index. SQLite compares text byte by byte already (BINARY): nothing to do.
SELECT 1;
