-- The version of what a login reads (issue 20): the daemon keeps the users whose password it
-- has checked (smsd/store/users.py) and trusts that memory only while this value is the one it
-- was filled under, one tiny SELECT per request instead of the user's row and a slow hash. Any
-- change of a user a login reads (password, Digest secrets, permissions, admin, disabled, a user
-- made, renamed or deleted) sets a new value, whichever process makes it: the `smsd user`
-- command writes this file while the daemon runs. Credits are not read by a login and are
-- debited on every send, so they leave the value alone.
--
-- A random value rather than a counter: a database restored from a backup (or another box's)
-- must not come back with a number the daemon has already seen for other contents.
-- A migration that rebuilds the users table must create these triggers again.
CREATE TABLE auth_version (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    v   INTEGER NOT NULL
);
INSERT INTO auth_version(one, v) VALUES (1, random());

CREATE TRIGGER auth_version_user_added AFTER INSERT ON users
BEGIN
    UPDATE auth_version SET v = random();
END;

CREATE TRIGGER auth_version_user_deleted AFTER DELETE ON users
BEGIN
    UPDATE auth_version SET v = random();
END;

CREATE TRIGGER auth_version_user_changed
AFTER UPDATE OF name, kdf, salt, hash, realm, ha1, ha1_sha256, sha_salt, sha_hash, admin, perms,
                disabled ON users
BEGIN
    UPDATE auth_version SET v = random();
END;
