"""Outcome unknown (issue 19 point 3): a part on the air at a crash is neither sent nor failed.

Its message gets a status of its own, UNKNOWN (migration 0014), and is never resent unless the
task's user chose `resend_unknown`. Store level, on a temp SQLite file; the daemon-level story
(SIGKILL between AT+CMGS and its answer) is tests/e2e/test_crash_recovery.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from smsd.errors import NotFound
from smsd.model import SendResult
from smsd.store import Store
from smsd.store import migrate
from smsd.store.outbox import final_status

NOW = 1_700_000_000.0


def send_one(store: Store, user: str, parts: int = 1) -> list[int]:
    """Accept one message of `user`, materialise it on port 0 and put its first part on the air."""
    store.outbox.intake(user=user, text="hi", encoding="auto", srr=True, ports=None,
                        rows=[("+447700900001", None, None, parts)], now=NOW)
    msg = store.outbox.waiting(0, 1)[0]
    ids = store.outbox.materialize(msg.id, 0, [(i + 1, parts, "00", 1) for i in range(parts)],
                                   NOW)
    assert ids is not None and store.outbox.part_starting(0, ids[0], NOW)
    return ids


def statuses(store: Store) -> dict[int, str]:
    return dict(store.db.conn().execute("SELECT id, status FROM parts").fetchall())


def test_final_status_prefers_a_real_failure_over_an_unknown_part() -> None:
    assert final_status({"sent": 2}, 2) == "SENT_OK"
    assert final_status({"sent": 1, "unknown": 1}, 2) == "UNKNOWN"
    assert final_status({"unknown": 1, "stopped": 1}, 2) == "UNKNOWN"
    assert final_status({"unknown": 1, "failed": 1}, 2) == "FAILED"
    assert final_status({"stopped": 1}, 1) == "FAILED"


def test_on_air_at_a_crash_is_unknown_and_not_resent_by_default(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    store = Store(path)
    store.users.add("ann", "pw-ann-123")
    first, second = send_one(store, "ann", parts=2)
    store.close()
    again = Store(path)                                    # the restart after the SIGKILL
    rec = again.outbox.recover_after_restart(NOW + 5)
    assert (rec.unknown, rec.resent) == (1, 0)
    assert statuses(again) == {first: "unknown", second: "stopped"}
    (res,) = again.outbox.query_sms_result()
    assert (res.status, res.succ_count) == ("UNKNOWN", 0)
    assert again.outbox.queued_parts() == [] and again.outbox.in_queue() == 0
    again.close()


def test_a_user_who_chose_resend_unknown_gets_the_part_queued_again(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    store = Store(path)
    store.users.add("bob", "pw-bob-123")
    store.users.update("bob", resend_unknown=1)
    assert store.users.resend_unknown("bob") is True
    (part,) = send_one(store, "bob")
    store.close()
    again = Store(path)
    rec = again.outbox.recover_after_restart(NOW + 5)
    assert (rec.unknown, rec.resent) == (0, 1)
    (queued,) = again.outbox.queued_parts()
    assert queued.id == part and queued.avoid_port == 0
    again.outbox.lease(part, 1, NOW + 6)
    again.outbox.part_starting(1, part, NOW + 6)
    again.outbox.part_result(1, SendResult(part, ok=True, mr=7), imsi="", now=NOW + 7,
                             max_attempts=3, backoff=1.0)
    (res,) = again.outbox.query_sms_result()
    assert (res.status, res.port) == ("SENT_OK", 1)
    again.close()


def test_resend_unknown_is_set_through_the_users_service(tmp_path: Path) -> None:
    from smsd.admin_cli import Admin
    store = Store(str(tmp_path / "s.db"))
    admin = Admin(store)
    admin.users.add("cid", "pw-cid-123")
    assert admin.users.resend_unknown("cid") is False
    admin.users.set_resend_unknown("cid", True)
    assert admin.users.resend_unknown("cid") is True
    with pytest.raises(NotFound):
        admin.users.set_resend_unknown("nobody", True)
    store.close()


def test_migration_0014_turns_old_outcome_unknown_failures_into_unknown() -> None:
    steps = migrate.load()
    conn = migrate.reference(steps, 13)
    conn.execute("INSERT INTO tasks(text, created) VALUES ('x', 0)")
    for status, reason in (("FAILED", "outcome-unknown"), ("FAILED", "CMS 21"),
                           ("SENT_OK", "")):
        conn.execute("INSERT INTO messages(task_id, number, count, status, stage, reason, time) "
                     "VALUES (1, '1', 1, ?, 2, ?, 0)", (status, reason))
    conn.execute("INSERT INTO users(name, kdf, salt, hash, realm, ha1, created) "
                 "VALUES ('u', 'k', x'00', x'00', 'r', '', 0)")
    steps[13].run(conn)
    assert [r[0] for r in conn.execute("SELECT status FROM messages ORDER BY id")] == [
        "UNKNOWN", "FAILED", "SENT_OK"]
    assert conn.execute("SELECT resend_unknown FROM users").fetchone()[0] == 0


def test_each_dialect_shows_its_nearest_status() -> None:
    from smsd.api import gateway_php, isms, ozeki
    from smsd.model import MessageState
    from smsd.push import intelli_format, json_format
    from smsd.smpp import receipts
    state = MessageState(message_id=1, task_id=1, port=0, number="+447700900001", user_id=None,
                         time="", status="UNKNOWN", count=1, succ_count=0, ref_id=None, imsi="",
                         reason="outcome-unknown")
    assert json_format.status_word("UNKNOWN") == "SENT_OK"            # succ_count tells the rest
    assert json_format.item("sms_result", {"status": "UNKNOWN", "succ_count": 0})["status"] == \
        "SENT_OK"
    assert isms.job_status([state]) == 0                              # done, not failed
    assert gateway_php.report_word(state) == "NONE"
    assert (ozeki.FOLDER_OF_STATUS["UNKNOWN"], ozeki.DELIVERY["UNKNOWN"]) == ("sent", "sent")
    assert intelli_format.status_code("sms_result", {"message_id": 1, "status": "UNKNOWN"}) == 0
    assert receipts.message_state("UNKNOWN", "outcome-unknown") == receipts.UNKNOWN
