"""Sending: intake of SMS tasks (validated whole, committed in one transaction), their state,
stopping them, and the results and status reports of what was sent.

Every method validates its arguments completely before it writes anything and raises
`smsd.errors.ServiceError` subclasses for the caller's mistakes.
"""
from __future__ import annotations

import logging
from typing import Callable, Sequence

from smsd.errors import (BadRequest, CodecError, EncodingError, NoPortAvailable, NotFound,
                         TooLarge, TooManyParts)
from smsd.model import (DeliverStatus, Limits, MessageState, Recipient, SendAccepted, SendRequest,
                        SmsResult)
from smsd.numbers import is_normal
from smsd.pdu.types import ENC_8BIT, ENC_GSM7, ENC_UCS2
from smsd.routing import CONNECTION_BASE, is_connection
from smsd.scheduler import PartCounter, Profile, Scheduler, most_parts, port_profiles
from smsd.service.access import AccessPolicy
from smsd.service.payloads import Row, payload_extra, payload_rows
from smsd.service.ports import Ports, will_send
from smsd.service.routes import Routing
from smsd.service.users import Users
from smsd.store.connections import connection_ids
from smsd.store.db import Store
from smsd.store.outbox import TaskExtra
from smsd.store.times import parse_time

PARAM = "#param#"
ENCODINGS = ("auto", ENC_GSM7, ENC_UCS2)
SENDER_MAX_LEN = 32


def substitute(pieces: Sequence[str], params: Sequence[str]) -> str:
    """Rebuild a text split on #param#, filling placeholders in order (extras stay as written)."""
    out = [pieces[0]]
    for i, piece in enumerate(pieces[1:]):
        out.append(params[i] if i < len(params) else PARAM)
        out.append(piece)
    return "".join(out)


def parse_query_time(text: str | None) -> float | None:
    """"YYYY-MM-DD HH:MM:SS" of a query, None for none; BadRequest for anything else."""
    if text is None or text == "":
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise BadRequest(f"time {text!r} is not \"YYYY-MM-DD HH:MM:SS\"") from exc



log = logging.getLogger("smsd.sending")
LOG_EACH = 10          # a task with more messages is one "accepted" line with their id range


def log_accepted(ids: range, task_id: int, user: str, dialect: str) -> None:
    """The first step of a message's life in the log (docs/logs.md), after the commit."""
    if not ids or not log.isEnabledFor(logging.INFO):
        return
    how = f"task {task_id}, user {user}, dialect {dialect or '-'}"
    if len(ids) > LOG_EACH:
        log.info("messages %d..%d (%d) accepted: %s", ids[0], ids[-1], len(ids), how)
        return
    for message_id in ids:
        log.info("message %d accepted: %s", message_id, how)

