"""The service layer: the one internal interface API dialects and web pages call.

Every method validates its arguments completely before it writes anything, raises
`smsd.errors.ServiceError` subclasses for the caller's mistakes, and is thread-safe (the store
gives each thread its own connection; the scheduler guards its state with a lock).

Unknown ports: `port_info` raises NotFound (a lookup of a thing that does not exist); every other
method raises BadRequest (the request names a port the box does not have, which the vendor APIs
answer with "format not valid").
"""
from __future__ import annotations

import re
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

from smsd.errors import (BadRequest, CodecError, EncodingError, NoPortAvailable, NotFound, TooLarge,
                         TooManyParts)
from smsd.model import (REG_OK, STATE_INIT, DeliverStatus, InboxFilter, InboxPage, Limits,
                        MessageState, ModemJob, PortInfo, Recipient, SendAccepted, SendRequest, SmsResult)
from smsd.pdu.types import ENC_8BIT, ENC_GSM7, ENC_UCS2
from smsd.modem.jobs import Power, Reset, SimLock, SwitchSlot, Ussd
from smsd.scheduler import Profile, Scheduler, WorkerHandle, most_parts, port_profiles
from smsd.service_access import AccessService
from smsd.service_book import BookService
from smsd.service_intelli import IntelliService
from smsd.service_network import NetworkService
from smsd.service_ports import PortsService
from smsd.service_users import UsersService
from smsd.store.db import Store
from smsd.store.inbox import INBOX_PAGE
from smsd.store.outbox import TaskExtra
from smsd.store.times import parse_time
from smsd.throttle import FailureThrottle

PARAM = "#param#"
ENCODINGS = ("auto", ENC_GSM7, ENC_UCS2)
FLAGS = ("unread", "read", "all")
USSD_COMMANDS = ("send", "cancel")
_NUMBER = re.compile(r"\+?[0-9]+").fullmatch
_PIN = re.compile(r"[0-9]{4,8}").fullmatch
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_CLOCK = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}").fullmatch
SENDER_MAX_LEN = 32
Row = tuple[str, "str | None", "int | None", int]     # (number, own text, user_id, parts)


def substitute(pieces: Sequence[str], params: Sequence[str]) -> str:
    """Rebuild a text split on #param#, filling placeholders in order (extras stay as written)."""
    out = [pieces[0]]
    for i, piece in enumerate(pieces[1:]):
        out.append(params[i] if i < len(params) else PARAM)
        out.append(piece)
    return "".join(out)


