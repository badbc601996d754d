-- Settings and budgets per SIM slot (issue 15 "per SIM slot", issue 16 point 4).
-- A slot's value overrides its port's (port_settings); a key a slot lacks is the port's.
CREATE TABLE IF NOT EXISTS slot_settings (
    port  INTEGER NOT NULL,
    slot  INTEGER NOT NULL,                  -- 0..3; 255 is the SIM of a single-slot port
    key   TEXT NOT NULL,                     -- smsd's neutral key (smsd/budgets.py)
    value TEXT NOT NULL,
    PRIMARY KEY (port, slot, key)
);
-- Parts each SIM was handed, per local day ("YYYY-MM-DD"): the day's and month's counts of the
-- message limits survive a restart.
CREATE TABLE IF NOT EXISTS sim_usage (
    port  INTEGER NOT NULL,
    slot  INTEGER NOT NULL,
    day   TEXT NOT NULL,
    parts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (port, slot, day)
);
-- What belongs to one SIM and is not a setting: the credit left (NULL: no credit counter), the
-- own number written with set_port_info, and whether it is blocked (no dispatch).
CREATE TABLE IF NOT EXISTS sim_state (
    port        INTEGER NOT NULL,
    slot        INTEGER NOT NULL,
    credit_left REAL,
    number      TEXT NOT NULL DEFAULT '',
    blocked     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (port, slot)
);
