"""The daemon remembers logins it has checked (smsd/store/users.py, migration 0015); the `smsd
user` command is another process writing the database while the daemon runs, and each of its
changes counts on the very next request: a new password, a permission taken, a user disabled or
deleted. A wrong password is never let in from the remembered login."""
from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from e2e.harness import Daemon, smsd_cli

PW = "first-pw-1"


@pytest.fixture()
def d(tmp_path: Path) -> Iterator[Daemon]:
    daemon = Daemon(str(tmp_path / "state"), ports=1)
    try:
        daemon.start()
        smsd_cli(daemon, "user", "add", "ann", "--password", PW, "--perm", "api:json,api:isms")
        yield daemon
    finally:
        daemon.stop()


def json_status(d: Daemon, password: str, user: str = "ann") -> int:
    status, _ = d.request("/api/get_port_info?port=0", auth=(user, password))
    return status


def isms(d: Daemon, password: str) -> str:
    query = urllib.parse.urlencode({"user": "ann", "passwd": password})
    status, body = d.request(f"/recvmsg?{query}&count=0")
    assert status == 200
    return body.decode().strip()


def remembered(d: Daemon, password: str = PW) -> None:
    """Logged in twice: the second answer came from the remembered login."""
    assert json_status(d, password) == 200 and json_status(d, password) == 200


def test_a_new_password_counts_on_the_next_request(d: Daemon) -> None:
    remembered(d)
    smsd_cli(d, "user", "passwd", "ann", "--password", "second-pw-2")
    assert json_status(d, PW) == 401
    assert json_status(d, "second-pw-2") == 200


def test_a_permission_taken_counts_on_the_next_request(d: Daemon) -> None:
    remembered(d)
    assert isms(d, PW) != "Err: 601"
    smsd_cli(d, "user", "perm", "ann", "api:isms")
    assert json_status(d, PW) == 403
    assert isms(d, PW) != "Err: 601"
    smsd_cli(d, "user", "perm", "ann", "api:json")
    assert isms(d, PW) == "Err: 601"
    assert json_status(d, PW) == 200


def test_disable_and_delete_count_on_the_next_request(d: Daemon) -> None:
    remembered(d)
    smsd_cli(d, "user", "disable", "ann")
    assert json_status(d, PW) == 403
    smsd_cli(d, "user", "enable", "ann")
    assert json_status(d, PW) == 200
    smsd_cli(d, "user", "del", "ann")
    assert json_status(d, PW) == 401
    smsd_cli(d, "user", "add", "ann", "--password", "third-pw-3", "--perm", "api:json")
    assert json_status(d, PW) == 401
    assert json_status(d, "third-pw-3") == 200


def test_a_wrong_password_is_refused_after_a_remembered_login(d: Daemon) -> None:
    remembered(d)
    for wrong in ("", PW[:-1], PW + "x", PW.upper()):
        assert json_status(d, wrong) == 401
    assert json_status(d, PW) == 200
