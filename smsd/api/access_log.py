"""One access log line per HTTP request, with no secret in it (docs/logs.md).

    INFO smsd.access: 127.0.0.1 admin "GET /api/query_sms_result?port=1" 200 3 ms

The user is the name of a Basic Authorization header ("-" without one: the dialects that take
the user as a parameter show it in the query). The query string goes through
`logsetup.scrub`, so `password=`, `passwd=`, `clientpwd=`, `secret=` ... values read `***`; the
Authorization header's value and request bodies (where form posts carry their passwords) are
never logged. A GET or HEAD of `/health`, which the watchdog asks every few seconds, is
answered before this line is written (smsd.api.front) and is never logged; any other method on
that path reaches the app and is logged at DEBUG.
"""
from __future__ import annotations

import base64
import logging
from typing import Any

from smsd.api.front import Front, Wsgi
from smsd.system.logsetup import scrub

log = logging.getLogger("smsd.access")
QUIET_PATHS = frozenset({"/health"})
MAX_TARGET = 300                # characters of path and query kept in a line


def access_log(app: Wsgi) -> Front:
    """`app` in the one front layer (smsd.api.front), each start_response logged."""
    return Front.around(app).watching(log_request)


def log_request(environ: dict[str, Any], status: str, took: float) -> None:
    path = str(environ.get("PATH_INFO", ""))
    level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
    if not log.isEnabledFor(level):
        return
    query = str(environ.get("QUERY_STRING", ""))
    target = scrub(path + (f"?{query}" if query else ""))
    if len(target) > MAX_TARGET:
        target = target[:MAX_TARGET] + "..."
    log.log(level, '%s %s "%s %s" %s %.0f ms', environ.get("REMOTE_ADDR", "-"),
            basic_user(environ.get("HTTP_AUTHORIZATION", "")), environ.get("REQUEST_METHOD", ""),
            target.encode("unicode_escape").decode("ascii"), status.split(" ", 1)[0],
            took * 1000)


def basic_user(header: str) -> str:
    """The user name of a Basic Authorization header, "-" for anything else."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "-"
    try:
        name = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0]
    except ValueError:      # bad base64 or UTF-8, and a header that is not ASCII at all
        return "-"
    return scrub(name)[:64].encode("unicode_escape").decode("ascii") or "-"
