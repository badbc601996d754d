"""MultiModem iSMS HTTP API dialect: vendor parameters -> Service call -> vendor reply.

Routes (GET or POST form, parameter names in any case, unencoded text, see `smsd.api.legacy`):

    /sendmsg     user, passwd, cat=1, to / ton / group, text, [enc] [priority] [modem]
                 -> `ID: <n>` or `Err: <code>`
    /querymsg    user, passwd, apimsgid -> `ID: <n> Status: <s>` or `Err: <code>`
    /querycount  user, passwd -> `Count: <unread>`
    /recvmsg     user, passwd, [count] [from] [fdate] [tdate] [ftime] [ttime] [text]
                 -> the iSMS polling-receive line format

Every answer is HTTP 200, a line end after the body, and the connection is closed after it
(clients of the box read until close). Decisions where the vendor's manual is silent or where
smsd differs from the box (docs/isms.md):
- one request, one `ID: <n>` whatever the number of recipients, as the box answers: <n> is the
  message id of the first recipient; /querymsg on it reports the whole request (0 done, 1 done
  with error, 2 in progress, 3 request received, 4 error, 5 id not found);
- `modem` is 1-based as on the box (modem=1 is smsd port 0); 0 or absent means any port;
- `priority` 1 low, 2 normal (default, as every other dialect sends), 3 high: the scheduler
  sends waiting messages by priority, oldest first within one;
- text must fit in one SMS (160 GSM characters, 70 UCS-2), else 604, as on a box with the
  factory setting "spanned SMS" 1; `Limits.extra["isms_max_parts"]` allows longer texts;
- recvmsg answers the oldest unread messages that pass its filters, at most `count` (1 or
  more, else 617; absent: all, up to the inbox page of 1000). Only those become read (the
  inbox's read flag is shared with the JSON API); the rest stay for the next poll and
  /querycount counts them; the packet end flag is 0 while unread messages passing the filters
  are left. Filters,
  as the vendor's manual gives them, on the date and time the answer shows: `from` the sender
  (national or international form; 619 when not a number), `fdate`/`tdate` a date range
  `yy/mm/dd` (20yy), `ftime`/`ttime` a time-of-day range `hh:mm:ss` on every day of it (616
  when malformed or not a real date/time), `text` the whole text exactly (604 over 280
  characters); a bound left out is open (the manual's default day is 00:00:00-23:59:00, here
  the whole day);
- no credit left answers 618, no port able to send 608, an internal error 612.

Only translation lives here; limits, credits, the address book and the slowing down of repeated
wrong passwords belong to the Service.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Callable, Mapping, Sequence

import bottle

from smsd.api import legacy
from smsd.errors import ServiceError
from smsd.model import InboundSms, InboxFilter, MessageState, Recipient, SendRequest
from smsd.service import Service
from smsd.service.recipients import POLICIES, normalise_number

log = logging.getLogger("smsd.api.isms")

PERM = "api:isms"
TEXT_KEYS = frozenset({"text"})
KNOWN = frozenset({"user", "passwd", "cat", "to", "ton", "group", "text", "enc", "priority",
                   "modem", "apimsgid", "count", "from", "fdate", "tdate", "ftime", "ttime"})
MAX_BODY = 64 * 1024            # far above 128 numbers and 1500 bytes of fully encoded text
POLICY = POLICIES["isms"]
MAX_NAME = POLICY.max_name_bytes  # user, passwd, address book and group names on the box
PRIORITIES = {1: -1, 2: 0, 3: 1}  # iSMS low/normal/high -> Service priority (higher goes first)
DEFAULT_MAX_PARTS = 1
NOT_FOUND = 5
CHARSET = "iso-8859-1"          # the box's charset; recvmsg shows other text as Unicode hex

# Service error reasons -> iSMS code.
CODES = {"auth": 601, "forbidden": 601, "recipient": 606, "too_many_parts": 604,
         "too_large": 604, "no_port": 608, "credit": 618, "not_found": 602, "bad_request": 602}
_HEX = re.compile(r"[0-9A-Fa-f]{1,4}").fullmatch
_DEC = re.compile(r"[0-9]{1,5}").fullmatch
_DATE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{2}").fullmatch
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}").fullmatch
MAX_TEXT_FILTER = 280           # 70 * 4: the longest SMS text the box can have received


class IsmsError(Exception):
    """A request the box would refuse with `Err: <code>`."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


