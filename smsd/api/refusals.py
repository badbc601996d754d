"""Requests refused before any dialect handler runs, answered in the dialect of their path.

Two places refuse a request before a handler sees it:
- bottle: no route (404), a method the route does not take (405), a path that is not UTF-8 (400);
- waitress: request line and headers over `max_request_header_size` (431; an iSMS text of 1 MB
  sent by GET), malformed headers or chunked body (400), an unsupported Transfer-Encoding (501
  in waitress, 400 here: the client's mistake, not a failure of ours).

Either way the client is one of ours, written against its vendor's document, and must get that
document's answer to bad input rather than a plain-text page of the server's:

    JSON API   /api/<...>, STK     the HTTP status, JSON `{"error_code","sn","reason"}`
    Ozeki      /api, /httpapi      200, XML error item (status code 9, bad parameter)
    iSMS       /sendmsg ...        200, `Err: 602` (parse error)
    Intelli    /smsgateway/...     200, `ERR:INVALID_REQUEST`
    gateway    /module/gateway.php 200, `ERROR 120`; gatewayrapport.php 200, `NONE`

Other paths keep the plain-text answer. Waitress's refusals reach the same bottle error handlers:
`RefusingParser` turns a request waitress refuses into a stand-in (same method and path, no query,
headers or body, `Connection: close` so the connection closes after it) marked in the WSGI
environ, and the app's before_request hook aborts it with waitress's status. Memory stays as
bounded as waitress keeps it: nothing past its limits is read into the stand-in.

RefusingParser and RefusalTask lean on waitress 2.1's internals (the parser's received,
parse_header, error, completed, expect_continue and body_rcv; WSGITask.get_environment), as
smsd.api.server does; tests/test_hostile_answers.py fails if an upgrade changes them.
"""
from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

import bottle
from waitress.parser import HTTPRequestParser
from waitress.task import WSGITask

from smsd.api import isms, json_stk, legacy
from smsd.web import uploads
from smsd.api import ozeki_xml as x

log = logging.getLogger("smsd.api")

REFUSED_KEY = "smsd.refused"          # environ key: (HTTP status, why); no header can set it
STATUSES = (400, 404, 405, 413, 431, 501)
JSON_CODES = {404: 404, 405: 405, 413: 413, 431: 413}     # else 400 (request format not valid)
START_BYTES = 2048                    # enough of a request to read its method and path
_START = re.compile(rb"\s*(\S{1,40}) +(\S{1,2000})")
_HIGH = re.compile(rb"[\x80-\xff]")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Z-]{1,20}").fullmatch     # a method we can repeat


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str


def dialect_of(path: str) -> str | None:
    """Which dialect a request path belongs to (None: none of them)."""
    if path.startswith("/api/") or path in json_stk.ROUTES:
        return "json"
    if path in ("/api", "/httpapi"):
        return "ozeki"
    if path in isms.HANDLERS:
        return "isms"
    if path.lower().startswith("/smsgateway/"):
        return "intelli"
    if path == "/module/gateway.php":
        return "gateway"
    if path == "/module/gatewayrapport.php":
        return "rapport"
    return None


