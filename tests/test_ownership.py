"""The ownership and role policy at the Service (smsd/service_access.py) and `smsd user assign`.

The HTTP side, dialect by dialect, is tests/test_ownership_http.py."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from smsd.errors import BadRequest, Forbidden, NotFound
from smsd.model import Recipient, SendRequest
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store.db import Store

from fakes import FakeWorker, start_all, stop_all


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Service]:
    store = Store(str(tmp_path / "smsd.db"))
    sched = Scheduler(store)
    sink = ModemEventSink(store, sched)
    workers = {p: FakeWorker(p, sink) for p in range(3)}
    sched.attach(workers)
    service = Service(store, sched, workers)
    service.users.add("boss", "pw", admin=True)
    service.users.add("ann", "pw", perms=("api:json",))
    service.users.add("bob", "pw", perms=("api:json",))
    service.users.add("tech", "pw", perms=("api:json", "ports"))
    start_all(sched, workers)
    yield service
    stop_all(sched, workers, store)


def send(svc: Service, user: str) -> tuple[int, int]:
    accepted = svc.sending.send_sms(SendRequest(text="hi", recipients=(Recipient("+447700900123"),)),
                                    user=user)
    return accepted.task_id, accepted.message_ids[0]


def inbound(svc: Service, port: int, text: str = "hello", sender: str = "+447700900555") -> int:
    ident = svc._store.inbox.add_inbound(port=port, slot=0, imsi="", sender=sender, smsc="",
                                         scts=None, text=text, concat=None, now=time.time())
    assert ident is not None
    return ident


def test_access_answers(svc: Service) -> None:
    boss, ann, tech, box = (svc.access.of(n) for n in ("boss", "ann", "tech", None))
    assert box is None                                     # the box itself: unrestricted
    assert boss is not None and boss.controls_ports and boss.owner is None and boss.owns("x")
    assert ann is not None and not ann.controls_ports and ann.owner == "ann"
    assert ann.owns("ann") and not ann.owns("bob") and not ann.owns("")
    assert tech is not None and tech.controls_ports and tech.owner == "tech"
    gone = svc.access.of("deleted-meanwhile")
    assert gone is not None and not gone.controls_ports and gone.owner == "deleted-meanwhile"


def test_messages_and_tasks_are_their_owners(svc: Service) -> None:
    boss_task, boss_msg = send(svc, "boss")
    ann_task, ann_msg = send(svc, "ann")
    assert svc.sending.message(boss_msg, "ann") is None and svc.sending.message(ann_msg, "bob") is None
    assert svc.sending.message(ann_msg, "ann") is not None
    assert svc.sending.message(ann_msg, "boss") is not None and svc.sending.message(ann_msg) is not None
    with pytest.raises(NotFound):
        svc.sending.stop_task(boss_task, user="ann")
    svc.sending.stop_task(ann_task, user="ann")
    svc.sending.stop_task(boss_task, user="boss")
    assert [r.message_id for r in svc.sending.query_results(user="ann")] == [ann_msg]
    assert [r.message_id for r in svc.sending.query_results(user="bob")] == []
    assert len(svc.sending.query_results(user="boss")) == len(svc.sending.query_results()) == 2
    assert svc.folders.hide("ozeki", "out", [boss_msg, ann_msg], user="ann") == 1
    assert svc.folders.hidden("ozeki", "out", [boss_msg, ann_msg]) == {ann_msg}


def test_port_control_needs_the_role(svc: Service) -> None:
    for action, param in (("power", "off"), ("reset", None), ("slot", "1"), ("lock", "1234"),
                          ("no-such-action", None)):
        with pytest.raises(Forbidden):
            svc.ports.control(0, action, param, user="ann")
    with pytest.raises(Forbidden):
        svc.ports.connection_run("GSMModem0", False, user="ann")
    with pytest.raises(Forbidden):
        svc.ports.connection_create("GSMModem", "mine", user="ann")
    with pytest.raises(Forbidden):
        svc.ports.set_settings(0, user="ann", RUNNING="off")
    with pytest.raises(Forbidden):
        svc.ports.connections(user="ann")
    svc.ports.control(0, "reset", user="tech")
    svc.ports.connection_run("GSMModem0", False, user="tech")
    svc.ports.connection_run("GSMModem0", True, user="boss")
    assert svc.access.may_control_ports("tech") and not svc.access.may_control_ports("ann")


def test_inbox_follows_assigned_ports_and_routes(svc: Service) -> None:
    zero, one, two = inbound(svc, 0), inbound(svc, 1), inbound(svc, 2, "STOP now")
    assert svc.inbox.query(flag="all", user="ann").sms == ()
    svc.users.set_ports("ann", [0])
    route = svc.routes.add("http://127.0.0.1:9/x", "json", port=None, text_prefix="STOP")
    svc.users.set_routes("ann", [route])
    assert svc.users.ports("ann") == [0] and svc.users.routes("ann") == [route]
    page = svc.inbox.query(flag="all", user="ann")
    assert [m.incoming_sms_id for m in page.sms] == [zero, two]
    assert svc.folders.inbox_message("ozeki", one, "ann") is None
    assert svc.folders.inbox_message("ozeki", two, "ann") is not None
    assert [m.incoming_sms_id for m, _ in svc.folders.inbox(
        "ozeki", unread_only=False, limit=10, mark_read=False, user="ann")] == [zero, two]
    assert len(svc.inbox.query(flag="all", user="boss").sms) == 3
    # A deleted route shows nothing any more; a deleted user's assignments go with it.
    svc.routes.delete(route)
    assert [m.incoming_sms_id for m in svc.inbox.query(flag="all", user="ann").sms] == [zero]
    svc.users.delete("ann")
    svc.users.add("ann", "pw2", perms=("api:json",))
    assert svc.users.ports("ann") == [] and svc.inbox.query(flag="all", user="ann").sms == ()


def test_ussd_needs_the_port_or_the_role(svc: Service) -> None:
    with pytest.raises(Forbidden):
        svc.ussd.send([0], "*100#", user="ann")
    with pytest.raises(Forbidden):
        svc.ussd.replies([0], user="ann")
    svc.users.set_ports("ann", [0])
    assert svc.ussd.send([0], "*100#", user="ann") == [(0, 200)]
    with pytest.raises(Forbidden):
        svc.ussd.send([0, 1], "*100#", user="ann")
    assert svc.ussd.send([1], "*100#", user="tech") == [(1, 200)]


def test_assignment_checks(svc: Service) -> None:
    with pytest.raises(BadRequest):
        svc.users.set_ports("ann", [32])
    with pytest.raises(BadRequest):
        svc.users.set_routes("ann", [99])
    with pytest.raises(NotFound):
        svc.users.set_ports("nobody", [0])
    svc.users.set_ports("ann", [2, 0, 2])
    assert svc.users.ports("ann") == [0, 2]
    svc.users.set_ports("ann", [])
    assert svc.users.ports("ann") == []


def test_ports_is_a_permission_granted_only_when_asked(svc: Service) -> None:
    svc.users.add("plain", "pw")
    assert "ports" not in svc.users.get("plain").perms
    svc.users.add("all", "pw", perms=("web", "ports"))
    assert "ports" in svc.users.get("all").perms


# --- smsd user assign ---------------------------------------------------------------------------
def smsd(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smsd", *args, "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=60)


def test_user_assign_command(tmp_path: Path) -> None:
    assert smsd(tmp_path, "user", "add", "ann", "--password", "pw").returncode == 0
    assert smsd(tmp_path, "route", "add", "http://127.0.0.1:9/x").returncode == 0
    done = smsd(tmp_path, "user", "assign", "ann", "--ports", "3,0", "--routes", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ann: ports 0,3; routes 1"
    assert smsd(tmp_path, "user", "assign", "ann").stdout.strip() == "ann: ports 0,3; routes 1"
    assert smsd(tmp_path, "user", "assign", "ann", "--ports", "").stdout.strip() == \
        "ann: ports -; routes 1"
    for bad in (("--ports", "x"), ("--ports", "40"), ("--routes", "7")):
        refused = smsd(tmp_path, "user", "assign", "ann", *bad)
        assert refused.returncode == 1 and refused.stderr.startswith("smsd: "), bad
    assert smsd(tmp_path, "user", "assign", "nobody").returncode == 1
    assert smsd(tmp_path, "user", "perm", "ann", "api:json,ports").returncode == 0
    store = Store(str(tmp_path / "smsd.db"))
    try:
        assert store.users.assigned("ann", "port") == [] and store.users.assigned("ann", "route") \
            == [1]
        info = store.users.info("ann")
        assert info is not None and info.perms == {"api:json", "ports"}
    finally:
        store.close()
