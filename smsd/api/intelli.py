"""IntelliSoftware HTTP interface dialect: vendor parameters -> Service call -> vendor reply.

Routes under /smsgateway/ (GET or POST form, names in any case, path case-insensitive as on the
vendor's IIS server, lenient parsing of old clients via `smsd.api.legacy`):

    sendmsg.aspx (and default.aspx)   username, password, to, text, from, maxconcat,
        usercontext, type 1 text | 2 UCS2 `hex` | 3 binary `ud` [+ `udh`] | 4 WAP Push `href`
        + `text` | 5 MMS, 6 Voice-SMS (refused, see below)
        -> `ID:<id>` / `ERR:<CODE>` for one recipient or a whole failure, else one
           `<number>,ID:<id>` or `<number>,ERR:<CODE>` line per recipient
    getbalance.aspx                   -> `BALANCE:<credits>`
    updatesubscriptionlist.aspx       sublistname, msisdn, action 1|2|3 -> `OK`
    retrievemms.aspx                  -> ERR:MSGID_INVALID (no MMS is ever received)

Every answer is HTTP 200, text/plain, and closes the connection: an unknown page (`nope.aspx`),
a method other than GET or POST, or a request the server cannot read answer ERR:INVALID_REQUEST
(smsd.api.refusals). Decisions (docs/intellisoftware.md): one submission is one task, and its
id is the ID on every recipient's line and in every status report forwarded for it; numbers are
shown in international form without `+`; a number with neither `+`, `00` nor a leading `0` is
taken as international; MMS and Voice-SMS answer ERR:INVALID_REQUEST until they are
implemented; unlimited credit reads BALANCE:2147483647.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Callable, Mapping

import bottle

from smsd.api import legacy
from smsd.errors import CodecError, ServiceError
from smsd.model import Recipient, SendRequest
from smsd.pdu import binary, wap_push
from smsd.service import Service
from smsd.service.recipients import POLICIES, Resolution, normalise_number

log = logging.getLogger("smsd.api.intelli")

PERM = "api:intelli"
TEXT_KEYS = frozenset({"text"})
KNOWN = frozenset({"username", "password", "to", "text", "from", "maxconcat", "usercontext",
                   "type", "hex", "ud", "udh", "href", "sublistname", "msisdn", "action",
                   "msgid", "msgpart"})
MAX_BODY = 256 * 1024
POLICY = POLICIES["intelli"]
MAX_TO = POLICY.max_items
UNLIMITED_BALANCE = 2147483647
WAP_LABEL_MAX = 160
TYPE_TEXT, TYPE_UNICODE, TYPE_BINARY, TYPE_WAP, TYPE_MMS, TYPE_VOICE = 1, 2, 3, 4, 5, 6

# Service error reasons -> IntelliSoftware code.
CODES = {"auth": "LOGIN_INVALID", "forbidden": "LOGIN_INVALID", "credit": "INSUFFICIENT_CREDIT",
         "recipient": "INVALID_NUMBER", "too_many_parts": "INVALID_REQUEST",
         "too_large": "INVALID_REQUEST", "bad_request": "INVALID_REQUEST",
         "not_found": "INVALID_REQUEST", "no_port": "GATEWAY_ERROR"}
_HEXSTR = re.compile(r"(?:[0-9A-Fa-f]{2})+").fullmatch


class IntelliError(Exception):
    """A request refused with `ERR:<code>`."""

    def __init__(self, code: str, why: str = "") -> None:
        super().__init__(why or code)
        self.code = code


# --- parameters ---------------------------------------------------------------------------------
def required(params: Mapping[str, str], name: str, code: str | None = None) -> str:
    value = params.get(name, "")
    if value.strip() == "":
        raise IntelliError(code or f"NO_{name.upper()}", f"{name} is missing")
    return value


def small_int(params: Mapping[str, str], name: str, default: int, lo: int, hi: int,
              code: str = "INVALID_REQUEST") -> int:
    raw = params.get(name, "").strip()
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not lo <= int(raw) <= hi:
        raise IntelliError(code, f"{name}={raw[:20]!r}")
    return int(raw)


def hex_bytes(raw: str, what: str) -> bytes:
    cleaned = raw.strip().replace(" ", "")
    if not _HEXSTR(cleaned):
        raise IntelliError("PARAMETER_INVALID", f"{what} is not hexadecimal octets")
    return bytes.fromhex(cleaned)


def normalise(raw: str) -> tuple[str, str] | None:
    """(number to send to, number shown in the reply) or None when it is not a number.

    `+44...`, `0044...` and `44...` are international; `07...` is national and kept as given."""
    number = normalise_number(raw, POLICY)
    return None if number is None else (number, shown(number))


def shown(number: str) -> str:
    """A number as the vendor shows it: international without `+`."""
    return number.lstrip("+")


def split_to(raw: str) -> list[str]:
    # Keep a leading space: it is a `+` that arrived unencoded (normalise restores it).
    items = [item.strip('"') for item in raw.split(",")]
    return [item if item[:1] == " " and item.strip()[:1].isdigit() else item.strip()
            for item in items if item.strip()]


# --- payload per type -----------------------------------------------------------------------------
def payload(params: Mapping[str, str], kind: int, maxconcat: int) -> dict[str, Any]:
    """SendRequest fields for the message type."""
    if kind == TYPE_TEXT:
        text = required(params, "text")
        return {"text": text, "max_parts": maxconcat}
    if kind == TYPE_UNICODE:
        return {"text": ucs2_text(required(params, "hex", "PARAMETER_MISSING")),
                "encoding": "ucs2", "max_parts": maxconcat}
    if kind == TYPE_BINARY:
        data = hex_bytes(required(params, "ud", "PARAMETER_MISSING"), "ud")
        udh = binary.strip_udhl(hex_bytes(params["udh"], "udh")) if params.get("udh") else b""
        try:
            binary.check_ies(udh)
        except CodecError as exc:
            raise IntelliError("PARAMETER_INVALID", f"udh: {exc}") from None
        label = params.get("text", "").strip() or f"binary {len(data)} octets"
        return {"text": label[:WAP_LABEL_MAX], "data": data, "udh": udh, "max_parts": maxconcat}
    if kind == TYPE_WAP:
        return wap_payload(params)
    raise IntelliError("INVALID_REQUEST", f"message type {kind} (MMS, Voice-SMS) not supported")


def ucs2_text(raw: str) -> str:
    data = hex_bytes(raw, "hex")
    if len(data) % 2:
        raise IntelliError("PARAMETER_INVALID", "hex is not whole UCS2 characters")
    try:
        text = data.decode("utf-16-be")
    except UnicodeDecodeError:
        raise IntelliError("PARAMETER_INVALID", "hex holds an unpaired surrogate") from None
    if "\x00" in text:
        raise IntelliError("PARAMETER_INVALID", "hex holds NUL")
    return text


def wap_payload(params: Mapping[str, str]) -> dict[str, Any]:
    """A WAP Push SI in exactly one SMS (the vendor charges one credit and refuses more)."""
    href = required(params, "href", "PARAMETER_MISSING").strip()
    if not href.lower().startswith(("http://", "https://")):
        raise IntelliError("INVALID_REQUEST", "href must start with http:// or https://")
    text = params.get("text", "")
    try:
        udh, data = wap_push.service_indication(href, text)
    except CodecError as exc:
        raise IntelliError("INVALID_REQUEST", str(exc)) from None
    if binary.count_parts(data, udh) > 1:
        raise IntelliError("INVALID_REQUEST", "text and href need more than one SMS")
    label = f"WAP Push {href} {text}".strip()
    return {"text": label[:WAP_LABEL_MAX], "data": data, "udh": udh, "max_parts": 1}


# --- send -----------------------------------------------------------------------------------------
def authenticate(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = required(params, "username")
    password = required(params, "password")
    return str(svc.users.authenticate(user, password, PERM, remote=remote))


def send(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = authenticate(svc, params, remote)
    kind = small_int(params, "type", TYPE_TEXT, 1, 6)
    maxconcat = small_int(params, "maxconcat", 1, 1, 255)
    items = split_to(required(params, "to"))
    resolved = svc.recipients.resolve_recipients(items, POLICY)
    if resolved.too_many_items:
        raise IntelliError("INVALID_REQUEST", f"{len(items)} numbers, at most {MAX_TO}")
    fields = payload(params, kind, maxconcat)
    good, lines = recipients(resolved, items)
    if not lines:
        raise IntelliError("INVALID_NUMBER", "the names and lists hold no numbers to send to")
    sender = params.get("from", "").strip() or None
    if good:
        lines.update(submit(svc, user, good, fields, sender,
                            params.get("usercontext", "").strip()))
    log.info("sendmsg from %s by %s: type %d, %d recipient(s)", remote, user, kind, len(lines))
    if len(lines) == 1:
        return next(iter(lines.values()))
    return "\n".join(f"{number},{result}" for number, result in lines.items())


def recipients(resolved: Resolution, items: list[str]
               ) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(sendable (number, shown) pairs, reply lines so far), in order: a number or name that
    gives nothing to send to is an ERR:INVALID_NUMBER line under the item (or the number the
    name gave) as written."""
    good: list[tuple[str, str]] = []
    lines: dict[str, str] = {}
    for o in resolved.outcomes:
        if o.number is None:
            lines.setdefault((o.text if o.text is not None else items[o.item]).strip(),
                             "ERR:INVALID_NUMBER")
        else:
            lines[shown(o.number)] = ""
            good.append((o.number, shown(o.number)))
    return good, lines


