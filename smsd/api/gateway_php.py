"""The hosted `gateway.php` SMS API dialect: vendor parameters -> Service call -> vendor reply.

Routes (GET or POST form, parameter names in any case, see `smsd.api.legacy`):

    /module/gateway.php        send (`OK`, `OK <id>[,<id>...]` or `ERROR <code>`), test=yes,
                               action=credits (the bare balance)
    /module/gatewayrapport.php clientuser, clientpwd, smsid: DELIVERED | NOT DELIVERED |
                               BUFFERED | SUBMITTED | REJECTED | NONE, or ERROR <code>

Every answer is HTTP 200 with a bare body and no line end: clients compare the body with `OK`
or split it on the space. Decisions where the vendor's text is silent (docs/gateway-php.md):
- several recipients with delivery=yes answer one id per recipient, comma separated, in the
  order of `to` (`OK 17,18`); a client that reads one integer (`OK 1234567`) gets the first one;
- test=yes with delivery=yes answers `OK 0` (0 is never a message id: the report says NONE);
- unlimited credits read as UNLIMITED_CREDITS, a number, since clients parse a number;
- `logging` is accepted and has no effect: every message is kept in the history anyway;
- delivery=yes asks the network for status reports; without it none are requested;
- `to` items are numbers (`+`, `00` or the bare country code, then digits; spaces, dashes, dots
  and brackets between the digits ignored; normalised to `+<digits>`) or address-book contact
  and group names; a number given twice is sent once; `-4477...` is no number (106);
- `type` is `long` or absent (empty); any other type is a request this gateway cannot serve:
  120 (the vendor documents no code for it; 120 sends the client to the box's log);
- sender: `+` and up to 15 digits, or up to 11 of A-Z, a-z, 0-9 and space;
- gatewayrapport.php takes clientuser and clientpwd as gateway.php does (the vendor's page asked
  for none; a box on a LAN must not tell anybody how any message fared): a bad or missing login
  answers ERROR 100, 101, 104 or 116 as a send would, and another user's id answers NONE, as an
  unknown id does, so ids cannot be probed (an admin sees every message);
- without type=long a text must fit one SMS (160 GSM-7 or 70 UCS-2 characters), else 105; with
  it three parts (3 x 153 GSM-7 or 3 x 67 UCS-2), else 118: the Service counts the real parts;
- a user without the api:gateway_php permission gets 116 (account blocked), bad credentials 104;
- more recipients than the Service takes (128) answer 106;
- no port able to send, a body over MAX_BODY or an internal error answer 120;
- codes 107, 112, 114, 115, 117, 119 and 150 concern country tariffs, payments and maintenance
  windows of the hosted service, which this box does not have: they are never answered.

Only translation lives here; part counting, credits, address book, limits and the slowing down
of repeated wrong passwords belong to the Service.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import bottle

from smsd.api import legacy
from smsd.errors import ServiceError
from smsd.model import MessageState, Recipient, SendRequest
from smsd.service import Service
from smsd.service.recipients import POLICIES, looks_like_number, normalise_number as normalise

log = logging.getLogger("smsd.api.gateway_php")

PERM = "api:gateway_php"
KNOWN = frozenset({"clientuser", "clientpwd", "message", "to", "sender", "logging", "delivery",
                   "type", "test", "action", "smsid"})
TEXT_KEYS = frozenset({"message"})
YES = frozenset({"yes", "ja", "j", "y", "1", "true", "on"})
MAX_BODY = 64 * 1024            # a 1500-byte text fully percent-encoded is under 14 KiB
SINGLE_PARTS, LONG_PARTS = 1, 3
UNLIMITED_CREDITS = 999_999_999  # fits a 32-bit signed integer, the width old clients parse into
SENDER_ALNUM_MAX = 11
SENDER_DIGITS_MAX = 15           # E.164
_SENDER_CHARS = re.compile(r"[A-Za-z0-9 ]+").fullmatch
# Numbers: `+` first if at all, then digits with separators between or brackets; a country
# code never starts with 0 and a full international number has 7 to 15 digits (smsd/numbers.py).
POLICY = POLICIES["gateway_php"]

# Service error reasons -> vendor code (for a send; "too_large" depends on type=long).
CODES = {"auth": 104, "forbidden": 116, "credit": 108, "recipient": 106, "sender": 113,
         "no_port": 120}
# Failure reasons under which the store cannot say the network refused the message.
NO_VERDICT_REASONS = frozenset({"outcome-unknown", "stopped"})


class GatewayError(Exception):
    """A request refused with one of the vendor's codes."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


@dataclass(frozen=True)
class SendParams:
    user: str
    password: str
    message: str
    numbers: tuple[str, ...]       # as given, each item still to be normalised or expanded
    sender: str
    long: bool
    kind: str                      # `type` as given, lower case: "" or "long" (else 120)
    test: bool
    delivery: bool


