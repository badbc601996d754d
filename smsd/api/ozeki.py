"""Ozeki NG HTTP API dialect on `/api` and `/httpapi`: vendor parameters -> Service -> vendor XML.

Parameters by GET query or POST form, names in any case, `+` that arrived as a space restored,
unencoded text in `messagedata` (see `smsd.api.legacy`). Every answer is HTTP 200 with the
vendor's XML document (or HTML with responseformat=html) and the connection closed after it.

Actions (docs/ozeki.md has the details and the decisions):
    sendmessage      recipient (';' or ',' separated numbers, contact or group names),
                     messagedata, messagetype, originator, serviceprovider, responseformat
                     -> one <acceptreport> per recipient, statuscode 0 when accepted
    receivemessage   folder (inbox | outbox | sent | notsent), limit, afterdownload
                     (markasread (default) | delete | nothing); the inbox gives unread messages
    listmessages     folder, limit: what the folder holds, nothing marked
    getmessage       messageid (a sent message id, or IN<n> for a received one) with its state
    deletemessage    messageid (one or more, ';' separated): gone from this dialect's folders
    createdriver, deletedriver, startdriver, stopdriver, configdriver, listdrivers:
                     connections (one per modem port), see smsd.api.ozeki_drivers
Only translation lives here; the Service owns limits, credits, routing and the slowdown of
repeated wrong passwords.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import bottle

from smsd.api import legacy, ozeki_drivers
from smsd.api import ozeki_xml as x
from smsd.api.ozeki_xml import Item, OzekiError, item
from smsd.errors import ServiceError
from smsd.model import InboundSms, MessageState, Recipient, SendRequest
from smsd.api.ozeki_settings import TO_CORE
from smsd.service import Service
from smsd.service.recipients import POLICIES

log = logging.getLogger("smsd.api.ozeki")

PERM = "api:ozeki"
DIALECT = "ozeki"
TEXT_KEYS = frozenset({"messagedata"})
KNOWN = frozenset({"action", "username", "password", "recipient", "messagedata", "messagetype",
                   "originator", "serviceprovider", "responseformat", "folder", "limit",
                   "afterdownload", "messageid", "type", "name", "port"}) \
    | frozenset(k.lower() for k in TO_CORE)
MAX_BODY = 64 * 1024
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
AFTER_DOWNLOAD = {"markasread": "read", "markread": "read", "read": "read", "delete": "delete",
                  "nothing": "keep", "none": "keep", "keep": "keep", "leave": "keep"}
POLICY = POLICIES["ozeki"]
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+").fullmatch
_TAG = re.compile(r"<\s*(udh|data)\s*>(.*?)<\s*/\s*\1\s*>", re.I | re.S)


@dataclass(frozen=True)
class Kind:
    """What a messagetype asks of the Service."""

    encoding: str = "auto"
    flash: bool = False
    binary: bool = False


TYPES = {"SMS:TEXT": Kind(), "SMS:TEXT:GSM7BIT": Kind("gsm7"), "SMS:TEXT:UCS2": Kind("ucs2"),
         "SMS:TEXT:UNICODE": Kind("ucs2"), "SMS:TEXT:CLASS0": Kind(flash=True),
         "SMS:FLASH": Kind(flash=True), "SMS:BINARY": Kind(binary=True)}
# The message type that says which alphabet went out (a requested SMS:TEXT:GSM7BIT whose text
# GSM-7 cannot carry is sent, in UCS2, and reported so).
SENT_TYPES = {"gsm7": "SMS:TEXT:GSM7BIT", "ucs2": "SMS:TEXT:UCS2", "8bit": "SMS:BINARY"}


# --- sendmessage ----------------------------------------------------------------------------------
def message_kind(params: Mapping[str, str]) -> tuple[str, Kind]:
    name = (params.get("messagetype") or "SMS:TEXT").strip().upper()
    kind = TYPES.get(name)
    if kind is None:
        raise OzekiError(x.MESSAGE_TYPE, f"message type {name!r} is not supported "
                                         f"(supported: {', '.join(TYPES)})")
    return name, kind


def binary_payload(raw: str) -> tuple[bytes, bytes]:
    """(udh, data) from hex user data, or from <udh>hex</udh><data>hex</data>."""
    found = {m.group(1).lower(): m.group(2).strip() for m in _TAG.finditer(raw)}
    udh_hex, data_hex = (found.get("udh", ""), found["data"]) if "data" in found \
        else ("", raw.strip())
    for part in (udh_hex, data_hex):
        if part and not _HEX(part):
            raise OzekiError(x.MESSAGE_DATA, "binary message data must be hex octets")
    if not data_hex:
        raise OzekiError(x.MESSAGE_DATA, "no binary data")
    return bytes.fromhex(udh_hex), bytes.fromhex(data_hex)


def recipient_items(raw: str) -> list[str]:
    items = re.split(r"[;,]", raw)
    # Keep a leading space: a `+` that arrived unencoded (restore_plus puts it back).
    return [legacy.restore_plus(i) if i[:1] == " " and i.strip()[:1].isdigit() else i.strip()
            for i in items if i.strip()]


def resolve(svc: Service, items: list[str]) -> list[tuple[str, str | None, str]]:
    """(as given, number or None, why not) per recipient; names expand to their numbers."""
    resolved = svc.recipients.resolve_recipients(items, POLICY)
    return [(items[o.item], o.number, o.detail or "invalid recipient") for o in resolved.outcomes]


def send(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    type_name, kind = message_kind(params)
    data = params.get("messagedata", "")
    if data == "":
        raise OzekiError(x.MESSAGE_DATA, "messagedata is empty")
    targets = resolve(svc, recipient_items(params.get("recipient", "")))
    if not targets:
        raise OzekiError(x.RECIPIENT, "no recipient")
    request = build_request(svc, params, kind, data, [n for _, n, _ in targets if n])
    accepted = svc.sending.send_sms(request, user=user) if request is not None else None
    ids = iter(accepted.message_ids if accepted is not None else ())
    if accepted is not None and kind.encoding != "auto" and accepted.encoding != kind.encoding:
        type_name = SENT_TYPES.get(accepted.encoding, type_name)
    reports = []
    for given, number, why in targets:
        fields: dict[str, object] = {}
        if number is None:
            fields = {"statuscode": x.RECIPIENT, "statusmessage": f"Invalid recipient: {why}"}
        else:
            fields = {"statuscode": x.OK, "statusmessage": x.ACCEPTED, "messageid": next(ids)}
        reports.append(item("acceptreport", **fields, recipient=number or given,
                            originator=params.get("originator", ""), messagetype=type_name,
                            messagedata=data))
    return reports


def build_request(svc: Service, params: Mapping[str, str], kind: Kind, data: str,
                  numbers: list[str]) -> SendRequest | None:
    if not numbers:
        return None
    udh, payload = binary_payload(data) if kind.binary else (b"", None)
    text = f"binary message, {len(payload)} octets" if payload is not None else data
    provider = params.get("serviceprovider", "").strip()
    ports = (_provider(svc, provider),) if provider else None
    originator = params.get("originator", "").strip() or None
    return SendRequest(text=text, recipients=tuple(Recipient(n) for n in numbers), ports=ports,
                       encoding=kind.encoding, flash=kind.flash, data=payload, udh=udh,
                       sender=originator, dialect=DIALECT)


# --- folders --------------------------------------------------------------------------------------
def limit_of(params: Mapping[str, str]) -> int:
    raw = params.get("limit", "").strip()
    if not raw:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise OzekiError(x.BAD_PARAMETER, f"limit must be 1 to {MAX_LIMIT}")
    return int(raw)


def folder_of(params: Mapping[str, str]) -> str:
    folder = (params.get("folder") or "inbox").strip().lower()
    if folder not in ("inbox", "outbox", "sent", "notsent"):
        raise OzekiError(x.BAD_PARAMETER, f"no folder {folder!r}: inbox, outbox, sent or notsent")
    return folder


def receive(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    folder, limit = folder_of(params), limit_of(params)
    after = AFTER_DOWNLOAD.get((params.get("afterdownload") or "markasread").strip().lower())
    if after is None:
        raise OzekiError(x.BAD_PARAMETER, "afterdownload must be markasread, delete or nothing")
    if folder == "inbox":
        got = svc.folders.inbox(DIALECT, unread_only=True, limit=limit, mark_read=after != "keep",
                                user=user)
        if after == "delete":
            svc.folders.hide(DIALECT, "in", [m.incoming_sms_id for m, _ in got], user=user)
        return [inbound_item(m, read=after != "keep") for m, _ in got]
    sent = svc.folders.sent(DIALECT, folder, user, limit)
    if after == "delete":
        svc.folders.hide(DIALECT, "out", [m.message_id for m in sent], user=user)
    return [sent_item(svc, m) for m in sent]


def list_folder(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    folder, limit = folder_of(params), limit_of(params)
    if folder == "inbox":
        got = svc.folders.inbox(DIALECT, unread_only=False, limit=limit, mark_read=False,
                                user=user)
        return [inbound_item(m, read=read) for m, read in got]
    return [sent_item(svc, m) for m in svc.folders.sent(DIALECT, folder, user, limit)]


def inbound_item(msg: InboundSms, *, read: bool) -> Item:
    return item("message", messageid=f"IN{msg.incoming_sms_id}", originator=msg.number,
                recipient="", messagetype="SMS:TEXT", messagedata=msg.text,
                senttime=msg.timestamp, receivedtime=msg.timestamp, folder="inbox",
                status="read" if read else "unread", port=msg.port)


# UNKNOWN (outcome unknown, docs/durability.md): handed to the network, never confirmed: the sent
# folder, status "sent", and its reason "outcome-unknown" says the rest.
FOLDER_OF_STATUS = {"SENDING": "outbox", "SENT_OK": "sent", "DELIVERED": "sent",
                    "FAILED": "notsent", "UNKNOWN": "sent"}
DELIVERY = {"SENDING": "pending", "SENT_OK": "sent", "DELIVERED": "delivered", "FAILED": "failed",
            "UNKNOWN": "sent"}


def sent_item(svc: Service, msg: MessageState) -> Item:
    return item("message", messageid=msg.message_id, originator="", recipient=msg.number,
                messagetype=SENT_TYPES.get(msg.encoding, "SMS:TEXT"), messagedata=msg.text,
                senttime=msg.time,
                folder=FOLDER_OF_STATUS.get(msg.status, "outbox"),
                status=DELIVERY.get(msg.status, msg.status.lower()),
                deliveryreport="" if msg.dr_status is None else f"{msg.dr_status}",
                parts=msg.count, partssent=msg.succ_count, reason=msg.reason,
                serviceprovider=connection_name(svc, msg.port))


def connection_name(svc: Service, port: int | None) -> str:
    if port is None:
        return ""
    return svc.connections.name_of(port) or str(svc.ports.config.name(port))


def message_ids(params: Mapping[str, str]) -> list[tuple[str, int]]:
    """('in' | 'out', id) for each of `messageid` (';' or ',' separated)."""
    out = []
    for raw in re.split(r"[;,]", params.get("messageid", "")):
        text = raw.strip()
        if not text:
            continue
        kind = "in" if text[:2].upper() == "IN" else "out"
        digits = text[2:] if kind == "in" else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
            raise OzekiError(x.BAD_PARAMETER, f"messageid {text[:24]!r} is not a message id")
        out.append((kind, int(digits)))
    if not out:
        raise OzekiError(x.BAD_PARAMETER, "messageid is required")
    return out


def get_message(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    items = []
    for kind, ident in message_ids(params):
        found = lookup(svc, kind, ident, user)
        items.append(found if found is not None else x.error_item(
            x.NOT_FOUND, f"no message {'IN' if kind == 'in' else ''}{ident}"))
    return items


def lookup(svc: Service, kind: str, ident: int, user: str) -> Item | None:
    """The message as `user` may see it; None when hidden, unknown or somebody else's."""
    if ident in svc.folders.hidden(DIALECT, kind, [ident]):
        return None
    if kind == "in":
        found = svc.folders.inbox_message(DIALECT, ident, user)
        return None if found is None else inbound_item(found[0], read=found[1])
    msg = svc.sending.message(ident, user)
    return None if msg is None else sent_item(svc, msg)


