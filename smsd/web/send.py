"""Send: the form (to, text, optional port), the live counter's /send/plan, and a sent task's
progress (/send/task/<id>, polled by web/static/send.js) with its stop button.

`to` holds numbers, contact names and group names, comma separated; svc.book.expand turns them
into numbers, and the whole is one task (svc.sending.send_sms), checked whole before anything is
written, exactly as the APIs' sends are.
"""
from __future__ import annotations

import json
import re

import bottle

from smsd.errors import BadRequest, NotFound, ServiceError
from smsd.model import Recipient, SendRequest
from smsd.web.console import Console, PageRequest

MAX_TO = 64 * 1024          # characters of the `to` field
_NUMBER = re.compile(r"\+?[0-9]+").fullmatch


def _ports(req: PageRequest, value: str, field: str = "port") -> tuple[int, ...] | None:
    """The form's port ("" any; "1".."N" as the pages count) as the service's port numbers."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) - 1 not in req.svc.ports.all:
        req.errors[field] = f"no port {value[:8]}"
        raise BadRequest(req.errors[field])
    return (int(value) - 1,)


def _numbers(req: PageRequest, to: str) -> tuple[list[str], bool]:
    """(numbers, whether names were expanded); errors go next to the `to` field."""
    items = [item.strip() for item in to.split(",") if item.strip()]
    if not items or len(to) > MAX_TO:
        req.errors["to"] = "one or more numbers, contact names or group names, comma separated"
        raise BadRequest(req.errors["to"])
    try:
        numbers = req.svc.book.expand(items)
    except ServiceError as exc:
        req.errors["to"] = str(exc)
        raise
    return numbers, any(not _NUMBER(item) for item in items)


def form(req: PageRequest, values: dict[str, str] | None = None) -> str:
    values = values or {}
    task = req.query().get("task", "")
    progress = None
    if task.isdigit():
        try:
            progress = req.svc.search.task_progress(int(task), req.user)
        except NotFound:
            progress = None
    return req.render("send.tpl", scripts=["send.js"], values=values, progress=progress,
                      ports=sorted(req.svc.ports.all))


def send(req: PageRequest) -> str:
    fields = req.form()
    values = {k: fields.get(k, "") for k in ("to", "text", "port")}
    try:
        ports = _ports(req, values["port"])
        numbers, expanded = _numbers(req, values["to"])
        accepted = req.svc.sending.send_sms(SendRequest(
            text=values["text"], recipients=tuple(Recipient(n) for n in numbers), ports=ports,
            dialect="web", expanded=expanded), user=req.user)
    except ServiceError as exc:
        if not req.errors:
            req.errors["text" if "text" in str(exc) else "to"] = str(exc)
        bottle.response.status = 400
        return form(req, values)
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
        state = req.svc.search.task_progress(int(task_id), req.user)
    except (NotFound, ValueError):
        bottle.response.status = 404
        return json.dumps({"error": "no such task"})
    return json.dumps({"task_id": state.task_id, "total": state.total, "done": state.done,
                       "failed": state.failed, "finished": state.finished})


def stop(req: PageRequest, task_id: str) -> str:
    try:
        req.svc.sending.stop_task(int(task_id), req.user)
    except (NotFound, ValueError):
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


def _arg() -> str:
    return str(bottle.request.url_args.get("task_id", ""))
