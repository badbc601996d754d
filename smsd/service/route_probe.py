"""The routing page's "test" button: one sample event, rendered in the route's own push format,
POSTed to the route's own URL, and what the receiver answered.

Only the configured URL is asked (redirects are not followed: a 3xx is the answer shown), with a
bounded timeout, and only the first bytes of the answer are read and kept. The sample is a
received SMS for the protocols that forward those, else the kind of event the protocol carries
(a send result, a subscription event); it never touches the store, the queue or the push cursors.
"""
from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

from smsd.model import Route
from smsd.numbers import is_normal
from smsd.push.worker import FORMATTERS
from smsd.store.times import fmt_time

TIMEOUT = 5.0              # seconds for the whole exchange's each step (connect, answer)
HEAD_BYTES = 200           # of the answer's body, shown on the page
SAMPLE_NUMBER = "+15550100"
SAMPLE_TEXT = "smsd routing test"


@dataclass(frozen=True)
class ProbeAnswer:
    status: int | None         # the HTTP status, None when there was no answer
    head: bytes                # the first HEAD_BYTES of the body
    error: str                 # why there was no answer ("" when there was one)
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def sample(route: Route, sn: str, now: float) -> tuple[bytes, str]:
    """The body and content type of the route's sample event."""
    formatter: Any = FORMATTERS[route.protocol]
    kinds = formatter.KINDS
    port = route.port if route.port is not None else 0
    if "sms" in kinds:
        kind, payload = "sms", {
            "incoming_sms_id": 0, "port": port, "number": _sender(route), "smsc": "",
            "timestamp": fmt_time(now), "text": route.text_prefix + SAMPLE_TEXT}
    elif "sms_result" in kinds:
        kind, payload = "sms_result", {
            "port": port, "number": SAMPLE_NUMBER, "time": fmt_time(now), "status": "SENT_OK",
            "count": 1, "succ_count": 1, "message_id": 0, "task_id": 0}
    else:
        kind, payload = "subscription", {
            "sublistname": "test", "sublisttype": 2, "msisdn": SAMPLE_NUMBER,
            "action": "subscribe", "source": "test", "time": now}
    data, ctype = formatter.render(sn, kind, [payload])
    return bytes(data), str(ctype)


def _sender(route: Route) -> str:
    """A sender the route's own filter lets through."""
    prefix = route.sender_prefix
    if not prefix:
        return SAMPLE_NUMBER
    return prefix + "0100" if is_normal(prefix, None) else prefix


def probe(route: Route, sn: str, *, timeout: float = TIMEOUT,
          clock: Callable[[], float] = time.monotonic) -> ProbeAnswer:
    data, ctype = sample(route, sn, time.time())
    return post_once(route.url, data, ctype, timeout=timeout, clock=clock)


def replay_body(route: Route, sn: str, kind: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    """A parked event rendered again in the route's format (ValueError: the format has no
    body for that kind)."""
    formatter: Any = FORMATTERS[route.protocol]
    if kind not in formatter.KINDS:
        raise ValueError(f"the {route.protocol} format does not carry {kind} events")
    data, ctype = formatter.render(sn, kind, [payload])
    return bytes(data), str(ctype)


def post_once(url_text: str, data: bytes, ctype: str, *, timeout: float = TIMEOUT,
              clock: Callable[[], float] = time.monotonic) -> ProbeAnswer:
    """One POST to exactly `url_text` (no redirect followed), the first HEAD_BYTES kept.

    `timeout` bounds each step (connect, each read); the whole exchange is cut after twice
    that, so a receiver that drips its answer a byte at a time cannot hold the page."""
    url = urllib.parse.urlsplit(url_text)
    started = clock()
    kind = http.client.HTTPSConnection if url.scheme.lower() == "https" else \
        http.client.HTTPConnection
    try:
        conn = kind(url.hostname or "", url.port, timeout=timeout)
    except ValueError as exc:              # a port out of range
        return ProbeAnswer(None, b"", str(exc), 0.0)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    fired = threading.Event()
    watchdog = threading.Timer(2 * timeout, _cut, (conn, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", target, body=data,
                     headers={"Content-Type": ctype, "User-Agent": "smsd"})
        resp = conn.getresponse()
        head = resp.read(HEAD_BYTES)
        return ProbeAnswer(resp.status, head, "", clock() - started)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        said = str(exc) or exc.__class__.__name__
        if fired.is_set():
            said = f"no complete answer within {2 * timeout:g} s"
        return ProbeAnswer(None, b"", said, clock() - started)
    finally:
        watchdog.cancel()
        conn.close()


def _cut(conn: http.client.HTTPConnection, fired: threading.Event) -> None:
    """End a blocked exchange from the watchdog's thread: its reads return at once."""
    fired.set()
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
