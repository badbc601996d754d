"""svc.connections: connections to service providers beyond the GSM ports (docs/connections.md).

SMPP, HTTPClient, HTTPServer and SMTP connections (Ozeki NG's "drivers" of those types): create,
configure (every key of the type's table in the Ozeki document; keys the box does not act on
are stored and reported as having no effect here), start, stop, delete, list with their state.
Their settings live in the store (migration 0013); the daemon attaches the running side
(smsd/connections/manager.py), which this object also serves as the `Inbound` callback: what a
provider sends (SMS, receipts, e-mail to SMS, HTTP posts) is stored or queued through here.

Outbound routing rules name a connection as a target ("conn:NAME", svc.routing), so a message
reaches a connection only through a rule.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from smsd.connections.base import Received, Receipt, Status
from smsd.connections.http_client import fixed_authority
from smsd.connections.http_server import HttpServerConnection, RequestRefused
from smsd.connections.keys import (GSM_KEYS, KINDS, SECRETS, UNSUPPORTED, effective, has_effect,
                                   known)
from smsd.errors import AuthError, BadRequest, Forbidden, NotFound
from smsd.model import Recipient, SendRequest
from smsd.numbers import is_normal, normalise_number
from smsd.routing import CONNECTION_BASE
from smsd.service.access import AccessPolicy
from smsd.service.ports import GSM_TYPES, Ports, UnsupportedConnection
from smsd.service.routes import Routing
from smsd.service.sending import Sending
from smsd.service.users import Users
from smsd.store.connections import ConnectionRow, Connections as ConnectionRows
from smsd.store.db import Store

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,32}").fullmatch
NO_EFFECT = "accepted, has no effect on this box"
MAX_VALUE = 1024
ON_OFF = frozenset({"on", "off"})
DIALECT = "smtp"                 # the front end of tasks queued from e-mail


class Runner(Protocol):
    """The running side (smsd/connections/manager.py), attached by the daemon."""

    def reload(self, name: str) -> None: ...

    def status(self, name: str) -> Status: ...

    def kick(self) -> None: ...

    def connection(self, name: str) -> object | None: ...


@dataclass(frozen=True)
class ConnectionInfo:
    name: str
    kind: str
    number: int                    # its number in messages' ports and the inbox's port column
    running: bool                  # started (startdriver) or stopped
    up: bool                       # can take a message now
    detail: str
    settings: dict[str, str]       # every key with its value (secrets masked), stored or default


@dataclass(frozen=True)
class Configured:
    info: ConnectionInfo
    used: dict[str, str]           # keys set that the box acts on
    no_effect: dict[str, str]      # keys set that are stored but change nothing here


def _kind(text: str) -> str:
    for kind in KINDS:
        if text.strip().lower() == kind.lower():
            return kind
    for kind in UNSUPPORTED:
        if text.strip().lower() == kind.lower():
            raise UnsupportedConnection(f"connection type {kind} is not supported on this box "
                                        f"(it runs GSMModem, {', '.join(KINDS)})")
    raise UnsupportedConnection(f"unknown connection type {text.strip()[:40]!r}: this box runs "
                                f"GSMModem, {', '.join(KINDS)}")


def check_value(kind: str, key: str, value: str) -> str:
    """A setting's value as stored; BadRequest (reason "setting") when it cannot be one."""
    value = value.strip()
    if len(value) > MAX_VALUE or not value.isprintable():
        raise _setting(f"{key}: at most {MAX_VALUE} printable characters")
    default = known(kind)[key]
    if default.lower() in ON_OFF and value.lower() not in ON_OFF:
        raise _setting(f"{key} must be on or off")
    if key in ("PORT", "SMTPPORT", "BINDTOPORT") and not (value.isascii()
                                                          and value.isdigit()
                                                          and int(value) <= 65535):
        raise _setting(f"{key} must be a TCP port number")
    if key == "MODE" and value.lower() not in ("transmitter", "receiver", "transceiver"):
        raise _setting("MODE must be Transmitter, Receiver or Transceiver")
    if key == "REQUESTMETHOD" and value.lower() not in ("get", "post"):
        raise _setting("REQUESTMETHOD must be Get or Post")
    if key == "LISTEN" and value and not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+:[0-9]{1,5}", value):
        raise _setting("LISTEN must be HOST:PORT")
    if key in ("TARGETURL", "TARGETURLBIN") and value and not value.lower().startswith(
            ("http://", "https://")):
        raise _setting(f"{key} must be an http:// or https:// URL template")
    if key in ("TARGETURL", "TARGETURLBIN") and not fixed_authority(value):
        raise _setting(f"{key}: no $variable in the scheme, host or port (a message must not "
                       "choose where the box connects)")
    return value


