"""The one WSGI layer between waitress and the app.

Six things happen around every request: the forwarding headers are dropped (no proxy stands in
front of smsd, so an X-Forwarded-For or Forwarded header is whatever the client wrote), /health
is answered (smsd.api.server; never logged or counted, the watchdog asks it every few seconds),
/metrics is answered (smsd.metrics.http), the answer is counted by dialect and status, it gets its
access-log line (smsd.api.access_log), and a `Connection: close` the app set is taken out and
handed to waitress (smsd.api.closing). They were six nested layers, each with its own call and its
own start_response wrapper per request (with bottle, ~9 % of the daemon's GIL time on the
single-recipient send); `Front` does all six in one call and one wrapper.

The wiring still reads as layers: `honour_connection_close(app)`, `access_log(app)`,
`count_requests(app, ...)` and `with_health(app, ...)` each return a copy of the Front they are
given (or a new Front around a plain app) with their part switched on. The parts run in one
fixed order: forwarding headers, /health, the paths served beside the app (/metrics), then at
start_response the watchers, in the order they were added (the daemon adds the count, then the
access log), and Connection: close.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
HealthCheck = Callable[[], tuple[bool, bytes]]      # /health: (healthy, the answer's body)
# Told of every status the app starts: (environ, status line, seconds since the request began).
Watcher = Callable[[dict[str, Any], str, float], None]
# Asks the server to close the connection after this answer (smsd.api.closing).
Closer = Callable[[StartResponse], None]

HEALTH_PATH = "/health"
# The environ keys of the forwarding headers waitress's clear_untrusted_proxy_headers dropped.
FORWARDED_KEYS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
                  "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_BY", "HTTP_FORWARDED")
HEALTH_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]


def _always_healthy() -> tuple[bool, bytes]:
    return True, b"ok\n"


class Front:
    """WSGI: `app` with the parts switched on (see the module's docstring)."""

    __slots__ = ("app", "strip_forwarded", "health", "paths", "watchers", "closer")

    def __init__(self, app: Wsgi, *, strip_forwarded: bool = False,
                 health: HealthCheck | None = None, paths: Mapping[str, Wsgi] | None = None,
                 watchers: tuple[Watcher, ...] = (), closer: Closer | None = None) -> None:
        self.app = app
        self.strip_forwarded = strip_forwarded
        self.health = health                 # None: /health goes to the app like any path
        self.paths: Mapping[str, Wsgi] = dict(paths or {})
        self.watchers = watchers
        self.closer = closer

    @classmethod
    def around(cls, app: Wsgi) -> Front:
        """`app` itself when it is a Front already, else a Front with nothing on around it."""
        return app if isinstance(app, Front) else cls(app)

    def _copy(self, **changes: Any) -> Front:
        fields: dict[str, Any] = {"strip_forwarded": self.strip_forwarded, "health": self.health,
                                  "paths": self.paths, "watchers": self.watchers,
                                  "closer": self.closer}
        fields.update(changes)
        return Front(self.app, **fields)

    def stripping_forwarded(self) -> Front:
        return self._copy(strip_forwarded=True)

    def answering_health(self, health: HealthCheck | None) -> Front:
        return self._copy(health=health or _always_healthy)

    def serving(self, path: str, handler: Wsgi) -> Front:
        """`handler` answers requests for exactly `path`, inside the watchers, like the app."""
        return self._copy(paths={**self.paths, path: handler})

    def watching(self, watcher: Watcher) -> Front:
        return self._copy(watchers=self.watchers + (watcher,))

    def closing_with(self, closer: Closer) -> Front:
        return self._copy(closer=closer)

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        if self.strip_forwarded:
            for key in FORWARDED_KEYS:
                environ.pop(key, None)
        path = environ.get("PATH_INFO", "")
        if self.health is not None and path == HEALTH_PATH \
                and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self._answer_health(start_response)
        handler = self.paths.get(path, self.app) if self.paths else self.app
        if not self.watchers and self.closer is None:
            return handler(environ, start_response)
        return handler(environ, self._start(environ, start_response))

    def _answer_health(self, start_response: StartResponse) -> Iterable[bytes]:
        assert self.health is not None
        ok, body = self.health()
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [HEALTH_HEADERS[0], ("Content-Length", str(len(body))), HEALTH_HEADERS[1]])
        return [body]

    def _start(self, environ: dict[str, Any], start_response: StartResponse) -> StartResponse:
        """The start_response the app gets: tells the watchers, then drops a Connection header
        (asking the server to close instead) before waitress sees the headers."""
        began = time.monotonic()
        watchers, closer = self.watchers, self.closer

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            took = time.monotonic() - began
            for watcher in watchers:
                watcher(environ, status, took)
            if closer is not None:
                kept = [(k, v) for k, v in headers if k.lower() != "connection"]
                if len(kept) != len(headers):
                    closer(start_response)
                headers = kept
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)
        return start
