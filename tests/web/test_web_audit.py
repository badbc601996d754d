"""The audit log (service and store) and the password-change hook that ends sessions."""
from __future__ import annotations

from pathlib import Path

import pytest

from console_front import PW, ConsoleFront
from smsd.errors import BadRequest


def test_audit_entries_newest_first_and_filtered(front: ConsoleFront) -> None:
    audit = front.svc.audit
    first = audit.record("admin", "user.create", "alice (web)")
    audit.record("admin", "route.delete", "route 3")
    audit.record(None, "system.restore", "backup\nwith a newline")
    entries = audit.entries()
    assert [e.action for e in entries] == ["system.restore", "route.delete", "user.create"]
    assert entries[0].user == "" and "\n" not in entries[0].detail
    assert [e.id for e in audit.entries(action="user")] == [first]
    assert audit.entries(action="use") == []          # a prefix of a name is not its subject
    assert [e.action for e in audit.entries(user="admin", limit=1)] == ["route.delete"]
    assert [e.action for e in audit.entries(before_id=first + 1)] == ["user.create"]


@pytest.mark.parametrize("action", ["", "User.Create", "user..x", "x" * 65, "a b"])
def test_audit_refuses_odd_action_names(front: ConsoleFront, action: str) -> None:
    with pytest.raises(BadRequest):
        front.svc.audit.record("admin", action)


def test_audit_survives_reopening(tmp_path: Path) -> None:
    from smsd.store.db import Store
    with ConsoleFront(tmp_path) as front:
        front.svc.audit.record("admin", "network.apply", "static 192.0.2.10/24")
    store = Store(str(tmp_path / "smsd.db"))
    try:
        assert [e.detail for e in store.audit.entries()] == ["static 192.0.2.10/24"]
    finally:
        store.close()


def test_a_password_change_ends_that_users_sessions_only(front: ConsoleFront) -> None:
    alice, alice2, bob = front.client(), front.client(), front.client()
    alice.login("alice", PW)
    alice2.login("alice", PW)
    bob.login("bob", PW)
    front.svc.users.passwd("alice", "another-pass")
    assert alice.get("/dashboard").status == 303
    assert alice2.get("/dashboard").status == 303
    assert bob.get("/dashboard").status == 200
    assert alice.login("alice", "another-pass").status == 303