def submit(svc: Service, user: str, good: list[tuple[str, str]], fields: dict[str, Any],
           sender: str | None, usercontext: str) -> dict[str, str]:
    """Result per shown number: one send request, so one task, for the whole submission.

    "The ID applies to the whole submission and is identical for each recipient": the ID is the
    task id, on every line, and status forwarding carries it back (with `toaddr` telling the
    recipients apart). Distribution lists may hold more numbers than a plain request takes
    (`expanded`); a refusal (credit, no port) refuses the whole submission, nothing half-queued."""
    request = SendRequest(recipients=tuple(Recipient(n) for n, _ in good), sender=sender,
                          usercontext=usercontext, dialect="intelli", expanded=True, **fields)
    ident = svc.sending.send_sms(request, user=user).task_id
    return {shown: f"ID:{ident}" for _, shown in good}


# --- other services -------------------------------------------------------------------------------
def balance(svc: Service, params: Mapping[str, str], remote: str) -> str:
    user = authenticate(svc, params, remote)
    credits = svc.users.credits(user)
    return f"BALANCE:{UNLIMITED_BALANCE if credits is None else credits}"


def update_subscription(svc: Service, params: Mapping[str, str], remote: str) -> str:
    authenticate(svc, params, remote)
    name = required(params, "sublistname", "PARAMETER_MISSING").strip()
    number = required(params, "msisdn", "PARAMETER_MISSING")
    action = small_int(params, "action", 0, 1, 3, "PARAMETER_INVALID")
    if action == 0:
        raise IntelliError("PARAMETER_MISSING", "action is missing")
    if len(name) > 64 or not name.isprintable():
        raise IntelliError("PARAMETER_INVALID", "sublistname")
    shown = normalise(number)
    if shown is None:
        raise IntelliError("INVALID_REQUEST", "msisdn is not a phone number")
    svc.subscriptions.update(name, shown[1], action)
    return "OK"