def _provider(svc: Service, name: str) -> int:
    """serviceprovider: a modem port's connection, or a provider connection (its number)."""
    if svc.connections.exists(name):
        return svc.connections.info(name).number
    return svc.ports.connection_port(name)


def delete_message(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    items = []
    for kind, ident in message_ids(params):
        if lookup(svc, kind, ident, user) is None:
            items.append(x.error_item(x.NOT_FOUND, f"no message {ident}"))
            continue
        svc.folders.hide(DIALECT, kind, [ident], user=user)
        items.append(item("deletereport", statuscode=x.OK, statusmessage="Message deleted",
                          messageid=f"IN{ident}" if kind == "in" else ident))
    return items


# --- HTTP -----------------------------------------------------------------------------------------
Handler = Callable[[Service, Mapping[str, str], str], list[Item]]
HANDLERS: dict[str, Handler] = {
    "sendmessage": send, "receivemessage": receive, "listmessages": list_folder,
    "getmessage": get_message, "getmessagestatus": get_message, "deletemessage": delete_message,
    **ozeki_drivers.HANDLERS}


def answer(svc: Service, params: Mapping[str, str], remote: str) -> tuple[str, list[Item]]:
    action = (params.get("action") or "").strip().lower()
    handler = HANDLERS.get(action)
    try:
        if handler is None:
            raise OzekiError(x.UNKNOWN_ACTION, f"unknown action {action!r}")
        user = svc.users.authenticate(params.get("username", ""), params.get("password", ""), PERM,
                                      remote=remote)
        return action, handler(svc, params, str(user))
    except OzekiError as exc:
        log.info("%s from %s refused with %d: %s", action, remote, exc.code, exc)
        return action, [x.error_item(exc.code, str(exc))]
    except ServiceError as exc:
        code = x.CODES.get(exc.reason, x.BAD_PARAMETER)
        log.info("%s from %s refused with %d (%s): %s", action, remote, code, exc.reason, exc)
        return action, [x.error_item(code, str(exc) or exc.reason)]


def mount(app: bottle.Bottle, svc: Service) -> None:
    """Route exactly /api and /httpapi (the JSON API lives at /api/<name>)."""

    def callback() -> str:
        remote = bottle.request.remote_addr or ""
        fmt, action = "xml", ""
        try:
            if (bottle.request.content_length or 0) > MAX_BODY:
                items = [x.error_item(x.BAD_PARAMETER, f"request over {MAX_BODY} bytes")]
            else:
                params = legacy.request_params(TEXT_KEYS, KNOWN, MAX_BODY)
                fmt = (params.get("responseformat") or "xml").strip().lower()
                action, items = answer(svc, params, remote)
        except Exception:   # noqa: BLE001 - a client must get a vendor answer, never a traceback
            log.exception("ozeki %s: internal error", action)
            items = [x.error_item(x.INTERNAL, "internal error (see the log)")]
        body, ctype = x.render(action, items, fmt)
        return legacy.text_reply(body, ctype)

    for path in ("/api", "/httpapi"):
        app.route(path, method=["GET", "POST"], callback=callback)
