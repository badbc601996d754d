"""The JSON gateway API's SIM Toolkit calls (sections 13-15): translation only, svc.stk below.

    GET  /GetSTKView?port=N            {"title","text"[,"item"],"input_type","frame_id"}
    POST /STKGo {"port","item","param","action"[,"frame_id"]}    {"error_code":200,"sn"}
    GET  /GetSTKCurrFrameIndex?port=N  {"frame_id"}

The vendor shows these bodies without `error_code`; a refused request answers the dialect's
error body (`error_code` 400 for a request that does not fit, 403 for a port the user may not
use, 500 when the modem could not do it, always with a `reason`). `input_type` is an integer as
the document's table says (its example prints a string); `item` is present only for input_type 1
(desktop) and 2 (select item). Both methods are taken on every route, with the parameters in the
query, a form or a JSON body, as the other JSON calls are.
"""
from __future__ import annotations

import logging
import urllib.parse
from typing import Any, Callable

import bottle

from smsd.api import json_api
from smsd.api.params import BadParam, Params
from smsd.errors import ServiceError
from smsd.service import Service
from smsd.service.stk import StkView

log = logging.getLogger("smsd.api.json")

MAX_BODY = 64 * 1024          # a port, an item and a short answer: far below this
ITEMS_SHOWN = (1, 2)          # input_type desktop and select item carry "item"
Call = Callable[[Service, Params], dict[str, Any]]


def view_json(view: StkView) -> dict[str, Any]:
    out: dict[str, Any] = {"title": view.title, "text": view.text}
    if view.input_type in ITEMS_SHOWN:
        out["item"] = [{"item_id": i.id, "item_string": i.text} for i in view.items]
    out.update(input_type=view.input_type, frame_id=view.frame_id)
    return out


def _port(p: Params) -> int:
    return p.integer("port", required=True, minimum=0, maximum=json_api.MAX_PORT)


def get_view(svc: Service, p: Params) -> dict[str, Any]:
    return view_json(svc.stk.view(_port(p), user=p.user))


def go(svc: Service, p: Params) -> dict[str, Any]:
    svc.stk.go(_port(p), item=p.integer("item", minimum=0, maximum=255),
               param=p.string("param", allow_int=True), action=p.string("action"),
               frame_id=p.integer("frame_id", minimum=0), user=p.user)
    return {"error_code": 200, "sn": svc.sn}


def frame_index(svc: Service, p: Params) -> dict[str, Any]:
    return {"frame_id": svc.stk.frame_id(_port(p), user=p.user)}


ROUTES: dict[str, Call] = {"/GetSTKView": get_view, "/STKGo": go,
                           "/GetSTKCurrFrameIndex": frame_index}


def answer(svc: Service, call: Call, user: str) -> dict[str, Any]:
    """One call; bad input answers the dialect's error body, never an exception."""
    try:
        params = _params()
        params.user = user
        return call(svc, params)
    except ServiceError as exc:
        code = json_api.CODES.get(exc.reason, 500)
        log.info("%s refused (%d): %s", bottle.request.path, code, exc)
        return json_api.error_body(svc, 400 if code == 404 else code, str(exc))


def _params() -> Params:
    if (bottle.request.content_length or 0) > MAX_BODY:
        raise BadParam("request body too large")
    body = bottle.request.body.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise BadParam("request body too large")
    try:
        query = dict(bottle.request.query.decode())
    except UnicodeError:
        raise BadParam("query string is not valid UTF-8") from None
    if "x-www-form-urlencoded" in (bottle.request.content_type or "").lower() \
            and not body.lstrip().startswith((b"{", b"[")):
        query.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        body = b""
    return Params.parse(body, query)


def mount(app: bottle.Bottle, svc: Service, authenticated: Callable[..., Any],
          reply: Callable[[Any], str]) -> None:
    """The three routes, behind the JSON API's own authentication (`authenticated`)."""
    for path, call in ROUTES.items():
        def handler(user: str, call: Call = call) -> str:
            return reply(answer(svc, call, user))
        app.route(path, method=["GET", "POST"], callback=authenticated(handler))
