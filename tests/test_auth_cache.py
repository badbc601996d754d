"""The remembered logins of smsd/store/users.py (migration 0015's auth version): a change of a user
made by another process (a second Store on the same file, as `smsd user ...` is) takes effect on
the very next login; a wrong secret is never accepted from memory; the slow hash runs once per
password, not once per change of some other user.

`before_slow` is called right before every slow hash (the login throttle reserves its slot
there), so the gate calls counted here are the scrypts run."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import pytest

from smsd.errors import AuthError, BadRequest, Forbidden
from smsd.model import UserInfo
from smsd.service import Service
from smsd.store import Store
from smsd.store.users import DIGEST_REALM, debit, digest_ha1
from smsd.throttle import FailureThrottle


class Gate:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


class Pair:
    """The daemon's store and another process's, on one file."""

    def __init__(self, path: str) -> None:
        self.daemon = Store(path)
        self.cli = Store(path)

    def login(self, name: str, password: str) -> tuple[UserInfo | None, int]:
        """The daemon's answer and the slow hashes it took."""
        gate = Gate()
        info = self.daemon.users.login(name, password, before_slow=gate)
        return info, gate.calls

    def version(self) -> int:
        return int(self.daemon.db.conn().execute("SELECT v FROM auth_version").fetchone()[0])


@pytest.fixture()
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(str(tmp_path / "smsd.db"))
    p.cli.users.add("ann", "pw", perms={"api:json"})
    p.cli.users.add("bob", "pw2", perms={"api:json"})
    yield p
    p.cli.close()
    p.daemon.close()


def remembered(pair: Pair, name: str = "ann", password: str = "pw") -> UserInfo:
    first, slow = pair.login(name, password)
    assert first is not None and slow == 1
    again, slow = pair.login(name, password)
    assert again == first and slow == 0                 # remembered: no slow hash
    return again


def test_a_remembered_login_takes_no_slow_hash(pair: Pair) -> None:
    info = remembered(pair)
    assert info.name == "ann" and info.perms == frozenset({"api:json"})


def test_a_wrong_password_is_never_accepted_from_memory(pair: Pair) -> None:
    info = remembered(pair)
    for wrong in ("", "pw ", "PW", "p", "pw\n", "bob", "pw2"):
        assert pair.login("ann", wrong) == (None, 1)    # checked, slowly, and refused
    assert pair.login("bob", "pw") == (None, 1)         # another's password is no key
    assert pair.login("ann", "pw") == (info, 0)         # and they did not make it forget


def test_a_password_changed_by_another_process_counts_at_once(pair: Pair) -> None:
    remembered(pair)
    pair.cli.users.set_password("ann", "new")
    assert pair.login("ann", "pw") == (None, 1)
    info, slow = pair.login("ann", "new")
    assert info is not None and slow == 1


def test_disabled_deleted_or_regranted_by_another_process_counts_at_once(pair: Pair) -> None:
    remembered(pair)
    pair.cli.users.update("ann", perms={"web"})
    info, slow = pair.login("ann", "pw")
    assert info is not None and info.perms == frozenset({"web"}) and slow == 0
    pair.cli.users.update("ann", admin=1)
    assert pair.login("ann", "pw")[0] == UserInfo("ann", True, frozenset({"web"}), None)
    pair.cli.users.update("ann", disabled=1)
    assert pair.login("ann", "pw")[0] == UserInfo("ann", True, frozenset({"web"}), None, True)
    pair.cli.users.delete("ann")
    assert pair.login("ann", "pw") == (None, 1)
    pair.cli.users.add("ann", "other")                  # the same name again, a new password
    assert pair.login("ann", "pw") == (None, 1)


def test_another_users_change_costs_no_slow_hash(pair: Pair) -> None:
    remembered(pair)
    before = pair.version()
    pair.cli.users.set_password("bob", "x")
    assert pair.version() != before                      # every remembered login is re-read
    assert pair.login("ann", "pw")[1] == 0              # ann's hash is as it was: no scrypt


def test_credits_do_not_move_the_version(pair: Pair) -> None:
    """Every send debits credits; that must not make every login read its row again."""
    pair.cli.users.update("ann", credits=10)
    before = pair.version()
    with pair.cli.db.write() as conn:
        debit(conn, "ann", 3)
    pair.cli.users.add_credits("ann", 5)
    pair.cli.users.update("ann", credits=None)
    assert pair.version() == before


def test_every_change_a_login_reads_moves_the_version(pair: Pair) -> None:
    changes = [lambda: pair.cli.users.add("cy", "pw"),
               lambda: pair.cli.users.set_password("cy", "pw3"),
               lambda: pair.cli.users.set_digest("cy", "pw3"),
               lambda: pair.cli.users.update("cy", perms={"web"}),
               lambda: pair.cli.users.update("cy", admin=1),
               lambda: pair.cli.users.update("cy", disabled=1),
               lambda: pair.cli.users.create("cy", "pw4"),
               lambda: pair.cli.users.delete("cy")]
    for change in changes:
        before = pair.version()
        change()
        assert pair.version() != before


