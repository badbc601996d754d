-- A database written by smsd v0.1.0 (Store() of the v0.1.0 tree, one user, one setting), dumped
-- with sqlite3's iterdump. tests/test_migrations.py loads it to check the adoption as schema version 1.
BEGIN TRANSACTION;
CREATE TABLE bad_pdus (
    id       INTEGER PRIMARY KEY,
    port     INTEGER NOT NULL,
    slot     INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    pdu      TEXT NOT NULL,
    error    TEXT NOT NULL,
    received REAL NOT NULL
);
CREATE TABLE contact_groups (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE contacts (
    name   TEXT PRIMARY KEY,
    number TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE delivery_reports (
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
CREATE TABLE dialect_hidden (
    dialect TEXT NOT NULL,
    kind    TEXT NOT NULL,
    id      INTEGER NOT NULL,
    PRIMARY KEY (dialect, kind, id)
) WITHOUT ROWID;
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE group_members (
    group_name TEXT NOT NULL,
    pos        INTEGER NOT NULL,                  -- members keep the order they were given in
    contact    TEXT NOT NULL,
    PRIMARY KEY (group_name, pos)
) WITHOUT ROWID;
CREATE TABLE inbound (
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
CREATE TABLE inbound_parts (
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
CREATE TABLE messages (
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
    done       REAL
, priority INTEGER NOT NULL DEFAULT 0);
CREATE TABLE parts (
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
CREATE TABLE port_settings (
    port  INTEGER NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (port, key)
) WITHOUT ROWID;
CREATE TABLE port_state (
    port     INTEGER PRIMARY KEY,
    sequence INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE push_cursors (
    target   TEXT PRIMARY KEY,
    event_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE routes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT NOT NULL,
    protocol      TEXT NOT NULL,
    port          INTEGER,
    sender_prefix TEXT NOT NULL DEFAULT '',
    text_prefix   TEXT NOT NULL DEFAULT '',
    created       REAL NOT NULL
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO "settings" VALUES('example','1');
INSERT INTO "settings" VALUES('sn','9558-a603-0aca-538a');
CREATE TABLE subscriptions (
    list    TEXT NOT NULL,
    msisdn  TEXT NOT NULL,                        -- digits as given, no "+" (international)
    state   INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (list, msisdn)
) WITHOUT ROWID;
CREATE TABLE tasks (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user     TEXT NOT NULL DEFAULT '',
    text     TEXT NOT NULL,
    encoding TEXT NOT NULL DEFAULT 'auto',
    srr      INTEGER NOT NULL DEFAULT 1,          -- request status reports
    ports    TEXT,                                -- "0,3,5": allowed ports; NULL = any
    created  REAL NOT NULL,
    stopped  INTEGER NOT NULL DEFAULT 0
, sender TEXT NOT NULL DEFAULT '', priority INTEGER NOT NULL DEFAULT 0, dialect TEXT NOT NULL DEFAULT '', flash INTEGER NOT NULL DEFAULT 0, data BLOB, udh BLOB, usercontext TEXT NOT NULL DEFAULT '');
CREATE TABLE users (
    name    TEXT PRIMARY KEY,
    kdf     TEXT NOT NULL,                        -- "scrypt:n:r:p"
    salt    BLOB NOT NULL,
    hash    BLOB NOT NULL,
    realm   TEXT NOT NULL,
    ha1     TEXT NOT NULL,                        -- MD5(name:realm:password) for HTTP Digest
    admin   INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
, perms TEXT NOT NULL DEFAULT 'web,api:json,api:isms,api:gateway_php,api:intelli,api:ozeki', credits INTEGER, sha_salt BLOB, sha_hash BLOB) WITHOUT ROWID;
INSERT INTO "users" VALUES('alice','scrypt:16384:8:1',X'6B155BF7814AC81A16089B7EE2CDEE27',X'3B0E74A48F29AAAFB75823657CD0AC4BAE24119993E87C36DB42077D5D809CCD','smsd','5af651c7bed5a3b2da95435d40fdd77c',0,1.79659183516411757475e+09,'api:json',7,X'FAAF98DBFA0D67CE81C01CE0480B4A9B',X'122EE074677416D132DBF652DCF096B462BD353652EF42B4E964653E3F281416');
CREATE TABLE ussd (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    port      INTEGER NOT NULL,
    direction TEXT NOT NULL,
    text      TEXT NOT NULL,
    status    INTEGER,
    created   REAL NOT NULL
);
CREATE INDEX messages_task ON messages(task_id);
CREATE INDEX messages_user ON messages(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX parts_message ON parts(message_id);
CREATE INDEX parts_queued ON parts(id) WHERE status = 'queued';
CREATE INDEX parts_leased ON parts(id) WHERE status = 'leased';
CREATE INDEX parts_on_air ON parts(id) WHERE status = 'on_air';
CREATE INDEX parts_mr ON parts(port, mr, sent) WHERE mr IS NOT NULL;
CREATE INDEX delivery_reports_time ON delivery_reports(time);
CREATE INDEX inbound_read ON inbound(read, id);
CREATE INDEX ussd_port ON ussd(port, id);
CREATE INDEX delivery_reports_message ON delivery_reports(message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX group_members_contact ON group_members(contact);
CREATE INDEX subscriptions_msisdn ON subscriptions(msisdn);
CREATE INDEX messages_waiting_rank ON messages(priority DESC, id) WHERE stage = 0;
DELETE FROM "sqlite_sequence";
COMMIT;