# --- parameters ---------------------------------------------------------------------------------
def small_int(params: Mapping[str, str], name: str, default: int, code: int,
              allowed: Callable[[int], bool]) -> int:
    """An optional small integer parameter; `code` when it is not a number or not allowed."""
    raw = params.get(name, "").strip().strip('"')
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not allowed(int(raw)):
        raise IsmsError(code, f"{name}={raw[:20]!r} is not allowed")
    return int(raw)


def split_list(raw: str) -> list[str]:
    """`"a","b"` or `a,b` -> ['a', 'b'] (quotes optional, empty items dropped)."""
    return [item.strip().strip('"').strip() for item in raw.split(",")
            if item.strip().strip('"').strip()]


def number(raw: str, code: int = 606) -> str:
    """A `to` entry as the Service takes it: `+` restored, separators removed; else `code`."""
    cleaned = normalise_number(legacy.restore_plus(raw), POLICY)
    if cleaned is None:
        raise IsmsError(code, f"invalid number {raw[:30]!r}")
    return cleaned


def recipient_items(params: Mapping[str, str]) -> list[str]:
    """Numbers of `to`, then address book names of `ton`, then group names of `group`."""
    numbers = [number(n) for n in _raw_numbers(params.get("to", ""))]
    names = split_list(params.get("ton", "")) + split_list(params.get("group", ""))
    for name in names:
        if MAX_NAME is not None and len(name.encode("utf-8")) > MAX_NAME:
            raise IsmsError(606, f"name longer than {MAX_NAME} bytes")
    return numbers + names


def _raw_numbers(raw: str) -> list[str]:
    # Keep a leading space: it is a `+` that arrived unencoded (restore_plus puts it back).
    items = [item.strip('"') for item in raw.split(",")]
    return [item if item[:1] == " " and item.strip()[:1].isdigit() else item.strip()
            for item in items if item.strip()]


def decode_text(raw: str | None, enc: int | None) -> str:
    """The message text for enc (absent, 0, 1: as sent; 2: hex values; 3: decimal values)."""
    if raw is None or raw == "":
        raise IsmsError(621, "no text")
    if enc in (2, 3):
        text = _code_points(raw, _HEX if enc == 2 else _DEC, 16 if enc == 2 else 10)
    else:
        text = raw
    if "\x00" in text:
        raise IsmsError(621, "text contains NUL")
    return text


def _code_points(raw: str, shape: Callable[[str], Any], base: int) -> str:
    pieces = [p.strip() for p in raw.split(";")]
    if pieces and pieces[-1] == "":
        pieces.pop()                    # a trailing separator
    if not pieces or not all(shape(p) for p in pieces):
        raise IsmsError(621, "text is not ';'-separated code values of the given enc")
    values = [int(p, base) for p in pieces]
    if any(v > 0xFFFF for v in values):
        raise IsmsError(621, "code value above 65535")
    # UTF-16 code units: a surrogate pair makes one character, a lone surrogate is invalid.
    units = b"".join(v.to_bytes(2, "big") for v in values)
    try:
        return units.decode("utf-16-be")
    except UnicodeDecodeError:
        raise IsmsError(621, "unpaired surrogate in text") from None


