"""Send: the form (to, text, optional port), the live counter's /send/plan, and a sent task's
progress (/send/task/<id>, polled by web/static/send.js) with its stop button.

`to` holds numbers, contact names and group names, comma separated; the service's recipient
resolution (svc.recipients, under the `web` number policy of smsd/numbers.py) turns them into
numbers, and the whole is one task (svc.sending.send_sms), checked whole before anything is
written, exactly as the APIs' sends are. An item that is no number and no name is listed under
the field with why, and nothing is sent until the field is right.
"""
from __future__ import annotations

import json

import bottle

from smsd.errors import BadRequest, NotFound, ServiceError
from smsd.model import Recipient, SendRequest
from smsd.numbers import POLICIES, looks_like_number
from smsd.service.recipients import Resolution
from smsd.web.console import Console, PageRequest, is_number

MAX_TO = 64 * 1024          # characters of the `to` field
MAX_SHOWN_REJECTS = 20      # items listed under the field; the count says how many in all
POLICY = POLICIES["web"]
# The service's name for a field at fault -> the form's field.
FIELDS = {"text": "text", "recipients": "to"}


def _ports(req: PageRequest, value: str, field: str = "port") -> tuple[int, ...] | None:
    """The form's port ("" any; "1".."N" as the pages count) as the service's port numbers."""
    value = value.strip()
    if not value:
        return None
    if not is_number(value) or int(value) - 1 not in req.svc.ports.all:
        req.errors[field] = f"no port {value[:8]}"
        raise BadRequest(req.errors[field])
    return (int(value) - 1,)


def _numbers(req: PageRequest, to: str, rejects: list[str]) -> tuple[list[str], bool]:
    """(numbers, whether names were expanded); errors go next to the `to` field, each item
    that cannot be sent to into `rejects`."""
    items = [item.strip() for item in to.split(",") if item.strip()]
    if not items or len(to) > MAX_TO:
        req.errors["to"] = "one or more numbers, contact names or group names, comma separated"
        raise BadRequest(req.errors["to"])
    resolved = req.svc.recipients.resolve_recipients(items, POLICY)
    _refuse_rejects(req, items, resolved, rejects)
    return resolved.numbers, any(not looks_like_number(item, POLICY) for item in items)


def _refuse_rejects(req: PageRequest, items: list[str], resolved: Resolution,
                    rejects: list[str]) -> None:
    if resolved.too_many:
        req.errors["to"] = f"more than {req.svc.limits.max_expanded} numbers"
        raise BadRequest(req.errors["to"])
    if not resolved.rejects:
        return
    for o in resolved.rejects[:MAX_SHOWN_REJECTS]:
        shown = items[o.item] if o.text is None else f"{items[o.item]} ({o.text})"
        rejects.append(f"{shown[:80]}: {o.detail}")
    first = resolved.rejects[0].detail
    more = len(resolved.rejects) - 1
    req.errors["to"] = first + (f" (and {more} more)" if more else "")
    raise BadRequest(req.errors["to"])


def form(req: PageRequest, values: dict[str, str] | None = None,
         rejects: list[str] | None = None) -> str:
    values = values or {}
    task = req.query().get("task", "")
    progress = None
    if is_number(task):
        try:
            progress = req.svc.search.task_progress(int(task), req.user)
        except NotFound:
            progress = None
    return req.render("send.tpl", scripts=["send.js"], values=values, progress=progress,
                      ports=sorted(req.svc.ports.all), rejects=rejects or [])


def send(req: PageRequest) -> str:
    fields = req.form()
    values = {k: fields.get(k, "") for k in ("to", "text", "port")}
    rejects: list[str] = []
    try:
        ports = _ports(req, values["port"])
        numbers, expanded = _numbers(req, values["to"], rejects)
        accepted = req.svc.sending.send_sms(SendRequest(
            text=values["text"], recipients=tuple(Recipient(n) for n in numbers), ports=ports,
            dialect="web", expanded=expanded), user=req.user)
    except ServiceError as exc:
        if not req.errors:
            req.errors[FIELDS.get(exc.field or "", "to")] = str(exc)
        bottle.response.status = 400
        return form(req, values, rejects)
    return req.redirect(f"/send?task={accepted.task_id}",
                        f"Accepted: {len(numbers)} message(s), task {accepted.task_id}.")


def plan(req: PageRequest) -> str:
    """{"chars", "parts", "encoding"} of the text as it would go out, or {"error"}."""
    query = req.query()
    text = query.get("text", "")
    bottle.response.content_type = "application/json; charset=utf-8"
    try:
        ports = _ports(req, query.get("port", ""))
        encoding, parts = req.svc.sending.plan(text, ports) if text else ("gsm7", 0)
    except ServiceError as exc:
        return json.dumps({"chars": len(text), "error": str(exc)})
    return json.dumps({"chars": len(text), "parts": parts, "encoding": encoding})


def progress(req: PageRequest, task_id: str) -> str:
    bottle.response.content_type = "application/json; charset=utf-8"
    try:
        state = req.svc.search.task_progress(_task_id(task_id), req.user)
    except NotFound:
        bottle.response.status = 404
        return json.dumps({"error": "no such task"})
    return json.dumps({"task_id": state.task_id, "total": state.total, "done": state.done,
                       "failed": state.failed, "finished": state.finished})


def stop(req: PageRequest, task_id: str) -> str:
    try:
        req.svc.sending.stop_task(_task_id(task_id), req.user)
    except NotFound:
        return req.refuse(404, "no such task")
    return req.redirect(f"/send?task={task_id}", f"Task {task_id} stopped: what was not sent "
                                                 "yet will not be.")


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/send", form)
    console.route(app, "/send", send, method="POST")
    console.route(app, "/send/plan", plan, poll=True)
    console.route(app, "/send/task/<task_id:int>", lambda req: progress(req, _arg()), poll=True)
    console.route(app, "/send/task/<task_id:int>/stop", lambda req: stop(req, _arg()),
                  method="POST")


def _task_id(text: str) -> int:
    """A task id from the URL; bottle's `int` filter lets through 25 digits, which SQLite
    cannot bind (OverflowError: GET /send/task/999...9 answered 500), so: no such task."""
    if not is_number(text, 18):
        raise NotFound("no such task")
    return int(text)


def _arg() -> str:
    return str(bottle.request.url_args.get("task_id", ""))
