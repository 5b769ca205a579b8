-- How many users and groups there are, kept by triggers as rows come and go, so a SCIM
-- list's totalResults is one row's read instead of a count of the whole directory.
-- `generation` moves on whenever the list order of that kind changes (a row added or
-- removed, a user's created_at rewritten): what a server remembers of positions in the
-- list holds while it stands still (domain::store::directory, users_page).
-- The triggers run once per statement, on the rows it changed, so a bulk insert updates
-- the count once; a statement that changed no row leaves it alone (and takes no lock).
CREATE TABLE directory_counts (
    kind       TEXT PRIMARY KEY,
    n          BIGINT NOT NULL,
    generation BIGINT NOT NULL
);
INSERT INTO directory_counts (kind, n, generation) SELECT 'users', COUNT(*), 0 FROM users;
INSERT INTO directory_counts (kind, n, generation) SELECT 'groups', COUNT(*), 0 FROM groups;

-- One function for rows added and removed: each trigger names its rows `changed`.
CREATE FUNCTION directory_counted() RETURNS trigger AS $$
DECLARE
    changed_rows BIGINT;
BEGIN
    SELECT COUNT(*) INTO changed_rows FROM changed;
    IF changed_rows > 0 THEN
        UPDATE directory_counts
            SET n = n + CASE WHEN TG_OP = 'INSERT' THEN changed_rows ELSE -changed_rows END,
                generation = generation + 1
            WHERE kind = TG_ARGV[0];
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION directory_reordered() RETURNS trigger AS $$
BEGIN
    IF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        UPDATE directory_counts SET generation = generation + 1 WHERE kind = TG_ARGV[0];
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_counted_in AFTER INSERT ON users
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION directory_counted('users');
CREATE TRIGGER users_counted_out AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION directory_counted('users');
CREATE TRIGGER users_reordered AFTER UPDATE OF created_at ON users
    FOR EACH ROW EXECUTE FUNCTION directory_reordered('users');
CREATE TRIGGER groups_counted_in AFTER INSERT ON groups
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION directory_counted('groups');
CREATE TRIGGER groups_counted_out AFTER DELETE ON groups
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION directory_counted('groups');
