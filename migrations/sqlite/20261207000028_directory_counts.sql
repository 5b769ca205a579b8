-- How many users and groups there are, kept by triggers as rows come and go, so a SCIM
-- list's totalResults is one row's read instead of a count of the whole directory.
-- `generation` moves on whenever the list order of that kind changes (a row added or
-- removed, a user's created_at rewritten): what a server remembers of positions in the
-- list holds while it stands still (domain::store::directory, users_page).
CREATE TABLE directory_counts (
    kind       TEXT PRIMARY KEY NOT NULL,
    n          INTEGER NOT NULL,
    generation INTEGER NOT NULL
);
INSERT INTO directory_counts (kind, n, generation) SELECT 'users', COUNT(*), 0 FROM users;
INSERT INTO directory_counts (kind, n, generation) SELECT 'groups', COUNT(*), 0 FROM groups;

CREATE TRIGGER users_counted_in AFTER INSERT ON users BEGIN
    UPDATE directory_counts SET n = n + 1, generation = generation + 1 WHERE kind = 'users';
END;
CREATE TRIGGER users_counted_out AFTER DELETE ON users BEGIN
    UPDATE directory_counts SET n = n - 1, generation = generation + 1 WHERE kind = 'users';
END;
CREATE TRIGGER users_reordered AFTER UPDATE OF created_at ON users BEGIN
    UPDATE directory_counts SET generation = generation + 1 WHERE kind = 'users';
END;
CREATE TRIGGER groups_counted_in AFTER INSERT ON groups BEGIN
    UPDATE directory_counts SET n = n + 1, generation = generation + 1 WHERE kind = 'groups';
END;
CREATE TRIGGER groups_counted_out AFTER DELETE ON groups BEGIN
    UPDATE directory_counts SET n = n - 1, generation = generation + 1 WHERE kind = 'groups';
END;
