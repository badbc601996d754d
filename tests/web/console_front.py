"""The web console over real HTTP on loopback, in process: the daemon's app (every dialect and
the pages) over a temp store and fake workers, and a cookie-keeping client that signs in the way
a browser does (the login form's token, then the session's CSRF token from each page)."""
from __future__ import annotations

import http.client
import re
import ssl
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))     # tests/: fakes

import bottle  # noqa: E402

from fakes import FakeWorker, start_all, stop_all  # noqa: E402
from front import UserSpec, store_with_users  # noqa: E402
from smsd.api import build_app  # noqa: E402
from smsd.api.auth import HttpAuth  # noqa: E402
from smsd.api.closing import honour_connection_close  # noqa: E402
from smsd.api.server import create_server, listen_addresses  # noqa: E402
from smsd.model import DEFAULT_PERMISSIONS  # noqa: E402
from smsd.modem_events import ModemEventSink  # noqa: E402
from smsd.scheduler import Scheduler  # noqa: E402
from smsd.service import Service  # noqa: E402
from smsd.store.db import Store  # noqa: E402
from smsd.web import Console, WebSettings  # noqa: E402

PW = "web-pass-1"
ADMIN_PW = "admin-pass-1"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_BODY_CSRF = re.compile(r'data-csrf="([^"]+)"')
USERS: tuple[UserSpec, ...] = (("admin", ADMIN_PW, DEFAULT_PERMISSIONS, True),
                               ("alice", PW, ("web",), False),
                               ("bob", PW, ("web",), False), ("api", PW, ("api:json",), False))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    cookies: list[str]              # the Set-Cookie lines
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class ConsoleFront:
    """`with ConsoleFront(tmp_path) as front:` a served console; users `admin` (admin), `alice`
    and `bob` (web only), `api` (no web)."""

    def __init__(self, tmp: Path, *, idle: float = 1800.0, https: bool = False) -> None:
        self.clock = FakeClock()
        seeded = store_with_users(str(tmp / "smsd.db"), USERS)
        self.store = Store(str(tmp / "smsd.db"))
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(2)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers)
        for name, password, perms, admin in () if seeded else USERS:
            self.svc.users.add(name, password, perms=perms, admin=admin)
        app = build_app(self.svc, HttpAuth(self.svc.users), web=None)
        self.console: Console = mount_console(app, self.svc, WebSettings(session_idle=idle),
                                              self.clock)
        self.tls_port = 0
        if https:         # the HTTPS listener beside the HTTP one, as the daemon wires them
            from smsd.system.tls import TlsCertificate
            cert = TlsCertificate(str(tmp / "state"), hostname="smsd-box",
                                  addresses=("127.0.0.1:443",))
            cert.load()
            self.server = create_server(honour_connection_close(app), ("127.0.0.1:0",), 4,
                                        tls_listen=("127.0.0.1:0",), tls_context=cert.context)
            self.tls_port = listen_addresses(self.server)[1][1]
        else:
            self.server = create_server(honour_connection_close(app), ("127.0.0.1:0",), 4)
        self.host, self.port = listen_addresses(self.server)[0]
        self._thread = threading.Thread(target=self.server.run, name="http", daemon=True)

    def __enter__(self) -> "ConsoleFront":
        start_all(self.sched, self.workers)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.close()
        self.server.task_dispatcher.shutdown()
        stop_all(self.sched, self.workers, self.store)

    def client(self, source: str = "127.0.0.1", *, https: bool = False) -> "Client":
        if https:
            return Client(self.host, self.tls_port, source, https=True)
        return Client(self.host, self.port, source)


def mount_console(app: bottle.Bottle, svc: Service, settings: WebSettings,
                  clock: Callable[[], float]) -> Console:
    """The console as build_app mounts it, with the test's clock for session idle time."""
    from smsd import web
    return web.mount(app, svc, settings, clock=clock)


@dataclass
class Client:
    host: str
    port: int
    source: str = "127.0.0.1"
    https: bool = False
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def request(self, method: str, target: str, fields: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, body: str | None = None) -> Reply:
        conn: http.client.HTTPConnection
        if self.https:        # the box's self-signed certificate: not checked here
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=10,
                                               source_address=(self.source, 0),
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10,
                                              source_address=(self.source, 0))
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, target, body=body, headers=sent)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            cookies = [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
            reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, cookies, text)
        finally:
            conn.close()
        self._keep(cookies)
        found = _BODY_CSRF.search(text)
        if found and found.group(1):
            self.csrf = found.group(1)
        return reply

    def _keep(self, lines: list[str]) -> None:
        for line in lines:
            name, _, rest = line.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get(self, target: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", target, headers=headers)

    def post(self, target: str, fields: dict[str, str], *, csrf: bool = True) -> Reply:
        """A form post carrying this session's CSRF token (unless `csrf` is False)."""
        data = dict(fields)
        if csrf and "csrf" not in data:
            data["csrf"] = self.csrf
        return self.request("POST", target, data)

    def login(self, user: str, password: str) -> Reply:
        form = self.get("/login")
        token = _CSRF.search(form.body)
        assert token, form.body
        reply = self.request("POST", "/login", {"csrf": token.group(1), "username": user,
                                                "password": password})
        if reply.status == 303:
            self.get(reply.location)          # the page it leads to: picks up the CSRF token
        return reply
