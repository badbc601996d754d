"""Users through the Service: passwords (plain and SHA-1 form), auth cache, login throttle,
permissions, credits at intake, dry_run, max_parts, message state."""
from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from smsd.errors import (AuthError, BadRequest, Forbidden, InsufficientCredit, NotFound, Throttled,
                         TooLarge, TooManyParts)
from smsd.model import PERMISSIONS, Recipient, SendRequest
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store
from smsd.throttle import FailureThrottle, ThrottlePolicy

from fakes import FakeWorker


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Box:
    def __init__(self, path: str, ports: int = 2, synchronous: str = "FULL") -> None:
        self.clock = Clock()
        self.store = Store(path, synchronous=synchronous)
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(ports)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers, clock=self.clock,
                           throttle=FailureThrottle(self.clock))

    def count(self, table: str) -> int:
        return int(self.store.db.conn().execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture()
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(str(tmp_path / "users.db"))
    yield b
    b.sched.stop()
    b.store.close()


def req(text: str = "hi", numbers: tuple[str, ...] = ("123",), **kw: object) -> SendRequest:
    return SendRequest(text, tuple(Recipient(n) for n in numbers), **kw)  # type: ignore[arg-type]


def credits_of(box: Box, name: str) -> int | None:
    return box.svc.users.credits(name)


# --- passwords --------------------------------------------------------------------------------
def test_password_and_sha1_form(box: Box) -> None:
    box.svc.users.add("ann", "s3cret")
    assert box.svc.users.authenticate("ann", "s3cret", "api:json") == "ann"
    sha = hashlib.sha1(b"s3cret").hexdigest()
    assert box.svc.users.authenticate("ann", sha, "api:gateway_php") == "ann"
    assert box.svc.users.authenticate("ann", sha.upper(), "api:gateway_php") == "ann"
    with pytest.raises(AuthError) as err:
        box.svc.users.authenticate("ann", sha, "api:json")         # the SHA-1 form is gateway.php's only
    assert err.value.reason == "auth"
    with pytest.raises(AuthError):
        box.svc.users.authenticate("ann", "wrong", "api:json")
    with pytest.raises(AuthError):
        box.svc.users.authenticate("nobody", "s3cret", "api:json")


def test_neither_password_nor_its_sha1_is_stored(box: Box) -> None:
    box.svc.users.add("ann", "s3cret")
    sha = hashlib.sha1(b"s3cret").hexdigest()
    row = box.store.db.conn().execute("SELECT * FROM users").fetchone()
    blob = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    assert b"s3cret" not in blob and sha.encode() not in blob
    assert bytes.fromhex(sha) not in blob


def test_passwd_invalidates_the_cached_success(box: Box) -> None:
    box.svc.users.add("ann", "old")
    box.svc.users.authenticate("ann", "old", "web")
    box.svc.users.authenticate("ann", "old", "web")                # now cached
    box.svc.users.passwd("ann", "new")
    with pytest.raises(AuthError):
        box.svc.users.authenticate("ann", "old", "web")
    with pytest.raises(AuthError):
        box.svc.users.authenticate("ann", hashlib.sha1(b"old").hexdigest(), "api:gateway_php")
    assert box.svc.users.authenticate("ann", "new", "web") == "ann"
    with pytest.raises(NotFound):
        box.svc.users.passwd("nobody", "x")


def test_change_by_another_process_invalidates_the_cache(box: Box, tmp_path: Path) -> None:
    box.svc.users.add("ann", "old")
    assert box.store.users.check("ann", "old") and box.store.users.check("ann", "old")
    other = Store(str(tmp_path / "users.db"))                # e.g. `smsd user passwd`
    try:
        other.users.set_password("ann", "new")
        assert not box.store.users.check("ann", "old") and box.store.users.check("ann", "new")
        other.users.delete("ann")
        assert not box.store.users.check("ann", "new")
    finally:
        other.close()


def test_cached_check_is_fast(box: Box) -> None:
    box.svc.users.add("ann", "pw")
    t = time.perf_counter()
    box.svc.users.authenticate("ann", "pw", "web")
    slow = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(10):
        box.svc.users.authenticate("ann", "pw", "web")
    assert (time.perf_counter() - t) / 10 < slow / 10


# --- login throttle (policy in smsd/throttle.py) ---------------------------------------------
def fail(box: Box, name: str, remote: str) -> None:
    with pytest.raises(AuthError) as err:
        box.svc.users.authenticate(name, "bad", "web", remote=remote)
    assert not isinstance(err.value, Throttled)          # checked and wrong, not refused


def refused(box: Box, name: str, remote: str, password: str = "pw") -> Throttled:
    with pytest.raises(Throttled) as err:
        box.svc.users.authenticate(name, password, "web", remote=remote)
    assert err.value.reason == "auth"                    # every dialect's own auth error
    return err.value


def test_an_address_is_blocked_after_five_failures_doubling_to_a_cap(box: Box) -> None:
    box.svc.users.add("ann", "pw")
    for _ in range(4):
        fail(box, "ann", "10.0.0.1")
    fail(box, "bob", "10.0.0.1")                         # any name counts for the address
    blocks = []
    for _ in range(12):
        exc = refused(box, "cid", "10.0.0.1")            # even the right password, unchecked
        assert exc.scope == "addr" and exc.http_status == 429
        blocks.append(exc.retry_after)
        refused(box, "ann", "10.0.0.1")                  # refusals are not failures
        box.clock.now += exc.retry_after
        fail(box, "cid", "10.0.0.1")
    assert blocks == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert box.svc.users.authenticate("ann", "pw", "web", remote="10.0.0.2") == "ann"   # elsewhere


def test_a_name_under_attack_blocks_new_addresses_briefly_but_never_a_trusted_one(
        box: Box) -> None:
    box.svc.users.add("ann", "pw")
    assert box.svc.users.authenticate("ann", "pw", "web", remote="10.0.0.5") == "ann"
    for attacker in ("10.6.0.1", "10.6.0.2"):
        for _ in range(5):                               # each address's allowance
            fail(box, "ann", attacker)
    exc = refused(box, "ann", "10.0.0.9")                # a new address waits out the name's block
    assert exc.scope == "user" and exc.retry_after == 1
    assert box.svc.users.authenticate("ann", "pw", "web", remote="10.0.0.5") == "ann"   # usual address
    refused(box, "ann", "10.6.0.3", "guess")             # the distributed guesses stop too
    for i in range(10):                                  # a patient botnet: one guess per block
        box.clock.now += 60
        fail(box, "ann", f"10.7.0.{i}")
    exc = refused(box, "ann", "10.0.0.9")
    assert exc.retry_after == 30                         # the name's cap
    assert box.svc.users.authenticate("ann", "pw", "web", remote="10.0.0.5") == "ann"
    box.clock.now += 30
    assert box.svc.users.authenticate("ann", "pw", "web", remote="10.0.0.9") == "ann"


def test_a_shared_address_blocked_by_others_still_lets_a_trusted_user_in(box: Box) -> None:
    box.svc.users.add("ann", "pw")
    box.svc.users.add("bob", "pw")
    assert box.svc.users.authenticate("ann", "pw", "web", remote="10.0.0.1") == "ann"
    for _ in range(5):
        fail(box, "bob", "10.0.0.1")                     # e.g. a client with a stale password
    refused(box, "bob", "10.0.0.1")
    assert box.svc.users.authenticate("ann", "pw", "web", remote="10.0.0.1") == "ann"
    for _ in range(5):                                   # guesses at ann from there: the pair counts
        fail(box, "ann", "10.0.0.1")
    assert refused(box, "ann", "10.0.0.1").scope == "pair"


def test_success_wipes_no_failure_count(box: Box) -> None:
    box.svc.users.add("own", "pw")
    for _ in range(4):
        fail(box, "ann", "10.0.0.1")
    assert box.svc.users.authenticate("own", "pw", "web", remote="10.0.0.1") == "own"
    fail(box, "ann", "10.0.0.1")
    refused(box, "ann", "10.0.0.1")                      # an own account buys no more guesses


def test_old_failures_are_forgotten(box: Box) -> None:
    for _ in range(5):
        fail(box, "ann", "10.0.0.1")
    box.clock.now += 900
    for _ in range(4):
        fail(box, "ann", "10.0.0.1")


def twenty_at_once(guess: Callable[[], object]) -> list[str]:
    """Run a wrong-password guess from 20 threads released together; each ends "refused"
    (throttled before the slow check) or "checked" (hashed and wrong)."""
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def one() -> None:
        start.wait()
        try:
            guess()
        except Throttled:
            outcomes.append("refused")
        except AuthError:
            outcomes.append("checked")

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_simultaneous_guesses_from_one_address_run_five_slow_checks(box: Box) -> None:
    box.svc.users.add("ann", "pw")
    outcomes = twenty_at_once(
        lambda: box.svc.users.authenticate("ann", "bad", "web", remote="10.0.0.1"))
    assert sorted(outcomes) == ["checked"] * 5 + ["refused"] * 15


def test_simultaneous_smpp_bind_guesses_share_the_same_five_slow_checks(box: Box) -> None:
    # SMPP binds hashed outside the limit (64 connections: 64 scrypt buffers of 16 MiB at once)
    box.svc.users.add("ann", "pw", perms={"smpp"})
    box.svc.smpp.new_password("ann")                     # two slow secrets to try per bind
    outcomes = twenty_at_once(lambda: box.svc.smpp.authenticate("ann", "bad", remote="10.0.0.1"))
    assert sorted(outcomes) == ["checked"] * 5 + ["refused"] * 15


def test_a_guess_that_passed_the_check_before_the_block_began_is_not_hashed() -> None:
    # Guesses pass check(), then wait for a slow-check slot; if the other guesses fail in
    # between and block the address, the waiting one must be refused, not hashed.
    throttle = FailureThrottle(lambda: 100.0)
    throttle.check("ann", "10.0.0.1")                   # not blocked yet
    for _ in range(5):
        throttle.failed("ann", "10.0.0.1")              # the others fail meanwhile
    with pytest.raises(Throttled):
        throttle.begin_slow_check("ann", "10.0.0.1")



def test_once_the_last_failure_is_forgotten_a_block_and_every_count_are_gone() -> None:
    """check() drops the failures once the newest is `forget_after` old: the address blocked
    before is free, and its next failures count from one again (five more to block it)."""
    now = [100.0]
    throttle = FailureThrottle(lambda: now[0])
    for _ in range(5):
        throttle.failed("ann", "10.0.0.1")
    with pytest.raises(Throttled):
        throttle.check("ann", "10.0.0.1")
    now[0] += ThrottlePolicy().forget_after
    throttle.check("ann", "10.0.0.1")                   # forgotten: not refused
    for _ in range(4):
        throttle.failed("bob", "10.0.0.1")
    throttle.check("bob", "10.0.0.1")                   # four: still free
    throttle.failed("bob", "10.0.0.1")
    with pytest.raises(Throttled):
        throttle.check("bob", "10.0.0.1")


# --- permissions ------------------------------------------------------------------------------
def test_permissions(box: Box) -> None:
    box.svc.users.add("iso", "pw", perms={"api:isms"})
    box.svc.users.add("boss", "pw", perms=(), admin=True)
    assert box.svc.users.authenticate("iso", "pw", "api:isms") == "iso"
    with pytest.raises(Forbidden) as err:
        box.svc.users.authenticate("iso", "pw", "api:json")
    assert isinstance(err.value, AuthError) and err.value.reason == "forbidden"
    assert all(box.svc.users.has_perm("boss", p) for p in PERMISSIONS)
    assert box.svc.users.has_perm("iso", "api:isms") and not box.svc.users.has_perm("iso", "web")
    assert not box.svc.users.has_perm("nobody", "web")
    box.svc.users.set_perms("iso", {"web", "api:json"})
    assert box.svc.users.authenticate("iso", "pw", "api:json") == "iso"
    with pytest.raises(BadRequest):
        box.svc.users.add("x", "pw", perms={"api:fax"})
    with pytest.raises(BadRequest):
        box.svc.users.authenticate("iso", "pw", "api:fax")


def test_default_perms_and_listing(box: Box) -> None:
    box.svc.users.add("ann", "pw", credits=5)
    box.svc.users.add("bob", "pw", admin=True)
    (ann, bob) = box.svc.users.all()
    # Everything but port control, SMPP, metrics and e-mail to SMS, only granted when asked for.
    assert ann.name == "ann" and ann.perms == frozenset(PERMISSIONS) - {"ports", "smpp",
                                                                        "metrics", "email"} \
        and ann.credits == 5
    assert bob.admin and bob.credits is None
    with pytest.raises(BadRequest):
        box.svc.users.add("ann", "again")
    with pytest.raises(BadRequest):
        box.svc.users.add("a:b", "pw")
    box.svc.users.delete("ann")
    assert [u.name for u in box.svc.users.all()] == ["bob"]
    with pytest.raises(NotFound):
        box.svc.users.delete("ann")


# --- credits ----------------------------------------------------------------------------------
def test_debit_per_part(box: Box) -> None:
    box.svc.users.add("ann", "pw", credits=10)
    box.svc.sending.send_sms(req("a" * 161), user="ann")             # 2 parts in GSM 7-bit
    assert credits_of(box, "ann") == 8
    box.svc.sending.send_sms(req("hi", ("1", "2", "3")), user="ann")
    assert credits_of(box, "ann") == 5


def test_short_balance_refuses_the_whole_request(box: Box) -> None:
    box.svc.users.add("ann", "pw", credits=2)
    with pytest.raises(InsufficientCredit) as err:
        box.svc.sending.send_sms(req("hi", ("1", "2", "3")), user="ann")
    assert err.value.reason == "credit"
    assert credits_of(box, "ann") == 2 and box.count("tasks") == 0 and box.count("messages") == 0
    box.svc.sending.send_sms(req("hi", ("1", "2")), user="ann")
    assert credits_of(box, "ann") == 0
    with pytest.raises(InsufficientCredit):
        box.svc.sending.send_sms(req(), user="ann")


def test_admin_and_unlimited_are_not_debited(box: Box) -> None:
    box.svc.users.add("boss", "pw", admin=True, credits=1)
    box.svc.users.add("free", "pw")
    box.svc.sending.send_sms(req("hi", ("1", "2")), user="boss")
    box.svc.sending.send_sms(req("hi", ("1", "2")), user="free")
    assert credits_of(box, "boss") == 1 and credits_of(box, "free") is None


def test_dry_run_checks_everything_and_writes_nothing(box: Box) -> None:
    box.svc.users.add("ann", "pw", credits=2)
    acc = box.svc.sending.send_sms(req("hi", ("1", "2"), dry_run=True), user="ann")
    assert acc.message_ids == () and acc.sms_in_queue == 0
    with pytest.raises(InsufficientCredit):
        box.svc.sending.send_sms(req("hi", ("1", "2", "3"), dry_run=True), user="ann")
    with pytest.raises(BadRequest):
        box.svc.sending.send_sms(req("hi", ("x",), dry_run=True), user="ann")
    assert credits_of(box, "ann") == 2 and box.count("tasks") == 0 and box.count("events") == 0


def test_two_threads_spending_the_last_credits(box: Box) -> None:
    box.svc.users.add("ann", "pw", credits=30)
    accepted, refused = [], []
    barrier = threading.Barrier(2)

    def spend() -> None:
        barrier.wait()
        for _ in range(20):
            try:
                accepted.append(box.svc.sending.send_sms(req("a" * 161), user="ann"))
            except InsufficientCredit:
                refused.append(1)
    threads = [threading.Thread(target=spend) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == 15 and len(refused) == 25 and credits_of(box, "ann") == 0
    assert box.count("messages") == 15


def test_credit_adjustments(box: Box) -> None:
    box.svc.users.add("ann", "pw")
    with pytest.raises(BadRequest):
        box.svc.users.add_credits("ann", 5)                   # unlimited: set a balance first
    box.svc.users.set_credits("ann", 3)
    assert box.svc.users.add_credits("ann", 4) == 7
    assert box.svc.users.add_credits("ann", -7) == 0
    with pytest.raises(InsufficientCredit):
        box.svc.users.add_credits("ann", -1)
    with pytest.raises(BadRequest):
        box.svc.users.set_credits("ann", -1)
    box.svc.users.set_credits("ann", None)
    assert credits_of(box, "ann") is None
    with pytest.raises(NotFound):
        box.svc.users.add_credits("nobody", 1)


# --- request extras and message state -----------------------------------------------------------
def test_max_parts(box: Box) -> None:
    with pytest.raises(TooManyParts) as err:
        box.svc.sending.send_sms(req("a" * 161, max_parts=1))
    assert isinstance(err.value, TooLarge) and err.value.reason == "too_many_parts"
    assert box.count("tasks") == 0
    assert len(box.svc.sending.send_sms(req("a" * 161, max_parts=2)).message_ids) == 1


def test_message_ids_in_order_and_message_state(box: Box) -> None:
    box.svc.users.add("ann", "pw")
    recipients = (Recipient("30"), Recipient("10", text_param=("Bo",)), Recipient("20"))
    acc = box.svc.sending.send_sms(SendRequest("hi #param#", recipients, sender="ACME", priority=5,
                                               dialect="isms"), user="ann")
    states = [box.svc.sending.message(i) for i in acc.message_ids]
    assert [s.number for s in states if s] == ["30", "10", "20"]
    second = states[1]
    assert second is not None and second.text == "hi Bo" and second.user == "ann"
    assert second.task_id == acc.task_id and second.status == "SENDING"
    assert second.dr_status is None and second.reason == "" and second.count == 1
    assert box.svc.sending.message(10_000) is None
    row = box.store.db.conn().execute("SELECT sender, priority, dialect FROM tasks").fetchone()
    assert tuple(row) == ("ACME", 5, "isms")


def test_bad_extras(box: Box) -> None:
    for bad in (req(sender="x" * 33), req(sender="a\nb"), req(max_parts=0),
                req(priority="high")):
        with pytest.raises(BadRequest):
            box.svc.sending.send_sms(bad)
    assert box.count("tasks") == 0


def test_an_older_database_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3
    from smsd.store.users import KDF, digest_ha1, slow_hash
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE users (name TEXT PRIMARY KEY, kdf TEXT NOT NULL, salt BLOB NOT NULL, "
        "hash BLOB NOT NULL, realm TEXT NOT NULL, ha1 TEXT NOT NULL, admin INTEGER NOT NULL "
        "DEFAULT 0, created REAL NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL DEFAULT '',"
        " text TEXT NOT NULL, encoding TEXT NOT NULL DEFAULT 'auto', srr INTEGER NOT NULL "
        "DEFAULT 1, ports TEXT, created REAL NOT NULL, stopped INTEGER NOT NULL DEFAULT 0);")
    conn.execute("INSERT INTO users VALUES ('old', ?, ?, ?, 'smsd', ?, 0, 0)",
                 (KDF, b"s" * 16, slow_hash("pw", b"s" * 16), digest_ha1("old", "smsd", "pw")))
    conn.commit()
    conn.close()
    b = Box(path)
    try:
        assert b.svc.users.authenticate("old", "pw", "api:ozeki") == "old"   # every permission
        assert b.svc.users.credits("old") is None
        with pytest.raises(AuthError):                  # no SHA-1 form until a password change
            b.svc.users.authenticate("old", hashlib.sha1(b"pw").hexdigest(), "api:gateway_php")
        b.svc.users.passwd("old", "pw")
        assert b.svc.users.authenticate("old", hashlib.sha1(b"pw").hexdigest(), "api:gateway_php")
        acc = b.svc.sending.send_sms(req(sender="S"), user="old")
        assert b.svc.sending.message(acc.message_ids[0]) is not None
    finally:
        b.sched.stop()
        b.store.close()


def test_an_unknown_name_costs_as_much_as_a_wrong_password(box: Box) -> None:
    box.svc.users.add("ann", "pw")

    def cost(name: str) -> float:
        t = time.perf_counter()
        assert not box.store.users.check(name, "bad")
        return time.perf_counter() - t
    wrong, unknown = min(cost("ann") for _ in range(3)), min(cost("zed") for _ in range(3))
    assert unknown > wrong / 3


def test_message_state_follows_sending_reports_and_failures(tmp_path: Path) -> None:
    import datetime as dt
    from smsd import pdu
    from smsd.model import SendResult
    from fakes import wait_for
    b = Box(str(tmp_path / "live.db"), ports=2)
    b.workers[1].outcome = lambda w, job: SendResult(job.part_id, ok=False, cms=500,
                                                     permanent=True, error="CMS 500")
    for w in b.workers.values():
        w.start()
    b.sched.start()
    try:
        ok_id = b.svc.sending.send_sms(req("hi", ("+447911000001",), ports=(0,))).message_ids[0]
        bad_id = b.svc.sending.send_sms(req("hi", ("+447911000002",), ports=(1,))).message_ids[0]
        assert wait_for(lambda: b.store.outbox.in_queue() == 0)
        bad = b.svc.sending.message(bad_id)
        assert bad is not None and bad.status == "FAILED" and bad.reason == "CMS 500"
        sent = b.svc.sending.message(ok_id)
        assert sent is not None and sent.status == "SENT_OK" and sent.dr_status is None
        now = dt.datetime.now(dt.timezone.utc)
        b.workers[0].receive(pdu.encode_status_report("+447911000001", sent.ref_id or 0, 0x30,
                                                      scts=now, discharge=now),
                             kind="status_report")
        assert wait_for(lambda: getattr(b.svc.sending.message(ok_id), "dr_status", None) == 0x30)
        b.workers[0].receive(pdu.encode_status_report("+447911000001", sent.ref_id or 0, 0,
                                                      scts=now, discharge=now),
                             kind="status_report")
        assert wait_for(lambda: getattr(b.svc.sending.message(ok_id), "status", "") == "DELIVERED")
        assert b.svc.sending.message(ok_id).dr_status == 0                 # type: ignore[union-attr]
    finally:
        b.sched.stop()
        for w in b.workers.values():
            w.stop()
        b.store.close()


def test_digest_style_failures_count_alike(box: Box) -> None:
    box.svc.users.add("ann", "pw")
    for _ in range(4):
        fail(box, "ann", "10.0.0.1")
    with pytest.raises(AuthError):
        box.svc.users.failed("ann", remote="10.0.0.1")         # e.g. a wrong Digest response
    with pytest.raises(Throttled):
        box.svc.users.throttle_check("ann", remote="10.0.0.1")
    refused(box, "ann", "10.0.0.1")


def test_a_disabled_user_is_refused_everywhere_until_enabled(box: Box) -> None:
    svc = box.svc
    svc.users.add("temp", "pw-1", perms=("web", "api:json"), admin=True)
    ended: list[str] = []
    svc.users.on_password_change(ended.append)
    svc.users.set_disabled("temp", True)
    assert ended == ["temp"]                      # its web sessions end
    assert svc.users.get("temp").disabled
    assert not svc.users.has_perm("temp", "api:json")
    with pytest.raises(Forbidden):
        svc.users.authenticate("temp", "pw-1", "web")
    access = svc.access.of("temp")
    assert access is not None and not access.admin and not access.perms
    svc.users.set_disabled("temp", False)
    assert svc.users.authenticate("temp", "pw-1", "api:json") == "temp"
    assert svc.users.get("temp").admin and svc.users.get("temp").perms == {"web", "api:json"}
    with pytest.raises(NotFound):
        svc.users.set_disabled("nobody", True)
