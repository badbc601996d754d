"""/network: the box's address (DHCP or static), gateway, DNS, host name, time zone and NTP.

A thin translator over `svc.network` (docs/network.md): the form's fields become a
NetworkSettings, validated by the same rules as every other caller (NetworkSettings.validate),
and applied with confirm-or-rollback. After a change the page shows a banner with the seconds
left and a Confirm button; the confirmation can only come from a browser that still reaches the
box under the new settings, otherwise the old settings come back by themselves. On a box that does
not manage its network (no `[network] manage = yes`) the page says so and shows no form.
"""
from __future__ import annotations

import re
from typing import Any

import bottle

from smsd.errors import NotFound, ServiceError
from smsd.system.network import InvalidNetworkSettings, NetworkSettings
from smsd.web import network_remote
from smsd.web.console import Console, PageRequest, is_number

DEFAULT_WINDOW = 60
MIN_WINDOW, MAX_WINDOW = 10, 600       # seconds the page offers to wait for a confirmation
MAX_FIELD = 1024
_SPLIT = re.compile(r"[\s,]+")
# The validator's messages name the field first; this maps them back to the form's fields.
_FIELD_OF = (("interface", "interface"), ("a static set-up", "address"), ("address", "address"),
             ("prefix", "prefix"), ("gateway", "gateway"), ("dns", "dns"),
             ("ntp server", "ntp_servers"), ("at most", "dns"), ("hostname", "hostname"),
             ("time zone", "timezone"), ("confirm_within", "confirm_within"))


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/network", show)
    console.route(app, "/network", change, method="POST")
    console.route(app, "/network/confirm", confirm, method="POST")
    network_remote.mount(console, app)      # the section on the remote tunnel


def show(req: PageRequest) -> str:
    if not req.svc.network.managed:
        return _page(req, None, unavailable=_unavailable(req))
    try:
        current = req.svc.network.settings()
    except ServiceError as exc:
        return _page(req, None, unavailable=str(exc))
    return _page(req, _values(current))


def show_with(req: PageRequest, **section: Any) -> str:
    """The page with the remote section's own values or problem (network_remote.py)."""
    if not req.svc.network.managed:
        return _page(req, None, unavailable=_unavailable(req), **section)
    try:
        return _page(req, _values(req.svc.network.settings()), **section)
    except ServiceError as exc:
        return _page(req, None, unavailable=str(exc), **section)


def change(req: PageRequest) -> str:
    form = req.form()
    values = {name: str(form.get(name, ""))[:MAX_FIELD] for name in
              ("mode", "interface", "address", "prefix", "gateway", "dns", "ntp_servers",
               "hostname", "timezone", "ntp", "confirm_within")}
    if not req.svc.network.managed:
        return _refused(req, values, 409, "", _unavailable(req))
    try:
        settings, window = _parse(values)
        change_id = req.svc.network.apply(settings, confirm_within=window)
    except InvalidNetworkSettings as exc:
        return _refused(req, values, 400, _field_of(str(exc)), str(exc))
    except ServiceError as exc:       # another change pending, D-Bus failed (restored)
        return _refused(req, values, 409, "", str(exc))
    req.svc.audit.record(req.user, "network.apply", f"change {change_id}: {_describe(settings)}")
    return req.redirect("/network", f"The new network settings are in force. Confirm them "
                                    f"within {window} s or the previous ones come back.")


def confirm(req: PageRequest) -> str:
    change_id = str(req.form().get("change_id", ""))[:64]
    try:
        req.svc.network.confirm(change_id)
    except NotFound:
        bottle.response.status = 409
        return _page(req, None, problem="That change is no longer waiting: it was confirmed "
                                        "already or it has rolled back. Nothing was changed.",
                     reload_values=True)
    except ServiceError as exc:
        bottle.response.status = 409
        return _page(req, None, problem=str(exc), reload_values=True)
    req.svc.audit.record(req.user, "network.confirm", f"change {change_id} kept")
    return req.redirect("/network", "The network settings are confirmed and kept.")


