"""The one WSGI layer around the app (smsd/api/front.py): each part the daemon switches on does
what its own layer did, in the same order, in one call."""
from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from smsd.api.access_log import access_log
from smsd.api.closing import honour_connection_close
from smsd.api.front import Front
from smsd.api.server import with_health
from smsd.metrics.http import count_requests


class App:
    """A WSGI app recording the environ it saw; answers with `headers`."""

    def __init__(self, headers: list[tuple[str, str]] | None = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.headers = headers or []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.seen.append(dict(environ))
        start_response("200 OK", list(self.headers))
        return [b"app"]


def call(app: Any, path: str, **extra: str) -> tuple[list[Any], list[bytes]]:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "REMOTE_ADDR": "10.0.0.1",
               "QUERY_STRING": "", **extra}
    started: list[Any] = []
    body = list(app(environ, lambda status, headers, *exc: started.append((status, headers))))
    return started, body


def daemon_front(app: Any, counter: Counter) -> Front:
    """Wired as the daemon wires it (smsd/daemon.py, smsd/metrics/wiring.py, create_server)."""
    return with_health(honour_connection_close(access_log(count_requests(app, counter))),
                       lambda: (False, b"sick\n")).stripping_forwarded()


def counted(counter: Counter) -> dict[tuple[str, str], float]:
    return {(s.labels["dialect"], s.labels["status"]): s.value
            for metric in counter.collect() for s in metric.samples if s.name.endswith("_total")}


def test_the_daemon_wiring_is_one_layer_doing_all_six(caplog) -> None:  # type: ignore[no-untyped-def]
    app, counter = App(), Counter("t", "t", ("dialect", "status"), registry=CollectorRegistry())
    front = daemon_front(app, counter)
    assert isinstance(front, Front) and front.app is app
    with caplog.at_level(logging.DEBUG, logger="smsd.access"):
        started, body = call(front, "/api/send_sms", HTTP_X_FORWARDED_FOR="127.0.0.1",
                             HTTP_FORWARDED="for=127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
        health, health_body = call(front, "/health")
    assert body == [b"app"] and started == [("200 OK", [])]
    assert not any(k.startswith(("HTTP_X_FORWARDED", "HTTP_FORWARDED")) for k in app.seen[0])
    assert health == [("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                                   ("Content-Length", "5"),
                                                   ("Cache-Control", "no-store")])]
    assert health_body == [b"sick\n"] and len(app.seen) == 1      # the app never saw /health
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith('10.0.0.1 - "GET /api/send_sms" 200 ')
    assert counted(counter) == {("json", "200"): 1.0}               # /health is not counted


def test_connection_close_is_taken_out_and_the_count_is_once_per_request() -> None:
    class Twice(App):        # an error page after a first start_response (exc_info given)
        def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", [("Connection", "close")])
            start_response("500 Internal Server Error", [("X-A", "1")], (None, None, None))
            return [b""]
    counter = Counter("t", "t", ("dialect", "status"), registry=CollectorRegistry())
    started, _ = call(daemon_front(Twice(), counter), "/sendmsg")
    assert started == [("200 OK", []), ("500 Internal Server Error", [("X-A", "1")])]
    assert counted(counter) == {("isms", "200"): 1.0}


def test_metrics_is_served_inside_the_count() -> None:
    from smsd.metrics.http import MetricsEndpoint, serve_metrics
    from smsd.api.auth import HttpAuth
    registry = CollectorRegistry()
    counter = Counter("t", "t", ("dialect", "status"), registry=registry)
    app = App()
    endpoint = MetricsEndpoint(registry, HttpAuth(None),  # type: ignore[arg-type]
                               open_on_loopback=True)
    front = daemon_front(serve_metrics(app, endpoint), counter)
    started, body = call(front, "/metrics", REMOTE_ADDR="127.0.0.1")
    assert started[0][0] == "200 OK" and b"t_total" in body[0] and not app.seen
    call(front, "/metrics", REMOTE_ADDR="127.0.0.1")
    assert counted(counter) == {("metrics", "200"): 2.0}


def test_wrapping_a_front_adds_to_it_and_leaves_the_first_as_it_was() -> None:
    app = App([("Connection", "close")])
    plain = Front.around(app)
    closing = honour_connection_close(plain)
    assert Front.around(closing) is closing and plain.closer is None
    assert call(plain, "/x")[0] == [("200 OK", [("Connection", "close")])]
    assert call(closing, "/x")[0] == [("200 OK", [])]
    assert call(with_health(app), "/health") == (
        [("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "3"),
                     ("Cache-Control", "no-store")])], [b"ok\n"])
    assert call(with_health(app), "/health", REQUEST_METHOD="POST")[1] == [b"app"]


def test_the_server_drops_forwarding_headers_and_answers_health() -> None:
    """create_server puts the app in one Front: the app never sees a forwarding header."""
    import http.client
    import threading
    from smsd.api.server import create_server, listen_addresses
    app = App()
    server = create_server(app, ["127.0.0.1:0"], 2, health=lambda: (True, b"fine\n"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        host, port = listen_addresses(server)[0]
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/x", headers={"X-Forwarded-For": "127.0.0.1",
                                           "Forwarded": "for=127.0.0.1", "X-Other": "kept"})
        assert conn.getresponse().read() == b"app"
        conn.request("GET", "/health")
        assert conn.getresponse().read() == b"fine\n"
        conn.close()
    finally:
        server.close()
        server.task_dispatcher.shutdown()
    (seen,) = app.seen
    assert seen["HTTP_X_OTHER"] == "kept"
    assert "HTTP_X_FORWARDED_FOR" not in seen and "HTTP_FORWARDED" not in seen
