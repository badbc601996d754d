-- Schema version 1: the database of smsd v0.1.0, the first release, frozen. Never edit this file:
-- a change to the schema is a new migration, NNNN_what.sql, next to it (docs/upgrading.md).
--
-- A database written by v0.1.0 has user_version 0 and was grown at open by CREATE ... IF NOT
-- EXISTS plus ALTER TABLE ADD COLUMN; smsd/store/migrate.py adopts such a file as version 1 by
-- comparing it with this script's result. The columns v0.1.0 added with ALTER TABLE are declared
-- at the end of their tables, in the order it added them, so both paths give the same tables.
--
-- smsd durable state. Times are UNIX epoch seconds (REAL); API strings are made on the way out.
-- AUTOINCREMENT where an id is shown to customers (task_id, incoming_sms_id, event cursors) so
-- that an id is never reused even if old rows are purged.

CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tasks (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user     TEXT NOT NULL DEFAULT '',
    text     TEXT NOT NULL,
    encoding TEXT NOT NULL DEFAULT 'auto',
    srr      INTEGER NOT NULL DEFAULT 1,          -- request status reports
    ports    TEXT,                                -- "0,3,5": allowed ports; NULL = any
    created  REAL NOT NULL,
    stopped  INTEGER NOT NULL DEFAULT 0,
    sender   TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0,
    dialect  TEXT NOT NULL DEFAULT '',
    -- payload kinds and IntelliSoftware reply tracking
    flash    INTEGER NOT NULL DEFAULT 0,
    data     BLOB,
    udh      BLOB,
    usercontext TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tasks_usercontext ON tasks(id) WHERE usercontext != '';

-- One row per recipient. stage: 0 waiting (no parts yet: PDUs are built at dispatch time),
-- 1 parts exist, 2 final (status is FAILED, SENT_OK or DELIVERED).
CREATE TABLE IF NOT EXISTS messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    INTEGER NOT NULL,
    number     TEXT NOT NULL,
    text       TEXT,                              -- NULL: the task's text
    user_id    INTEGER,
    count      INTEGER NOT NULL,                  -- parts
    succ_count INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL DEFAULT 'SENDING',
    stage      INTEGER NOT NULL DEFAULT 0,
    port       INTEGER,
    imsi       TEXT NOT NULL DEFAULT '',
    ref_id     INTEGER,                           -- TP-MR of the first part
    reason     TEXT NOT NULL DEFAULT '',
    time       REAL NOT NULL,                     -- accepted; then when the first part went out
    done       REAL,
    priority   INTEGER NOT NULL DEFAULT 0         -- the task's, so one index ranks the waiting
);
CREATE INDEX IF NOT EXISTS messages_waiting_rank ON messages(priority DESC, id) WHERE stage = 0;
CREATE INDEX IF NOT EXISTS messages_task ON messages(task_id);
CREATE INDEX IF NOT EXISTS messages_user ON messages(user_id) WHERE user_id IS NOT NULL;

-- One row per part send. status: queued | leased | on_air | sent | failed | unknown | stopped.
CREATE TABLE IF NOT EXISTS parts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    pdu        TEXT NOT NULL,
    tpdu_len   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    port       INTEGER,                           -- port holding it (leased/on_air) or that sent it
    pref_port  INTEGER,                           -- keep the parts of one message on one SIM
    avoid_port INTEGER,                           -- the port its last attempt failed on
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_try   REAL NOT NULL DEFAULT 0,
    leased     REAL,
    mr         INTEGER,
    cms        INTEGER,
    error      TEXT NOT NULL DEFAULT '',
    sent       REAL,
    imsi       TEXT NOT NULL DEFAULT '',
    dr_status  INTEGER,                           -- last TP-ST heard for it
    delivered  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS parts_message ON parts(message_id);
-- Partial indexes: SQLite uses one only for a query repeating its WHERE term exactly.
CREATE INDEX IF NOT EXISTS parts_queued ON parts(id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS parts_leased ON parts(id) WHERE status = 'leased';
CREATE INDEX IF NOT EXISTS parts_on_air ON parts(id) WHERE status = 'on_air';
CREATE INDEX IF NOT EXISTS parts_mr ON parts(port, mr, sent) WHERE mr IS NOT NULL;

CREATE TABLE IF NOT EXISTS delivery_reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    port       INTEGER NOT NULL,
    slot       INTEGER NOT NULL,
    imsi       TEXT NOT NULL DEFAULT '',
    mr         INTEGER NOT NULL,
    number     TEXT NOT NULL,
    st         INTEGER NOT NULL,
    scts       REAL,
    discharge  REAL,
    received   REAL NOT NULL,
    time       REAL NOT NULL,                     -- sent time of the matched part, else received
    part_id    INTEGER,
    message_id INTEGER
);
CREATE INDEX IF NOT EXISTS delivery_reports_time ON delivery_reports(time);

