"""A fleet of smsd boxes behind Debian's Kannel (issue 18 point 2), for tests/fleet/ and
bench/fleet.py.

Each `Box` is the real daemon on its own simulated board, with its SMPP server on a loopback
port picked by the kernel and a user `kannel` allowed to bind. `Kannel` writes a kannel.conf with
bearerbox, smsbox, a sendsms-user and one SMPP SMSC group per box (transceiver, `smsc-id` box1,
box2, ...), runs bearerbox and smsbox as child processes, and sends through smsbox's `sendsms`
HTTP interface. `DlrReceiver` is the loopback web server Kannel calls back on `dlr-url`.
Nothing here fakes smsd or Kannel: what is checked crossed real sockets.
"""
from __future__ import annotations

import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from e2e.harness import Daemon, journal_counts, reserved_port, wait_for

SMPP_USER, SMPP_PASSWORD = "kannel", "kannel01"      # 8 characters: binds with its own password
SEND_USER, SEND_PASSWORD = "fleet", "fleet-pw"       # Kannel's sendsms-user
BEARERBOX, SMSBOX = "/usr/sbin/bearerbox", "/usr/sbin/smsbox"


def kannel_installed() -> bool:
    return os.access(BEARERBOX, os.X_OK) and os.access(SMSBOX, os.X_OK)


class Box:
    """One smsd daemon with its SMPP server on, on a simulated board of `ports` ports."""

    def __init__(self, root: Path, name: str, *, ports: int = 1, latency: float = 0.2) -> None:
        self.name = name
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.smpp_port = reserved_port()
        self.journal = str(self.dir / "journal.jsonl")
        conf = self.dir / "smsd.conf"
        conf.write_text(f"[smpp]\nlisten = 127.0.0.1:{self.smpp_port}\nmax_queue = 100000\n")
        self.daemon = Daemon(str(self.dir / "state"), ports=ports, latency=latency,
                             extra=("--config", str(conf), "--sim-journal", self.journal))

    def start(self) -> "Box":
        fresh = not os.path.exists(os.path.join(self.daemon.state_dir, "smsd.db"))
        self.daemon.start(60)
        if fresh:
            self.smsd("user", "add", SMPP_USER, "--password", SMPP_PASSWORD, "--perm", "smpp")
            # the SMS its ports receive go to Kannel too
            self.smsd("user", "assign", SMPP_USER, "--ports",
                      ",".join(str(p) for p in range(self.daemon.ports)))
        return self

    def smsd(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "smsd", *args, "--state-dir",
                              self.daemon.state_dir], capture_output=True, text=True,
                             timeout=60, env=self.daemon.env)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def kill9(self) -> None:
        self.daemon.kill9()

    def stop(self) -> None:
        self.daemon.stop()

    def aired(self) -> set[str]:
        """The texts this box's simulated network accepted (its journal survives restarts)."""
        return set(journal_counts(self.journal))

    def committed(self, waiting_only: bool = False) -> set[str]:
        """The texts of the messages in this box's database (those not yet out: waiting_only)."""
        db = sqlite3.connect(os.path.join(self.daemon.state_dir, "smsd.db"), timeout=10)
        try:
            sql = ("SELECT COALESCE(m.text, t.text) FROM messages m "
                   "JOIN tasks t ON t.id = m.task_id")
            if waiting_only:
                sql += " WHERE m.stage = 0"           # not yet handed to a port
            return {row[0] for row in db.execute(sql)}
        finally:
            db.close()