# --- form <-> settings --------------------------------------------------------------------------
def _parse(values: dict[str, str]) -> tuple[NetworkSettings, int]:
    if values["mode"] not in ("dhcp", "static"):
        raise InvalidNetworkSettings("address: choose DHCP or a static address")
    prefix_text = values["prefix"].strip() or "24"
    if not is_number(prefix_text, 3):
        raise InvalidNetworkSettings(f"prefix {values['prefix']!r} must be a whole number")
    window_text = values["confirm_within"].strip() or str(DEFAULT_WINDOW)
    if not is_number(window_text) or not MIN_WINDOW <= int(window_text) <= MAX_WINDOW:
        raise InvalidNetworkSettings(f"confirm_within: {MIN_WINDOW} to {MAX_WINDOW} seconds")
    dhcp = values["mode"] == "dhcp"
    settings = NetworkSettings(
        interface=values["interface"].strip(), dhcp=dhcp,
        address="" if dhcp else values["address"].strip(), prefix=int(prefix_text),
        gateway="" if dhcp else values["gateway"].strip(),
        dns=_list(values["dns"]), ntp_servers=_list(values["ntp_servers"]),
        hostname=values["hostname"].strip(), timezone=values["timezone"].strip(),
        ntp=values["ntp"] == "on")
    return settings.validate(), int(window_text)


def _list(text: str) -> tuple[str, ...]:
    return tuple(item for item in _SPLIT.split(text.strip()) if item)


def _values(s: NetworkSettings) -> dict[str, str]:
    return {"mode": "dhcp" if s.dhcp else "static", "interface": s.interface,
            "address": s.address, "prefix": str(s.prefix), "gateway": s.gateway,
            "dns": ", ".join(s.dns), "ntp_servers": ", ".join(s.ntp_servers),
            "hostname": s.hostname, "timezone": s.timezone, "ntp": "on" if s.ntp else "",
            "confirm_within": str(DEFAULT_WINDOW)}


def _describe(s: NetworkSettings) -> str:
    where = "DHCP" if s.dhcp else f"static {s.address}/{s.prefix} gateway {s.gateway or '-'}"
    return (f"{s.interface} {where}, DNS {' '.join(s.dns) or '-'}, host name {s.hostname}, "
            f"time zone {s.timezone}, NTP {'on' if s.ntp else 'off'}")


def _field_of(message: str) -> str:
    lowered = message.lower()
    for prefix, name in _FIELD_OF:
        if lowered.startswith(prefix):
            return name
    return ""


def _unavailable(req: PageRequest) -> str:
    try:
        req.svc.network.pending()
    except ServiceError as exc:
        return str(exc)
    return "this box does not manage its network"


# --- answers ------------------------------------------------------------------------------------
def _refused(req: PageRequest, values: dict[str, str], status: int, field: str,
             message: str) -> str:
    bottle.response.status = status
    if field:
        req.errors[field] = message
        return _page(req, values)
    return _page(req, values, problem=message)


def _page(req: PageRequest, values: dict[str, str] | None, *, unavailable: str = "",
          problem: str = "", reload_values: bool = False, remote: dict[str, Any] | None = None,
          remote_problem: str = "") -> str:
    pending = None
    if not unavailable and req.svc.network.managed:
        try:
            pending = req.svc.network.pending()
            if values is None and reload_values:
                values = _values(req.svc.network.settings())
        except ServiceError as exc:
            unavailable = str(exc)
    extra: dict[str, Any] = {"scripts": ["network.js"]} if pending is not None else {}
    return req.render("network.tpl", values=values, unavailable=unavailable, problem=problem,
                      pending=pending, min_window=MIN_WINDOW, max_window=MAX_WINDOW,
                      remote=remote or network_remote.view(req), remote_problem=remote_problem,
                      **extra)
