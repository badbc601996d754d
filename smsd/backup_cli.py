"""`smsd backup [--config-only] FILE` and `smsd restore FILE`: the database to a file and back.

Without `--config-only` the backup is the whole database; with it, the configuration only (users,
permissions, address book, routing, port and SIM settings, settings, and a reference to the HTTPS
certificate in the state dir; no message history), to set up another box. `smsd restore` tells
the two apart by the file: a configuration backup replaces only the configuration of the target
database and keeps its messages.

The file format is smsd/store/backup.py's (versioned; a restore into a newer smsd runs the same
migrations as an upgrade). A backup can be taken while the daemon runs; a restore is for a
stopped daemon (`systemctl stop smsd` first): the running one would keep its counters and caches
of the replaced contents.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
from typing import Any

from smsd import config
from smsd.store import backup
from smsd.system import tls
from smsd.store.migrate import SchemaError

DB_FILE = "smsd.db"                  # the daemon's file name in the state dir


def add_backup_commands(sub: Any) -> None:
    """Add `backup` and `restore` to the `smsd` parser's subparsers."""
    made = sub.add_parser("backup", help="copy the database to FILE (safe while running)")
    made.add_argument("--config-only", action="store_true",
                      help="the configuration only (users, address book, routing, port "
                           "settings; no messages), to restore on another box")
    made.add_argument("file", help="the backup file to write")
    made.set_defaults(handler=run_backup)
    back = sub.add_parser("restore", help="replace the database with the backup FILE "
                                          "(stop the daemon first)")
    back.add_argument("file", help="a file written by `smsd backup`, or a smsd.db.pre-v*.bak")
    back.set_defaults(handler=run_restore)
    for p in (made, back):
        config.add_state_options(p)


def run_backup(args: argparse.Namespace, start: config.Startup) -> int:
    path = os.path.join(start.state_dir, DB_FILE)
    start.announce()
    if not os.path.isfile(path):
        print(f"smsd: no database {path}", file=sys.stderr)
        return 1
    try:
        # A plain connection: a backup copies the file as it is, whatever its schema version.
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            info = backup.write_backup(
                conn, args.file, config_only=args.config_only,
                certificate=tls.stored_reference(start.state_dir) if args.config_only else "")
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as exc:
        print(f"smsd: backup failed: {exc}", file=sys.stderr)
        return 1
    what = "configuration backup" if args.config_only else "backup"
    print(f"{what} of {path} written to {args.file} (schema version {info.schema})")
    return 0


def run_restore(args: argparse.Namespace, start: config.Startup) -> int:
    path = os.path.join(start.state_dir, DB_FILE)
    start.announce()
    try:
        os.makedirs(start.state_dir, mode=0o750, exist_ok=True)
        info = backup.restore(args.file, path)
    except SchemaError as exc:
        print(f"smsd: {exc}", file=sys.stderr)
        return 1
    except (sqlite3.Error, OSError) as exc:
        print(f"smsd: restore failed: {exc}", file=sys.stderr)
        return 1
    made = (f", written by smsd {info.smsd} on "
            f"{dt.datetime.fromtimestamp(info.created).isoformat(timespec='seconds')}"
            if info.created is not None else "")
    kept = path + backup.PRE_RESTORE_SUFFIX
    what = "the configuration of " if info.kind == backup.CONFIG else ""
    print(f"restored {what}{args.file} (schema version {info.schema}{made}) into {path}"
          + (f"; the replaced database is in {kept}" if os.path.exists(kept) else ""))
    if info.certificate:
        print(f"the box it came from served the HTTPS certificate {info.certificate}")
    return 0