# --- send ---------------------------------------------------------------------------------------
def authenticate(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user, password = params.get("user", ""), params.get("passwd", "")
    return str(svc.users.authenticate(user, password, PERM, remote=remote))


def send(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = authenticate(svc, params, remote)
    small_int(params, "cat", 1, 603, lambda v: v == 1)
    enc = small_int(params, "enc", -1, 615, lambda v: 0 <= v <= 3)
    text = decode_text(params.get("text"), None if enc < 0 else enc)
    priority = small_int(params, "priority", 2, 620, lambda v: v in PRIORITIES)
    modem = small_int(params, "modem", 0, 613, lambda v: v == 0 or v - 1 in port_numbers(svc))
    numbers = recipients(svc, params)
    request = SendRequest(
        text=text, recipients=tuple(Recipient(n) for n in numbers),
        ports=(modem - 1,) if modem else None, priority=PRIORITIES[priority],
        max_parts=svc.limits.extra.get("isms_max_parts", DEFAULT_MAX_PARTS), dialect="isms")
    accepted = svc.sending.send_sms(request, user=user)
    log.info("sendmsg from %s by %s: %d recipient(s), ID %d", remote, user, len(numbers),
             accepted.message_ids[0])
    return f"ID: {accepted.message_ids[0]}"


def port_numbers(svc: Service) -> set[int]:
    """The box's ports; asked only for a send that names a modem (most do not): every port's
    snapshot costs more than all the other checks of a send."""
    return {info.port for info in svc.ports.info()}


def recipients(svc: Service, params: Mapping[str, str]) -> list[str]:
    """Every number the request names, address book and groups expanded by the Service; one
    recipient it cannot send to refuses the request (606), as the box does."""
    items = recipient_items(params)
    if not items:
        raise IsmsError(607, "no recipient")
    resolved = svc.recipients.resolve_recipients(items, POLICY)
    if resolved.rejects:
        raise IsmsError(606, resolved.rejects[0].detail)
    numbers = resolved.numbers
    if not numbers:
        raise IsmsError(607, "the names and groups hold no numbers")
    if resolved.too_many:
        raise IsmsError(605, f"{len(numbers)} recipients, at most {svc.limits.max_numbers}")
    return numbers


# --- query --------------------------------------------------------------------------------------
def query(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = authenticate(svc, params, remote)
    raw = params.get("apimsgid", "").strip().strip('"')
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise IsmsError(602, f"apimsgid {raw[:20]!r} is not a number")
    ident = int(raw)
    return f"ID: {ident} Status: {job_status(request_messages(svc, ident, user))}"


def request_messages(svc: Service, first_id: int, user: str) -> list[MessageState]:
    """The message `first_id` and the ones the same request created after it, as `user` may
    see them (somebody else's are not found); as many as one iSMS request can have."""
    return svc.sending.submission(first_id, user, limit=svc.limits.max_numbers)


def job_status(messages: Sequence[MessageState]) -> int:
    """The box's status code for a whole send request. A message whose outcome is unknown
    (UNKNOWN, docs/durability.md) was handed to the network: done, not failed, so that the
    client does not send it again."""
    if not messages:
        return NOT_FOUND
    statuses = [m.status for m in messages]
    if "SENDING" in statuses:
        started = any(s != "SENDING" or m.succ_count or m.port is not None
                      for s, m in zip(statuses, messages))
        return 2 if started else 3
    failed = statuses.count("FAILED")
    if failed == 0:
        return 0
    return 4 if failed == len(statuses) else 1


# --- polling receive ----------------------------------------------------------------------------
def count(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = authenticate(svc, params, remote)
    return f"Count: {unread_count(svc, user)}"


def unread_count(svc: Service, user: str) -> int:
    # After an id no message has, the page is empty (nothing is marked read) but counts all.
    return int(svc.inbox.query(after_id=2 ** 62, flag="unread", user=user).unread)


def receive(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = authenticate(svc, params, remote)
    limit = small_int(params, "count", 0, 617, lambda v: v >= 1)
    page = svc.inbox.query(flag="unread", limit=limit or None, match=inbox_filter(params),
                           user=user)
    return render_messages(page.sms, more=page.unread > 0)


def inbox_filter(params: Mapping[str, str]) -> InboxFilter | None:
    """The recvmsg filters (see module doc); None when there are none."""
    raw_from = params.get("from", "")     # a leading space is a `+` that came unencoded
    text = params.get("text", "")
    if len(text) > MAX_TEXT_FILTER:
        raise IsmsError(604, f"text filter longer than {MAX_TEXT_FILTER} characters")
    match = InboxFilter(sender=number(raw_from, 619) if raw_from.strip(' "') else None,
                        day_from=box_day(params, "fdate"), day_to=box_day(params, "tdate"),
                        time_from=box_clock(params, "ftime"), time_to=box_clock(params, "ttime"),
                        text=text or None)
    return None if match == InboxFilter() else match


def box_day(params: Mapping[str, str], name: str) -> str | None:
    """`yy/mm/dd` -> 'YYYY-MM-DD' (20yy); 616 for anything but a real date."""
    day = _box_stamp(params, name, _DATE, "%y/%m/%d", "a yy/mm/dd date")
    return None if day is None else day.strftime("20%y-%m-%d")   # %y alone may read 19yy


def box_clock(params: Mapping[str, str], name: str) -> str | None:
    """`hh:mm:ss` as it is; 616 for anything but a real time of day."""
    clock = _box_stamp(params, name, _TIME, "%H:%M:%S", "an hh:mm:ss time")
    return None if clock is None else clock.strftime("%H:%M:%S")


def _box_stamp(params: Mapping[str, str], name: str, shape: Callable[[str], Any], layout: str,
               what: str) -> dt.datetime | None:
    raw = params.get(name, "").strip().strip('"')
    if not raw:
        return None
    try:
        if not shape(raw):
            raise ValueError(raw)
        return dt.datetime.strptime(raw, layout)
    except ValueError:
        raise IsmsError(616, f"{name} is not {what}") from None


def render_messages(messages: Sequence[InboundSms], *, more: bool) -> str:
    """Packet end flag, unread available, count, then six lines per message."""
    lines = ["0" if more else "1", "1" if messages else "0", str(len(messages))]
    for index, msg in enumerate(messages, 1):
        kind, body = encode_type(msg.text)
        lines += [str(index), msg.number, *box_date_time(msg.timestamp), kind, body]
    return "\n".join(lines)


def encode_type(text: str) -> tuple[str, str]:
    """(encode type, message line): ASCII, Extended ASCII, or Unicode as UCS-2 hex."""
    if text.isascii() and text.isprintable():
        return "ASCII", text
    if text.isprintable() and all(ord(c) < 256 for c in text):
        return "Extended ASCII", text
    # Line ends and characters beyond Latin-1 would break the line format: send hex.
    return "Unicode", text.encode("utf-16-be").hex().upper()


def box_date_time(timestamp: str) -> tuple[str, str]:
    """'YYYY-MM-DD HH:MM:SS' -> ('yy/mm/dd', 'hh:mm:ss')."""
    day, _, clock = timestamp.partition(" ")
    return day[2:].replace("-", "/"), clock


# --- HTTP ---------------------------------------------------------------------------------------
Handler = Callable[[Service, Mapping[str, str], str], str]
HANDLERS: dict[str, Handler] = {"/sendmsg": send, "/querymsg": query, "/querycount": count,
                                "/recvmsg": receive}


def answer(svc: Service, handler: Handler, params: Mapping[str, str], remote: str) -> str:
    """The reply body for one request (without its line end); never raises for bad input."""
    try:
        return handler(svc, params, remote)
    except IsmsError as exc:
        log.info("%s from %s refused with %d: %s", handler.__name__, remote, exc.code, exc)
        return f"Err: {exc.code}"
    except ServiceError as exc:
        code = CODES.get(exc.reason, 602)
        log.info("%s from %s refused with %d (%s): %s", handler.__name__, remote, code,
                 exc.reason, exc)
        return f"Err: {code}"


def _request_params(path: str, remote: str) -> dict[str, str] | None:
    if (bottle.request.content_length or 0) > MAX_BODY:
        log.info("%s from %s refused with 602: body over %d bytes", path, remote, MAX_BODY)
        return None
    return legacy.request_params(TEXT_KEYS, KNOWN, MAX_BODY)


def mount(app: bottle.Bottle, svc: Service) -> None:
    """Add the iSMS routes (/sendmsg, /querymsg, /querycount, /recvmsg) to `app`."""

    def route(path: str, handler: Handler) -> Callable[[], str]:
        def callback() -> str:
            remote = bottle.request.remote_addr or ""
            try:
                params = _request_params(path, remote)
                body = "Err: 602" if params is None else answer(svc, handler, params, remote)
            except Exception:   # noqa: BLE001 - a client must get a vendor answer, never a traceback
                log.exception("%s: internal error", path)
                body = "Err: 612"
            legacy.close_connection()
            bottle.response.content_type = f"text/plain; charset={CHARSET}"
            return body + "\n"
        return callback

    for path, handler in HANDLERS.items():
        app.route(path, method=["GET", "POST"], callback=route(path, handler))
