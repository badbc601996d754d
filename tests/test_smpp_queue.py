"""svc.smpp over a temp SQLite store: binds' passwords and throttle, and the durable delivery
queue (events in, rows out only when acknowledged, the cursor moved in the same transaction)."""
from __future__ import annotations

from pathlib import Path

import pytest

from smsd.errors import AuthError, Forbidden, Throttled
from smsd.store.db import Store
from test_users import Box


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(str(tmp_path / "smsd.db"))


def emit(store: Store, kind: str, payload: dict[str, object]) -> None:
    with store.db.write() as conn:
        store.events.emit(conn, kind, payload, 0.0)


def test_passwords_short_own_long_smpp_and_throttle(box: Box) -> None:
    smpp = box.svc.smpp
    box.svc.users.add("short", "8charspw", perms=["smpp"])
    box.svc.users.add("long", "much-longer-password", perms=["smpp"])
    box.svc.users.add("web", "webpw", perms=["web"])
    assert smpp.authenticate("short", "8charspw") == "short"
    with pytest.raises(AuthError):
        smpp.authenticate("long", "much-lon")
    new = smpp.new_password("long")
    assert len(new) == 8 and smpp.authenticate("long", new) == "long" and smpp.has_password("long")
    with pytest.raises(Forbidden):
        smpp.authenticate("web", "webpw")
    for _ in range(20):                       # the service's login throttle applies to binds
        try:
            smpp.authenticate("short", "wrong", remote="192.0.2.9")
        except Throttled:
            break
        except AuthError:
            continue
    else:
        pytest.fail("never throttled")
    with pytest.raises(Throttled):
        smpp.authenticate("short", "8charspw", remote="192.0.2.9")


def test_inbound_sms_queued_for_smpp_users_who_see_the_port(box: Box) -> None:
    smpp = box.svc.smpp
    box.svc.users.add("p0", "pw", perms=["smpp"])
    box.svc.users.set_ports("p0", [0])
    box.svc.users.add("p1", "pw", perms=["smpp"])
    box.svc.users.set_ports("p1", [1])
    box.svc.users.add("boss", "pw", admin=True)           # admin, never granted smpp: no queue
    assert smpp.feed() == 0                               # the first feed sets the cursor
    emit(box.store, "sms", {"port": 0, "number": "+4479", "text": "hi", "incoming_sms_id": 1})
    assert smpp.feed() == 1
    assert [(d.user, d.kind, d.payload["text"]) for d in smpp.pending("p0")] == [("p0", "sms", "hi")]
    assert smpp.pending("p1") == [] and smpp.pending("boss") == []
    assert smpp.feed() == 0                               # an event is queued once
    item = smpp.pending("p0")[0]
    assert not smpp.ack("p1", item.id)                    # only its user acknowledges it
    assert smpp.ack("p0", item.id) and smpp.waiting("p0") == 0


def test_queue_and_cursor_survive_a_reopen(tmp_path: Path) -> None:
    box = Box(str(tmp_path / "smsd.db"))
    box.svc.users.add("p0", "pw", perms=["smpp"])
    box.svc.users.set_ports("p0", [0])
    box.svc.smpp.feed()
    emit(box.store, "sms", {"port": 0, "number": "+4479", "text": "kept", "incoming_sms_id": 1})
    box.svc.smpp.feed()
    box.store.close()
    again = Box(str(tmp_path / "smsd.db"))
    assert [d.payload["text"] for d in again.svc.smpp.pending("p0")] == ["kept"]
    assert again.svc.smpp.feed() == 0
