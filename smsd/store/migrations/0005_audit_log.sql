-- The audit log of administrative actions (issue 15): who changed users, routing, the network,
-- restored a backup or reset the box, from the web console or the commands. Append-only; the
-- System page lists it newest first.

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,                    -- seconds since the epoch
    user    TEXT NOT NULL,                    -- who did it ("" for the box itself)
    action  TEXT NOT NULL,                    -- e.g. "user.create", "network.apply"
    detail  TEXT NOT NULL DEFAULT ''          -- what exactly, for a human reader
);

CREATE INDEX audit_log_created ON audit_log(created);
