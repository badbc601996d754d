"""Let a WSGI application ask the server to close the connection after its reply.

Old SMS clients read the answer until the server closes the connection (and some send HTTP/1.1
without a Host header or `Connection: close`). `smsd.api.legacy.close_connection()` marks such a
reply with `Connection: close`; PEP 3333 forbids an application to send that hop-by-hop header
(waitress refuses it), so this middleware takes it out and tells the server instead. Waitress's
`start_response` is a closure over the request's task: setting the request's own Connection
header to `close` makes waitress answer with `Connection: close` and close after the reply,
exactly as if the client had asked. Other servers just lose the header (no harm).
"""
from __future__ import annotations

from typing import Any, Callable

from smsd.api.front import Front, Wsgi

StartResponse = Callable[..., Any]


def honour_connection_close(app: Wsgi) -> Front:
    """`app` in the one front layer (smsd.api.front), with this part switched on."""
    return Front.around(app).closing_with(_ask_server_to_close)


def _ask_server_to_close(start_response: StartResponse) -> None:
    for task in _bound_objects(start_response):
        request_headers = getattr(getattr(task, "request", None), "headers", None)
        if hasattr(task, "close_on_finish") and isinstance(request_headers, dict):
            request_headers["CONNECTION"] = "close"
            return


def _bound_objects(fn: Any) -> list[Any]:
    """What a bound method or a closure holds (waitress's task is one of them)."""
    found = [getattr(fn, "__self__", None)]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            found.append(cell.cell_contents)
        except ValueError:          # an empty cell
            continue
    return [obj for obj in found if obj is not None]