def _setting(message: str) -> BadRequest:
    exc = BadRequest(message)
    exc.reason = "setting"
    return exc


class ConnectionsService:
    def __init__(self, store: Store, sending: Sending, ports: Ports, routing: Routing,
                 access: AccessPolicy, users: Users, clock: Callable[[], float] = time.time
                 ) -> None:
        self.rows = ConnectionRows(store.db, store.events, store.outbox)
        self._store = store
        self._sending = sending
        self._ports = ports
        self._routing = routing
        self._access = access
        self._users = users
        self._clock = clock
        self._runner: Runner | None = None
        self._lock = threading.Lock()

    def attach(self, runner: Runner) -> None:
        self._runner = runner

    # --- reading ----------------------------------------------------------------------------
    def _row(self, name: str) -> ConnectionRow:
        row = self.rows.get(name)
        if row is None:
            raise NotFound(f"no connection named {name!r}")
        return row

    def exists(self, name: str) -> bool:
        return self.rows.get(name) is not None

    def info(self, name: str) -> ConnectionInfo:
        return self._info(self._row(name))

    def _info(self, row: ConnectionRow) -> ConnectionInfo:
        status = (self._runner.status(row.name) if self._runner is not None
                  else Status(False, "not running (no connection runner)"))
        shown = {k: ("********" if k in SECRETS and v else v)
                 for k, v in effective(row.kind, row.settings).items()}
        return ConnectionInfo(row.name, row.kind, CONNECTION_BASE + row.id, row.running,
                              row.running and status.up, status.detail if row.running
                              else "stopped", shown)

    def infos(self, user: str | None = None) -> list[ConnectionInfo]:
        self._access.require_port_control(user, "connection management")
        return [self._info(r) for r in self.rows.all()]

    def name_of(self, number: int) -> str | None:
        """The provider connection with this number (a message's or received SMS's port)."""
        return next((r.name for r in self.rows.all() if CONNECTION_BASE + r.id == number), None)

    def names(self) -> list[str]:
        """Every connection's name (routing targets offered on the Routing page)."""
        return [r.name for r in self.rows.all()]

    @staticmethod
    def gsm_no_effect(keys: list[str], port_keys: frozenset[str]) -> list[str]:
        """Keys of the document's GSM modem table that a modem port has no setting for
        (`port_keys`: those it has): accepted, with no effect on this box."""
        return [k for k in keys if k.upper() in GSM_KEYS and k.upper() not in port_keys]

    @staticmethod
    def kind_of(text: str) -> str | None:
        """A provider connection type by name (SMPP, HTTPClient...); None for a GSM modem;
        UnsupportedConnection for the document's types this box does not run."""
        if text.strip().lower() in GSM_TYPES:
            return None
        return _kind(text)

    # --- changes ----------------------------------------------------------------------------
    def create(self, kind: str, name: str | None = None, user: str | None = None
               ) -> ConnectionInfo:
        self._require_admin(user)
        chosen_kind = _kind(kind)
        with self._lock:
            chosen = (name or "").strip() or self._free_name(chosen_kind)
            if not _NAME(chosen):
                raise BadRequest("name: 1 to 32 letters, digits, '_', '.' or '-'")
            if self.exists(chosen) or self._is_port_connection(chosen):
                raise BadRequest(f"a connection named {chosen!r} exists")
            # Made stopped: a new connection has only the document's defaults (a provider at
            # 127.0.0.1:9876...), so it starts when configured and started.
            self.rows.add(chosen, chosen_kind, {"OPERATOR": chosen}, self._clock())
            self.rows.set_running(chosen, False)
        return self.info(chosen)

    def _require_admin(self, user: str | None) -> None:
        """Making, changing or deleting a provider connection is an admin's: its settings say
        where messages go (any URL, any SMSC), which address listens, and which user an e-mail
        sender is sent as -- more than the `ports` permission's control of the box's modems."""
        access = self._access.of(user)
        if access is not None and not access.admin:
            raise Forbidden("making or changing a provider connection needs an admin")

    def _free_name(self, kind: str) -> str:
        stem = re.sub(r"[0-9]+$", "", known(kind)["OPERATOR"]) or kind
        n = 0
        while self.exists(f"{stem}{n}") or self._is_port_connection(f"{stem}{n}"):
            n += 1
        return f"{stem}{n}"

    def _is_port_connection(self, name: str) -> bool:
        try:
            self._ports.connection_port(name)
        except NotFound:
            return False
        return True

    def configure(self, name: str, values: Mapping[str, str], user: str | None = None
                  ) -> Configured:
        """Store `values` (KEY -> value, keys of the type's table in any case); every key and
        value is checked before anything is stored. A running connection restarts with them."""
        self._require_admin(user)
        row = self._row(name)
        accepted = known(row.kind)
        clean: dict[str, str] = {}
        for key, value in values.items():
            upper = key.strip().upper()
            if upper not in accepted:
                raise _setting(f"{key!r} is no setting of a {row.kind} connection")
            clean[upper] = check_value(row.kind, upper, value)
        if not clean:
            raise BadRequest("configdriver needs KEY=value settings")
        self.rows.put_settings(name, {**row.settings, **clean})
        self._reload(name)
        used = {k: v for k, v in clean.items() if has_effect(row.kind, k)}
        return Configured(self.info(name), used,
                          {k: v for k, v in clean.items() if k not in used})

    def run(self, name: str, running: bool, user: str | None = None) -> ConnectionInfo:
        self._access.require_port_control(user, "connection management")
        self._row(name)
        self.rows.set_running(name, running)
        self._reload(name)
        return self.info(name)

    def delete(self, name: str, user: str | None = None) -> None:
        self._require_admin(user)
        self._row(name)
        users = [r.id for r in self._routing.outbound()
                 if any(t.key == f"conn:{name}" for t in r.targets)]
        if users:
            raise BadRequest(f"connection {name!r} is used by outbound rule {users[0]}: delete "
                             "or change that rule first")
        row = self._row(name)
        self.rows.delete(name)
        self._reload(name)
        # Its messages still waiting go by their rules' next tiers, or fail: never stuck.
        self.rows.forget(CONNECTION_BASE + row.id, f"connection {name} was deleted",
                         self._clock())

    def _reload(self, name: str) -> None:
        if self._runner is not None:
            self._runner.reload(name)

    # --- from providers (the Inbound callback) ----------------------------------------------
    def received(self, connection: str, message: Received) -> None:
        row = self._row(connection)
        self._store.inbox.add_inbound(port=CONNECTION_BASE + row.id, slot=0, imsi="",
                                      sender=message.sender, smsc=f"conn:{connection}",
                                      scts=message.sent, text=message.text,
                                      concat=message.concat, now=self._clock())

    def receipt(self, connection: str, receipt: Receipt) -> None:
        row = self._row(connection)
        self.rows.receipt(row.id, CONNECTION_BASE + row.id, receipt.remote_id,
                          receipt.delivered, self._clock())

    def mail(self, connection: str, user: str, numbers: list[str], text: str) -> None:
        """E-mail to SMS: `text` to `numbers` as `user` (who must exist, be enabled and have
        the `email` permission, also when SENDERS alone named them)."""
        if not self._users.has_perm(user, "email"):
            raise BadRequest(f"user {user!r} may not send e-mail to SMS")
        recipients = []
        for raw in numbers:
            normal = normalise_number(raw)
            if normal is None or not is_normal(normal):
                raise BadRequest(f"{raw!r} is no phone number")
            recipients.append(Recipient(normal))
        self._sending.send_sms(SendRequest(text=text, recipients=tuple(recipients),
                                           dialect=DIALECT), user)
        if self._runner is not None:
            self._runner.kick()

    def mail_login(self, user: str, password: str, remote: str) -> bool:
        """SMTP AUTH on the e-mail-to-SMS listener: an smsd login with `email`, in the throttle."""
        try:
            self._users.authenticate(user, password, "email", remote=remote)
        except AuthError:           # bad password, throttled, or no `email` permission
            return False
        return True

    def http_post(self, name: str, params: Mapping[str, str], remote: str = "") -> str:
        """A provider's post to an HTTPServer connection: stored in the inbox, answered with
        RESPONSETEMPLATE. NotFound / BadRequest when it is not taken; a wrong SECRET is a login
        failure of "connection:NAME" (AuthError; Throttled after too many, as for users)."""
        conn = self._runner.connection(name) if self._runner is not None else None
        if not isinstance(conn, HttpServerConnection):
            raise NotFound(f"no running HTTPServer connection named {name!r}")
        if conn.guarded:
            who = f"connection:{name}"
            self._users.throttle_check(who, remote=remote)
            if not conn.secret_ok(params):
                self._users.failed(who, remote=remote)
            self._users.succeeded(who, remote=remote)
        try:
            message = conn.read(params)
        except RequestRefused as exc:
            raise BadRequest(str(exc)) from None
        row = self._row(name)
        inbox_id = self._store.inbox.add_inbound(
            port=CONNECTION_BASE + row.id, slot=0, imsi="", sender=message.sender,
            smsc=f"conn:{name}", scts=message.sent, text=message.text, concat=None,
            now=self._clock())
        return conn.answer(inbox_id or 0)