class Service(IntelliService, UsersService, BookService, PortsService, NetworkService,
              AccessService):
    def __init__(self, store: Store, scheduler: Scheduler,
                 workers: Mapping[int, WorkerHandle] | None = None, *, limits: Limits = Limits(),
                 codec: Any = None, clock: Callable[[], float] = time.time,
                 ussd_wait: float = 30.0, throttle: FailureThrottle | None = None) -> None:
        self._store = store
        self._scheduler = scheduler
        self._ports = frozenset(workers if workers is not None else scheduler.ports)
        self.limits = limits
        self._codec = codec if codec is not None else _pdu()
        self._clock = clock
        self._ussd_wait = ussd_wait            # a USSD older than this no longer makes a port busy
        # Its own clock by default: monotonic, so a clock step cannot stretch a block.
        self._throttle = throttle if throttle is not None else FailureThrottle(time.monotonic)

    @property
    def port_count(self) -> int:
        return len(self._ports)

    @property
    def sn(self) -> str:
        return self._store.sn

    # --- sending --------------------------------------------------------------------------------
    def send_sms(self, request: SendRequest, user: str = "admin") -> SendAccepted:
        """Validate, commit task + messages in one transaction, then answer."""
        recipients, text = request.recipients, request.text
        if not recipients:
            raise BadRequest("no recipient numbers")
        most = self.limits.max_expanded if request.expanded else self.limits.max_numbers
        if len(recipients) > most:
            raise TooLarge(f"more than {most} numbers")
        if request.encoding not in ENCODINGS:
            raise BadRequest(f"encoding must be one of {', '.join(ENCODINGS)}")
        self._check_text(text)
        self._check_extras(request)
        ports = self._known_ports(request.ports)
        encoding, sent_as, rows = self._intake_plan(text, recipients, request.encoding, ports)
        rows = self._payload_rows(request, rows)
        self._check_max_parts(rows, request.max_parts)
        self._check_sendable(ports)
        debit = self._credit_debit(user, sum(row[3] for row in rows))
        sent_as = ENC_8BIT if request.data is not None else sent_as
        if request.dry_run:
            return SendAccepted(task_id=0, sms_in_queue=self._store.outbox.in_queue(), encoding=sent_as)
        extra = TaskExtra(sender=request.sender or "", priority=request.priority,
                          dialect=request.dialect, debit=debit, **self._payload_extra(request))
        task_id, ids = self._store.outbox.intake(user=user, text=text, encoding=encoding,
                                          srr=request.request_status_report, ports=ports,
                                          rows=rows, now=self._clock(), extra=extra)
        self._scheduler.kick()
        return SendAccepted(task_id=task_id, sms_in_queue=self._store.outbox.in_queue(),
                            message_ids=tuple(ids), encoding=sent_as)

    def _check_text(self, text: str) -> None:
        if not text:
            raise BadRequest("empty text")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:     # JSON's "\ud800" escape makes one
            raise BadRequest(f"text holds a lone surrogate at index {exc.start}") from None
        if size > self.limits.max_text_bytes:
            raise TooLarge(f"text over {self.limits.max_text_bytes} bytes")

    @staticmethod
    def _check_extras(request: SendRequest) -> None:
        sender = request.sender
        if sender is not None and (len(sender) > SENDER_MAX_LEN or not sender.isprintable()):
            raise BadRequest(f"sender: up to {SENDER_MAX_LEN} printable characters")
        if isinstance(request.priority, bool) or not isinstance(request.priority, int):
            raise BadRequest("priority must be an integer")
        if request.max_parts is not None and request.max_parts < 1:
            raise BadRequest("max_parts must be >= 1")

    @staticmethod
    def _check_max_parts(rows: Sequence[Row], max_parts: int | None) -> None:
        if max_parts is None:
            return
        worst = max(row[3] for row in rows)
        if worst > max_parts:
            raise TooManyParts(f"a message needs {worst} parts, max_parts is {max_parts}")

    def _intake_plan(self, text: str, recipients: Sequence[Recipient], requested: str,
                     ports: Sequence[int] | None) -> tuple[str, str, list[Row]]:
        """(the encoding the task is stored with, the one it will go out in, its rows).

        A requested alphabet is a preference, never a reason to refuse: a text the GSM 7-bit
        alphabet cannot carry is sent all the same, in UCS2, nothing lost. Such a task is stored
        as auto: at dispatch each text takes GSM-7 where it fits (with the national tables the
        sending port allows) and UCS2 otherwise.

        Each text is counted (and charged) as the port that needs the most parts for it would
        send it, of the ports the request may use, with their own settings (national tables,
        UCS2 preference): an exact count when they agree, and an upper bound the scheduler
        keeps to (a message never goes out in more parts than it was counted)."""
        profiles = port_profiles(self.port_config, ports if ports is not None else self._ports)
        used: set[str] = set()
        rows = self._intake_rows(text, recipients, requested, used, profiles)
        if requested != ENC_GSM7 or used == {ENC_GSM7}:
            return requested, requested, rows
        if used == {ENC_UCS2}:
            return "auto", ENC_UCS2, rows
        return "auto", "auto", self._intake_rows(text, recipients, "auto", used, profiles)

    def _intake_rows(self, text: str, recipients: Sequence[Recipient], encoding: str,
                     used: set[str], profiles: list[Profile]) -> list[Row]:
        # Hot path (20,000 recipients/s): one regex per number, part counts per distinct text.
        pieces = text.split(PARAM)
        counts: dict[str, int] = {}
        max_len = self.limits.number_max_len
        rows = []
        for r in recipients:
            number = r.number
            if len(number) > max_len or not _NUMBER(number):
                raise BadRequest(f"invalid number {number!r}: up to {max_len} digits, optional +")
            if r.user_id is not None and r.user_id < 0:
                raise BadRequest("user_id must be >= 0")
            own = substitute(pieces, r.text_param) if len(pieces) > 1 else None
            body = text if own is None else own
            count = counts.get(body)
            if count is None:
                count = counts[body] = self._count_parts(body, encoding, used, profiles)
            rows.append((number, own, r.user_id, count))
        return rows

    def _count_parts(self, text: str, encoding: str, used: set[str],
                     profiles: list[Profile]) -> int:
        """Parts of one text; `used` gains the alphabet a requested gsm7 really takes."""
        self._check_text(text)
        try:
            if encoding == ENC_GSM7:
                try:
                    # The default alphabet, which every port can send (a port's tables may save
                    # parts, never add any).
                    self._codec.count_parts(text, ENC_GSM7)
                    used.add(ENC_GSM7)
                except EncodingError:
                    used.add("auto" if self._national_fits(text, profiles) else ENC_UCS2)
                    return most_parts(self._codec, text, "auto", profiles)
            return most_parts(self._codec, text, encoding, profiles)
        except CodecError as exc:
            raise BadRequest(f"text cannot be sent as {encoding}: {exc}") from exc

    def _national_fits(self, text: str, profiles: list[Profile]) -> bool:
        """Could a port's national language tables carry the text in GSM-7? Then whether it goes
        in GSM-7 or UCS2 depends on the port that sends it."""
        languages = {lang for _, port_languages in profiles for lang in port_languages}
        if not languages:
            return False
        try:
            self._codec.count_parts(text, ENC_GSM7, languages=tuple(sorted(languages)))
        except CodecError:
            return False
        return True

    def _check_sendable(self, ports: Sequence[int] | None) -> None:
        infos = self._scheduler.infos()
        if not any(_will_send(infos[p]) for p in (ports if ports is not None else self._ports)
                   if p in infos):
            raise NoPortAvailable("no port can send now")

    def sms_in_queue(self) -> int:
        return self._store.outbox.in_queue()

    def message(self, message_id: int, user: str | None = None) -> MessageState | None:
        """`_message_state`, None for somebody else's message (as for an unknown id)."""
        state = self._message_state(message_id)
        return state if state is None or self._may_see(user, state.user) else None

    def _message_state(self, message_id: int) -> MessageState | None:
        """One message's state, the text after #param# substitution, its user and failure, and
        the alphabet it went out in."""
        return self._store.outbox.message_state(message_id)

    def stop_task(self, task_id: int, user: str | None = None) -> None:
        """NotFound for an unknown task, and for somebody else's."""
        if not self._store.outbox.stop_task(task_id, self._clock(), owner=self._owner(user)):
            raise NotFound(f"no task {task_id}")
        self._scheduler.kick()

    # --- queries --------------------------------------------------------------------------------
    def query_sms_result(self, numbers: Sequence[str] | None = None,
                         ports: Sequence[int] | None = None, time_after: str | None = None,
                         time_before: str | None = None,
                         user_ids: Sequence[int] | None = None,
                         user: str | None = None) -> list[SmsResult]:
        """Results of `user`'s messages (an admin's: everybody's)."""
        self._check_query_numbers(numbers)
        return self._store.outbox.query_sms_result(
            numbers=numbers, ports=ports, time_after=self._time(time_after),
            time_before=self._time(time_before), user_ids=user_ids, owner=self._owner(user))

    def query_deliver_status(self, numbers: Sequence[str] | None = None,
                             ports: Sequence[int] | None = None, time_after: str | None = None,
                             time_before: str | None = None,
                             user: str | None = None) -> list[DeliverStatus]:
        """Status reports on `user`'s messages (an admin's: all of them)."""
        self._check_query_numbers(numbers)
        return self._store.inbox.query_deliver_status(
            numbers=numbers, ports=ports, time_after=self._time(time_after),
            time_before=self._time(time_before), owner=self._owner(user))

    def _check_query_numbers(self, numbers: Sequence[str] | None) -> None:
        if numbers is None:
            return
        if len(numbers) > self.limits.query_max_numbers:
            raise TooLarge(f"more than {self.limits.query_max_numbers} numbers")
        for n in numbers:
            if len(n) > self.limits.number_max_len:
                raise BadRequest(f"number {n!r} longer than {self.limits.number_max_len}")

    @staticmethod
    def _time(text: str | None) -> float | None:
        if text is None or text == "":
            return None
        try:
            return parse_time(text)
        except ValueError as exc:
            raise BadRequest(f"time {text!r} is not \"YYYY-MM-DD HH:MM:SS\"") from exc

    def query_incoming(self, after_id: int = 0, flag: str = "unread",
                       ports: Sequence[int] | None = None, limit: int | None = None,
                       match: InboxFilter | None = None, user: str | None = None) -> InboxPage:
        """Received messages `user` may see, oldest first; the unread ones returned become read.

        `limit` caps the page (the store's own page size otherwise) and `match` filters it:
        messages beyond the limit or not matching stay unread for the next call."""
        if flag not in FLAGS:
            raise BadRequest(f"flag must be one of {', '.join(FLAGS)}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise BadRequest("limit must be a positive integer")
        if match is not None:
            self._check_inbox_filter(match)
        page = INBOX_PAGE if limit is None else min(limit, INBOX_PAGE)
        return self._store.inbox.query_incoming(after_id=after_id, flag=flag, ports=ports, limit=page,
                                          match=match, viewer=self._owner(user))

    @staticmethod
    def _check_inbox_filter(match: InboxFilter) -> None:
        for day in (match.day_from, match.day_to):
            if day is not None and not _DAY(day):
                raise BadRequest(f"day {day!r} is not YYYY-MM-DD")
        for clock in (match.time_from, match.time_to):
            if clock is not None and not _CLOCK(clock):
                raise BadRequest(f"time {clock!r} is not HH:MM:SS")

    # --- USSD -----------------------------------------------------------------------------------
    def send_ussd(self, ports: Sequence[int], text: str, command: str = "send",
                  user: str | None = None) -> list[tuple[int, int]]:
        """(port, 200 sent | 486 busy | 503 not registered) for each port."""
        if command not in USSD_COMMANDS:
            raise BadRequest("command must be send or cancel")
        if command == "send" and not text:
            raise BadRequest("empty USSD text")
        if len(text.encode("utf-8")) > self.limits.ussd_max_bytes:
            raise BadRequest(f"USSD text over {self.limits.ussd_max_bytes} bytes")
        wanted = self._known_ports(ports)
        if not wanted:
            raise BadRequest("no port given")
        self._require_ports_of(user, wanted, "USSD")
        return [(port, self._ussd_one(port, text, command)) for port in wanted]

    def _ussd_one(self, port: int, text: str, command: str) -> int:
        info = self._scheduler.info(port)
        if not _will_send(info):
            return 503
        now = self._clock()
        if command == "send" and (info.busy or self._ussd_pending(port, now)):
            return 486
        if command == "send":
            self._store.inbox.ussd_sent(port, text, now)
        self._scheduler.submit(port, Ussd(text, cancel=command == "cancel"))
        return 200

    def _ussd_pending(self, port: int, now: float) -> bool:
        last = self._store.inbox.ussd_last(port)
        return last is not None and last[0] == "out" and now - last[2] < self._ussd_wait

    def query_ussd_reply(self, ports: Sequence[int],
                         user: str | None = None) -> list[tuple[int, str]]:
        """The latest reply of each port; "" when none came since the last USSD we sent."""
        out = []
        wanted = self._known_ports(ports) or []
        self._require_ports_of(user, wanted, "USSD")
        for port in wanted:
            last = self._store.inbox.ussd_last(port)
            out.append((port, last[1] if last is not None and last[0] == "in" else ""))
        return out

    # --- ports ----------------------------------------------------------------------------------
    def port_info(self, ports: Sequence[int] | None = None) -> list[PortInfo]:
        wanted = sorted(self._ports) if ports is None else list(ports)
        for port in wanted:
            if port not in self._ports:
                raise NotFound(f"no port {port}")
        return [self._scheduler.info(p) for p in wanted]

    def set_port(self, port: int, action: str, param: str | None = None,
                 user: str | None = None) -> None:
        """Actions: slot <0..3>, reset, power on|off, lock <pin>, unlock <pin>. Every one, and
        any other name, needs port control (checked first: a refusal tells nothing more)."""
        self.require_port_control(user)
        self._known_ports([port])
        job = self._port_job(port, (action or "").strip().lower(), (param or "").strip())
        self._scheduler.submit(port, job)

    def _port_job(self, port: int, action: str, param: str) -> ModemJob:
        if action == "slot":
            if not param.isdigit() or not 0 <= int(param) <= 3:
                raise BadRequest("slot needs param 0..3")
            if int(param) >= max(1, self._scheduler.info(port).slots):
                raise BadRequest(f"port {port} has no slot {param}")
            return SwitchSlot(int(param))
        if action == "reset":
            return Reset()
        if action == "power":
            if param.lower() not in ("on", "off"):
                raise BadRequest("power needs param on or off")
            return Power(param.lower() == "on")
        if action in ("lock", "unlock"):
            if not _PIN(param):
                raise BadRequest(f"{action} needs the SIM PIN (4 to 8 digits) as param")
            return SimLock(param, action == "lock")
        raise BadRequest(f"unsupported action {action!r}: use slot, reset, power, lock or unlock")

    def _known_ports(self, ports: Iterable[int] | None) -> list[int] | None:
        if ports is None:
            return None
        wanted = sorted(set(ports))
        for port in wanted:
            if port not in self._ports:
                raise BadRequest(f"no port {port}")
        return wanted or None

    # --- users (for the HTTP auth layer) --------------------------------------------------------
    def user_check(self, name: str, password: str) -> bool:
        return self._store.users.check(name, password)

    def user_digest_ha1(self, name: str, realm: str, algorithm: str = "MD5") -> str | None:
        return self._store.users.digest_ha1(name, realm, algorithm)


def _pdu() -> Any:
    from smsd import pdu
    return pdu


def _will_send(info: PortInfo) -> bool:
    """A port that can send now, or a registered one still finishing its start-up sequence
    (accepting then is what an operator expects right after boot; the part waits seconds)."""
    return info.can_send or (info.state == STATE_INIT and info.reg == REG_OK)
