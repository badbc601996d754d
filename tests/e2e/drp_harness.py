"""The relay of the remote tunnel (`smsd drp-server`) as a subprocess, API clients that reach
boxes through it (section 19.3), and boxes set up to dial it. Used by tests/e2e/test_drp.py and
bench/drp_soak.py."""
from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import urllib.parse
from typing import Any

from e2e.harness import ADMIN_PW, Daemon, reserved_port, terminate, wait_for

SMSD = (sys.executable, "-m", "smsd")


def drp(state_dir: str, *args: str, stdin: str | None = None) -> str:
    """One `smsd drp-server ...` administration command; its standard output."""
    done = subprocess.run([*SMSD, "drp-server", *args, "--state-dir", state_dir], input=stdin,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Relay:
    def __init__(self, state_dir: str, *extra: str) -> None:
        self.state_dir = state_dir
        self.port, self.device_port = reserved_port(), reserved_port()
        self.extra = extra
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.fingerprint = ""

    def start(self) -> Relay:
        self.output = []
        self.proc = subprocess.Popen(
            [*SMSD, "drp-server", "--listen", f"127.0.0.1:{self.port}",
             "--device-listen", f"127.0.0.1:{self.device_port}", "--state-dir", self.state_dir,
             *self.extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._pump, daemon=True).start()
        line = wait_for(lambda: next((x for x in self.output if "drp-server ready" in x), None)
                        or self.proc is None or self.proc.poll() is not None, 30,
                        what="relay start")
        assert isinstance(line, str), "relay died:\n" + "".join(self.output)
        self.fingerprint = line.rsplit("sha256 ", 1)[1].strip()
        return self

    def _pump(self) -> None:
        proc = self.proc
        assert proc and proc.stdout
        for line in proc.stdout:
            self.output.append(line)

    def stop(self) -> None:
        if self.proc:
            terminate(self.proc)

    def remote_config(self, path: str, secret: str) -> str:
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"[remote]\nserver = 127.0.0.1:{self.device_port}\nsecret = {secret}\n"
                    f"fingerprint = {self.fingerprint}\n")
        return path


def box_serial(state_dir: str) -> str:
    """Create the box's database before its first start and read the serial it will use."""
    from smsd.store.db import Store
    store = Store(os.path.join(state_dir, "smsd.db"))
    try:
        return store.sn
    finally:
        store.close()


class Client:
    """An API client of section 19.3: one HTTPS connection (kept alive) to the relay, the
    session cookie kept as a browser or a cookie jar would."""

    def __init__(self, relay: Relay) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.conn = http.client.HTTPSConnection("127.0.0.1", relay.port, context=ctx, timeout=30)
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        hdrs = dict(headers or {})
        if self.cookie:
            hdrs["Cookie"] = self.cookie
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
            self.conn.close()     # the relay closed a kept-alive connection: once more
            self.conn.request(method, path, body=body, headers=hdrs)
            resp = self.conn.getresponse()
        data = resp.read()
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return resp.status, data

    def login(self, user: str, password: str) -> int:
        return self.request("GET", f"/doLogin?Username={user}&password={password}")[0]

    def choose(self, sn: str) -> int:
        return self.request("GET", f"/remoteWeb?Product_sns={urllib.parse.quote(sn)}")[0]

    def api(self, name: str, obj: Any = None, password: str = ADMIN_PW) -> tuple[int, Any]:
        auth = base64.b64encode(f"admin:{password}".encode()).decode()
        body = None if obj is None else json.dumps(obj).encode()
        status, data = self.request("POST" if body else "GET", f"/api/{name}", body,
                                    {"Authorization": f"Basic {auth}",
                                     "Content-Type": "application/json"})
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def close(self) -> None:
        self.conn.close()


def box(state_dir: str, relay: Relay, owner: str, **kw: Any) -> Daemon:
    """A box on the simulator whose [remote] section dials `relay` as a device of `owner`."""
    os.makedirs(state_dir, exist_ok=True)
    sn = box_serial(state_dir)
    secret = drp(relay.state_dir, "device", "add", sn, "--owner", owner).strip()
    config = relay.remote_config(os.path.join(state_dir, "..", f"{sn}.conf"), secret)
    d = Daemon(state_dir, extra=("--config", config), **kw)
    d.sn = sn        # type: ignore[attr-defined]
    return d


def relay_raw(relay: Relay, data: bytes) -> bytes:
    """Send raw bytes to the relay over TLS (its certificate not checked) and read the answer
    until the relay closes, or 10 s pass, or the TLS layer breaks: what came by then."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as sock:
        with ctx.wrap_socket(sock) as tls:
            tls.sendall(data)
            out = b""
            try:
                while chunk := tls.recv(65536):
                    out += chunk
            except (socket.timeout, ssl.SSLError):
                pass
            return out
