"""The HTTP front: one bottle app that mounts every API dialect (and, in simulate mode, the
simulator's injection endpoints), served by waitress.

Handlers never raise to the WSGI server: a bug answers the dialect's own 500 body and logs the
traceback, so a client never sees an HTML traceback or a bare 500 page. Requests refused before a
handler runs (no route, wrong method, a request waitress will not read) get their dialect's answer
too (smsd.api.refusals).
"""
from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any, Callable, Protocol

import bottle

from smsd.api import gateway_php, isms, json_api, ozeki, refusals
from smsd.api import connections_http, intelli, json_stk
from smsd.api.auth import AuthResult, HttpAuth
from smsd.service import Service
from smsd.web import WebSettings
from smsd.web import mount as mount_console

log = logging.getLogger("smsd.api")

MAX_BODY = 1 << 20      # 1 MiB: far above 128 recipients x 1500 bytes of text_param


class SimControl(Protocol):
    """What the simulate-mode endpoints need of the simulator (smsd.sim.SimBoard fits)."""

    def inject_sms(self, port: int, sender: str, text: str, slot: int | None = None) -> None: ...
    def inject_pdu(self, port: int, pdu_hex: str, slot: int | None = None) -> None: ...
    def set_fault(self, port: int, fault: str, count: int | None = None,
                  seconds: float | None = None) -> None: ...
    def schedule_faults(self, entries: object) -> int: ...
    def set_submit_time(self, port: int, seconds: float | None) -> None: ...
    def set_denied(self, port: int, denied: bool, slot: int | None = None) -> None: ...
    def place_call(self, port: int, caller: str, ring_seconds: float = 10.0,
                   hangup_cause: int = 16, slot: int | None = None,
                   talk_seconds: float = 5.0) -> str: ...


# json.dumps with any option builds a new encoder per call; one made here gives the same text.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_reply(obj: Any) -> str:
    bottle.response.content_type = "application/json; charset=utf-8"
    return _JSON.encode(obj)


def build_app(svc: Service, auth: HttpAuth, *, sim: SimControl | None = None,
              web: WebSettings | None = WebSettings()) -> bottle.Bottle:
    app = bottle.Bottle(catchall=False)
    app.config["autojson"] = False

    def authenticated(fn: Callable[..., str]) -> Callable[..., str]:
        def wrapper(*args: Any, **kwargs: Any) -> str:
            result = _check(auth)
            if result.forbidden:
                bottle.response.status = 403
                return json_reply(json_api.error_body(svc, 403, "this user may not use the JSON API"))
            if result.user is None:
                return _unauthorized(svc, auth, result)
            try:
                return fn(result.user, *args, **kwargs)
            except Exception:   # noqa: BLE001 - last line of defence, see module docstring
                log.exception("internal error on %s", bottle.request.path)
                return json_reply(json_api.error_body(svc, 500, "internal error (see the log)"))
        return wrapper

    @app.route("/api/<name>", method=["GET", "POST"])
    @authenticated
    def api_call(user: str, name: str) -> str:
        if (bottle.request.content_length or 0) > MAX_BODY:
            return json_reply(json_api.error_body(svc, 413, "request body too large"))
        body = bottle.request.body.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return json_reply(json_api.error_body(svc, 413, "request body too large"))
        try:
            query = dict(bottle.request.query.decode())
        except UnicodeError:        # `%ff%fe`: the JSON API's parameters are UTF-8
            return json_reply(json_api.error_body(svc, 400, "query string is not valid UTF-8"))
        if "x-www-form-urlencoded" in (bottle.request.content_type or "").lower() \
                and not body.lstrip().startswith((b"{", b"[")):
            # A form post (`curl -d 'port=1&action=power'`): fields count as query parameters.
            query.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
            body = b""
        return json_reply(json_api.handle(svc, name, body, query, user))

    json_stk.mount(app, svc, authenticated, json_reply)   # /GetSTKView, /STKGo, ...

    # Vendor dialects with their own authentication (credentials in the parameters).
    intelli.mount(app, svc)
    for dialect in (isms, gateway_php, ozeki):
        dialect.mount(app, svc)
    connections_http.mount(app, svc)      # HTTPServer connections: /connections/<name>

    if sim is not None:
        _mount_sim(app, svc, sim, authenticated)

    if web is not None:       # the web console: /, /login, the pages (docs/web-console.md)
        mount_console(app, svc, web)

    refusals.install(app, lambda: str(svc.sn))
    return app


