"""Runs the real daemon (`smsd run --simulate ...`) as a subprocess and talks to it over HTTP.

Nothing here fakes our own code: the daemon opens the simulator's ptys with pyserial, keeps its
queue in a temp SQLite file, and answers on a loopback port.
"""
from __future__ import annotations

import base64
import collections
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

ADMIN_PW = "test-admin-pw"

# The [modem] waits shortened (docs/recovery.md), for a daemon whose test hangs a modem: a climb
# of the recovery ladder then takes seconds instead of the minute the defaults give a real board.
FAST_RECOVERY = """[modem]
command_timeout = 1.5
probe_timeout = 0.5
quarantine_retry = 2
reappear = 1
"""


def fast_recovery_config(directory: str) -> tuple[str, ...]:
    """The daemon arguments that load FAST_RECOVERY, written as smsd.conf in `directory`."""
    path = os.path.join(directory, "smsd.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(FAST_RECOVERY)
    return ("--config", path)


def keepalive_every(d: "Daemon", port: int, seconds: int) -> None:
    """Set the port's idle refresh (keepalive_period, 5 s at least; 30 by default) through the
    Ozeki API's configdriver. A port that a hang took out of registration is found registered
    again by the next refresh, so a test that clears a hang waits this long, not 30 s."""
    query = urllib.parse.urlencode({"action": "configdriver", "name": f"GSMModem{port}",
                                    "KEEPALIVEPERIOD": str(seconds), "username": "admin",
                                    "password": d.password})
    status, body = d.request(f"/api?{query}")
    assert status == 200 and b"<statuscode>0</statuscode>" in body, body


def reserved_port() -> int:
    """A loopback port that no other process is handed meanwhile, for a daemon to listen on.

    A port bound to 0 and closed at once is free again the moment it is read, and the daemon
    binds it a second or two later: with test workers in parallel (make test) and other suites on
    the machine, some other bind(0) may take it first ("Address already in use" at start), or a
    test's "nobody listens there" port may be listened on. Here the port is left
    in TIME_WAIT instead (a connection to itself, closed by the accepting side, as the
    ephemeral-port-reserve package does): for about a minute the kernel hands it to no bind(0),
    while a listener that sets SO_REUSEADDR, as waitress and the daemon's own check_listen do,
    binds it at once."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()                    # this side closes first: its end waits
            client.recv(1)                      # until the close has arrived
    return port


def free_port() -> int:
    """For bench/smpp.py, which still asks for it: reserved_port, held the same way."""
    return reserved_port()


def journal_counts(path: str) -> collections.Counter[str]:
    """How often the simulated network accepted each text (its --sim-journal file)."""
    counts: collections.Counter[str] = collections.Counter()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    counts[json.loads(line)["text"]] += 1
    return counts


def terminate(proc: "subprocess.Popen[str]", grace: float = 15.0) -> None:
    """SIGTERM a child, SIGKILL it if it outlives `grace` seconds; a no-op if it has exited."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def smsd_cli(d: "Daemon", *args: str, timeout: float = 60.0) -> str:
    """The administration command on the daemon's state directory; fails the test if it fails."""
    done = subprocess.run([sys.executable, "-m", "smsd", *args, "--state-dir", d.state_dir],
                          capture_output=True, text=True, timeout=timeout, env=d.env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Daemon:
    def __init__(self, state_dir: str, *, ports: int = 4, slots: int = 1, latency: float = 0.05,
                 push_urls: tuple[str, ...] = (), extra: tuple[str, ...] = (),
                 admin_password: str | None = ADMIN_PW, env: dict[str, str] | None = None,
                 command: tuple[str, ...] = (sys.executable, "-m", "smsd")) -> None:
        self.state_dir = state_dir
        self.port = reserved_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # `command` runs another smsd, e.g. a release's entry point in its venv
        args = [*command, "run", "--simulate", str(ports), "--slots", str(slots),
                "--sim-latency", str(latency), "--listen", f"127.0.0.1:{self.port}",
                "--state-dir", state_dir, *extra]
        if admin_password is not None:
            args += ["--admin-password", admin_password]
        for url in push_urls:
            args += ["--push-url", url]
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.password = admin_password or ""
        self.ports = ports

    def start(self, timeout: float = 30.0, wait_ports: bool = True) -> "Daemon":
        self.output = []
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=self.env)
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()
        wait_for(lambda: any("smsd ready" in line for line in self.output) or self._died(),
                 timeout, what="daemon start")
        if self._died():
            raise AssertionError("daemon died:\n" + "".join(self.output))
        if wait_ports and self.password:
            wait_for(self.all_registered, timeout, what="all ports registered")
        return self

    def all_registered(self) -> bool:
        ports = ",".join(str(p) for p in range(self.ports))
        info = self.api("get_port_info", query=f"port={ports}&info_type=reg").get("info", [])
        return len(info) == self.ports and all(i["reg"] == "REGISTER_OK" for i in info)

    def _pump(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            self.output.append(line)

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def kill9(self) -> None:
        assert self.proc
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def signal_and_wait(self, *signals: int, timeout: float = 30.0) -> tuple[int, float]:
        """Send the signals (in turn), wait for the exit; (exit status, seconds it took). The
        daemon's last words are in `output` when this returns."""
        assert self.proc
        started = time.monotonic()
        for sig in signals:
            self.proc.send_signal(sig)
            time.sleep(0.2)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"daemon still running {timeout}s after {signals}") from None
        took = time.monotonic() - started
        self._reader.join(5)
        return status, took

    def stop(self) -> None:
        if self.proc:
            terminate(self.proc)

    # --- HTTP -----------------------------------------------------------------------------------
    def request(self, path: str, body: bytes | None = None, *, method: str | None = None,
                auth: tuple[str, str] | None = None, headers: dict[str, str] | None = None
                ) -> tuple[int, bytes]:
        user, pw = auth or ("admin", self.password)
        hdrs = {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=body, headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def api(self, name: str, obj: Any = None, *, query: str = "", **kw: Any) -> dict[str, Any]:
        body = None if obj is None else json.dumps(obj).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, data = self.request(f"/api/{name}" + (f"?{query}" if query else ""), body,
                                    headers=headers, **kw)
        assert status == 200, (status, data)
        return json.loads(data)

    def results(self, **filters: Any) -> list[dict[str, Any]]:
        return self.api("query_sms_result", filters)["result"]


class PushReceiver:
    """A loopback HTTP server that records what is POSTed to it. It refuses (503) the first
    `fail_first` posts, and every post while `failing` is set."""

    def __init__(self, fail_first: int = 0, path: str = "/push", failing: bool = False) -> None:
        self.posts: list[tuple[str, bytes]] = []     # (content type, body) of accepted posts
        self.attempts = 0
        self.fail_first = fail_first
        self.failing = failing
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.attempts += 1
                ok = outer.attempts > outer.fail_first and not outer.failing
                if ok:
                    outer.posts.append((self.headers.get("Content-Type", ""), data))
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.posts]

    @property
    def forms(self) -> list[dict[str, str]]:
        return [dict(urllib.parse.parse_qsl(body.decode("ascii"))) for _, body in self.posts]

    @property
    def content_types(self) -> list[str]:
        return [ctype for ctype, _ in self.posts]

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [item for body in self.bodies for item in body.get(kind, [])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def probe_daemon(state_dir: str, expression: str, extra: tuple[str, ...] = ()) -> Any:
    """Run the daemon (one simulated port) with a thread that, 3 s after start (well after
    READY), prints the JSON of `expression` evaluated inside it (`sys` is imported), and return
    that value: what the running daemon has loaded, asked from within."""
    code = ("import sys, threading, time, runpy, json\n"
            "def probe():\n"
            "    time.sleep(3)\n"
            f"    print('PROBE', json.dumps({expression}), flush=True)\n"
            "threading.Thread(target=probe, daemon=True).start()\n"
            "runpy.run_module('smsd', run_name='__main__')\n")
    d = Daemon(state_dir, ports=1, command=(sys.executable, "-c", code), extra=extra)
    try:
        d.start(wait_ports=False)
        line = wait_for(lambda: next((x for x in d.output if x.startswith("PROBE")), None), 20,
                        what="the probe's line")
    finally:
        d.stop()
    return json.loads(str(line).split(" ", 1)[1])


class SimProcess:
    """`python -m smsd.sim` in a child process (a board outlives a daemon it serves, as a real
    one does): its devices, its control API and the daemons that open its ptys as serial ports.
    `args`: the simulator's options (--latency, --journal, --report-delay ...)."""

    def __init__(self, ports: int, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "smsd.sim", "--ports", str(ports),
                                      *args], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        first = json.loads(self.proc.stdout.readline())
        self.devices: list[str] = first["devices"]
        self.control: str = first["control"]

    def post(self, path: str, obj: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        req = urllib.request.Request(self.control + path, json.dumps(obj).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return dict(json.loads(resp.read()))

    def stored(self, port: int) -> int:
        """Messages waiting in that port's SIM storage."""
        with urllib.request.urlopen(f"{self.control}/storage?port={port}", timeout=30) as resp:
            return int(json.loads(resp.read())["used"])

    def serial_daemon(self, root: str, *extra: str, head: str = "",
                      push_urls: tuple[str, ...] = ()) -> "Daemon":
        """A daemon in `root` (its config file and its state dir) that opens this board's ptys
        as real serial ports ([port.N] device = ...); `head`: config text before those;
        `extra`: more `smsd run` options."""
        config = os.path.join(root, "smsd.conf")
        with open(config, "w", encoding="ascii") as f:
            f.write(head + "".join(f"[port.{i}]\ndevice = {dev}\n\n"
                                   for i, dev in enumerate(self.devices)))
        d = Daemon(os.path.join(root, "state"), ports=len(self.devices), push_urls=push_urls)
        d.args = [sys.executable, "-m", "smsd", "run", "--config", config,
                  "--listen", f"127.0.0.1:{d.port}", "--state-dir", d.state_dir,
                  "--admin-password", d.password, *extra]
        return d

    def stop(self) -> None:
        terminate(self.proc, 10)
