"""`Store`: the daemon's durable state in one SQLite file (see docs/INTERFACES.md).

One `Database` (sqlite.py: a connection per thread, one write-transaction helper, group commit)
and a repository per subject over it, each given the database and the repositories it needs:

    events         events.py        events push targets hear of, push cursors
    settings       events.py        installation settings (the serial number)
    outbox         outbox.py        tasks, messages, parts, results, recovery
    subscriptions  subscriptions.py subscription lists, STOP, reply context
    payloads       subscriptions.py a task's payload kind (flash, binary, UDH)
    inbox          inbox.py         inbound SMS, status reports, USSD, registration events
    users          users.py         accounts, passwords, credits, assignments
    contacts       contacts.py      address book (contacts, groups)
    routes         contacts.py      forwarding rules for received SMS
    port_settings  port_settings.py per-port settings by neutral key
    views          port_settings.py per-dialect hidden flags ("deleted" in one dialect)
    audit          audit.py         the audit log of administrative actions
    push_failed    push_failed.py   pushes a route gave up on (listed, replayed)
    cdr            cdr.py           call detail records (calls the ports saw) and their events
    search         search.py        the web console's searches of outbox and inbox (read-only)
    sim_slots      sim_slots.py     per-SIM-slot settings, usage, credit, number, block flag
    smpp           smpp_queue.py    SMPP passwords and the per-user deliver_sm queue
"""
from __future__ import annotations

from smsd.store.audit import AuditLog
from smsd.store.cdr import CallRecords
from smsd.store.backup import BackupInfo, write_backup
from smsd.store.contacts import Contacts, Routes
from smsd.store.events import Events, Settings
from smsd.store.inbox import Inbox
from smsd.store.migrate import Migration
from smsd.store.outbox import Outbox
from smsd.store.port_settings import DialectViews, PortSettings
from smsd.store.push_failed import PushFailures
from smsd.store.routes_rules import RoutingRules
from smsd.store.search import Search
from smsd.store.sim_slots import SimSlots
from smsd.store.smpp_queue import SmppQueue
from smsd.store.sqlite import Database
from smsd.store.subscriptions import Payloads, Subscriptions
from smsd.store.users import Users


class Store:
    def __init__(self, path: str, *, synchronous: str = "FULL", group_commit: bool = True,
                 migrations: list[Migration] | None = None) -> None:
        self.db = Database(path, synchronous=synchronous, migrations=migrations)
        self.events = Events(self.db)
        self.settings = Settings(self.db)
        self.outbox = Outbox(self.db, self.events, group_commit=group_commit)
        self.subscriptions = Subscriptions(self.db, self.events)
        self.payloads = Payloads(self.db)
        self.inbox = Inbox(self.db, self.events, self.outbox, self.subscriptions)
        self.users = Users(self.db)
        self.contacts = Contacts(self.db)
        self.routes = Routes(self.db)
        self.routing_rules = RoutingRules(self.db)   # one: it keeps the outbound rules read
        self.port_settings = PortSettings(self.db)
        self.views = DialectViews(self.db)
        self.audit = AuditLog(self.db)
        self.push_failed = PushFailures(self.db)
        self.cdr = CallRecords(self.db, self.events)
        self.search = Search(self.db)
        self.sim_slots = SimSlots(self.db, self.events)
        self.smpp = SmppQueue(self.db)
        self.sn = self.settings.ensure_serial()

    def backup(self, dest: str, *, config_only: bool = False, certificate: str = ""
               ) -> BackupInfo:
        """A backup file of the whole database (or with `config_only` of its configuration, the
        certificate in use named by `certificate`) at `dest`, taken online
        (smsd/store/backup.py); `restore()` there puts it back, into this or a newer smsd."""
        return write_backup(self.db.conn(), dest, config_only=config_only,
                            certificate=certificate)

    def close(self) -> None:
        self.db.close()
