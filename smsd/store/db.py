"""`Store`: the daemon's durable state in one SQLite file (see docs/INTERFACES.md).

The methods live in mixins by subject: outbox.py (tasks, messages, parts, results, recovery),
inbox.py (inbound SMS, status reports, USSD, registration events), events.py (events, push
cursors, settings), users.py, contacts.py (address book, routes). Plumbing (connections,
transactions) is in sqlite.py.
"""
from __future__ import annotations

import threading

from smsd.store.backup import BackupInfo, write_backup
from smsd.store.contacts import ContactsMixin
from smsd.store.inbox import InboxMixin
from smsd.store.migrate import Migration
from smsd.store.port_settings import PortSettingsMixin
from smsd.store.sqlite import Database
from smsd.store.users import UsersMixin


class Store(InboxMixin, UsersMixin, ContactsMixin, PortSettingsMixin):
    def __init__(self, path: str, *, synchronous: str = "FULL", group_commit: bool = True,
                 migrations: list[Migration] | None = None) -> None:
        self.db = Database(path, synchronous=synchronous, migrations=migrations)
        self.group_commit = group_commit
        self._queue_lock = threading.Lock()
        self._in_queue = 0
        self._init_events()
        self._init_users()
        self._init_outbox()
        self.sn = self._ensure_serial()
        self._recount_queue()

    def backup(self, dest: str) -> BackupInfo:
        """A backup file of the whole database at `dest`, taken online (smsd/store/backup.py);
        `restore()` there puts it back, into this or a newer smsd."""
        return write_backup(self.db.conn(), dest)

    def close(self) -> None:
        self.db.close()
