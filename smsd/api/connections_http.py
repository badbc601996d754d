"""The HTTPServer connections' endpoint (docs/connections.md): a provider posts (or gets) the
messages it has for the box to /connections/<name>, with the parameter names the connection's
PARAMNAME* keys set, and is answered with its RESPONSETEMPLATE. A thin translator: svc.connections
checks and stores. Refusals are one plain-text line (400 what was wrong, 403 a wrong SECRET, 404
no such running connection, 413 too large, 429 too many wrong secrets), never a page or a trace.
"""
from __future__ import annotations

import urllib.parse

import bottle

from smsd.errors import AuthError, NotFound, ServiceError, Throttled
from smsd.service import Service

MAX_BODY = 64 * 1024
TEXT = "text/plain; charset=utf-8"


def _params() -> dict[str, str] | None:
    """Query and form fields (UTF-8); None when the body is too large."""
    if (bottle.request.content_length or 0) > MAX_BODY:
        return None
    body = bottle.request.body.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return None
    params = dict(urllib.parse.parse_qsl(bottle.request.query_string, encoding="utf-8",
                                         errors="replace"))
    if body and "json" not in (bottle.request.content_type or "").lower():
        params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
    return params


def mount(app: bottle.Bottle, svc: Service) -> None:
    @app.route("/connections/<name>", method=["GET", "POST"])
    def post(name: str) -> str:
        bottle.response.content_type = TEXT
        params = _params()
        if params is None:
            bottle.response.status = 413
            return "request too large\n"
        try:
            return svc.connections.http_post(name, params, bottle.request.remote_addr or "") \
                + "\n"
        except Throttled:
            bottle.response.status = 429
            return "too many wrong secrets: try again later\n"
        except AuthError:
            bottle.response.status = 403
            return "wrong or missing secret\n"
        except NotFound as exc:
            bottle.response.status = 404
            return f"{exc}\n"
        except ServiceError as exc:
            bottle.response.status = 400
            return f"{exc}\n"