def retrieve_mms(svc: Service, params: Mapping[str, str], remote: str) -> str:
    authenticate(svc, params, remote)
    required(params, "msgid")
    required(params, "msgpart", "PARAMETER_MISSING")
    raise IntelliError("MSGID_INVALID", "MMS is not supported: no MMS message was received")


# --- HTTP -----------------------------------------------------------------------------------------
Handler = Callable[[Service, Mapping[str, str], str], str]
HANDLERS: dict[str, Handler] = {"sendmsg.aspx": send, "default.aspx": send,
                                "getbalance.aspx": balance,
                                "updatesubscriptionlist.aspx": update_subscription,
                                "retrievemms.aspx": retrieve_mms}


def answer(svc: Service, handler: Handler, params: Mapping[str, str], remote: str) -> str:
    """The reply body for one request; never raises for bad input."""
    try:
        return handler(svc, params, remote)
    except IntelliError as exc:
        log.info("%s from %s refused with %s: %s", handler.__name__, remote, exc.code, exc)
        return f"ERR:{exc.code}"
    except ServiceError as exc:
        code = CODES.get(exc.reason, "INVALID_REQUEST")
        log.info("%s from %s refused with %s (%s): %s", handler.__name__, remote, code,
                 exc.reason, exc)
        return f"ERR:{code}"


def reply(body: str) -> str:
    """A plain text answer, and close after it (clients that read until the server closes)."""
    legacy.close_connection()
    bottle.response.content_type = "text/plain; charset=utf-8"
    return body


def mount(app: bottle.Bottle, svc: Service) -> None:
    """Add /smsgateway/<service>.aspx (any case) to `app`."""

    def callback(name: str) -> str:
        handler = HANDLERS.get(name.lower())
        if handler is None:     # the vendor answers every request 200, an unknown page too
            log.info("/smsgateway/%s from %s: no such page", name, bottle.request.remote_addr)
            return reply("ERR:INVALID_REQUEST")
        remote = bottle.request.remote_addr or ""
        try:
            if (bottle.request.content_length or 0) > MAX_BODY:
                body = "ERR:INVALID_REQUEST"
            else:
                body = answer(svc, handler, legacy.request_params(TEXT_KEYS, KNOWN, MAX_BODY),
                              remote)
        except Exception:   # noqa: BLE001 - a client must get a vendor answer, never a traceback
            log.exception("/smsgateway/%s: internal error", name)
            body = "ERR:INTERNAL_ERROR"
        return reply(body)

    # The directory in any case too: bottle's route patterns are case-sensitive.
    any_case = "".join(f"[{c.lower()}{c.upper()}]" for c in "smsgateway")
    app.route(f"/<directory:re:{any_case}>/<name>", method=["GET", "POST"],
              callback=lambda directory, name: callback(name))
