"""/routing, the rule tables (docs/routing.md): port groups, outbound rules in order, the test
box "which route would this number take?", and inbound forward-as-SMS rules with what they did.

Each form posts to its own path, goes through svc.routing (which validates everything before it
writes; its errors name the field they belong to) and comes back to the page; every change is
written to the audit log. The test box asks `svc.routing.which`, which runs the code intake and
the scheduler run. Permission: the Routing page's (admin).
"""
from __future__ import annotations

from typing import Any, Callable

import bottle

from smsd.errors import BadRequest, NotFound
from smsd.service.routes import DEFAULT_PER_HOUR, DIALECTS, MAX_TARGETS, Which
from smsd.store.times import fmt_time
from smsd.web.console import Console, PageRequest, is_number

DIALECT_NAMES = {"json": "JSON API", "isms": "iSMS", "intelli": "IntelliSoftware",
                 "ozeki": "Ozeki NG", "gateway_php": "gateway.php", "web": "web console",
                 "smpp": "SMPP", "forward": "forward as SMS"}


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/routing/group", save_group, method="POST")
    console.route(app, "/routing/group/delete", delete_group, method="POST")
    console.route(app, "/routing/rule", add_rule, method="POST")
    console.route(app, "/routing/rule/delete", delete_rule, method="POST")
    console.route(app, "/routing/rule/move", move_rule, method="POST")
    console.route(app, "/routing/which", which, method="POST")
    console.route(app, "/routing/forward", add_forward, method="POST")
    console.route(app, "/routing/forward/delete", delete_forward, method="POST")


def values(req: PageRequest, entered: dict[str, Any] | None = None,
           answer: dict[str, Any] | None = None) -> dict[str, Any]:
    """What routing.tpl's rule sections show (the Routing page's `show` passes them on)."""
    routing = req.svc.routing
    return {"groups": routing.groups(), "rules": routing.outbound(),
            "connections": req.svc.connections.names(),      # targets beside the port groups
            "forwards": routing.forwards(), "dialects": DIALECTS, "dialect_names": DIALECT_NAMES,
            "users": [u.name for u in req.svc.users.all()],
            "max_targets": MAX_TARGETS, "rule_entered": entered or {},
            "which_answer": answer, "default_per_hour": DEFAULT_PER_HOUR,
            "forward_log": [{"row": e, "when": fmt_time(e.created)}
                            for e in routing.forward_log(30)]}


def _show(req: PageRequest, entered: dict[str, Any], answer: dict[str, Any] | None = None,
          status: int = 400) -> str:
    from smsd.web.routing import show        # the page's one renderer
    bottle.response.status = status
    return show(req, rules_view=values(req, entered, answer))


def _fail(req: PageRequest, exc: BadRequest, default: str, entered: dict[str, Any]) -> str:
    req.errors[exc.field or default] = str(exc)
    return _show(req, entered)


def _port_list(req: PageRequest, texts: list[str]) -> list[int] | None:
    """Port numbers from form values (0-based, as the options carry); None: one is bad."""
    if any(not is_number(t, 4) for t in texts):
        return None
    return [int(t) for t in texts]


def form_id(req: PageRequest) -> int | None:
    """The `id` field of a row's button form; None for anything but a plain number."""
    text = req.form().get("id", "")
    return int(text) if is_number(text, 11) else None


# --- port groups --------------------------------------------------------------------------------
def save_group(req: PageRequest) -> str:
    form = req.form()
    entered = {"group_name": form.get("group_name", ""), "group_ports": form.getall("group_ports")}
    ports = _port_list(req, entered["group_ports"])
    try:
        if ports is None:
            raise BadRequest("group ports: the box's ports only", field="group_ports")
        name = req.svc.routing.set_group(entered["group_name"], ports)
    except BadRequest as exc:
        return _fail(req, exc, "group_name", entered)
    listed = ", ".join(str(p + 1) for p in sorted(set(ports)))
    req.svc.audit.record(req.user, "routing.group", f"group {name}: ports {listed}")
    return req.redirect("/routing", f"Port group {name} saved.")


def delete_group(req: PageRequest) -> str:
    name = req.form().get("name", "")
    try:
        req.svc.routing.delete_group(name)
    except NotFound as exc:
        return req.refuse(404, str(exc))
    except BadRequest as exc:
        return _fail(req, exc, "group_name", {})
    req.svc.audit.record(req.user, "routing.group.delete", f"group {name}")
    return req.redirect("/routing", f"Port group {name} deleted.")


# --- outbound rules -----------------------------------------------------------------------------
def add_rule(req: PageRequest) -> str:
    form = req.form()
    entered = {key: form.get(key, "") for key in ("prefix", "rule_user", "dialect")}
    targets = [form.get(f"target{i}", "") for i in range(1, MAX_TARGETS + 1)]
    entered.update({f"target{i}": t for i, t in enumerate(targets, start=1)})
    try:
        rule_id = req.svc.routing.add_outbound(targets, prefix=entered["prefix"],
                                               user=entered["rule_user"],
                                               dialect=entered["dialect"])
    except BadRequest as exc:
        return _fail(req, exc, "targets", entered)
    chain = " -> ".join(t for t in targets if t.strip())
    req.svc.audit.record(req.user, "routing.rule.create",
                         f"outbound rule {rule_id}: {entered['prefix'] or 'any number'} -> {chain}")
    return req.redirect("/routing", f"Outbound rule {rule_id} added.")