-- Parts of concatenated inbound messages waiting for their siblings.
CREATE TABLE IF NOT EXISTS inbound_parts (
    id       INTEGER PRIMARY KEY,
    key      TEXT NOT NULL,                       -- imsi, else "port/slot"
    sender   TEXT NOT NULL,
    ref      INTEGER NOT NULL,
    total    INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    text     TEXT NOT NULL,
    port     INTEGER NOT NULL,
    slot     INTEGER NOT NULL,
    imsi     TEXT NOT NULL,
    smsc     TEXT NOT NULL,
    scts     REAL,
    received REAL NOT NULL,
    UNIQUE (key, sender, ref, total, seq)
);

CREATE TABLE IF NOT EXISTS inbound (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    port      INTEGER NOT NULL,
    slot      INTEGER NOT NULL,
    imsi      TEXT NOT NULL,
    number    TEXT NOT NULL,
    smsc      TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    text      TEXT NOT NULL,
    received  REAL NOT NULL,
    read      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbound_read ON inbound(read, id);

-- PDUs that could not be decoded: kept rather than lost (the worker deletes them from the SIM).
CREATE TABLE IF NOT EXISTS bad_pdus (
    id       INTEGER PRIMARY KEY,
    port     INTEGER NOT NULL,
    slot     INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    pdu      TEXT NOT NULL,
    error    TEXT NOT NULL,
    received REAL NOT NULL
);

-- USSD both ways: direction 'out' (we sent) or 'in' (network reply).
CREATE TABLE IF NOT EXISTS ussd (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    port      INTEGER NOT NULL,
    direction TEXT NOT NULL,
    text      TEXT NOT NULL,
    status    INTEGER,
    created   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ussd_port ON ussd(port, id);

CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS push_cursors (
    target   TEXT PRIMARY KEY,
    event_id INTEGER NOT NULL
) WITHOUT ROWID;

-- Per-port counters that must survive restarts (register event sequence numbers).
CREATE TABLE IF NOT EXISTS port_state (
    port     INTEGER PRIMARY KEY,
    sequence INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS users (
    name    TEXT PRIMARY KEY,
    kdf     TEXT NOT NULL,                        -- "scrypt:n:r:p"
    salt    BLOB NOT NULL,
    hash    BLOB NOT NULL,
    realm   TEXT NOT NULL,
    ha1     TEXT NOT NULL,                        -- MD5(name:realm:password) for HTTP Digest
    admin   INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    perms   TEXT NOT NULL DEFAULT 'web,api:json,api:isms,api:gateway_php,api:intelli,api:ozeki',
    credits INTEGER,                              -- SMS parts left; NULL = unlimited
    sha_salt BLOB,                                -- slow hash of the password's SHA-1 hex
    sha_hash BLOB
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS delivery_reports_message ON delivery_reports(message_id)
    WHERE message_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS contacts (
    name   TEXT PRIMARY KEY,
    number TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS contact_groups (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS group_members (
    group_name TEXT NOT NULL,
    pos        INTEGER NOT NULL,                  -- members keep the order they were given in
    contact    TEXT NOT NULL,
    PRIMARY KEY (group_name, pos)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_contact ON group_members(contact);

-- Forward received SMS to a URL (push worker; cursor "route:<id>" in push_cursors).
CREATE TABLE IF NOT EXISTS routes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT NOT NULL,
    protocol      TEXT NOT NULL,
    port          INTEGER,
    sender_prefix TEXT NOT NULL DEFAULT '',
    text_prefix   TEXT NOT NULL DEFAULT '',
    created       REAL NOT NULL
);

-- Per-port settings (Ozeki "connections"): upper-case key -> text value; absent = default.
CREATE TABLE IF NOT EXISTS port_settings (
    port  INTEGER NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (port, key)
) WITHOUT ROWID;

-- Messages a dialect's client deleted from its view (kind 'in' = inbound id, 'out' = message id);
-- the rows themselves stay for the other dialects and the delivery bookkeeping.
CREATE TABLE IF NOT EXISTS dialect_hidden (
    dialect TEXT NOT NULL,
    kind    TEXT NOT NULL,
    id      INTEGER NOT NULL,
    PRIMARY KEY (dialect, kind, id)
) WITHOUT ROWID;

-- IntelliSoftware subscription lists (smsd/store/intelli.py). state: 1 opted in, 2 opted out.
CREATE TABLE IF NOT EXISTS subscriptions (
    list    TEXT NOT NULL,
    msisdn  TEXT NOT NULL,                        -- digits as given, no "+" (international)
    state   INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (list, msisdn)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subscriptions_msisdn ON subscriptions(msisdn);
