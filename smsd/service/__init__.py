"""The service layer: the one internal interface API dialects and web pages call.

`Service` composes small objects named by subject; a call reads `svc.<subject>.<verb>(...)`:

    svc.sending        send_sms, message, submission, stop_task, query_results, query_reports,
                       in_queue
    svc.inbox          query (received SMS, paged and filtered)
    svc.folders        each dialect's own folders (inbox, sent, hide, hidden)
    svc.ussd           send, replies
    svc.stk            SIM Toolkit menus: view, frame_id, go
    svc.calls          calls on the GSM side: cdr, set_forward, check_forward, forwarding
    svc.ports          info, control, settings, set_settings, config, connections, connection_*
    svc.users          authenticate, throttle, accounts, permissions, credits, assignments
    svc.access         the access policy (who may see and do what): of, may_control_ports, ...
    svc.book           the address book: contacts, groups, expand, CSV
    svc.recipients     resolve_recipients(items, policy): numbers, names, duplicates, rejects
    svc.routes         forwarding rules for received SMS
    svc.routing        routing rules: port groups, outbound rules, forward as SMS, which
    svc.forwarding     the thread that forwards received SMS as SMS (the daemon starts it)
    svc.subscriptions  subscription lists and list expansion
    svc.network        the box's network settings (appliance only)
    svc.sims           per-SIM-slot settings and budgets, IMEI and own-number writes, block
    svc.search         the console's searches of outbox and inbox, dashboard counts, task progress
    svc.audit          the audit log of admin actions: record(user, action, detail), entries
    svc.certificate    the HTTPS certificate: info, pem, install (when HTTPS is served)
    svc.system         the box: info, logs, backup/restore, restart, reboot, factory reset
    svc.smpp           SMPP binds (passwords), the durable per-user deliver_sm queue
    svc.remote         the remote tunnel to a DRP relay: settings, save, status
    svc.connections    connections to providers (SMPP, HTTP, SMTP): create, configure, run, infos

Shared collaborators (store, scheduler, clock, access policy, limits) are handed to each subject
object explicitly. Every method validates its arguments completely before it writes anything,
raises `smsd.errors.ServiceError` subclasses for the caller's mistakes, and is thread-safe (the
store gives each thread its own connection; the scheduler guards its state with a lock).
"""
from __future__ import annotations

import time
from typing import Callable, Mapping

from smsd.errors import NotFound
from smsd.model import Limits
from smsd.scheduler import Scheduler, WorkerHandle
from smsd.service.access import Access, AccessPolicy
from smsd.service.audit import Audit
from smsd.service.book import AddressBook, Routes
from smsd.service.certificate import Certificate
from smsd.service.folders import Folders
from smsd.service.inbox import Inbox
from smsd.service.network import Network
from smsd.service.ports import Connection, Ports, UnsupportedConnection
from smsd.service.recipients import Recipients
from smsd.service.forwarding import Forwarder
from smsd.service.routes import Routing
from smsd.service.remote import Remote
from smsd.service.search import Search
from smsd.service.sims import Sims
from smsd.service.smpp import Smpp
from smsd.service.sending import PartCounter, Sending, substitute
from smsd.service.subscriptions import Subscriptions
from smsd.service.system import System
from smsd.service.users import Users
from smsd.service.stk import Stk
from smsd.service.ussd import Ussd
from smsd.service.calls import Calls
from smsd.service.connections import ConnectionsService
from smsd.store.db import Store
from smsd.throttle import FailureThrottle

DeviceStatus = Callable[[], dict[str, str]]


class Service:
    def __init__(self, store: Store, scheduler: Scheduler,
                 workers: Mapping[int, WorkerHandle] | None = None, *, limits: Limits = Limits(),
                 codec: PartCounter | None = None, clock: Callable[[], float] = time.time,
                 ussd_wait: float = 30.0, throttle: FailureThrottle | None = None,
                 device_status: DeviceStatus | None = None) -> None:
        self._store = store              # only the subject objects use it (and tests peek)
        self.limits = limits
        self.sn = store.sn
        codec = codec if codec is not None else _pdu()
        # Its own clock by default: monotonic, so a clock step cannot stretch a block.
        throttle = throttle if throttle is not None else FailureThrottle(time.monotonic)
        self.access = AccessPolicy(store)
        self.users = Users(store, throttle)
        self.ports = Ports(scheduler, workers if workers is not None else scheduler.ports,
                           self.access)
        self.sending = Sending(store, scheduler, self.ports, self.users, self.access,
                               limits=limits, codec=codec, clock=clock)
        self.sims = Sims(scheduler, self.ports, self.access, clock=clock)
        self.inbox = Inbox(store, self.access)
        self.folders = Folders(store, self.access)
        self.ussd = Ussd(store, scheduler, self.ports, self.access, limits, clock, ussd_wait)
        self.stk = Stk(scheduler, self.ports, self.access)
        self.calls = Calls(store, scheduler, self.ports, self.access)
        self.book = AddressBook(store)
        self.routes = Routes(store)
        self.routing = Routing(store, scheduler, clock)
        self.forwarding = Forwarder(store, self.sending, self.routing, scheduler, clock)
        self.subscriptions = Subscriptions(store, self.book, clock)
        self.recipients = Recipients(self.book.expand, self.subscriptions.expand, limits)
        self.network = Network()
        self.audit = Audit(store, clock)
        self.search = Search(store, self.access, self.ports.all, clock)
        self.certificate = Certificate()      # the daemon attaches the one HTTPS serves
        self.system = System(store)           # the daemon attaches its controls and log buffer
        self.smpp = Smpp(store, self.users, clock)    # SMPP binds, the deliver_sm queue
        self.remote = Remote(store)           # the daemon attaches the tunnel (smsd/drp)
        # Provider connections (smsd/connections); the daemon attaches their runner.
        self.connections = ConnectionsService(store, self.sending, self.ports, self.routing,
                                              self.access, self.users, clock)
        self._device_status = device_status

    def device_status(self) -> dict[str, str]:
        """The machine's own figures (CPU, memory, ...): known on the appliance only."""
        if self._device_status is None:
            raise NotFound("no device status outside the appliance")
        return self._device_status()


def _pdu() -> PartCounter:
    from smsd import pdu
    return pdu


__all__ = ["Access", "AccessPolicy", "Connection", "Service", "UnsupportedConnection", "substitute"]