def test_the_sha1_form_is_remembered_apart(pair: Pair) -> None:
    sha = hashlib.sha1(b"pw").hexdigest()
    remembered(pair)
    gate = Gate()
    assert pair.daemon.users.login_sha1("ann", sha, before_slow=gate) is not None
    assert pair.daemon.users.login_sha1("ann", sha.upper(), before_slow=gate) is not None
    assert gate.calls == 1
    assert pair.daemon.users.login_sha1("ann", "pw", before_slow=gate) is None
    assert pair.daemon.users.login("ann", sha, before_slow=gate) is None
    pair.cli.users.set_password("ann", "new")
    assert pair.daemon.users.login_sha1("ann", sha, before_slow=gate) is None


def test_the_service_answers_from_what_the_login_read(pair: Pair) -> None:
    svc = Service(pair.daemon, None, {}, throttle=FailureThrottle(lambda: 0.0))  # type: ignore[arg-type]
    assert svc.users.authenticate("ann", "pw", "api:json") == "ann"
    pair.cli.users.update("ann", perms={"web"})
    with pytest.raises(Forbidden):
        svc.users.authenticate("ann", "pw", "api:json")
    pair.cli.users.update("ann", perms={"api:json"}, disabled=1)
    with pytest.raises(Forbidden):
        svc.users.authenticate("ann", "pw", "api:json")
    pair.cli.users.update("ann", disabled=0)
    assert svc.users.authenticate("ann", "pw", "api:json") == "ann"
    pair.cli.users.set_password("ann", "new")
    with pytest.raises(AuthError):
        svc.users.authenticate("ann", "pw", "api:json")


def test_without_its_version_row_nothing_is_remembered(pair: Pair) -> None:
    remembered(pair)
    with pair.cli.db.write() as conn:
        conn.execute("DELETE FROM auth_version")
    assert pair.login("ann", "pw")[1] == 0             # the hash is the one checked: no scrypt
    pair.cli.users.update("ann", disabled=1)            # the trigger has no row to change now
    info, _ = pair.login("ann", "pw")
    assert info is not None and info.disabled          # read again, every time
    pair.cli.users.set_password("ann", "new")
    assert pair.login("ann", "pw") == (None, 1)


def test_a_password_with_a_nul_is_never_a_password(pair: Pair) -> None:
    """The slow hash keys HMAC with the password and HMAC pads a short key with NULs, so
    "pw\\0" hashes as "pw": the store refuses such a guess (slowly, as any wrong one, before and
    after "pw" was remembered) and the service refuses to set such a password."""
    assert pair.login("ann", "pw\0") == (None, 1)
    remembered(pair)
    assert pair.login("ann", "pw\0\0") == (None, 1)
    svc = Service(pair.daemon, None, {}, throttle=FailureThrottle(lambda: 0.0))  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="NUL"):
        svc.users.add("carol", "secret\0")
    with pytest.raises(BadRequest, match="NUL"):
        svc.users.passwd("ann", "new\0pw")


# --- Digest: the user's row remembered under the same version --------------------------------
def digest(pair: Pair, name: str = "ann") -> tuple[tuple[str, UserInfo] | None, int]:
    """The daemon's digest_user answer (SHA-256) and how many statements read the users table."""
    reads: list[str] = []
    conn = pair.daemon.db.conn()
    conn.set_trace_callback(lambda sql: reads.append(sql) if "FROM users" in sql else None)
    try:
        return pair.daemon.users.digest_user(name, DIGEST_REALM, "SHA-256"), len(reads)
    finally:
        conn.set_trace_callback(None)


def test_a_remembered_digest_user_reads_no_row(pair: Pair) -> None:
    pair.cli.users.set_digest("ann", "pw")
    found, reads = digest(pair)
    assert found is not None and reads == 1
    assert found[0] == digest_ha1("ann", DIGEST_REALM, "pw", "SHA-256")
    assert digest(pair) == (found, 0)                      # only the version was read
    pair.cli.users.set_password("bob", "x")                # another user's change: read again
    assert digest(pair) == (found, 1)


def test_digest_changes_by_another_process_count_at_once(pair: Pair) -> None:
    pair.cli.users.set_digest("ann", "pw")
    assert digest(pair)[0] is not None
    pair.cli.users.set_digest("ann", "new")
    found, _ = digest(pair)
    assert found is not None and found[0] == digest_ha1("ann", DIGEST_REALM, "new", "SHA-256")
    pair.cli.users.update("ann", perms={"web"})
    found, _ = digest(pair)
    assert found is not None and found[1].perms == frozenset({"web"})
    pair.cli.users.update("ann", disabled=1)
    found, _ = digest(pair)
    assert found is not None and found[1].disabled
    pair.cli.users.set_digest("ann", None)                 # Digest off: no HA1 any more
    assert digest(pair)[0] is None
    pair.cli.users.set_digest("ann", "pw")
    assert digest(pair)[0] is not None
    pair.cli.users.delete("ann")
    assert digest(pair)[0] is None
    assert pair.daemon.users.digest_user("ann", "other realm", "SHA-256") is None


def test_without_its_version_row_no_digest_user_is_remembered(pair: Pair) -> None:
    pair.cli.users.set_digest("ann", "pw")
    with pair.cli.db.write() as conn:
        conn.execute("DELETE FROM auth_version")
    assert digest(pair)[1] == 1 and digest(pair)[1] == 1  # read again, every time
    pair.cli.users.update("ann", disabled=1)
    found, _ = digest(pair)
    assert found is not None and found[1].disabled
