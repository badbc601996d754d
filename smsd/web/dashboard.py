"""Dashboard: the ports at a glance, the queue, recent events; /dashboard/data is the same as
JSON for web/static/dashboard.js, which refreshes the page every few seconds."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import bottle

from smsd.model import PortInfo
from smsd.web.console import Console, PageRequest

PLOT_W, PLOT_H = 120, 28
REFRESH_SECONDS = 5


@dataclass(frozen=True)
class PortCard:
    port: int
    title: str              # "Port 1" (ports count from 1 on the pages, as on the APIs' ports)
    state: str
    sim: str
    slot: str
    operator: str
    reg: str
    signal: int
    history: list[int]
    points: str             # the plot's polyline
    sent: int
    failed: int
    recovery: str


def points(history: list[int]) -> str:
    """An SVG polyline's points for signal samples 0..31, oldest at the left."""
    if not history:
        return ""
    if len(history) == 1:           # one sample so far: a level line, not an invisible dot
        history = history * 2
    step = PLOT_W / max(1, len(history) - 1)
    return " ".join(f"{i * step:.1f},{PLOT_H - min(max(s, 0), 31) * PLOT_H / 31:.1f}"
                    for i, s in enumerate(history))


def recovery_text(info: PortInfo) -> str:
    """The Recovery line of a port's card: the rung it is on and why, or the last recovery."""
    if info.recovery_step:
        return f"{info.recovery_step}: {info.recovery_reason}" if info.recovery_reason \
            else info.recovery_step
    if not info.recoveries:
        return "healthy"
    return (f"healthy; last: {info.recovery_reason} (by {info.recovered_by}, "
            f"{info.recoveries} in all)")


def _card(req: PageRequest, info: PortInfo, counts: dict[str, int]) -> PortCard:
    history = req.svc.ports.signal_history(info.port)
    return PortCard(
        port=info.port, title=f"Port {info.port + 1}", state=info.state,
        sim=info.iccid or "no SIM",
        slot="-" if info.slot == 255 else f"{info.slot + 1} of {info.slots}",
        operator=info.operator or "-", reg=info.reg, signal=info.signal, history=history,
        points=points(history), sent=counts.get("SENT_OK", 0) + counts.get("DELIVERED", 0),
        failed=counts.get("FAILED", 0), recovery=recovery_text(info))


def snapshot(req: PageRequest) -> dict[str, object]:
    counts = req.svc.search.port_counts(req.user)
    cards = [_card(req, info, counts.get(info.port, {})) for info in req.svc.ports.info()]
    return {"ports": [asdict(c) for c in cards], "queue": req.svc.sending.in_queue(),
            "events": [asdict(e) for e in req.svc.search.recent_events(req.user)]}


def show(req: PageRequest) -> str:
    data = snapshot(req)
    return req.render("dashboard.tpl", scripts=["dashboard.js"], plot_w=PLOT_W, plot_h=PLOT_H,
                      refresh=REFRESH_SECONDS, **data)


def data(req: PageRequest) -> str:
    bottle.response.content_type = "application/json; charset=utf-8"
    return json.dumps(snapshot(req), ensure_ascii=False)


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/dashboard", show)
    console.route(app, "/dashboard/data", data, poll=True)