# --- parsing ------------------------------------------------------------------------------------
def yes(value: str | None) -> bool:
    return (value or "").strip().lower() in YES


def credentials(params: Mapping[str, str]) -> tuple[str, str]:
    """(user, password); 100 / 101 when one is empty."""
    user = params.get("clientuser", "").strip()
    password = params.get("clientpwd", "")      # as given: spaces may be part of a password
    if not user:
        raise GatewayError(100, "clientuser is empty")
    if not password.strip():
        raise GatewayError(101, "clientpwd is empty")
    return user, password


def send_params(params: Mapping[str, str]) -> SendParams:
    """Checks in the vendor's order of codes: 100, 101, 102, 103 (emptiness only)."""
    user, password = credentials(params)
    message = params.get("message", "")
    if not message.strip():
        raise GatewayError(102, "message is empty")
    items = tuple(i for i in (legacy.restore_plus(x) for x in split_to(params.get("to", ""))) if i)
    if not items:
        raise GatewayError(103, "to is empty")
    kind = params.get("type", "").strip().lower()
    return SendParams(user=user, password=password, message=message, numbers=items,
                      sender=params.get("sender", ""), long=kind == "long", kind=kind,
                      test=yes(params.get("test")),
                      delivery=yes(params.get("delivery")))


def split_to(value: str) -> list[str]:
    # Commas as documented; semicolons too, as spreadsheets export them.
    return value.replace(";", ",").split(",")


def normalise_number(item: str) -> str:
    """'+44 7700-900123', '0044...' or '44...' -> '+447700900123'; 106 for anything else."""
    number = normalise(item, POLICY)
    if number is None:
        raise GatewayError(106, f"not an international phone number: {item[:40]!r}")
    return number


def is_number(item: str) -> bool:
    """A phone number (to normalise) rather than an address-book name (to expand)."""
    return looks_like_number(item, POLICY)


def check_sender(raw: str) -> str:
    """The sender as the network will show it; 109, 110, 111 or 113 as the vendor documents."""
    sender = legacy.restore_plus(raw).strip()
    if not sender:
        raise GatewayError(109, "sender is empty")
    if sender.startswith("+"):
        digits = sender[1:]
        if not digits.isascii() or not digits.isdigit():
            raise GatewayError(113, f"sender number has characters other than digits: {raw!r}")
        if len(digits) > SENDER_DIGITS_MAX:
            raise GatewayError(111, f"sender number longer than {SENDER_DIGITS_MAX} digits")
        return sender
    if sender.isascii() and sender.isdigit():
        raise GatewayError(110, "a sender number must start with +")
    if not _SENDER_CHARS(sender):
        raise GatewayError(113, f"sender has characters not allowed on all networks: {raw!r}")
    if len(sender) > SENDER_ALNUM_MAX:
        raise GatewayError(111, f"sender name longer than {SENDER_ALNUM_MAX} characters")
    return sender


def service_code(exc: ServiceError, long: bool) -> int:
    """The vendor code for a refusal of the Service."""
    if exc.reason in ("too_many_parts", "too_large"):
        return 118 if long else 105
    return CODES.get(exc.reason, 120)


# --- rendering ----------------------------------------------------------------------------------
def accepted_body(message_ids: Sequence[int], delivery: bool, test: bool) -> str:
    if not delivery:
        return "OK"
    if test:
        return "OK 0"
    return "OK " + ",".join(str(i) for i in message_ids)


def credits_body(credits: int | None) -> str:
    return str(UNLIMITED_CREDITS if credits is None else max(credits, 0))


def report_word(state: MessageState | None) -> str:
    """gatewayrapport.php's word for a svc.sending.message() state (None: unknown id).

    DELIVERED      every part was reported delivered (status DELIVERED)
    NOT DELIVERED  a final status report: TP-ST 64..127 (permanent, or temporary the SC gave up)
    BUFFERED       the last report was temporary (TP-ST 32..63): the SC keeps trying
    SUBMITTED      sent (some or all parts) with no final report yet, or reports not requested
    REJECTED       failed without being sent: the modem or network refused it (+CMS error) or
                   the text could not be encoded
    NONE           unknown id, still queued, stopped before sending, or outcome unknown (a crash
                   or timeout while the part was on the air: it may or may not have left)
    """
    if state is None:
        return "NONE"
    if state.status == "DELIVERED":
        return "DELIVERED"
    dr = state.dr_status
    if dr is not None and dr >= 64:
        return "NOT DELIVERED"
    if dr is not None and dr >= 32:
        return "BUFFERED"
    if state.status == "UNKNOWN" and state.succ_count == 0:
        return "NONE"
    if state.status == "FAILED" and state.succ_count == 0:
        return "NONE" if state.reason in NO_VERDICT_REASONS else "REJECTED"
    if state.status in ("SENT_OK", "FAILED", "UNKNOWN") or state.succ_count > 0:
        return "SUBMITTED"
    return "NONE"


