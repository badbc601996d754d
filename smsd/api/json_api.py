"""The JSON gateway API (our native dialect): vendor parameters -> Service call -> vendor JSON.

Everything here is translation; limits, encoding choice, routing and retries live in the service.
As the vendor does, every answer is HTTP 200 with the outcome in `error_code`; on errors we add a
`reason` string (clients parse the JSON and ignore keys they do not know) so an operator can see
what was wrong without reading our logs.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Mapping

from smsd.api import json_ports
from smsd.api import json_calls
from smsd.api.params import BadParam, Params
from smsd.errors import ServiceError
from smsd.model import Recipient, SendRequest, SmsResult
from smsd.push.json_format import ENCODING_WORDS, status_word
from smsd.service import Service

log = logging.getLogger("smsd.api.json")

MAX_PORT = 31
ENCODINGS = {"unicode": "ucs2", "gsm-7bit": "gsm7"}
# Vendor error code for each service error reason; the default is 500.
CODES = {"bad_request": 400, "too_large": 413, "no_port": 550, "not_found": 404, "auth": 401,
         "forbidden": 403, "credit": 500}
PORT_INFO_KEYS = ("type", "imei", "imsi", "iccid", "smsc", "number", "reg", "slot", "callstate",
                  "signal", "gprs", "remain_credit", "remain_monthly_credit", "remain_daily_credit",
                  "remain_daily_calltime", "remain_hourly_calltime", "remain_daily_connect")
TIME_FORMAT_HINT = "YYYY-MM-DD HH:MM:SS"

Handler = Callable[[Service, Params], dict[str, Any]]


def _ok(svc: Service, code: int = 200, **fields: Any) -> dict[str, Any]:
    return {"error_code": code, "sn": svc.sn, **fields}


# --- send ---------------------------------------------------------------------------------------
def send_sms(svc: Service, p: Params) -> dict[str, Any]:
    text = p.string("text", required=True)
    assert text is not None
    recipients = tuple(_recipient(obj) for obj in p.objects("param"))
    encoding = p.string("encoding")
    if encoding is not None and encoding.lower() not in ENCODINGS:
        raise BadParam("'encoding' must be 'unicode' or 'gsm-7bit'")
    request = SendRequest(
        text=text, recipients=recipients,
        ports=_tuple_or_none(_ports(p)),
        encoding=ENCODINGS[encoding.lower()] if encoding else "auto",
        request_status_report=p.boolean("request_status_report", True))
    accepted = svc.sending.send_sms(request, user=p.user)
    return _ok(svc, 202, sms_in_queue=accepted.sms_in_queue, task_id=accepted.task_id)


def _recipient(obj: Mapping[str, Any]) -> Recipient:
    number = obj.get("number")
    if type(number) is str and len(obj) == 1:
        # The common form, {"number": "..."}: what the general path below makes of it, without
        # a Params and three look-ups per recipient (a bulk request has up to 128 of them).
        return Recipient(number)
    item = Params(obj, {})
    number = item.string("number", required=True, allow_int=True)
    params = item.str_list("text_param") or []
    user_id = item.integer("user_id", minimum=0)
    return Recipient(number=number or "", text_param=tuple(params), user_id=user_id)


def _tuple_or_none(values: list[int] | None) -> tuple[int, ...] | None:
    return tuple(values) if values is not None else None


def _ports(p: Params) -> list[int] | None:
    """The `port` selection, None for any port. An empty array selects no port at all, which
    no request can mean (it used to read as "any port"): refused."""
    ports = p.int_list("port", minimum=0, maximum=MAX_PORT)
    if ports == []:
        raise BadParam("'port' is an empty array: name at least one port, or leave it out "
                       "for any port")
    return ports


# --- queries ------------------------------------------------------------------------------------
def _query_filters(p: Params) -> dict[str, Any]:
    numbers = p.str_list("number")
    if numbers is not None and len(numbers) > 32:
        raise _TooMany("the count of numbers is more than 32")
    if numbers and any(len(n.encode()) > 24 for n in numbers):
        raise BadParam("a number is longer than 24 bytes")
    return {"numbers": numbers, "ports": _ports(p),
            "time_after": _time(p, "time_after"), "time_before": _time(p, "time_before")}


class _TooMany(ServiceError):
    reason = "too_large"


def _time(p: Params, name: str) -> str | None:
    value = p.string(name)
    if value is None:
        return None
    try:
        dt.datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise BadParam(f"'{name}' must look like {TIME_FORMAT_HINT}") from None
    return value.strip()


def query_sms_result(svc: Service, p: Params) -> dict[str, Any]:
    rows = svc.sending.query_results(user_ids=p.int_list("user_id", minimum=0), user=p.user,
                                     **_query_filters(p))
    return _ok(svc, result=[sms_result_json(r) for r in rows])


def sms_result_json(r: SmsResult) -> dict[str, Any]:
    out: dict[str, Any] = {"port": r.port, "number": r.number}
    if r.user_id is not None:
        out["user_id"] = r.user_id
    out.update(time=r.time, status=status_word(r.status), count=r.count, succ_count=r.succ_count,
               ref_id=r.ref_id, imsi=r.imsi)
    if r.encoding in ENCODING_WORDS:     # our extension: what went out (docs/json-api.md)
        out["encoding"] = ENCODING_WORDS[r.encoding]
    return out


def query_sms_deliver_status(svc: Service, p: Params) -> dict[str, Any]:
    rows = svc.sending.query_reports(user=p.user, **_query_filters(p))
    return _ok(svc, result=[{"port": r.port, "number": r.number, "time": r.time,
                             "ref_id": r.ref_id, "status_code": r.status_code, "imsi": r.imsi}
                            for r in rows])


def query_sms_in_queue(svc: Service, p: Params) -> dict[str, Any]:
    return _ok(svc, in_queue=svc.sending.in_queue())


def query_incoming_sms(svc: Service, p: Params) -> dict[str, Any]:
    flag = (p.string("flag") or "unread").lower()
    if flag not in ("unread", "read", "all"):
        raise BadParam("'flag' must be unread, read or all")
    page = svc.inbox.query(after_id=p.integer("incoming_sms_id", 0, minimum=0), flag=flag,
                           user=p.user,
                           ports=_ports(p))
    sms = [{"incoming_sms_id": m.incoming_sms_id, "port": m.port, "number": m.number,
            "smsc": m.smsc, "timestamp": m.timestamp, "text": m.text} for m in page.sms]
    return _ok(svc, sms=sms, read=page.read, unread=page.unread)


# --- USSD ---------------------------------------------------------------------------------------
def send_ussd(svc: Service, p: Params) -> dict[str, Any]:
    command = (p.string("command") or "send").lower()
    if command not in ("send", "cancel"):
        raise BadParam("'command' must be send or cancel")
    text = p.string("text") or ""
    if command == "send" and not text:
        raise BadParam("'text' is required when command is send")
    if len(text.encode()) > 60:
        raise BadParam("'text' is longer than 60 bytes")
    ports = _required_ports(p)
    results = svc.ussd.send(ports, text, command, user=p.user)
    return _ok(svc, 202, result=[{"port": port, "status": status} for port, status in results])


def query_ussd_reply(svc: Service, p: Params) -> dict[str, Any]:
    replies = svc.ussd.replies(_required_ports(p), user=p.user)
    return _ok(svc, reply=[{"port": port, "text": text} for port, text in replies])


def _required_ports(p: Params) -> list[int]:
    ports = _ports(p)
    if ports is None:
        raise BadParam("'port' is required")
    return ports


# --- tasks and ports ----------------------------------------------------------------------------
def stop_sms(svc: Service, p: Params) -> dict[str, Any]:
    svc.sending.stop_task(p.integer("task_id", required=True, minimum=0), user=p.user)
    return _ok(svc)


def get_port_info(svc: Service, p: Params) -> dict[str, Any]:
    keys = [k.strip().rstrip(":") for k in (p.str_list("info_type") or [])]
    if not keys:
        raise BadParam("'info_type' is required")
    if json_calls.asks_call_forward(keys):          # section 18: read from the network
        return json_calls.call_forward_info(svc, p, keys)
    unknown = [k for k in keys if k not in PORT_INFO_KEYS and k not in json_ports.EXTRA_INFO_KEYS]
    if unknown:
        raise BadParam(f"unknown info_type: {', '.join(unknown)}")
    infos = svc.ports.info(_ports(p))
    return _ok(svc, info=[json_ports.port_info(svc, info, keys) for info in infos])


def set_port_info(svc: Service, p: Params) -> dict[str, Any]:
    port = p.integer("port", required=True, minimum=0, maximum=MAX_PORT)
    action = p.string("action", required=True)
    if (action or "").lower() in json_calls.ACTIONS:     # CallForward, CheckCallForward
        return json_calls.set_port_info(svc, port, (action or "").lower(), p)
    if (action or "").lower() in json_ports.SIM_ACTIONS:      # imei, number, block, unblock
        json_ports.set_sim(svc, port, (action or "").lower(), p.string("param"), p.user)
        return _ok(svc)
    svc.ports.control(port, (action or "").lower(), p.string("param"), user=p.user)
    return _ok(svc)


def get_status(svc: Service, p: Params) -> dict[str, Any]:
    # The vendor answers this one without error_code/sn; we keep the documented shape, plus
    # the remote tunnel's state on a box that has one (docs/remote.md).
    remote = svc.remote.status()
    return {"performance": svc.device_status(), **({"remote": remote} if remote else {})}


HANDLERS: dict[str, Handler] = {
    "send_sms": send_sms, "query_sms_result": query_sms_result,
    "query_sms_deliver_status": query_sms_deliver_status,
    "query_sms_in_queue": query_sms_in_queue, "query_incoming_sms": query_incoming_sms,
    "send_ussd": send_ussd, "query_ussd_reply": query_ussd_reply, "stop_sms": stop_sms,
    "get_port_info": get_port_info, "set_port_info": set_port_info, "get_status": get_status,
    "get_cdr": json_calls.get_cdr,
}
# get_status's documented body ('[{"performance"}]') is not JSON; it takes no parameters anyway.
IGNORES_BODY = frozenset({"get_status", "query_sms_in_queue"})
STATUS_ITEM = b"performance"


def handle(svc: Service, name: str, raw_body: bytes, query: Mapping[str, str],
           user: str) -> dict[str, Any]:
    """Run one API call and return the vendor JSON object; never raises for bad input."""
    handler = HANDLERS.get(name)
    if handler is None:
        return error_body(svc, 404, f"unknown API call '{name}'")
    try:
        if name == "get_status":
            _check_status_request(raw_body, query)
        params = Params.parse(b"" if name in IGNORES_BODY else raw_body, query)
        params.user = user
        return handler(svc, params)
    except ServiceError as exc:
        code = CODES.get(exc.reason, 500)
        if name != "stop_sms" and code == 404:
            code = 400
        log.info("%s refused (%d): %s", name, code, exc)
        return error_body(svc, code, str(exc))


def _check_status_request(raw_body: bytes, query: Mapping[str, str]) -> None:
    """get_status asks for "performance" (the documented body is `[{"performance"}]`, not JSON);
    a bare request is taken too, a body that asks for something else is not."""
    if raw_body.strip() and STATUS_ITEM not in raw_body and "performance" not in query:
        raise BadParam("get_status asks for 'performance' (body [{\"performance\"}])")


def error_body(svc: Service, code: int, reason: str) -> dict[str, Any]:
    return {"error_code": code, "sn": svc.sn, "reason": reason}
