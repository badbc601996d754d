-- A user can be disabled (issue 15, the Users page): kept with its settings, password,
-- assignments and messages, but refused everywhere until enabled again.

ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