# --- the service calls --------------------------------------------------------------------------
def recipients(svc: Service, items: Sequence[str]) -> tuple[Recipient, ...]:
    """Numbers normalised, address-book names expanded; duplicates dropped, order kept; any
    recipient that cannot be sent to refuses the request (106)."""
    resolved = svc.recipients.resolve_recipients(items, POLICY)
    if resolved.rejects:
        reject = resolved.rejects[0]
        raise GatewayError(106, f"{items[reject.item][:40]!r}: {reject.detail}")
    if resolved.too_many:
        # The Service would say "too large", which this dialect only has words for as a text
        # length; a number list the client must shorten is closest to "no valid number".
        raise GatewayError(106, f"{len(resolved.numbers)} recipients, at most "
                                f"{svc.limits.max_numbers}")
    return tuple(Recipient(n) for n in resolved.numbers)


def authenticate(svc: Service, user: str, password: str, remote: str) -> str:
    try:
        return str(svc.users.authenticate(user, password, PERM, remote=remote))
    except ServiceError as exc:
        raise GatewayError(CODES.get(exc.reason, 104), f"login refused for {user!r}: {exc}") \
            from None


def send(svc: Service, params: Mapping[str, str], remote: str) -> str:
    p = send_params(params)
    user = authenticate(svc, p.user, p.password, remote)
    if p.kind not in ("", "long"):
        raise GatewayError(120, f"type {p.kind[:20]!r} is not offered: type=long or none")
    sender = check_sender(p.sender)
    request = SendRequest(
        text=p.message, recipients=recipients(svc, p.numbers), request_status_report=p.delivery,
        dry_run=p.test, max_parts=LONG_PARTS if p.long else SINGLE_PARTS, sender=sender,
        dialect="gateway_php")
    try:
        accepted = svc.sending.send_sms(request, user=user)
    except ServiceError as exc:
        raise GatewayError(service_code(exc, p.long), f"send refused: {exc}") from None
    log.info("gateway.php %s by %s from %s: %d recipient(s), ids %s",
             "test" if p.test else "send", user, remote, len(request.recipients),
             list(accepted.message_ids))
    return accepted_body(accepted.message_ids, p.delivery, p.test)


def credits(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = authenticate(svc, *credentials(params), remote)
    return credits_body(svc.users.credits(user))


def gateway(svc: Service, params: Mapping[str, str], remote: str) -> str:
    """The body for one /module/gateway.php request; never raises for bad input."""
    try:
        if params.get("action", "").strip().lower() == "credits":
            return credits(svc, params, remote)
        return send(svc, params, remote)
    except GatewayError as exc:
        log.info("gateway.php from %s refused with %d: %s", remote, exc.code, exc)
        return f"ERROR {exc.code}"


def report(svc: Service, params: Mapping[str, str], remote: str) -> str:
    """The body for one /module/gatewayrapport.php request; never raises for bad input."""
    try:
        user = authenticate(svc, *credentials(params), remote)
    except GatewayError as exc:
        log.info("gatewayrapport.php from %s refused with %d: %s", remote, exc.code, exc)
        return f"ERROR {exc.code}"
    ident = params.get("smsid", "").strip()
    if not (ident.isascii() and ident.isdigit()) or len(ident) > 18:
        return "NONE"
    return report_word(svc.sending.message(int(ident), user))


# --- HTTP ---------------------------------------------------------------------------------------
def _request_params() -> dict[str, str] | None:
    """The request's parameters, or None when its body is over MAX_BODY."""
    if (bottle.request.content_length or 0) > MAX_BODY:
        return None
    return legacy.request_params(TEXT_KEYS, KNOWN, MAX_BODY)


def _reply(what: str, fn: Any) -> str:
    """The bare body of `fn()` (ERROR 120 if it fails), and close after it: the old clients of
    this API read until the server closes."""
    try:
        body = str(fn())
    except Exception:   # noqa: BLE001 - a client must get a vendor answer, never a traceback
        log.exception("%s: internal error", what)
        body = "ERROR 120"
    legacy.close_connection()
    bottle.response.content_type = "text/plain; charset=utf-8"
    return body


def mount(app: bottle.Bottle, svc: Service) -> None:
    """Add /module/gateway.php and /module/gatewayrapport.php to `app`."""

    def gateway_route() -> str:
        remote = bottle.request.remote_addr or ""

        def run() -> str:
            params = _request_params()
            if params is None:
                log.info("gateway.php from %s refused with 120: body over %d bytes", remote,
                         MAX_BODY)
                return "ERROR 120"
            return gateway(svc, params, remote)
        return _reply("gateway.php", run)

    def report_route() -> str:
        remote = bottle.request.remote_addr or ""

        def run() -> str:
            return report(svc, _request_params() or {}, remote)
        return _reply("gatewayrapport.php", run)

    app.route("/module/gateway.php", method=["GET", "POST"], callback=gateway_route)
    app.route("/module/gatewayrapport.php", method=["GET", "POST"], callback=report_route)
