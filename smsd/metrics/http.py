"""/metrics over HTTP, and the count of every HTTP request by dialect and status.

Who may read /metrics: a user with the `metrics` permission (HTTP Basic or Digest, the same
checks and login throttle as the JSON API), or anybody connecting from the box itself when
`[metrics] open_on_loopback = yes` (the default), so a local agent (node exporter's textfile
job, a Prometheus on the box, `smsd-check` run by NRPE) needs no password.

"From the box itself" is the connection's peer address as the socket gives it, which waitress
puts in REMOTE_ADDR: exactly 127.0.0.1 or ::1, the addresses the box's own clients connect from
(and those the HTTP front exempts from its per-address limit, smsd/api/server.py). Forwarding
headers (X-Forwarded-For, Forwarded) are never read: no proxy stands in front of smsd, so such a
header is whatever the client chose to write. Other loopback addresses (127.0.0.2 and up) do not
count: nothing on the box connects from them unless told to.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry
from prometheus_client import Counter

from smsd.api.auth import AuthResult, HttpAuth
from smsd.api.front import Front
from smsd.api.refusals import dialect_of

METRICS_PATH = "/metrics"
PERMISSION = "metrics"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
# The text format 0.0.4, which every Prometheus reads; newer clients' default names 1.0.0.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def dialect_label(path: str) -> str:
    """The `dialect` label of a request: an API dialect's name, else what else it is."""
    found = dialect_of(path)
    if found is not None:
        return found
    if path == METRICS_PATH:
        return "metrics"
    if path.startswith("/sim/"):
        return "sim"
    return "web"           # the console, its static files, and paths nobody serves


def count_requests(app: Wsgi, counter: Counter) -> Front:
    """`app`, counting each answer by dialect and status code as its status goes out, in the
    one front layer (smsd.api.front)."""
    return Front.around(app).watching(RequestCounter(counter))


def serve_metrics(app: Wsgi, endpoint: MetricsEndpoint) -> Front:
    """`app` with GET/HEAD /metrics answered beside it by `endpoint`, in the front layer."""
    return Front.around(app).serving(METRICS_PATH, endpoint.serve)


class RequestCounter:
    """A front watcher counting each request once, at its first status. The counter's child of
    each (dialect, status) pair is kept here: `labels()` checks and locks its way to the same
    child every time (6 % of the daemon's GIL time on the single send). The children live as
    long as the counter, which nothing clears or removes labels from."""

    COUNTED = "smsd.counted"          # environ key: this request is counted already

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[tuple[str, str], Counter] = {}

    def __call__(self, environ: dict[str, Any], status: str, took: float) -> None:
        if environ.get(self.COUNTED):
            return
        environ[self.COUNTED] = True
        key = (dialect_label(str(environ.get("PATH_INFO", ""))), status[:3])
        child = self._children.get(key)
        if child is None:             # two threads racing here get the same child from labels()
            child = self._children[key] = self._counter.labels(*key)
        child.inc()


class MetricsEndpoint:
    """GET/HEAD /metrics from the registry (`serve_metrics` puts it beside the app)."""

    def __init__(self, registry: CollectorRegistry, auth: HttpAuth, *,
                 open_on_loopback: bool) -> None:
        self._registry, self._auth = registry, auth
        self._open_on_loopback = open_on_loopback

    def serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The answer to a request for /metrics."""
        method = str(environ.get("REQUEST_METHOD", ""))
        if method not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "GET or HEAD only\n",
                         [("Allow", "GET, HEAD")])
        refusal = self._refusal(environ)
        if refusal is not None:
            return refusal(start_response)
        body = generate_latest(self._registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [b"" if method == "HEAD" else body]

    def _refusal(self, environ: dict[str, Any]) -> Callable[[StartResponse], Iterable[bytes]] | None:
        remote = str(environ.get("REMOTE_ADDR", ""))
        if self._open_on_loopback and remote in LOOPBACK:
            return None
        result = self._check(environ, remote)
        if result.user is not None:
            return None
        if result.forbidden:
            return lambda sr: _text(sr, "403 Forbidden",
                                    f"this user lacks the {PERMISSION} permission\n")
        headers = [("WWW-Authenticate", c)
                   for c in self._auth.challenges(result.stale, result.digest_from)]
        why = "authentication required\n"
        if result.throttled is not None:
            headers.append(("Retry-After", str(result.throttled.retry_seconds)))
            why = f"{result.throttled}\n"
        return lambda sr: _text(sr, "401 Unauthorized", why, headers)

    def _check(self, environ: dict[str, Any], remote: str) -> AuthResult:
        try:
            return self._auth.check(environ.get("HTTP_AUTHORIZATION"),
                                    str(environ.get("REQUEST_METHOD", "")), perm=PERMISSION,
                                    remote=remote, uri=environ.get("REQUEST_URI"))
        except (ValueError, IndexError):     # a header too malformed to parse is no credentials
            return AuthResult(None)


def _text(start_response: StartResponse, status: str, text: str,
          headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                            *(headers or [])])
    return [body]
