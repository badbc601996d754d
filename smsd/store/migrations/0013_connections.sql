-- Connections to service providers beyond the GSM ports (issue 18, docs/connections.md):
-- SMPP, HTTP client, HTTP server and SMTP, as Ozeki NG "drivers". A connection's number in a
-- message's ports (the routing tiers of migration 0011) is 10000 + its id.
CREATE TABLE IF NOT EXISTS connections (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL UNIQUE,
    kind      TEXT NOT NULL,                 -- SMPP | HTTPClient | HTTPServer | SMTP
    settings  TEXT NOT NULL DEFAULT '{}',    -- JSON: upper-case key -> text, only those set
    running   INTEGER NOT NULL DEFAULT 1,    -- startdriver / stopdriver
    created   REAL NOT NULL
);
-- What a connection did with each message routed to it. state: on_air (handed to the
-- connection, no answer yet) | sent | failed | delivered | undelivered. remote_id: the
-- provider's message id, which its delivery receipts name.
CREATE TABLE IF NOT EXISTS connection_sends (
    message_id  INTEGER PRIMARY KEY,
    connection  INTEGER NOT NULL,
    remote_id   TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    updated     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS connection_sends_remote ON connection_sends(connection, remote_id);
