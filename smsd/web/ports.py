"""/ports: each modem port and its SIM slots: state, signal history, settings, actions.

Settings are the port's settings under smsd's own names (smsd/portcfg.py), changed through
`svc.ports.set_settings` with its validation (the APIs' and the Ozeki connections' too): only the
fields whose value changed are sent, all or nothing. Actions (active slot, reset, power, SIM
lock) go through `svc.ports.control`. Both need port control (admin or `ports`), which the
permission table already asks of the page; both are written to the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass

import bottle

from smsd.errors import BadRequest
from smsd.model import PortInfo
from smsd.portcfg import KEYS, BadSetting
from smsd.web.console import Console, PageRequest, is_number
from smsd.web.ports_sims import mount as mount_sims
from smsd.web.ports_sims import sims_card

# The settings the page edits, in the order shown (protocol is fixed, so not shown).
FIELDS = ("send", "receive", "sim_pin", "smsc", "max_parts_per_minute", "max_parts_per_day",
          "max_parts_per_month", "status_reports",
          "charset", "national_languages", "submit_timeout", "keepalive", "keepalive_period",
          "phone_number")
LABELS = {"send": "Sending (enable/block)", "receive": "Receiving", "sim_pin": "SIM PIN",
          "smsc": "SMSC", "max_parts_per_minute": "Limit: parts per minute",
          "max_parts_per_day": "Limit: parts per day",
          "max_parts_per_month": "Limit: parts per month",
          "status_reports": "Status reports", "charset": "Character set",
          "national_languages": "National languages", "submit_timeout": "Submit timeout (s)",
          "keepalive": "Keep-alive", "keepalive_period": "Keep-alive period (s)",
          "phone_number": "SIM number"}
SECRET = frozenset({"sim_pin"})          # never shown back, never written to the audit log
CHOICES = {"charset": ("GSM7bit", "UCS2", "Default")}
ACTIONS = ("slot", "reset", "power", "lock", "unlock")
SPARK_W, SPARK_H = 160, 32


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    value: str
    kind: str                  # "onoff", "choice", "secret" or "text"
    choices: tuple[str, ...]
    meaning: str


def fields_of(values: dict[str, str]) -> list[Field]:
    out = []
    for key in FIELDS:
        spec = KEYS[key]
        choices: tuple[str, ...] = ()
        if spec.default in ("on", "off"):
            kind, choices = "onoff", ("on", "off")
        elif key in CHOICES:
            kind, choices = "choice", CHOICES[key]
        else:
            kind = "secret" if key in SECRET else "text"
        shown = "" if key in SECRET else values.get(key, spec.default)
        out.append(Field(key, LABELS[key], shown, kind, choices, spec.meaning))
    return out


def sparkline(samples: list[int]) -> str:
    """SVG polyline points of signal samples (0..31) across the plot, oldest left."""
    if not samples:
        return ""
    if len(samples) == 1:
        samples = samples * 2              # one sample: a level line, not an invisible dot
    step = SPARK_W / max(1, len(samples) - 1)
    return " ".join(f"{i * step:.1f},{SPARK_H - min(31, max(0, s)) * SPARK_H / 31:.1f}"
                    for i, s in enumerate(samples))


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/ports", show)
    console.route(app, "/ports/settings", save, method="POST")
    console.route(app, "/ports/action", act, method="POST")
    mount_sims(console, app)                 # /ports/sim, /ports/block: per-SIM limits, block


def show(req: PageRequest, errors_for: int | None = None, entered: dict[str, str] | None = None
         ) -> str:
    infos = req.svc.ports.info()
    cards = []
    for info in infos:
        values = req.svc.ports.settings(info.port)
        if errors_for == info.port and entered:
            values = {**values, **entered}
        cards.append(_card(req, info, values, errors_for == info.port))
    return req.render("ports.tpl", cards=cards, actions=ACTIONS, spark_w=SPARK_W, spark_h=SPARK_H)


def _card(req: PageRequest, info: PortInfo, values: dict[str, str],
          own_errors: bool) -> dict[str, object]:
    history = req.svc.ports.signal_history(info.port)
    return {"info": info, "fields": fields_of(values), "slots": range(max(1, info.slots)),
            "points": sparkline(history), "samples": len(history),
            "pin_set": bool(req.svc.ports.settings(info.port).get("sim_pin")),
            "errors": req.errors if own_errors else {}, "sims": sims_card(req, info)}


def _port(req: PageRequest, form: bottle.FormsDict) -> int | None:
    text = form.get("port", "")
    if not is_number(text) or int(text) not in req.svc.ports.all:
        return None
    return int(text)


def save(req: PageRequest) -> str:
    form = req.form()
    port = _port(req, form)
    if port is None:
        return req.refuse(400, "no such port")
    current = req.svc.ports.settings(port)
    entered = {key: form.get(key, "") for key in FIELDS if key in form}
    changed = {k: v for k, v in entered.items()
               if v != current.get(k) and not (k in SECRET and v == "" and not form.get(
                   "clear_" + k))}
    if form.get("clear_sim_pin"):
        changed["sim_pin"] = ""
    if not changed:
        return req.redirect("/ports", f"Port {port + 1}: nothing changed.")
    try:
        req.svc.ports.set_settings(port, user=req.user, **changed)
    except BadSetting as exc:
        req.errors[exc.key if exc.key in FIELDS else "settings"] = str(exc)
        bottle.response.status = 400
        return show(req, port, {k: v for k, v in entered.items() if k not in SECRET})
    except BadRequest as exc:
        req.errors["settings"] = str(exc)
        bottle.response.status = 400
        return show(req, port)
    shown = ", ".join(k if k in SECRET else f"{k}={changed[k]}" for k in sorted(changed))
    req.svc.audit.record(req.user, "port.settings", f"port {port + 1}: {shown}")
    return req.redirect("/ports", f"Port {port + 1}: saved ({', '.join(sorted(changed))}).")


def act(req: PageRequest) -> str:
    form = req.form()
    port = _port(req, form)
    if port is None:
        return req.refuse(400, "no such port")
    action, param = form.get("action", ""), form.get("param", "").strip()
    if action not in ACTIONS:
        req.errors["action"] = f"action: one of {', '.join(ACTIONS)}"
    else:
        try:
            req.svc.ports.control(port, action, param or None, user=req.user)
        except BadRequest as exc:
            req.errors["param"] = str(exc)
    if req.errors:
        bottle.response.status = 400
        return show(req, port)
    said = "" if action in ("lock", "unlock") else f" {param}"       # a PIN is not logged
    if action == "slot":
        said = f" {int(param) + 1}"              # the page counts slots from 1, as ports
    req.svc.audit.record(req.user, f"port.{action}", f"port {port + 1}: {action}{said}".rstrip())
    return req.redirect("/ports", f"Port {port + 1}: {action}{said} requested.")
