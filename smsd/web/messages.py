"""Outbox and Inbox: search (number, text, status, date range, port), pages, CSV export; the
inbox marks what it shows read. What a user finds is the service's to decide (their own
messages; an admin's: all)."""
from __future__ import annotations

import csv
import io
import urllib.parse
from dataclasses import replace
from typing import Sequence

import bottle

from smsd.errors import ServiceError
from smsd.numbers import is_normal
from smsd.service.search import (INBOX_STATUSES, OUTBOX_STATUSES, Found, InboxRow, MessageQuery,
                                 OutboxRow)
from smsd.web.console import Console, PageRequest, is_number

FIELDS = ("number", "text", "status", "port", "from", "to")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _query(req: PageRequest, box: str) -> tuple[dict[str, str], MessageQuery | None]:
    """The search form's values and the checked query (None, with errors set, when bad)."""
    raw = req.query()
    values = {name: raw.get(name, "")[:200] for name in (*FIELDS, "page", "task")}
    statuses = OUTBOX_STATUSES if box == "outbox" else INBOX_STATUSES
    page = values["page"]
    port = values["port"]
    try:
        q = req.svc.search.query(
            number=values["number"], text=values["text"], status=values["status"],
            port=str(int(port) - 1) if is_number(port) and int(port) > 0 else port,
            day_from=values["from"], day_to=values["to"],
            page=int(page) if is_number(page) else (1 if not page else 0), statuses=statuses)
    except ServiceError as exc:
        message = str(exc)
        req.errors[message.partition(":")[0] if ":" in message else "number"] = message
        bottle.response.status = 400
        return values, None
    task = values["task"]
    if is_number(task) and box == "outbox":
        q = replace(q, task_id=int(task))
    return values, q


def _page_link(values: dict[str, str], page: int) -> str:
    kept = {k: v for k, v in values.items() if v and k != "page"}
    return "?" + urllib.parse.urlencode({**kept, "page": str(page)})


def outbox(req: PageRequest) -> str:
    values, q = _query(req, "outbox")
    found = req.svc.search.outbox(q, req.user) if q is not None else None
    return _render(req, "outbox.tpl", values, found, OUTBOX_STATUSES)


def inbox(req: PageRequest) -> str:
    values, q = _query(req, "inbox")
    found = req.svc.search.inbox(q, req.user) if q is not None else None
    if found is not None:
        unread = [row.id for row in found.rows if isinstance(row, InboxRow) and not row.read]
        req.svc.search.mark_read(unread, req.user)       # shown: read from now on
    return _render(req, "inbox.tpl", values, found, INBOX_STATUSES)


def _render(req: PageRequest, template: str, values: dict[str, str], found: Found | None,
            statuses: Sequence[str]) -> str:
    links = {}
    if found is not None:
        if found.page > 1:
            links["previous"] = _page_link(values, found.page - 1)
        if found.page < found.pages:
            links["next"] = _page_link(values, found.page + 1)
    export = "?" + urllib.parse.urlencode({k: v for k, v in values.items() if v and k != "page"})
    # A message sent (or an SMS received) through a provider connection has its number as port.
    port_names = {n: f"connection {name}"
                  for name, n in req.svc.routing.connection_numbers().items()}
    return req.render(template, values=values, found=found, statuses=statuses, links=links,
                      export=export, ports=sorted(req.svc.ports.all), admin=req.access.admin,
                      port_names=port_names)


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (texts come from strangers)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    return text[:1] == "+" and is_normal(text, None)


def export(req: PageRequest, box: str) -> str:
    values, q = _query(req, box)
    if q is None:
        return req.refuse(400, " ".join(req.errors.values()))
    rows = req.svc.search.export(q, req.user, box)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if box == "outbox":
        writer.writerow(["message_id", "task_id", "time", "number", "port", "status", "parts",
                         "parts_sent", "encoding", "user", "text", "reason"])
        for r in rows:
            assert isinstance(r, OutboxRow)
            writer.writerow([_cell(v) for v in (
                r.message_id, r.task_id, r.time, r.number, "" if r.port is None else r.port + 1,
                r.status, r.count, r.succ_count, r.encoding, r.user, r.text, r.reason)])
    else:
        writer.writerow(["id", "time", "number", "port", "slot", "read", "text"])
        for r in rows:
            assert isinstance(r, InboxRow)
            writer.writerow([_cell(v) for v in (r.id, r.timestamp, r.number, r.port + 1,
                                                 "" if r.slot == 255 else r.slot + 1,
                                                 "yes" if r.read else "no", r.text)])
    bottle.response.content_type = "text/csv; charset=utf-8"
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{box}.csv"')
    return out.getvalue()


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/outbox", outbox)
    console.route(app, "/inbox", inbox)
    console.route(app, "/outbox/export.csv", lambda req: export(req, "outbox"))
    console.route(app, "/inbox/export.csv", lambda req: export(req, "inbox"))
