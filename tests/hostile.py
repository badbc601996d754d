"""Tools for the hostile-input tests (tests/test_hostile_*.py): a raw HTTP client that sends any
bytes (methods, targets and headers http.client refuses), the daemon's log captured, the queue
counted, and each dialect's answer checked for its own format.

The server is tests/front.py's Front: every dialect, the daemon's waitress set-up, a temp store
and fake modem workers, on a loopback port.
"""
from __future__ import annotations

import json
import logging
import re
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from front import Front

# The appliance's figures for get_status (smsd.daemon.ApplianceService reads the machine's).
PERFORMANCE = {"cpu_used": "3", "flash_total": "27648", "flash_used": "17428",
               "memory_total": "109448", "memory_cached": "34192", "memory_buffers": "0",
               "memory_free": "58928", "memory_used": "50520"}


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict[str, object]:
        obj = json.loads(self.body)
        assert isinstance(obj, dict), self
        return obj


def serve_status(front: Front) -> Front:
    """Give the rig's service the appliance's get_status figures."""
    front.svc.device_status = lambda: dict(PERFORMANCE)     # type: ignore[method-assign]
    return front


def send(front: Front, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]] = [],
         body: bytes = b"", *, source: str = "127.0.0.1", timeout: float = 20.0,
         chunked: bool = False) -> Raw:
    """One request, exactly these bytes (plus Host, Content-Length or chunked framing, and
    Connection: close), and its answer read until the server closes."""
    head = [method + b" " + target + b" HTTP/1.1", b"Host: box"]
    head += [name + b": " + value for name, value in headers]
    if chunked:
        head.append(b"Transfer-Encoding: chunked")
        body = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 4000]), body[i:i + 4000])
                        for i in range(0, len(body), 4000)) + b"0\r\n\r\n"
    elif body or method in (b"POST", b"PUT"):
        head.append(b"Content-Length: " + str(len(body)).encode())
    head.append(b"Connection: close")
    data = b"\r\n".join(head) + b"\r\n\r\n" + body
    with socket.create_connection((front.host, front.port), timeout=timeout,
                                  source_address=(source, 0)) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass                # the server answered before it read everything: read that
        return _read_answer(sock)


def _read_answer(sock: socket.socket) -> Raw:
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    data = b"".join(chunks)
    head, sep, body = data.partition(b"\r\n\r\n")
    while sep and head.startswith(b"HTTP/1.1 1"):        # 100 Continue before the answer
        head, sep, body = body.partition(b"\r\n\r\n")
    assert sep, f"no complete answer: {data[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Raw(status, headers, body)