def answer(dialect: str, status: int, why: str, sn: str) -> Answer:
    """The dialect's answer to a request it cannot read."""
    if dialect == "json":
        body = {"error_code": JSON_CODES.get(status, 400), "sn": sn, "reason": why}
        return Answer(status, "application/json; charset=utf-8",
                      json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    if dialect == "ozeki":
        xml, ctype = x.render("", [x.error_item(x.BAD_PARAMETER, why)], "xml")
        return Answer(200, ctype, xml)
    if dialect == "isms":
        return Answer(200, f"text/plain; charset={isms.CHARSET}", "Err: 602\n")
    text = {"intelli": "ERR:INVALID_REQUEST", "gateway": "ERROR 120", "rapport": "NONE"}[dialect]
    return Answer(200, "text/plain; charset=utf-8", text)


def install(app: bottle.Bottle, serial: Callable[[], str]) -> None:
    """Error handlers for STATUSES and the hook that refuses waitress's stand-ins."""

    def refuse_stand_in() -> None:
        refused = bottle.request.environ.get(REFUSED_KEY)
        if refused is not None:
            # An unsupported Transfer-Encoding (waitress: 501) is the client's fault, not ours.
            raise bottle.HTTPError(400 if refused[0] == 501 else refused[0], refused[1])

    def handler(err: bottle.HTTPError) -> str:
        path = bottle.request.path
        why = _why(err)
        dialect = dialect_of(path)
        if dialect is None and err.status_code == 413 and uploads.is_upload_route(path):
            bottle.response.content_type = "text/html; charset=utf-8"
            return uploads.too_large_page(path, why)
        if dialect is None:
            bottle.response.content_type = "text/plain; charset=utf-8"
            return f"{err.status_code} {why}: {path}\n"
        log.info("%s %s from %s refused (%d): %s", bottle.request.method, path,
                 bottle.request.remote_addr, err.status_code, why)
        got = answer(dialect, err.status_code, why, serial())
        bottle.response.status = got.status
        if dialect != "json":
            legacy.close_connection()       # as every answer of the vendor dialects
        bottle.response.content_type = got.content_type
        return got.body

    app.add_hook("before_request", refuse_stand_in)
    for status in STATUSES:
        app.error(status)(handler)


def _why(err: bottle.HTTPError) -> str:
    if err.status_code == 404:
        return "not found"
    if err.status_code == 405:
        return f"method {bottle.request.method} not allowed"
    return str(err.body or err.status_line)


# --- waitress -----------------------------------------------------------------------------------
class RefusingParser(HTTPRequestParser):   # type: ignore[misc]
    """waitress's request parser, except that a request it refuses becomes a stand-in request
    for the app to answer (see module doc) instead of waitress's own plain-text error, and
    that bytes over 127 in the request line are taken (see parse_header).

    Also: `Expect: 100-continue` on a request without a body. waitress 2.1 answers it with
    "100 Continue" and marks the request incomplete again, waiting for a body that never comes:
    the client hangs until the idle timeout. With nothing to continue, the expectation is
    dropped and the request answered at once (RFC 9110 15.2.1 lets a server skip the 100)."""

    refused: tuple[int, str] | None = None
    _start = b""

    def received(self, data: bytes) -> int:
        if self.body_rcv is None and len(self._start) < START_BYTES:
            self._start += data[:START_BYTES - len(self._start)]
        consumed = int(super().received(data))
        if self.completed and self.error is not None:
            self._stand_in()
        if self.completed:
            self.expect_continue = False
        return consumed

    def parse_header(self, header_plus: bytes) -> None:
        """Old clients put text unencoded in the URL, Latin-1 or UTF-8 bytes too; waitress
        refuses any byte over 127 there ("Bad URI"). Percent-encoded, they reach the dialect,
        whose lenient decoding (smsd.api.legacy) reads them as the client meant."""
        first, sep, rest = header_plus.partition(b"\r\n")
        super().parse_header(_HIGH.sub(_percent, first) + sep + rest)

    def _stand_in(self) -> None:
        error, start = self.error, self._start
        found = _START.match(start)
        method = found.group(1).decode("ascii") if found and _TOKEN(found.group(1)) else "GET"
        path = _path_of(found.group(2)) if found else "/"
        adj = self.adj
        self.__dict__.clear()           # back to the class defaults: no headers, body or error
        HTTPRequestParser.__init__(self, adj)
        stand_in = f"{method} {path} HTTP/1.1\r\nConnection: close\r\n"
        self.parse_header(stand_in.encode("latin-1"))
        self.completed = True
        self.refused = (int(error.code), str(error.body))


def _percent(found: re.Match[bytes]) -> bytes:
    return b"%%%02X" % found.group()[0]


def _path_of(target: bytes) -> str:
    """The path of a request target (origin or absolute form), percent-encoded again so the
    stand-in's request line parses whatever the client sent."""
    text = target.decode("latin-1")
    if not text.startswith("/") and "://" in text:
        text = "/" + text.split("://", 1)[1].partition("/")[2]
    path = text.split("?", 1)[0].split("#", 1)[0] or "/"
    raw = urllib.parse.unquote_to_bytes(path)
    return urllib.parse.quote(raw, safe="/") if path.startswith("/") else "/"


class RefusalTask(WSGITask):   # type: ignore[misc]
    """waitress's WSGI task; a stand-in request carries its refusal in the environ."""

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        refused = getattr(self.request, "refused", None)
        if refused is not None:
            environ[REFUSED_KEY] = refused
        return environ
