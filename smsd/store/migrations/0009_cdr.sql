-- Call detail records (issue 16): every call a modem port saw, one row when it ended. The JSON
-- API's get_cdr reads them and each one is pushed as a `cdr` event in the same transaction.
CREATE TABLE IF NOT EXISTS cdr (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    port               INTEGER NOT NULL,
    slot               INTEGER NOT NULL,          -- 255 on a single-SIM port
    imsi               TEXT NOT NULL DEFAULT '',  -- the SIM that was called
    direction          TEXT NOT NULL,             -- "gsm->ip": a call from the GSM side
    source_number      TEXT NOT NULL,             -- the caller (+CLIP), "" when withheld
    destination_number TEXT NOT NULL,             -- the SIM's own number
    started            REAL NOT NULL,             -- first RING (epoch seconds)
    answered           REAL,                      -- NULL: never answered
    ended              REAL NOT NULL,
    duration           INTEGER NOT NULL,          -- seconds from answer to end (0 unanswered)
    hangup             TEXT NOT NULL,             -- who ended it: calling, called or gateway
    gsm_code           INTEGER NOT NULL,          -- release cause (AT+CEER, TS 24.008 10.5.4.11)
    policy             TEXT NOT NULL DEFAULT ''   -- the port's call policy then (reject, ...)
);
CREATE INDEX IF NOT EXISTS cdr_started ON cdr(started);
CREATE INDEX IF NOT EXISTS cdr_port_started ON cdr(port, started);
