-- Pushes that failed for good (issue 15, the Routing page): a route whose receiver kept refusing
-- an event for longer than the route's give-up time parks it here and goes on with the next
-- one; the page lists them and replays one on request. The event itself stays in `events`.
CREATE TABLE IF NOT EXISTS push_failed (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    target    TEXT NOT NULL,                 -- the push cursor's key ("route:<id>")
    event_id  INTEGER NOT NULL,
    error     TEXT NOT NULL,                 -- the last failure ("HTTP 503", "timed out")
    attempts  INTEGER NOT NULL,
    failed    REAL NOT NULL                  -- when it was given up on (epoch seconds)
);
CREATE INDEX IF NOT EXISTS push_failed_target ON push_failed(target);
