-- SMPP server (issue 18): separate SMPP passwords for users whose password is longer than the
-- 8 characters a bind PDU carries, and the durable per-user queue of deliver_sm (delivery
-- receipts, received SMS) that waits for a receiver bind; a row is deleted when the ESME
-- acknowledged it (deliver_sm_resp). The feeder's cursor is push_cursors' "smpp" row.
CREATE TABLE smpp_passwords (
    user TEXT PRIMARY KEY,
    kdf  TEXT NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TABLE smpp_queue (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user    TEXT NOT NULL,
    kind    TEXT NOT NULL,                -- receipt | sms
    payload TEXT NOT NULL,                -- JSON: what the deliver_sm is built from
    created REAL NOT NULL
);
CREATE INDEX smpp_queue_user ON smpp_queue(user, id);
