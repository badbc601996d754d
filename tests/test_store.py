"""Store: intake, part life cycle, recovery, inbound reassembly, status reports, events, users."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smsd.model import PortInfo, REG_OK, SendResult
from smsd.store import Store
from smsd.store.inbox import numbers_match
from smsd.store.times import fmt_time, parse_time

NOW = 1_700_000_000.0


def intake(store: Store, numbers: list[str], text: str = "hi", count: int = 1,
           ports: tuple[int, ...] | None = None) -> tuple[int, range]:
    rows = [(n, None, i, count) for i, n in enumerate(numbers)]
    return store.outbox.intake(user="admin", text=text, encoding="auto", srr=True, ports=ports,
                               rows=rows, now=NOW)


def start_one(store: Store, port: int = 0, parts: int = 1) -> list[int]:
    """Materialise the oldest waiting message on `port` with dummy PDUs."""
    msg = store.outbox.waiting(0, 1)[0]
    ids = store.outbox.materialize(msg.id, port, [(i + 1, parts, "00", 1) for i in range(parts)], NOW)
    assert ids is not None
    return ids


def events(store: Store, kind: str) -> list[dict]:
    return [e.payload for e in store.events.events_after(0, 10_000) if e.kind == kind]


def test_intake_ids_queue_count_and_waiting_rows(store: Store) -> None:
    task, ids = intake(store, ["+1", "22", "333"], text="x", count=2, ports=(1, 3))
    assert list(ids) == [1, 2, 3] and task == 1
    assert store.outbox.in_queue() == 3
    waiting = store.outbox.waiting(0, 10)
    assert [w.number for w in waiting] == ["+1", "22", "333"]
    assert waiting[0].ports == (1, 3) and waiting[0].text == "x" and waiting[0].srr
    assert [w.id for w in store.outbox.waiting(1, 10)] == [2, 3]


def test_per_recipient_text_overrides_task_text(store: Store) -> None:
    store.outbox.intake(user="u", text="hello #param#", encoding="auto", srr=False, ports=None,
                        rows=[("1", "hello bob", None, 1), ("2", None, None, 1)], now=NOW)
    assert [w.text for w in store.outbox.waiting(0, 10)] == ["hello bob", "hello #param#"]


def test_serial_is_made_once_and_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    first = Store(path)
    sn = first.sn
    first.close()
    again = Store(path)
    assert again.sn == sn
    assert len(sn) == 19 and all(len(g) == 4 for g in sn.split("-"))
    int(sn.replace("-", ""), 16)


def test_part_life_cycle_sent_ok_with_event(store: Store) -> None:
    intake(store, ["+447911123456"], count=2)
    p1, p2 = start_one(store, port=4, parts=2)
    assert store.outbox.part_starting(4, p1, NOW)
    assert not store.outbox.part_starting(5, p1, NOW)          # not leased to port 5
    assert store.outbox.part_result(4, SendResult(p1, ok=True, mr=77), imsi="IMSI4", now=NOW,
                                    max_attempts=3, backoff=1.0)
    assert not events(store, "sms_result")               # one part still to go
    assert store.outbox.lease(p2, 4, NOW) and store.outbox.part_starting(4, p2, NOW)
    store.outbox.part_result(4, SendResult(p2, ok=True, mr=78), imsi="IMSI4", now=NOW + 1,
                             max_attempts=3, backoff=1.0)
    (res,) = store.outbox.query_sms_result()
    assert (res.status, res.count, res.succ_count, res.ref_id, res.port, res.imsi) == \
        ("SENT_OK", 2, 2, 77, 4, "IMSI4")
    (ev,) = events(store, "sms_result")
    assert ev["status"] == "SENT_OK" and ev["message_id"] == res.message_id and ev["ref_id"] == 77
    assert store.outbox.in_queue() == 0


def test_temporary_failure_requeues_avoiding_the_port_then_gives_up(store: Store) -> None:
    intake(store, ["123"])
    (p,) = start_one(store, port=1)
    store.outbox.part_starting(1, p, NOW)
    store.outbox.part_result(1, SendResult(p, ok=False, cms=500), imsi="", now=NOW, max_attempts=2,
                             backoff=5.0)
    (q,) = store.outbox.queued_parts()
    assert q.id == p and q.avoid_port == 1 and q.pref_port is None and q.next_try == NOW + 5
    assert store.outbox.lease(p, 2, NOW) and store.outbox.part_starting(2, p, NOW)
    store.outbox.part_result(2, SendResult(p, ok=False, cms=500), imsi="", now=NOW, max_attempts=2,
                             backoff=5.0)
    assert store.outbox.queued_parts() == []
    (res,) = store.outbox.query_sms_result()
    assert res.status == "FAILED" and res.succ_count == 0


def test_permanent_failure_fails_message_and_stops_siblings(store: Store) -> None:
    intake(store, ["123"], count=3)
    p1, p2, p3 = start_one(store, port=0, parts=3)
    store.outbox.lease(p2, 0, NOW)
    store.outbox.part_starting(0, p1, NOW)
    store.outbox.part_result(0, SendResult(p1, ok=False, cms=38, permanent=True, error="barred"),
                             imsi="", now=NOW, max_attempts=3, backoff=1.0)
    assert not store.outbox.part_starting(0, p2, NOW)            # stopped while waiting in the worker
    (res,) = store.outbox.query_sms_result()
    assert res.status == "FAILED"
    assert events(store, "sms_result")[0]["status"] == "FAILED"


def test_not_on_air_failure_does_not_count_an_attempt(store: Store) -> None:
    intake(store, ["123"])
    (p,) = start_one(store, port=0)
    for _ in range(5):
        store.outbox.part_result(0, SendResult(p, ok=False, on_air=False), imsi="", now=NOW,
                                 max_attempts=1, backoff=0.0)
        assert store.outbox.lease(p, 0, NOW)
    assert store.outbox.query_sms_result()[0].status == "SENDING"


def test_stale_result_is_ignored(store: Store) -> None:
    intake(store, ["123"])
    (p,) = start_one(store, port=0)
    assert not store.outbox.part_result(3, SendResult(p, ok=True, mr=1), imsi="", now=NOW,
                                        max_attempts=3, backoff=1.0)
    assert store.outbox.query_sms_result()[0].status == "SENDING"


def test_stop_task_stops_waiting_and_leased_but_not_on_air(store: Store) -> None:
    task, _ = intake(store, ["1", "2", "3"])
    (on_air,) = start_one(store, port=0)
    store.outbox.part_starting(0, on_air, NOW)
    (leased,) = start_one(store, port=1)
    assert store.outbox.stop_task(task, NOW)
    assert not store.outbox.stop_task(999, NOW)
    assert not store.outbox.part_starting(1, leased, NOW)
    statuses = [r.status for r in store.outbox.query_sms_result()]
    assert statuses == ["SENDING", "FAILED", "FAILED"]
    store.outbox.part_result(0, SendResult(on_air, ok=True, mr=9), imsi="", now=NOW, max_attempts=3,
                             backoff=1.0)
    # the part on the air when the task stopped went out whole: that message was sent
    assert [r.status for r in store.outbox.query_sms_result()] == ["SENT_OK", "FAILED", "FAILED"]
    assert store.outbox.in_queue() == 0


def test_stop_task_fails_a_multipart_message_half_sent(store: Store) -> None:
    task, _ = intake(store, ["1"], count=2)
    p1, p2 = start_one(store, port=0, parts=2)
    store.outbox.part_starting(0, p1, NOW)
    store.outbox.stop_task(task, NOW)
    store.outbox.part_result(0, SendResult(p1, ok=True, mr=9), imsi="", now=NOW, max_attempts=3,
                             backoff=1.0)
    (res,) = store.outbox.query_sms_result()
    assert (res.status, res.succ_count, res.count) == ("FAILED", 1, 2)
    assert store.outbox.queued_parts() == []


def test_recovery_on_air_becomes_unknown_and_leased_returns(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    store = Store(path)
    intake(store, ["1", "2", "3"], count=2)
    a1, a2 = start_one(store, port=0, parts=2)
    store.outbox.part_starting(0, a1, NOW)
    b1, b2 = start_one(store, port=1, parts=2)            # b1 leased only
    store.close()
    again = Store(path)
    rec = again.outbox.recover_after_restart(NOW + 10)
    assert (rec.unknown, rec.requeued) == (1, 1)
    results = {r.message_id: r for r in again.outbox.query_sms_result()}
    assert results[1].status == "UNKNOWN"
    assert {q.id for q in again.outbox.queued_parts()} == {b1, b2}   # a2 stopped with its message
    assert not again.outbox.part_starting(0, a1, NOW)
    assert again.outbox.in_queue() == 2
    (ev,) = events(again, "sms_result")
    assert ev["message_id"] == 1 and ev["status"] == "UNKNOWN"
    reason = again.db.conn().execute("SELECT reason FROM messages WHERE id = 1").fetchone()[0]
    assert reason == "outcome-unknown"


def test_inbound_single_and_concatenated_reassembly(store: Store) -> None:
    common: dict[str, Any] = dict(port=2, slot=0, imsi="IMSI2", sender="+4479", smsc="+44SC", now=NOW)
    assert store.inbox.add_inbound(scts=NOW, text="short", concat=None, **common) == 1
    assert store.inbox.add_inbound(scts=NOW, text="world", concat=(9, 2, 2), **common) is None
    assert store.inbox.add_inbound(scts=NOW, text="world", concat=(9, 2, 2), **common) is None  # dup
    other: dict[str, Any] = dict(common, sender="+4400")
    assert store.inbox.add_inbound(scts=NOW, text="X", concat=(9, 2, 1), **other) is None
    sms_id = store.inbox.add_inbound(scts=NOW, text="hello ", concat=(9, 2, 1), **common)
    assert sms_id == 2
    texts = [e["text"] for e in events(store, "sms")]
    assert texts == ["short", "hello world"]
    ev = events(store, "sms")[1]
    assert ev["incoming_sms_id"] == 2 and ev["imsi"] == "IMSI2" and ev["timestamp"] == fmt_time(NOW)


def test_reassembly_keys_by_sim_when_imsi_unknown(store: Store) -> None:
    base: dict[str, Any] = dict(slot=0, imsi="", sender="+1", smsc="", scts=None, now=NOW)
    store.inbox.add_inbound(port=0, text="a", concat=(1, 2, 1), **base)
    assert store.inbox.add_inbound(port=1, text="b", concat=(1, 2, 2), **base) is None
    assert store.inbox.add_inbound(port=0, text="b", concat=(1, 2, 2), **base) is not None


def test_query_incoming_flags_and_counts(store: Store) -> None:
    for i in range(4):
        store.inbox.add_inbound(port=i % 2, slot=0, imsi="", sender=f"+{i}", smsc="", scts=None,
                                text=f"t{i}", concat=None, now=NOW)
    page = store.inbox.query_incoming(flag="unread", ports=[0])
    assert [s.text for s in page.sms] == ["t0", "t2"] and (page.read, page.unread) == (2, 0)
    page = store.inbox.query_incoming(flag="unread")
    assert [s.text for s in page.sms] == ["t1", "t3"] and (page.read, page.unread) == (4, 0)
    assert store.inbox.query_incoming(flag="unread").sms == ()
    page = store.inbox.query_incoming(after_id=2, flag="read")
    assert [s.incoming_sms_id for s in page.sms] == [3, 4]
    assert len(store.inbox.query_incoming(flag="all").sms) == 4


def test_unread_counted_before_reading(store: Store) -> None:
    for i in range(3):
        store.inbox.add_inbound(port=0, slot=0, imsi="", sender="+1", smsc="", scts=None,
                                text=str(i), concat=None, now=NOW)
    page = store.inbox.query_incoming(flag="read")
    assert page.sms == () and (page.read, page.unread) == (0, 3)


def send_part(store: Store, port: int, mr: int, now: float) -> int:
    (p,) = start_one(store, port=port)
    store.outbox.part_starting(port, p, now)
    store.outbox.part_result(port, SendResult(p, ok=True, mr=mr), imsi="I", now=now, max_attempts=3,
                             backoff=1.0)
    return p


def report(store: Store, port: int, mr: int, number: str, st: int = 0,
           now: float = NOW + 100) -> int | None:
    return store.inbox.record_status_report(
        port=port, slot=0, imsi="I", recipient=number, mr=mr, st=st,
        category="delivered" if st < 0x20 else ("pending" if st < 0x40 else "failed"),
        scts=None, discharge=None, now=now, window=3600)


def test_status_report_delivers_most_recent_part_with_wrapped_mr(store: Store) -> None:
    intake(store, ["+447911123456", "+447911123456", "+447911999999"])
    send_part(store, 0, 5, NOW - 600)        # an older send with the same MR (MR wrapped)
    send_part(store, 0, 5, NOW)
    send_part(store, 0, 6, NOW)
    assert report(store, 0, 5, "+447911123456") == 2
    results = {r.message_id: r.status for r in store.outbox.query_sms_result()}
    assert results == {1: "SENT_OK", 2: "DELIVERED", 3: "SENT_OK"}
    assert report(store, 0, 6, "+447911000000") is None          # wrong number: no match
    assert report(store, 1, 6, "+447911999999") is None          # wrong port
    assert report(store, 0, 6, "+447911999999", now=NOW + 7200) is None   # outside the window
    (ds,) = [e for e in events(store, "sms_deliver_status") if e["message_id"] == 2]
    assert ds["status_code"] == 0 and ds["ref_id"] == 5 and ds["port"] == 0
    assert ds["task_id"] == 1                    # the submission (IntelliSoftware's one ID)
    unmatched = [e for e in events(store, "sms_deliver_status") if e["message_id"] is None]
    assert unmatched and all(e["task_id"] is None for e in unmatched)
    kinds = [e.kind for e in store.events.events_after(0, 100)]
    assert kinds.count("sms_result") == 4       # three SENT_OK, one DELIVERED


def test_pending_report_does_not_deliver_and_national_number_matches(store: Store) -> None:
    intake(store, ["07911123456"])
    send_part(store, 0, 200, NOW)
    assert report(store, 0, 200, "+447911123456", st=0x20) == 1
    assert store.outbox.query_sms_result()[0].status == "SENT_OK"
    report(store, 0, 200, "+447911123456", st=0)
    assert store.outbox.query_sms_result()[0].status == "DELIVERED"
    rows = store.inbox.query_deliver_status(numbers=["07911123456"])
    assert [r.status_code for r in rows] == [0x20, 0]


def test_numbers_match() -> None:
    assert numbers_match("+447911123456", "447911123456")
    assert numbers_match("07911123456", "+447911123456")
    assert not numbers_match("10086", "20086")
    assert not numbers_match("+447911123456", "+447911123457")


def test_query_filters(store: Store) -> None:
    intake(store, ["1", "2", "3"])
    assert [r.number for r in store.outbox.query_sms_result(numbers=["2", "3"])] == ["2", "3"]
    assert [r.user_id for r in store.outbox.query_sms_result(user_ids=[0])] == [0]
    assert store.outbox.query_sms_result(time_after=NOW + 1) == []
    assert len(store.outbox.query_sms_result(time_before=NOW + 1)) == 3
    assert store.outbox.query_sms_result(ports=[]) == []


def test_events_cursor_and_settings(store: Store) -> None:
    assert store.events.last_event_id() == 0 and store.events.push_cursor("t") is None
    store.inbox.add_ussd_reply(1, "Balance 5", 0, NOW)
    (ev,) = store.events.events_after(0, 10)
    assert ev.kind == "ussd" and ev.payload == {"port": 1, "text": "Balance 5"}
    store.events.set_push_cursor("t", ev.id)
    assert store.events.push_cursor("t") == ev.id and store.events.events_after(ev.id, 10) == []
    assert store.events.wait_events(0, 0.01) and not store.events.wait_events(ev.id, 0.01)
    store.settings.set("k", "v")
    store.settings.set("k", "w")
    assert store.settings.get("k") == "w" and store.settings.get("none") is None


def test_register_event_sequence_survives_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "e.db")
    info = PortInfo(port=8, reg=REG_OK, imsi="I", iccid="C", number="N", slot=2)
    s = Store(path)
    assert s.inbox.register_event(info, True, NOW) == 1
    s.close()
    s = Store(path)
    assert s.inbox.register_event(info, False, NOW) == 2
    ev = s.events.events_after(1, 10)[0].payload
    assert ev == {"port": 8, "iccid": "C", "imsi": "I", "number": "N", "status": "down",
                  "sequence": 2, "slot": 2}


def test_users_hash_cache_and_digest(store: Store) -> None:
    store.users.create("alice", "s3cret")
    assert store.users.exists("alice") and not store.users.is_admin("alice")
    stored = store.db.conn().execute("SELECT hash, salt FROM users").fetchone()
    assert b"s3cret" not in stored[0] and len(stored[1]) == 16
    t = time.perf_counter()
    assert store.users.check("alice", "s3cret")
    slow = time.perf_counter() - t
    t = time.perf_counter()
    assert store.users.check("alice", "s3cret")
    fast = time.perf_counter() - t
    assert fast < slow / 10
    assert not store.users.check("alice", "wrong") and not store.users.check("bob", "s3cret")
    import hashlib
    assert store.users.digest_ha1("alice", "smsd") is None            # Digest is opt-in
    assert store.users.digest_algorithms("alice") == []
    store.users.create("alice", "s3cret", digest=True)
    assert store.users.digest_ha1("alice", "smsd") == hashlib.md5(b"alice:smsd:s3cret").hexdigest()
    assert store.users.digest_ha1("alice", "smsd", "SHA-256") \
        == hashlib.sha256(b"alice:smsd:s3cret").hexdigest()
    assert store.users.digest_ha1("alice", "smsd", "SHA-512") is None
    assert store.users.digest_ha1("alice", "other") is None
    store.users.create("alice", "new", admin=True)            # the cached password is forgotten
    assert not store.users.check("alice", "s3cret") and store.users.check("alice", "new")
    assert store.users.is_admin("alice")
    assert store.users.delete("alice") and not store.users.check("alice", "new")


def test_same_salted_password_gives_different_hashes(store: Store) -> None:
    store.users.create("a", "pw")
    store.users.create("b", "pw")
    hashes = [r[0] for r in store.db.conn().execute("SELECT hash FROM users")]
    assert hashes[0] != hashes[1]


def test_time_strings_round_trip() -> None:
    assert parse_time(fmt_time(NOW)) == NOW
    with pytest.raises(ValueError):
        parse_time("2014-12-12T19:29:19")


def test_wal_and_full_sync(store: Store) -> None:
    conn = store.db.conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert os.path.exists(store.db.path + "-wal")


def test_incomplete_concatenated_message_is_delivered_when_stale(store: Store) -> None:
    base: dict[str, Any] = dict(port=1, slot=0, imsi="I", sender="+1", smsc="SC", scts=None)
    store.inbox.add_inbound(text="one ", concat=(5, 3, 1), now=NOW, **base)
    store.inbox.add_inbound(text="three", concat=(5, 3, 3), now=NOW + 10, **base)
    store.inbox.add_inbound(text="fresh", concat=(6, 2, 1), now=NOW + 3000, **base)
    assert store.inbox.flush_stale_inbound(NOW + 3500, 3600) == 0
    assert store.inbox.flush_stale_inbound(NOW + 3601, 3600) == 1
    assert [e["text"] for e in events(store, "sms")] == ["one three"]
    assert store.inbox.add_inbound(text="two ", concat=(5, 3, 2), now=NOW + 3700, **base) is None
    remaining = store.db.conn().execute("SELECT count(*) FROM inbound_parts").fetchone()[0]
    assert remaining == 2                       # "fresh" and the late part wait for siblings


def test_group_commit_isolates_a_failing_call(store: Store) -> None:
    import threading
    hooks: list[str] = []

    def bad() -> None:
        with store.db.write() as conn:
            conn.execute("INSERT INTO settings(key, value) VALUES ('bad', '1')")
            store.db.after_commit(lambda: hooks.append("bad"))
            raise RuntimeError("boom")

    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            if i == 10:
                store.db.grouped(bad)
            else:
                store.db.grouped(lambda: store.settings.set(f"k{i}", str(i)))
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [str(e) for e in errors] == ["boom"] and hooks == []
    assert store.settings.get("bad") is None
    assert all(store.settings.get(f"k{i}") == str(i) for i in range(20) if i != 10)


def test_calls_queued_behind_a_writer_share_one_commit(store: Store) -> None:
    """Calls that queue while another thread writes all join the committer's next group: one
    COMMIT (one fsync) for them, not one for the first and another for the rest."""
    import threading
    from fakes import wait_for
    commits: list[str] = []
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.db.write() as conn:
            conn.execute("INSERT INTO settings(key, value) VALUES ('w', '1')")
            writing.set()
            assert release.wait(10)

    first = threading.Thread(target=writer)
    first.start()
    assert writing.wait(10)
    store.db._writer_conn().set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    callers = [threading.Thread(target=store.db.grouped,
                                args=(lambda i=i: store.settings.set(f"g{i}", str(i)),))
               for i in range(3)]
    for t in callers:
        t.start()
    assert wait_for(lambda: store.db._queued == 3, 10)     # all three wait behind the writer
    release.set()
    for t in (first, *callers):
        t.join(10)
    assert [store.settings.get(f"g{i}") for i in range(3)] == ["0", "1", "2"]
    assert len(commits) == 2          # the writer's own, then one for the three queued calls


def test_concurrent_intake_gets_disjoint_consecutive_ids(store: Store) -> None:
    import threading
    got: list[tuple[int, range]] = []

    def one(i: int) -> None:
        got.append(store.outbox.intake(user="u", text="t", encoding="auto", srr=True, ports=None,
                                       rows=[(str(i), None, n, 1) for n in range(5)], now=NOW))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = sorted(i for _, r in got for i in r)
    assert ids == list(range(1, 81)) and store.outbox.in_queue() == 80
    conn = store.db.conn()
    for task, r in got:
        rows = conn.execute("SELECT id FROM messages WHERE task_id = ? ORDER BY id", (task,))
        assert [x[0] for x in rows] == list(r)


def test_result_without_waiting_reports_after_commit(store: Store) -> None:
    import threading
    intake(store, ["1"])
    (p,) = start_one(store, port=0)
    store.outbox.part_starting(0, p, NOW)
    done = threading.Event()
    seen: list[object] = []

    def then(settled: bool | None, error: BaseException | None) -> None:
        seen.append((settled, error, store.outbox.query_sms_result()[0].status))
        done.set()

    store.outbox.part_result_nowait(0, SendResult(p, ok=True, mr=1), imsi="", now=NOW, max_attempts=3,
                                    backoff=1.0, then=then)
    assert done.wait(5) and seen == [(True, None, "SENT_OK")]


def test_failure_without_verdict_after_the_pdu_left_is_unknown_not_retried(store: Store) -> None:
    intake(store, ["1"], count=2)
    p1, p2 = start_one(store, port=0, parts=2)
    store.outbox.part_starting(0, p1, NOW)
    store.outbox.part_result(0, SendResult(p1, ok=False, on_air=True, error="timeout"), imsi="",
                             now=NOW, max_attempts=3, backoff=1.0)
    assert store.outbox.queued_parts() == []
    (res,) = store.outbox.query_sms_result()
    assert res.status == "UNKNOWN"
    statuses = dict(store.db.conn().execute("SELECT id, status FROM parts").fetchall())
    assert statuses == {p1: "unknown", p2: "stopped"}


def test_an_event_exists_only_if_its_transaction_committed(store: Store) -> None:
    intake(store, ["1"])
    (p,) = start_one(store, port=0)
    store.outbox.part_starting(0, p, NOW)
    with pytest.raises(RuntimeError):
        with store.db.write():
            store.outbox.part_result(0, SendResult(p, ok=True, mr=3), imsi="", now=NOW,
                                     max_attempts=3, backoff=1.0)
            assert events(store, "sms_result")          # visible inside the transaction
            raise RuntimeError("crash before commit")
    assert events(store, "sms_result") == []
    assert store.outbox.query_sms_result()[0].status == "SENDING" and store.outbox.in_queue() == 1


def test_a_ports_next_on_air_mark_commits_after_its_posted_result(store: Store) -> None:
    """part_starting may pass other ports' queued results, never its own port's: that result
    may end the message (here UNKNOWN, its second part stopped), and the part must then stay
    off the air. The result is queued while the writer is busy; the mark is asked the moment
    the writer is free again, when an overtaking mark would win the race for the lock."""
    import threading
    intake(store, ["1"], count=2)
    p1, p2 = start_one(store, port=0, parts=2)
    assert store.outbox.part_starting(0, p1, NOW)
    assert store.outbox.lease(p2, 0, NOW)
    intake(store, ["2"])
    (q,) = start_one(store, port=1)
    committed = threading.Event()
    with store.db.write():                      # the writer is busy: the result waits in the queue
        store.outbox.part_result_nowait(0, SendResult(p1, ok=False, on_air=True, error="timeout"),
                                        imsi="", now=NOW, max_attempts=3, backoff=1.0,
                                        then=lambda settled, error: committed.set())
    assert store.outbox.part_starting(0, p2, NOW) is False
    assert committed.wait(5)
    assert store.outbox.part_starting(1, q, NOW) is True     # another port's part goes on
    statuses = dict(store.db.conn().execute("SELECT id, status FROM parts").fetchall())
    assert statuses == {p1: "unknown", p2: "stopped", q: "on_air"}


def _committer_held(store: Store) -> threading.Event:
    """Keep the committer inside an after-commit callback (the write lock free, the calls
    queued from now on not run) until the returned event is set."""
    import threading
    gate, inside = threading.Event(), threading.Event()

    def hold(settled: object, error: object) -> None:
        inside.set()
        gate.wait(10)
    store.db.post(lambda: None, hold)
    assert inside.wait(5)
    return gate


def test_an_on_air_mark_passes_other_ports_successes_never_a_failure(store: Store) -> None:
    """A message's parts can be on two ports (a retried part another port took): a final
    failure on one stops the parts leased to the other, so a mark must not overtake a queued
    failure from any port; another port's queued success it may pass, at once."""
    import threading
    intake(store, ["1"], count=3)
    p1, p2, p3 = start_one(store, port=0, parts=3)
    store.outbox.part_result(0, SendResult(p1, ok=False, on_air=False), imsi="", now=NOW,
                             max_attempts=3, backoff=0.0)            # requeued off port 0
    assert store.outbox.lease(p1, 1, NOW) and store.outbox.part_starting(1, p1, NOW)
    assert store.outbox.lease(p2, 0, NOW) and store.outbox.lease(p3, 0, NOW)
    intake(store, ["2"])
    (q,) = start_one(store, port=2)
    assert store.outbox.part_starting(2, q, NOW)

    gate = _committer_held(store)
    success = threading.Event()
    store.outbox.part_result_nowait(2, SendResult(q, ok=True, mr=1), imsi="", now=NOW,
                                    max_attempts=3, backoff=0.0,
                                    then=lambda settled, error: success.set())
    assert store.outbox.part_starting(0, p2, NOW) is True    # passed port 2's queued success
    assert not success.is_set()
    gate.set()
    assert success.wait(5)

    gate = _committer_held(store)
    failed = threading.Event()
    store.outbox.part_result_nowait(1, SendResult(p1, ok=False, cms=500, permanent=True),
                                    imsi="", now=NOW, max_attempts=3, backoff=0.0,
                                    then=lambda settled, error: failed.set())
    started: list[bool] = []
    mark = threading.Thread(target=lambda: started.append(store.outbox.part_starting(0, p3, NOW)))
    mark.start()
    mark.join(0.5)
    assert mark.is_alive() and not started                 # waits behind port 1's failure
    gate.set()
    mark.join(5)
    assert failed.is_set() and started == [False]
    statuses = dict(store.db.conn().execute("SELECT id, status FROM parts").fetchall())
    assert statuses[p2] == "on_air" and statuses[p3] == "stopped"