class LogCapture(logging.Handler):
    """Every record logged anywhere while installed (the daemon logs to the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def install(self) -> "LogCapture":
        root = logging.getLogger()
        root.addHandler(self)
        self._level = root.level
        root.setLevel(logging.INFO)
        return self

    def remove(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    def troubles(self, since: int = 0) -> list[str]:
        """Records (from the `since`th on) with a traceback or logged as errors: what no
        request, however hostile, may cause."""
        return [f"{r.name}: {r.getMessage()}" for r in self.records[since:]
                if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()]


def queued(front: Front) -> tuple[int, int, int]:
    """(tasks, messages, USSD requests) in the store: what a refused request must not add to."""
    conn = front.store.db.conn()
    # (USSD replies from the network arrive on their own: only what we sent counts.)
    return tuple(int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore
                 for table in ("tasks", "messages", "ussd WHERE direction = 'out'"))


# --- each dialect's answers ---------------------------------------------------------------------
_ISMS = re.compile(r"(ID: [0-9]+( Status: [0-5])?|Err: 6[0-2][0-9]|Count: [0-9]+)\n")
_ISMS_RECV = re.compile(r"[01]\n[01]\n[0-9]+(\n.*)*")
_INTELLI_LINE = re.compile(r"(\S+,)?(ID:[0-9]+|ERR:[A-Z_]+)|BALANCE:-?[0-9]+|OK")
_GATEWAY = re.compile(r"OK|OK [0-9]+(,[0-9]+)*|ERROR 1[0-5][0-9]|[0-9]+")
_RAPPORT = frozenset({"DELIVERED", "NOT DELIVERED", "BUFFERED", "SUBMITTED", "REJECTED", "NONE"})


def dialect_problem(dialect: str, answer: Raw) -> str | None:
    """Why `answer` is not a well-formed answer of `dialect` that says nothing failed inside
    (None when it is)."""
    if answer.status >= 500:
        return f"HTTP {answer.status}"
    check = {"json": _json_problem, "isms": _isms_problem, "intelli": _intelli_problem,
             "ozeki": _ozeki_problem, "gateway": _gateway_problem,
             "rapport": _rapport_problem}[dialect]
    return check(answer)


def _json_problem(answer: Raw) -> str | None:
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return f"content type {answer.headers.get('content-type')!r}"
    try:
        obj = answer.json()
    except (ValueError, AssertionError):
        return "not a JSON object"
    if "performance" in obj and "error_code" not in obj:
        return None                             # get_status's documented answer
    code = obj.get("error_code")
    if not isinstance(code, int) or code >= 500 and code != 550:
        return f"error_code {code!r}"
    return None if "sn" in obj else "no sn"


def _isms_problem(answer: Raw) -> str | None:
    text = answer.body.decode("latin-1")
    if answer.status != 200:
        return f"HTTP {answer.status}"
    if text == "Err: 612\n":
        return "internal error (612)"
    if _ISMS.fullmatch(text) or _ISMS_RECV.fullmatch(text):
        return None
    return f"not an iSMS answer: {text[:80]!r}"


def _intelli_problem(answer: Raw) -> str | None:
    if answer.status != 200:
        return f"HTTP {answer.status}"
    lines = answer.text.split("\n")
    if "ERR:INTERNAL_ERROR" in answer.text:
        return "internal error"
    bad = [line for line in lines if not _INTELLI_LINE.fullmatch(line)]
    return f"not an IntelliSoftware answer: {bad[0][:80]!r}" if bad else None


def _ozeki_problem(answer: Raw) -> str | None:
    if answer.status != 200:
        return f"HTTP {answer.status}"
    if answer.headers.get("content-type", "").startswith("text/html"):
        return None if answer.text.startswith("<!DOCTYPE html>") else "broken HTML"
    try:
        root = ET.fromstring(answer.body)
    except ET.ParseError as exc:
        return f"not XML: {exc}"
    if root.tag != "response" or root.find("data") is None:
        return "not an Ozeki response document"
    codes = [e.text for e in root.iter("statuscode")]
    return "internal error (99)" if "99" in codes else None


def _gateway_problem(answer: Raw) -> str | None:
    if answer.status != 200:
        return f"HTTP {answer.status}"
    return None if _GATEWAY.fullmatch(answer.text) else f"not a gateway.php answer: " \
                                                          f"{answer.text[:80]!r}"


def _rapport_problem(answer: Raw) -> str | None:
    if answer.status != 200:
        return f"HTTP {answer.status}"
    ok = answer.text in _RAPPORT or re.fullmatch(r"ERROR 1[0-5][0-9]", answer.text)
    return None if ok else f"not a gatewayrapport.php answer: {answer.text[:80]!r}"


def refused(dialect: str, answer: Raw) -> bool:
    """The answer refuses the request (so it must not have queued anything)."""
    text = answer.text
    if dialect == "json":
        try:
            return answer.status != 200 or answer.json().get("error_code") not in (200, 202)
        except (ValueError, AssertionError):
            return True
    if dialect == "isms":
        return text.startswith("Err:")
    if dialect == "intelli":
        return all("ERR:" in line for line in text.split("\n"))
    if dialect == "ozeki":
        return "<statuscode>0</statuscode>" not in text
    return text.startswith("ERROR") or dialect == "rapport"