class Sending:
    def __init__(self, store: Store, scheduler: Scheduler, ports: Ports, users: Users,
                 access: AccessPolicy, *, limits: Limits, codec: PartCounter,
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._scheduler = scheduler
        self._ports = ports
        self._users = users
        self._access = access
        self.limits = limits
        self._codec = codec
        self._clock = clock
        self._routing = Routing(store, scheduler, clock)     # outbound rules (docs/routing.md)

    def send_sms(self, request: SendRequest, user: str = "admin") -> SendAccepted:
        """Validate, commit task + messages in one transaction, then answer."""
        recipients, text = request.recipients, request.text
        if not recipients:
            raise BadRequest("no recipient numbers", field="recipients")
        most = self.limits.max_expanded if request.expanded else self.limits.max_numbers
        if len(recipients) > most:
            raise TooLarge(f"more than {most} numbers", field="recipients")
        if request.encoding not in ENCODINGS:
            raise BadRequest(f"encoding must be one of {', '.join(ENCODINGS)}")
        self._check_text(text)
        self._check_extras(request)
        ports = self._known(request.ports)
        routing = self._routing.for_intake([r.number for r in recipients], user, request.dialect,
                                           ports)
        encoding, sent_as, rows = self._intake_plan(text, recipients, request.encoding,
                                                    _on_the_box(ports))
        rows = payload_rows(request, rows)
        self._check_max_parts(rows, request.max_parts)
        self._check_sendable(routing.sendable(ports))
        debit = self._users.credit_debit(user, routing.charge([row[3] for row in rows]))
        sent_as = ENC_8BIT if request.data is not None else sent_as
        if request.dry_run:
            return SendAccepted(task_id=0, sms_in_queue=self._store.outbox.in_queue(),
                                encoding=sent_as)
        extra = TaskExtra(sender=request.sender or "", priority=request.priority,
                          dialect=request.dialect, debit=debit, **payload_extra(request))
        task_id, ids = self._store.outbox.intake(user=user, text=text, encoding=encoding,
                                                 srr=request.request_status_report, ports=ports,
                                                 rows=rows, now=self._clock(), extra=extra,
                                                 routes=routing.routes)
        self._scheduler.work_arrived()
        log_accepted(ids, task_id, user, request.dialect)
        return SendAccepted(task_id=task_id, sms_in_queue=self._store.outbox.in_queue(),
                            message_ids=tuple(ids), encoding=sent_as)

    def _check_text(self, text: str) -> None:
        if not text:
            raise BadRequest("empty text", field="text")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:     # JSON's "\ud800" escape makes one
            raise BadRequest(f"text holds a lone surrogate at index {exc.start}",
                             field="text") from None
        if size > self.limits.max_text_bytes:
            raise TooLarge(f"text over {self.limits.max_text_bytes} bytes", field="text")

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
            raise TooManyParts(f"a message needs {worst} parts, max_parts is {max_parts}",
                               field="text")

    def _known(self, ports: Sequence[int] | None) -> list[int] | None:
        """The ports asked for (Ports.known), a provider connection's number among them
        (Ozeki's serviceprovider naming one; docs/connections.md) when that connection exists."""
        if ports is None:
            return None
        named = {p for p in ports if is_connection(p)}
        missing = sorted(named - {CONNECTION_BASE + i for i in connection_ids(self._store.db)})
        if missing:
            raise BadRequest(f"no port {missing[0]}")
        box = self._ports.known([p for p in ports if not is_connection(p)]) or []
        return sorted(set(box) | named) or None

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
        usable = ports if ports is not None else self._ports.all
        profiles = port_profiles(self._ports.config, usable)
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
            if len(number) > max_len or not is_normal(number, None):
                raise BadRequest(f"invalid number {number!r}: up to {max_len} digits, optional +",
                                 field="recipients")
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
            raise BadRequest(f"text cannot be sent as {encoding}: {exc}", field="text") from exc

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
        if ports is not None and any(is_connection(p) for p in ports):
            return          # routed to a provider connection: it waits there when it is down
        infos = self._scheduler.infos()
        if not any(will_send(infos[p]) for p in (ports if ports is not None else self._ports.all)
                   if p in infos):
            raise NoPortAvailable("no port can send now")

    def plan(self, text: str, ports: Sequence[int] | None = None,
             encoding: str = "auto") -> tuple[str, int]:
        """(the alphabet `text` goes out in, how many parts it takes) for one recipient, counted
        as send_sms counts it (the ports' own settings included): the web console's live
        counter asks this instead of re-implementing GSM-7 in a script."""
        if encoding not in ENCODINGS:
            raise BadRequest(f"encoding must be one of {', '.join(ENCODINGS)}")
        self._check_text(text)
        # Asked as gsm7, the plan names the alphabet auto ends up with: gsm7 when the text fits,
        # ucs2 when it does not, auto when it depends on the sending port's national tables.
        asked = ENC_GSM7 if encoding == "auto" else encoding
        _, sent_as, rows = self._intake_plan(text, (Recipient("0"),), asked,
                                             self._ports.known(ports))
        return sent_as, rows[0][3]

    def in_queue(self) -> int:
        return self._store.outbox.in_queue()

    def message(self, message_id: int, user: str | None = None) -> MessageState | None:
        """`_message_state`, None for somebody else's message (as for an unknown id)."""
        state = self._message_state(message_id)
        return state if state is None or self._access.may_see(user, state.user) else None

    def submission(self, message_id: int, user: str | None = None,
                   limit: int | None = None) -> list[MessageState]:
        """The message and the ones its submission (task) holds after it, in id order, at most
        `limit` (default Limits.max_expanded, the most one submission has), as `user` may see
        them: none for an unknown id or somebody else's."""
        most = self.limits.max_expanded if limit is None else limit
        found = self._store.outbox.task_message_states(message_id, most)
        return found if found and self._access.may_see(user, found[0].user) else []

    def _message_state(self, message_id: int) -> MessageState | None:
        """One message's state, the text after #param# substitution, its user and failure, and
        the alphabet it went out in."""
        return self._store.outbox.message_state(message_id)

    def stop_task(self, task_id: int, user: str | None = None) -> None:
        """NotFound for an unknown task, and for somebody else's."""
        if not self._store.outbox.stop_task(task_id, self._clock(), owner=self._access.owner(user)):
            raise NotFound(f"no task {task_id}")
        self._scheduler.kick()

    # --- queries --------------------------------------------------------------------------------
    def query_results(self, numbers: Sequence[str] | None = None,
                         ports: Sequence[int] | None = None, time_after: str | None = None,
                         time_before: str | None = None,
                         user_ids: Sequence[int] | None = None,
                         user: str | None = None) -> list[SmsResult]:
        """Results of `user`'s messages (an admin's: everybody's)."""
        self._check_query_numbers(numbers)
        return self._store.outbox.query_sms_result(
            numbers=numbers, ports=ports, time_after=parse_query_time(time_after),
            time_before=parse_query_time(time_before), user_ids=user_ids,
            owner=self._access.owner(user))

    def query_reports(self, numbers: Sequence[str] | None = None,
                             ports: Sequence[int] | None = None, time_after: str | None = None,
                             time_before: str | None = None,
                             user: str | None = None) -> list[DeliverStatus]:
        """Status reports on `user`'s messages (an admin's: all of them)."""
        self._check_query_numbers(numbers)
        return self._store.inbox.query_deliver_status(
            numbers=numbers, ports=ports, time_after=parse_query_time(time_after),
            time_before=parse_query_time(time_before), owner=self._access.owner(user))

    def _check_query_numbers(self, numbers: Sequence[str] | None) -> None:
        if numbers is None:
            return
        if len(numbers) > self.limits.query_max_numbers:
            raise TooLarge(f"more than {self.limits.query_max_numbers} numbers")
        for n in numbers:
            if len(n) > self.limits.number_max_len:
                raise BadRequest(f"number {n!r} longer than {self.limits.number_max_len}")


def _on_the_box(ports: Sequence[int] | None) -> list[int] | None:
    """The box's own ports of a request's (its parts are counted as they would send them); None
    when it names none of them, only a provider connection."""
    if ports is None:
        return None
    return [p for p in ports if not is_connection(p)] or None
