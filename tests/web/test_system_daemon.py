"""The System page's restart, factory reset and restore with the real daemon (simulate mode),
run as systemd runs it (INVOCATION_ID set): the daemon stops gracefully and exits with the
status smsd.service restarts it on; this test plays systemd and starts it again."""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from console_front import Client
from e2e.harness import ADMIN_PW, Daemon
from smsd.board.factory_reset import FACTORY_RESET_EXIT
from smsd.store.backup import write_backup
from smsd.system.power import RESTART_EXIT
from test_system_page import multipart

SYSTEMD = {"INVOCATION_ID": "0123456789abcdef0123456789abcdef"}


def client(daemon: Daemon) -> Client:
    host, port = re.match(r"http://([^:]+):(\d+)", daemon.base).groups()  # type: ignore[union-attr]
    c = Client(host, int(port))
    assert c.login("admin", ADMIN_PW).status == 303
    return c


def exit_status(daemon: Daemon) -> int:
    assert daemon.proc is not None
    return daemon.proc.wait(60)


def test_restart_exits_for_systemd_to_restart(tmp_path: Path) -> None:
    daemon = Daemon(str(tmp_path / "state"), ports=1, env=SYSTEMD)
    daemon.start(wait_ports=False)
    try:
        c = client(daemon)
        assert "smsd 0." in c.get("/system").body
        reply = c.post("/system/restart", {"confirm": "yes"})
        assert reply.status == 200 and 'id="restarting"' in reply.body
        assert exit_status(daemon) == RESTART_EXIT
    finally:
        daemon.stop()
    daemon.start(wait_ports=False)            # what systemd does
    try:
        entries = client(daemon).get("/system").body
        assert "system.restart" in entries           # the audit log survived the restart
    finally:
        daemon.stop()


def test_a_daemon_started_by_hand_refuses(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "INVOCATION_ID"}
    daemon = Daemon(str(tmp_path / "state"), ports=1)
    daemon.env = env
    daemon.start(wait_ports=False)
    try:
        c = client(daemon)
        for action in ("restart", "factory-reset", "reboot"):
            reply = c.post(f"/system/{action}", {"confirm": "yes"})
            assert reply.status == 409, action
        assert daemon.proc is not None and daemon.proc.poll() is None
    finally:
        daemon.stop()


def test_restore_comes_back_after_the_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    daemon = Daemon(str(state), ports=1, env=SYSTEMD)
    daemon.start(wait_ports=False)
    try:
        c = client(daemon)
        assert c.request("POST", "/system/backup", {"csrf": c.csrf}).status == 200
    finally:
        daemon.stop()
    made = tmp_path / "made.db"            # the same backup, as bytes (the client reads text)
    src = sqlite3.connect(state / "smsd.db")
    write_backup(src, str(made))
    src.close()
    daemon.start(wait_ports=False)
    try:
        c = client(daemon)
        staged = multipart(c, "/system/restore", {"backup": ("made.db", made.read_bytes())})
        assert staged.status == 303, staged.body
        assert c.post("/system/restore/confirm", {"confirm": "yes"}).status == 200
        assert exit_status(daemon) == RESTART_EXIT
    finally:
        daemon.stop()
    daemon.start(wait_ports=False)
    try:
        assert any("restored the backup" in line for line in daemon.output)
        assert (state / "smsd.db.pre-restore.bak").exists()
        assert not (state / "restore-pending.db").exists()
        page = client(daemon).get("/system").body
        assert "restored at start" in page and "system.backup" in page
    finally:
        daemon.stop()


def test_factory_reset_wipes_the_state(tmp_path: Path) -> None:
    daemon = Daemon(str(tmp_path / "state"), ports=1, env=SYSTEMD)
    daemon.start(wait_ports=False)
    try:
        c = client(daemon)
        made = tmp_path / "made.db"
        src = sqlite3.connect(tmp_path / "state" / "smsd.db")
        write_backup(src, str(made))
        src.close()
        assert multipart(c, "/system/restore", {"backup": ("made.db", made.read_bytes())}) \
            .status == 303                      # staged, never confirmed
        assert c.post("/system/factory-reset", {}).status == 400      # not ticked
        assert daemon.proc is not None and daemon.proc.poll() is None
        assert c.post("/system/factory-reset", {"confirm": "yes"}).status == 200
        assert exit_status(daemon) == FACTORY_RESET_EXIT
    finally:
        daemon.stop()
    assert not (tmp_path / "state" / "smsd.db").exists()
    assert not (tmp_path / "state" / "restore-upload.db").exists()     # old users' hashes
