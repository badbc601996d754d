-- Schema version 2: what a user may see of the inbox (issue 13, ownership and roles).
--
-- A user who is not an admin sees the inbound messages of the ports and of the forwarding routes
-- assigned to them here (kind 'port': ref is a modem port number; kind 'route': ref is a
-- routes.id, matched with the route's own filters), and nothing else of the inbox. Their sent
-- messages and tasks are theirs by tasks.user; the index serves those per-user lookups.

CREATE TABLE IF NOT EXISTS user_inbound (
    user TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('port', 'route')),
    ref  INTEGER NOT NULL,
    PRIMARY KEY (user, kind, ref)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS tasks_user ON tasks(user);
