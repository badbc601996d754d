-- Message routing rules (issue 15, docs/routing.md).
-- Outbound: port groups (named lists of ports) and an ordered list of rules, each routing the
-- recipients it matches (number prefix, user, front end) to its targets in fall-back order.
CREATE TABLE IF NOT EXISTS port_groups (
    name     TEXT PRIMARY KEY,
    ports    TEXT NOT NULL DEFAULT ''       -- "0,1,2": the box's port numbers (0-based)
);
CREATE TABLE IF NOT EXISTS outbound_rules (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    pos      INTEGER NOT NULL,              -- order: the lowest matching pos decides
    prefix   TEXT NOT NULL DEFAULT '',      -- number prefix ("" any): "+44", "07"
    user     TEXT NOT NULL DEFAULT '',      -- "" any user
    dialect  TEXT NOT NULL DEFAULT '',      -- "" any front end
    targets  TEXT NOT NULL,                 -- "group:a;group:b": fall-back order
    created  REAL NOT NULL
);
-- A message's own ports, decided by the rule that matched its number at intake: tiers in
-- fall-back order split by ';' ("0,1;2"). NULL: no rule matched, the task's ports apply.
ALTER TABLE messages ADD COLUMN ports TEXT;

-- Inbound: received SMS forwarded as SMS, queued as the rule's owner.
CREATE TABLE IF NOT EXISTS forward_rules (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    port          INTEGER,                  -- NULL: received on any port
    sender_prefix TEXT NOT NULL DEFAULT '',
    keyword       TEXT NOT NULL DEFAULT '', -- the text's first word, any case ("" any text)
    numbers       TEXT NOT NULL,            -- "+4479...,+4479...": where it goes
    owner         TEXT NOT NULL,            -- the user the forward is queued as (who pays)
    max_per_hour  INTEGER NOT NULL,         -- forwards per sender per hour, at most
    enabled       INTEGER NOT NULL DEFAULT 1,
    created       REAL NOT NULL
);
-- What each forward rule did with each received SMS it matched: 'forwarded', or why not. One
-- row per (rule, received SMS): a restart never forwards the same message twice.
CREATE TABLE IF NOT EXISTS forward_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id   INTEGER NOT NULL,
    inbox_id  INTEGER NOT NULL,
    sender    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    task_id   INTEGER,
    created   REAL NOT NULL,
    UNIQUE(rule_id, inbox_id)
);
CREATE INDEX IF NOT EXISTS forward_log_rate ON forward_log(rule_id, sender, created);
-- Forwards are tasks of the front end "forward": found again to tell a forward's own copy
-- arriving back (loop protection) and to make a restart exactly-once.
CREATE INDEX IF NOT EXISTS tasks_forwards ON tasks(created) WHERE dialect = 'forward';