class DlrReceiver:
    """Records the query strings of the GETs Kannel makes to `dlr-url`."""

    def __init__(self) -> None:
        self.hits: list[dict[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.urlsplit(self.path).query
                outer.hits.append(dict(urllib.parse.parse_qsl(query, keep_blank_values=True)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/dlr"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, ref: str) -> str:
        """A dlr-url for one message: Kannel fills %d (the report type) and %i (the smsc-id)."""
        return f"{self.base}?ref={urllib.parse.quote(ref)}&type=%d&smsc=%i"

    def mo_url(self) -> str:
        """An sms-service get-url for received SMS: Kannel fills sender, receiver, text, smsc."""
        return f"{self.base}?kind=mo&from=%p&to=%P&text=%a&smsc=%i"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def kannel_conf(work: Path, boxes: list[Box], admin_port: int, smsbox_port: int,
                sendsms_port: int, mo_url: str = "") -> str:
    """kannel.conf for bearerbox + smsbox in front of the boxes (the file docs/fleet.md shows);
    received SMS go to `mo_url` (an sms-service that sends no reply)."""
    core = f"""group = core
admin-port = {admin_port}
admin-password = fleet-admin
admin-allow-ip = "127.0.0.1"
admin-interface = 127.0.0.1
smsbox-port = {smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{work / 'bearerbox.log'}"
log-level = 1
store-type = file
store-location = "{work / 'kannel.store'}"
dlr-storage = internal

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
mo-recode = true
log-file = "{work / 'smsbox.log'}"
log-level = 1

group = sendsms-user
username = {SEND_USER}
password = {SEND_PASSWORD}
max-messages = 3
concatenation = true
"""
    if mo_url:
        core += f"""
group = sms-service
keyword = default
get-url = "{mo_url}"
max-messages = 0
"""
    smscs = [f"""
group = smsc
smsc = smpp
smsc-id = {box.name}
host = 127.0.0.1
port = {box.smpp_port}
transceiver-mode = true
smsc-username = {SMPP_USER}
smsc-password = {SMPP_PASSWORD}
system-type = ""
msg-id-type = 0x00
max-pending-submits = 10
reconnect-delay = 1
enquire-link-interval = 30
log-file = "{work / (box.name + '.log')}"
log-level = 1
""" for box in boxes]
    return core + "".join(smscs)


class Kannel:
    """bearerbox + smsbox over `boxes`, with their files in `work`."""

    def __init__(self, work: Path, boxes: list[Box], mo_url: str = "") -> None:
        self.work = work
        self.boxes = boxes
        self.mo_url = mo_url
        self.conf = work / "kannel.conf"
        self.procs: list[subprocess.Popen[bytes]] = []
        self._configure()

    def _configure(self) -> None:
        """Loopback ports for bearerbox and smsbox, and the kannel.conf that names them."""
        self.admin_port, self.sendsms_port = reserved_port(), reserved_port()
        self.conf.write_text(kannel_conf(self.work, self.boxes, self.admin_port,
                                         reserved_port(), self.sendsms_port, self.mo_url))

    def start(self, timeout: float = 30.0, attempts: int = 3) -> "Kannel":
        for attempt in range(1, attempts + 1):
            if self._spawn(timeout):
                break
            # A port reserved on loopback can still be taken meanwhile by a process that binds
            # it by number: new ports, once more. (Kannel's ports are on 127.0.0.1 only: bound
            # on every interface, a port that an outgoing connection of the machine held, or had
            # just closed, e.g. apt fetching kannel a moment before, was "already in use".)
            in_use = "Address already in use" in self.logs()
            self.stop()
            assert in_use and attempt < attempts, self.logs()
            for log in self.work.glob("*.log"):
                log.unlink()
            self._configure()
        wait_for(lambda: self.online() == {b.name for b in self.boxes}, timeout,
                 what="every SMSC bound")
        return self

    def _spawn(self, timeout: float) -> bool:
        """Start bearerbox, then smsbox once bearerbox answers; False if one of them died."""
        self.procs = []
        for binary in (BEARERBOX, SMSBOX):
            with open(self.work / (os.path.basename(binary) + ".out"), "wb") as out:
                # -v 4: only errors on the console; the log files hold the rest
                self.procs.append(subprocess.Popen([binary, "-v", "4", str(self.conf)],
                                                   stdout=out, stderr=subprocess.STDOUT))
            up = self._status if binary == BEARERBOX else self._sendsms_up
            wait_for(lambda: up() or self._failed(), timeout, what=f"{binary} listening")
            if self._failed():
                return False
        return True

    def _failed(self) -> bool:
        """A box died, or could not bind one of its ports: bearerbox logs a failed bind of its
        admin port and goes on without it, so its status page never answers."""
        return (any(p.poll() is not None for p in self.procs)
                or "Address already in use" in self.logs())

    def _status(self) -> str | None:
        url = (f"http://127.0.0.1:{self.admin_port}/status.txt?password=fleet-admin")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return str(resp.read().decode("utf-8", "replace"))
        except (OSError, urllib.error.URLError):
            return None

    def _sendsms_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.sendsms_port}/", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True                     # it answers: the port is up
        except (OSError, urllib.error.URLError):
            return False

    def online(self) -> set[str]:
        """The smsc-ids bearerbox reports online (bound)."""
        status = self._status() or ""
        names = set()
        for line in status.splitlines():
            line = line.strip()
            for box in self.boxes:
                if line.startswith(box.name + "[") or line.startswith(box.name + " "):
                    if "(online" in line:
                        names.add(box.name)
        return names

    def status(self) -> str:
        return self._status() or ""

    def send(self, to: str, text: str, *, dlr_url: str | None = None, dlr_mask: int = 0,
             **extra: str) -> tuple[int, str]:
        """One message through smsbox's sendsms interface (`extra`: more of its parameters,
        e.g. coding=2 charset=UTF-8): (HTTP status, body)."""
        params = {"username": SEND_USER, "password": SEND_PASSWORD, "from": "fleet",
                  "to": to, "text": text, **extra}
        if dlr_url:
            params.update({"dlr-url": dlr_url, "dlr-mask": str(dlr_mask)})
        url = (f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?"
               + urllib.parse.urlencode(params))
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def log_lines(self, needle: str) -> list[str]:
        """The lines of bearerbox's and the SMSCs' log files that contain `needle`."""
        found = []
        for name in ("bearerbox.log", *(b.name + ".log" for b in self.boxes)):
            path = self.work / name
            if path.exists():
                found += [line for line in path.read_text(errors="replace").splitlines()
                          if needle in line]
        return found

    def logs(self) -> str:
        parts = []
        for name in ("bearerbox.out", "smsbox.out", "bearerbox.log", "smsbox.log",
                     *(b.name + ".log" for b in self.boxes)):
            path = self.work / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