def delete_by_id(req: PageRequest, what: str, delete: Callable[[int], None], action: str) -> str:
    """The page's Delete buttons: `delete` the item whose id the form names (404 for none),
    audit it, back to the page."""
    item_id = form_id(req)
    try:
        if item_id is None:
            raise NotFound(f"no such {what}")
        delete(item_id)
    except NotFound as exc:
        return req.refuse(404, str(exc))
    req.svc.audit.record(req.user, action, f"{what} {item_id}")
    return req.redirect("/routing", f"{what[:1].upper()}{what[1:]} {item_id} deleted.")


def delete_rule(req: PageRequest) -> str:
    return delete_by_id(req, "outbound rule", req.svc.routing.delete_outbound,
                        "routing.rule.delete")


def move_rule(req: PageRequest) -> str:
    rule_id = form_id(req)
    step = {"up": -1, "down": 1}.get(req.form().get("to", ""))
    try:
        if rule_id is None or step is None:
            raise NotFound("no such rule or direction")
        req.svc.routing.move_outbound(rule_id, step)
    except NotFound as exc:
        return req.refuse(404, str(exc))
    req.svc.audit.record(req.user, "routing.rule.move",
                         f"outbound rule {rule_id} {req.form().get('to')}")
    return req.redirect("/routing")


# --- the test box -------------------------------------------------------------------------------
def which(req: PageRequest) -> str:
    form = req.form()
    entered = {key: form.get(key, "") for key in ("which_number", "which_user", "which_dialect")}
    try:
        found = req.svc.routing.which(entered["which_number"], entered["which_user"] or None,
                                      entered["which_dialect"])
    except BadRequest as exc:
        return _fail(req, exc, "which_number", entered)
    names = {n: name for name, n in req.svc.routing.connection_numbers().items()}
    return _show(req, entered, describe(found, entered["which_number"], names), status=200)


def _tier(tier: tuple[int, ...], connections: dict[int, str]) -> str:
    if len(tier) == 1 and tier[0] in connections:
        return f"connection {connections[tier[0]]}"
    return "port(s) " + ", ".join(str(p + 1) for p in tier)


def describe(found: Which, number: str, connections: dict[int, str] | None = None
             ) -> dict[str, Any]:
    """The test box's answer in words (ports 1-based, as the page shows them; a provider
    connection by its name, `connections`: its number -> name)."""
    d = found.decision
    connections = connections or {}
    if found.now and found.now[0] in connections:
        named = f"connection {connections[found.now[0]]}"
    else:
        named = "port(s) " + ", ".join(str(p + 1) for p in found.now)
    if d.rule is None:
        route = "No outbound rule matches: any port the request names (all when it names none)."
    elif d.refused:
        route = f"Refused: {d.reason}."
    else:
        tiers = " then ".join(_tier(t, connections) for t in d.tiers)
        route = f"Outbound rule {d.rule.id}: {tiers}."
    now = (f"It would go out now on {named}." if found.now
           else "No port it may use can send now: it would wait.")
    return {"number": number, "rule": d.rule.id if d.rule else None, "route": route,
            "now": "" if d.refused else now, "refused": d.refused}


# --- forward as SMS -----------------------------------------------------------------------------
FORWARD_FIELDS = ("fwd_numbers", "fwd_owner", "fwd_port", "fwd_sender", "fwd_keyword", "fwd_rate")


def add_forward(req: PageRequest) -> str:
    form = req.form()
    entered = {key: form.get(key, "") for key in FORWARD_FIELDS}
    port_text, rate_text = entered["fwd_port"].strip(), entered["fwd_rate"].strip()
    try:
        if port_text and not is_number(port_text, 4):
            raise BadRequest("forward port: any, or one of the box's ports", field="fwd_port")
        if not is_number(rate_text, 6):
            raise BadRequest("forward rate: 1 to 3600 forwards per sender per hour",
                             field="fwd_rate")
        numbers = entered["fwd_numbers"].replace(";", ",").split(",")
        rule_id = req.svc.routing.add_forward(
            numbers, entered["fwd_owner"] or req.user, port=int(port_text) if port_text else None,
            sender_prefix=entered["fwd_sender"], keyword=entered["fwd_keyword"],
            max_per_hour=int(rate_text))
    except BadRequest as exc:
        return _fail(req, exc, "fwd_numbers", entered)
    req.svc.audit.record(req.user, "routing.forward.create",
                         f"forward rule {rule_id}: to {entered['fwd_numbers'].strip()}")
    return req.redirect("/routing", f"Forward rule {rule_id} added.")


def delete_forward(req: PageRequest) -> str:
    return delete_by_id(req, "forward rule", req.svc.routing.delete_forward,
                        "routing.forward.delete")
