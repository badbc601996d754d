-- HTTP Digest becomes an opt-in per user (issue 13, docs/security.md).
--
-- A Digest HA1 is a password equivalent for its realm and cannot be salted or slowed (the
-- protocol needs it as it is), so it is kept only for users who use Digest: `ha1` (MD5) may now
-- be NULL, and `ha1_sha256` holds SHA-256(name:realm:password) for RFC 7616 clients. Both are
-- NULL when Digest is off. Existing users had Digest working and keep it (their MD5 HA1 stays,
-- so integrations do not break at the upgrade); SHA-256 is added the next time their password
-- is set or confirmed (`smsd user digest NAME on`). SQLite cannot drop a NOT NULL constraint,
-- so the table is rebuilt with the same columns in the same order, plus the new one at the end.

CREATE TABLE users_v2 (
    name    TEXT PRIMARY KEY,
    kdf     TEXT NOT NULL,                        -- "scrypt:n:r:p"
    salt    BLOB NOT NULL,
    hash    BLOB NOT NULL,
    realm   TEXT NOT NULL,
    ha1     TEXT,                                 -- MD5(name:realm:password); NULL: no Digest
    admin   INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    perms   TEXT NOT NULL DEFAULT 'web,api:json,api:isms,api:gateway_php,api:intelli,api:ozeki',
    credits INTEGER,                              -- SMS parts left; NULL = unlimited
    sha_salt BLOB,                                -- slow hash of the password's SHA-1 hex
    sha_hash BLOB,
    ha1_sha256 TEXT                               -- SHA-256(name:realm:password); NULL: none
) WITHOUT ROWID;

INSERT INTO users_v2 (name, kdf, salt, hash, realm, ha1, admin, created, perms, credits,
                      sha_salt, sha_hash, ha1_sha256)
    SELECT name, kdf, salt, hash, realm, NULLIF(ha1, ''), admin, created, perms, credits,
           sha_salt, sha_hash, NULL
    FROM users;

DROP TABLE users;

ALTER TABLE users_v2 RENAME TO users;
