"""The Ports page's SIM part: per-slot limits, credit, block/unblock (issue 15 item 8, issue 16).

Each port card lists its SIM slots (one row for a single-slot port's SIM, 255 to the APIs): what
the active SIM may still send, and a form per slot with the per-SIM keys of smsd/budgets.py.
An empty field leaves the slot to the port's value ("every SIM" row); the credit field sets the
SIM's credit counter afresh (empty: no counter). Saving goes through `svc.sims.set_settings`
(validated whole, all or nothing) and the audit log, like the port settings.
"""
from __future__ import annotations

from dataclasses import dataclass

import bottle

from smsd.errors import BadRequest
from smsd.model import PortInfo
from smsd.portcfg import BadSetting
from smsd.budgets import ALL_SLOTS, SIM_KEYS, SINGLE
from smsd.web.console import Console, PageRequest, is_number

FIELDS = ("sim_parts_per_day", "sim_parts_per_month", "credit", "call_minutes_per_day",
          "call_minutes_per_hour", "calls_per_day", "smsc", "sim_pin")
LABELS = {"sim_parts_per_day": "SMS parts per day", "sim_parts_per_month": "SMS parts per month",
          "credit": "Credit left", "call_minutes_per_day": "Call minutes per day",
          "call_minutes_per_hour": "Call minutes per hour", "calls_per_day": "Calls per day",
          "smsc": "SMSC", "sim_pin": "SIM PIN"}
MEANINGS = {"smsc": "this SIM's SMSC (empty: the port's)",
            "sim_pin": "this SIM's PIN (empty: keep; tick clear to use the port's)"}
SECRET = "sim_pin"          # never shown back, never written to the audit log


@dataclass(frozen=True)
class SlotRow:
    slot: int                 # as the APIs name it: 0..3, 255 single, -1 every SIM of the port
    name: str                 # as the page shows it
    active: bool
    values: dict[str, str]    # the slot's own values ("" where it uses the port's)
    blocked: bool


def slot_name(slot: int) -> str:
    return {ALL_SLOTS: "every SIM", SINGLE: "SIM"}.get(slot, f"slot {slot + 1}")


def sims_card(req: PageRequest, info: PortInfo) -> dict[str, object]:
    """What ports_sims.tpl shows for one port."""
    view = req.svc.sims.view(info)
    rows = [_row(req, info, ALL_SLOTS, view.slot)]
    rows += [_row(req, info, slot, view.slot) for slot in req.svc.sims.slots_of(info.port)]
    left = view.remaining
    fields = [(k, LABELS[k], MEANINGS.get(k) or SIM_KEYS[k].meaning) for k in FIELDS]
    return {"port": info.port, "rows": rows, "fields": fields,
            "blocked": view.blocked, "active": slot_name(view.slot), "number": view.number,
            "left": {"day": left.daily, "month": left.monthly,
                     "credit": None if left.credit is None else f"{left.credit:.2f}"}}


def _row(req: PageRequest, info: PortInfo, slot: int, active: int) -> SlotRow:
    own = req.svc.sims.own_settings(info.port, slot)
    own[SECRET] = "set" if own.get(SECRET) else ""          # the PIN itself is never shown
    if slot != ALL_SLOTS and req.svc.sims.limits.credit(info.port, slot) is not None:
        own["credit"] = f"{req.svc.sims.limits.credit(info.port, slot):.2f}"
    blocked = slot != ALL_SLOTS and req.svc.sims.limits.blocked(info.port, slot)
    return SlotRow(slot, slot_name(slot), slot == active, own, blocked)


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/ports/sim", save, method="POST")
    console.route(app, "/ports/block", block, method="POST")


def _port_slot(req: PageRequest, form: bottle.FormsDict) -> tuple[int, int] | None:
    port, slot = form.get("port", ""), form.get("slot", "")
    if not is_number(port) or int(port) not in req.svc.ports.all:
        return None
    if is_number(slot.lstrip("-")) and (int(slot) == ALL_SLOTS or
                                       int(slot) in req.svc.sims.slots_of(int(port))):
        return int(port), int(slot)
    return None


def save(req: PageRequest) -> str:
    from smsd.web.ports import show
    form = req.form()
    where = _port_slot(req, form)
    if where is None:
        return req.refuse(400, "no such port or SIM slot")
    port, slot = where
    own = req.svc.sims.own_settings(port, slot)
    entered = {k: form.get(k, "").strip() for k in FIELDS if k in form and k != SECRET}
    changed = {k: v for k, v in entered.items() if v != own.get(k, "")}
    if form.get(SECRET, "").strip():
        changed[SECRET] = form.get(SECRET, "").strip()
    elif form.get("clear_" + SECRET):
        changed[SECRET] = ""
    if slot == ALL_SLOTS:
        changed.pop("credit", None)          # a counter belongs to one SIM
    if not changed:
        return req.redirect("/ports", f"Port {port + 1} {slot_name(slot)}: nothing changed.")
    try:
        req.svc.sims.set_settings(port, slot, user=req.user, **changed)
    except (BadSetting, BadRequest) as exc:
        key = getattr(exc, "key", "")
        req.errors[f"sim-{port}-{slot}-{key}" if key in FIELDS else f"sim-{port}-{slot}"] = \
            str(exc)
        bottle.response.status = 400
        return show(req)
    shown = ", ".join(k if k == SECRET else f"{k}={v or '(port)'}"
                      for k, v in sorted(changed.items()))
    req.svc.audit.record(req.user, "port.sim", f"port {port + 1} {slot_name(slot)}: {shown}")
    return req.redirect("/ports", f"Port {port + 1} {slot_name(slot)}: saved "
                                  f"({', '.join(sorted(changed))}).")


def block(req: PageRequest) -> str:
    """Block or unblock one SIM: the row's slot, or the active one when the form names none."""
    form = req.form()
    op = form.get("op", "")
    where = _port_slot(req, form) if form.get("slot") else None
    port = form.get("port", "")
    if op not in ("block", "unblock") or not is_number(port) or \
            int(port) not in req.svc.ports.all or (form.get("slot") and where is None) or \
            (where is not None and where[1] == ALL_SLOTS):
        return req.refuse(400, "no such port, SIM slot or operation")
    slot = req.svc.sims.set_blocked(int(port), op == "block", user=req.user,
                                    slot=None if where is None else where[1])
    req.svc.audit.record(req.user, f"port.{op}", f"port {int(port) + 1} {slot_name(slot)}")
    return req.redirect("/ports", f"Port {int(port) + 1} {slot_name(slot)}: {op}ed.")
