"""/routing: the forwarding rules for received SMS (svc.routes), as `smsd route` manages them,
and the routing rules (svc.routing: port groups, outbound rules, the "which route" test box,
forward as SMS), whose forms are smsd/web/routing_rules.py's.

A rule sends received SMS (by port, sender prefix, text prefix) to a URL in one push format
(iSMS, JSON, IntelliSoftware). Add and delete go through svc.routes with its validation (the
command's too); "Test" POSTs one sample event to the rule's own URL and shows the answer (status
and the first bytes of the body). Below, the pushes the routes gave up on (refused for a day:
smsd/push/worker.py parks them), each with "Replay", which POSTs it to its route again now and
shows the answer the same way. Every change, test and replay is written to the audit log.
"""
from __future__ import annotations

from typing import Any

import bottle

from smsd.errors import BadRequest, NotFound
from smsd.service.book import ROUTE_PROTOCOLS
from smsd.service.route_probe import HEAD_BYTES, ProbeAnswer
from smsd.store.times import fmt_time
from smsd.web import routing_rules
from smsd.web.console import Console, PageRequest, is_number

PROTOCOL_NAMES = {"isms": "iSMS (XMLDATA form)", "json": "JSON API push",
                  "intelli": "IntelliSoftware: SMS, status, subscriptions",
                  "intelli-sms": "IntelliSoftware: received SMS",
                  "intelli-status": "IntelliSoftware: status reports",
                  "intelli-subscription": "IntelliSoftware: subscription events"}
# The service's messages start with what they are about: "route URL ...", "route port ...".
FIELD_OF = (("route URL", "url"), ("route protocol", "protocol"), ("route port", "port"),
            ("route sender prefix", "sender_prefix"), ("route text prefix", "text_prefix"))
ADD_FIELDS = ("url", "protocol", "port", "sender_prefix", "text_prefix")


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/routing", show)
    console.route(app, "/routing/add", add, method="POST")
    console.route(app, "/routing/delete", delete, method="POST")
    console.route(app, "/routing/test", test, method="POST")
    console.route(app, "/routing/replay", replay, method="POST")
    routing_rules.mount(console, app)


def show(req: PageRequest, entered: dict[str, str] | None = None,
         tested: tuple[str, ProbeAnswer] | None = None,
         rules_view: dict[str, Any] | None = None) -> str:
    answer = None
    if tested is not None:
        what, probe = tested
        answer = {"what": what, "status": probe.status, "ok": probe.ok, "error": probe.error,
                  "head": probe.head.decode("utf-8", "replace"), "seconds": probe.seconds,
                  "cut": len(probe.head) >= HEAD_BYTES}
    routes = req.svc.routes
    failed = [{"item": f, "route": routes.failed_route(f), "when": fmt_time(f.failed),
               "created": fmt_time(f.event.created)} for f in routes.failed()]
    return req.render("routing.tpl", routes=routes.all(), protocols=ROUTE_PROTOCOLS,
                      protocol_names=PROTOCOL_NAMES, ports=sorted(req.svc.ports.all),
                      entered=entered or {"protocol": "isms"}, answer=answer, failed=failed,
                      **(rules_view or routing_rules.values(req)))


def _field(message: str) -> str:
    for prefix, name in FIELD_OF:
        if message.startswith(prefix):
            return name
    return "url"


def add(req: PageRequest) -> str:
    form = req.form()
    entered = {key: form.get(key, "") for key in ADD_FIELDS}
    port: int | None = None
    text = entered["port"].strip()
    if text:
        if not is_number(text) or int(text) not in req.svc.ports.all:
            req.errors["port"] = "port: any, or one of the box's ports"
        else:
            port = int(text)
    if not req.errors:
        try:
            route_id = req.svc.routes.add(entered["url"].strip(), entered["protocol"], port=port,
                                          sender_prefix=entered["sender_prefix"].strip(),
                                          text_prefix=entered["text_prefix"])
        except BadRequest as exc:
            req.errors[_field(str(exc))] = str(exc)
    if req.errors:
        bottle.response.status = 400
        return show(req, entered)
    req.svc.audit.record(req.user, "route.create",
                         f"route {route_id}: {entered['protocol']} {entered['url'].strip()}")
    return req.redirect("/routing", f"Route {route_id} added.")


def delete(req: PageRequest) -> str:
    return routing_rules.delete_by_id(req, "route", req.svc.routes.delete, "route.delete")


def test(req: PageRequest) -> str:
    route_id = routing_rules.form_id(req)
    try:
        if route_id is None:
            raise NotFound("no such route")
        probe = req.svc.routes.test(route_id, req.svc.sn)
    except NotFound as exc:
        return req.refuse(404, str(exc))
    said = f"HTTP {probe.status}" if probe.status is not None else f"no answer: {probe.error}"
    req.svc.audit.record(req.user, "route.test", f"route {route_id}: {said}")
    return show(req, tested=(f"Test of route {route_id}", probe))


def replay(req: PageRequest) -> str:
    failed_id = routing_rules.form_id(req)
    try:
        if failed_id is None:
            raise NotFound("no such failed push")
        probe = req.svc.routes.replay(failed_id, req.svc.sn)
    except NotFound as exc:
        return req.refuse(404, str(exc))
    except BadRequest as exc:
        return req.refuse(400, str(exc))
    said = f"HTTP {probe.status}" if probe.status is not None else f"no answer: {probe.error}"
    req.svc.audit.record(req.user, "route.replay", f"failed push {failed_id}: {said}")
    return show(req, tested=(f"Replay of failed push {failed_id}", probe))