def _check(auth: HttpAuth) -> AuthResult:
    """The request's credentials; an Authorization header too malformed to parse is none."""
    try:
        return auth.check(bottle.request.get_header("Authorization"), bottle.request.method,
                          perm="api:json", remote=bottle.request.remote_addr or "",
                          uri=bottle.request.environ.get("REQUEST_URI"))
    except (ValueError, IndexError) as exc:     # a Digest item without '=', or `Digest =`
        log.info("malformed Authorization header from %s: %s", bottle.request.remote_addr, exc)
        return AuthResult(None)


def _unauthorized(svc: Service, auth: HttpAuth, result: AuthResult) -> str:
    """401 with the challenges; a throttled login says so, with Retry-After (the JSON API's auth
    error stays 401: clients written for it know no 429)."""
    bottle.response.status = 401
    for challenge in auth.challenges(result.stale, result.digest_from):
        bottle.response.add_header("WWW-Authenticate", challenge)
    if result.throttled is not None:
        bottle.response.set_header("Retry-After", str(result.throttled.retry_seconds))
        return json_reply(json_api.error_body(svc, 401, str(result.throttled)))
    return json_reply(json_api.error_body(svc, 401, "authentication required"))


def _mount_sim(app: bottle.Bottle, svc: Service, sim: SimControl,
               authenticated: Callable[..., Any]) -> None:
    """POST /sim/sms, /sim/fault and /sim/call: drive the simulated network from tests and
    demos."""

    def body_object() -> dict[str, Any]:
        try:
            obj = json.loads(bottle.request.body.read(MAX_BODY) or b"{}")
        except (ValueError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            raise ValueError("body must be a JSON object")
        return obj

    def run(user: str, action: Callable[[dict[str, Any]], dict[str, Any] | None]) -> str:
        if not svc.access.may_control_ports(user):
            bottle.response.status = 403
            return json_reply({"error_code": 403, "sn": svc.sn,
                               "reason": "the simulator needs an admin or the ports permission"})
        try:
            extra = action(body_object()) or {}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            return json_reply({"error_code": 400, "sn": svc.sn, "reason": str(exc)})
        return json_reply({"error_code": 200, "sn": svc.sn, **extra})

    def inject(obj: dict[str, Any]) -> None:
        port = int(obj["port"])
        if not 0 <= port < svc.ports.count:
            raise ValueError(f"no port {port}")
        slot = obj.get("slot")
        slot = None if slot is None else int(slot)
        if "pdu" in obj:                # a raw PDU, however corrupt, as the network sends it
            sim.inject_pdu(port, str(obj["pdu"]), slot=slot)
            return
        sim.inject_sms(port, str(obj["from"]), str(obj["text"]), slot=slot)

    def fault(obj: dict[str, Any]) -> dict[str, Any] | None:
        if "schedule" in obj:         # faults later, for soaks (docs/simulator.md#faults)
            return {"planned": sim.schedule_faults(obj["schedule"])}
        port = int(obj["port"])
        if not 0 <= port < svc.ports.count:
            raise ValueError(f"no port {port}")
        if "submit_time" in obj:      # seconds, or null for the board's latency
            seconds = obj["submit_time"]
            sim.set_submit_time(port, None if seconds is None else float(seconds))
        if "denied" in obj:           # the network refuses the SIM's registration
            slot = obj.get("slot")
            sim.set_denied(port, bool(obj["denied"]), None if slot is None else int(slot))
        if "fault" in obj or not ({"submit_time", "denied"} & obj.keys()):
            count, seconds = obj.get("count"), obj.get("seconds")
            sim.set_fault(port, str(obj.get("fault", "none")),
                          None if count is None else int(count),
                          None if seconds is None else float(seconds))
        return None

    app.route("/sim/sms", method="POST", callback=authenticated(lambda user: run(user, inject)))
    app.route("/sim/fault", method="POST", callback=authenticated(lambda user: run(user, fault)))

    def call(obj: dict[str, Any]) -> dict[str, Any]:
        """A voice call to a port's SIM; `outcome` says what the caller hears (ringing, ...)."""
        port = int(obj["port"])
        if not 0 <= port < svc.ports.count:
            raise ValueError(f"no port {port}")
        slot = obj.get("slot")
        outcome = sim.place_call(port, str(obj.get("from", "")),
                                 float(obj.get("ring_seconds", 10)),
                                 int(obj.get("hangup_cause", 16)),
                                 None if slot is None else int(slot),
                                 float(obj.get("talk_seconds", 5)))
        return {"outcome": outcome}

    app.route("/sim/call", method="POST", callback=authenticated(lambda user: run(user, call)))
