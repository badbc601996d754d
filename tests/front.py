"""The HTTP front as the daemon wires it (every dialect, the flood-proof waitress set-up) over a
temp store and fake workers, served on a loopback port; clients pick their 127.0.0.x source
address, so one test plays many hosts."""
from __future__ import annotations

import atexit
import base64
import http.client
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass

from smsd.api import SimControl, build_app
from smsd.api.auth import HttpAuth
from smsd.api.closing import honour_connection_close
from smsd.api.server import create_server, listen_addresses
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store.db import Store

from fakes import FakeWorker, start_all, stop_all

PW = "s3cret"
# One user per dialect, with only that dialect's permission.
USERS = {"json": "api:json", "isms": "api:isms", "intelli": "api:intelli", "ozeki": "api:ozeki",
         "gw": "api:gateway_php"}
# (name, password, permissions, admin) of a user a test store starts with
UserSpec = tuple[str, str, tuple[str, ...], bool]
FRONT_USERS: tuple[UserSpec, ...] = tuple((name, PW, (perm,), False)
                                          for name, perm in USERS.items())
_seeded: dict[tuple[UserSpec, ...], str] = {}        # the users -> a closed store holding them


def store_with_users(path: str, users: tuple[UserSpec, ...]) -> bool:
    """Make `path` a copy of a store that holds `users` (made once per process and set of users),
    unless `path` exists already: True when it was copied. Adding a user costs two scrypt hashes
    (a second for five on the loaded 2-core box), so test stores start from a copy instead."""
    if os.path.exists(path):
        return False
    if users not in _seeded:
        where = tempfile.mkdtemp(prefix="store-seed-")
        atexit.register(shutil.rmtree, where, True)
        seed = os.path.join(where, "smsd.db")
        store = Store(seed)
        try:
            svc = Service(store, Scheduler(store), {})
            for name, password, perms, admin in users:
                svc.users.add(name, password, perms=perms, admin=admin)
        finally:
            store.close()
        _seeded[users] = seed
    shutil.copyfile(_seeded[users], path)
    return True


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float


class Front:
    def __init__(self, path: str, threads: int = 8, *, sim: SimControl | None = None) -> None:
        seeded = store_with_users(path, FRONT_USERS)
        self.store = Store(path)
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(2)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers)
        if not seeded:
            for name, password, perms, admin in FRONT_USERS:
                self.svc.users.add(name, password, perms=perms, admin=admin)
        app = honour_connection_close(build_app(self.svc, HttpAuth(self.svc.users), sim=sim))
        self.server = create_server(app, ("127.0.0.1:0",), threads)
        self.host, self.port = listen_addresses(self.server)[0]
        self._thread = threading.Thread(target=self.server.run, name="http", daemon=True)

    def start(self) -> "Front":
        start_all(self.sched, self.workers)
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.close()
        self.server.task_dispatcher.shutdown()
        stop_all(self.sched, self.workers, self.store)

    def get(self, target: str, headers: dict[str, str] | None = None, *, source: str = "127.0.0.1",
            timeout: float = 10.0) -> Reply:
        return self.request("GET", target, None, headers, source=source, timeout=timeout)

    def post(self, target: str, body: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("POST", target, body, headers)

    def request(self, method: str, target: str, body: str | None,
                headers: dict[str, str] | None = None, *, source: str = "127.0.0.1",
                timeout: float = 10.0) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                          source_address=(source, 0))
        start = time.monotonic()
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body,
                         time.monotonic() - start)
        finally:
            conn.close()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def login_request(dialect: str, password: str) -> tuple[str, dict[str, str]]:
    """A cheap authenticated request of `dialect` for its user: (target, headers)."""
    user = dialect
    if dialect == "json":
        return "/api/query_sms_in_queue", basic(user, password)
    query = {"isms": f"/recvmsg?user={user}&passwd={password}",
             "intelli": f"/smsgateway/getbalance.aspx?username={user}&password={password}",
             "ozeki": f"/api?action=receivemessage&username={user}&password={password}",
             "gw": f"/module/gateway.php?clientuser={user}&clientpwd={password}"
                   "&to=447700900123&message=hi"}
    return query[dialect], {}


def refused_as_auth_error(dialect: str, reply: Reply) -> bool:
    """The dialect's own answer to bad credentials."""
    body = reply.body
    return {"json": lambda: reply.status == 401 and '"error_code":401' in body,
            "isms": lambda: body.strip() == "Err: 601",
            "intelli": lambda: body.strip() == "ERR:LOGIN_INVALID",
            "ozeki": lambda: "<statuscode>1</statuscode>" in body and "<error>" in body,
            "gw": lambda: body.strip() == "ERROR 104"}[dialect]()


def serves_the_user(dialect: str, reply: Reply) -> bool:
    return reply.status == 200 and not refused_as_auth_error(dialect, reply) and \
        "error_code\":5" not in reply.body and "Err:" not in reply.body

