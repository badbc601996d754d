"""Secrets at rest (issue 13): HTTP Digest is an opt-in per user, SHA-256 offered before MD5,
over real HTTP on loopback (our own RFC 7616 client, Python's urllib, curl); no password
equivalent is stored for a user without Digest; the database files are owner-only."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

from smsd.api.auth import REALM
from smsd.store.db import Store

from front import Front, basic
from test_migrations import v010_database

PW = "s3cret"
TARGET = "/api/query_sms_in_queue"
HASHES: dict[str, Callable[[bytes], "hashlib._Hash"]] = {
    "SHA-256": hashlib.sha256, "MD5": hashlib.md5}


@pytest.fixture
def front(tmp_path: Path) -> Iterator[Front]:
    f = Front(str(tmp_path / "smsd.db"))
    f.svc.users.add("dig", PW, perms=("api:json",), digest=True)
    f.svc.users.add("plain", PW, perms=("api:json",))
    f.start()
    yield f
    f.close()


# --- a Digest client written from RFC 7616, independent of smsd/api/auth.py ----------------------
def challenges(header_values: list[str]) -> list[dict[str, str]]:
    """The Digest challenges of a 401, in order, as dicts (with the scheme under "scheme")."""
    out = []
    for value in header_values:
        scheme, _, rest = value.partition(" ")
        fields = dict(urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest)))
        out.append({"scheme": scheme, **fields})
    return out


def digest_answer(chal: dict[str, str], user: str, pw: str, method: str, uri: str) -> str:
    h = HASHES[chal["algorithm"]]

    def hx(text: str) -> str:
        return h(text.encode()).hexdigest()
    ha1, ha2 = hx(f"{user}:{chal['realm']}:{pw}"), hx(f"{method}:{uri}")
    cnonce, nc = "0a4f113b", "00000001"
    response = hx(f"{ha1}:{chal['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{chal["realm"]}", nonce="{chal["nonce"]}", '
            f'uri="{uri}", algorithm={chal["algorithm"]}, qop=auth, nc={nc}, '
            f'cnonce="{cnonce}", response="{response}", opaque="{chal["opaque"]}"')


def www_authenticate(front: Front, headers: dict[str, str] | None = None
                     ) -> tuple[int, list[str]]:
    conn = http.client.HTTPConnection(front.host, front.port, timeout=10)
    try:
        conn.request("GET", TARGET, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.headers.get_all("WWW-Authenticate") or []
    finally:
        conn.close()


def test_sha256_is_offered_first_then_md5_then_basic(front: Front) -> None:
    status, offered = www_authenticate(front)
    assert status == 401
    chals = challenges(offered)
    assert [(c["scheme"], c.get("algorithm")) for c in chals] == [
        ("Digest", "SHA-256"), ("Digest", "MD5"), ("Basic", None)]
    assert all(c["realm"] == REALM for c in chals)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_an_opted_in_user_logs_in_with_either_digest_algorithm(front: Front,
                                                               algorithm: str) -> None:
    _, offered = www_authenticate(front)
    chal = next(c for c in challenges(offered) if c.get("algorithm") == algorithm)
    reply = front.get(TARGET, {"Authorization": digest_answer(chal, "dig", PW, "GET", TARGET)})
    assert reply.status == 200 and json.loads(reply.body)["error_code"] == 200
    wrong = front.get(TARGET, {"Authorization": digest_answer(chal, "dig", "nope", "GET", TARGET)})
    assert wrong.status == 401


def test_a_digest_answer_is_good_for_the_request_it_was_made_for_only(front: Front) -> None:
    """An answer overheard on one call does not pass for another (within the nonce's life)."""
    _, offered = www_authenticate(front)
    chal = challenges(offered)[0]
    other = "/api/query_sms_result?user_id=1"
    header = {"Authorization": digest_answer(chal, "dig", PW, "GET", other)}
    assert front.get(TARGET, header).status == 401
    reply = front.get(other, header)
    assert reply.status == 200 and json.loads(reply.body)["error_code"] == 200


def test_a_user_without_digest_gets_401_on_digest_and_is_offered_basic(front: Front) -> None:
    _, offered = www_authenticate(front)
    sha256, md5 = challenges(offered)[:2]
    status, after_sha256 = www_authenticate(
        front, {"Authorization": digest_answer(sha256, "plain", PW, "GET", TARGET)})
    assert status == 401
    # Next rung: MD5 with stale=true (retry without asking for the password), then Basic.
    assert [(c["scheme"], c.get("algorithm"), c.get("stale")) for c in challenges(after_sha256)] \
        == [("Digest", "MD5", "true"), ("Basic", None, None)]
    status, after_md5 = www_authenticate(
        front, {"Authorization": digest_answer(md5, "plain", PW, "GET", TARGET)})
    assert status == 401 and after_md5 == [f'Basic realm="{REALM}"']
    assert front.get(TARGET, basic("plain", PW)).status == 200
    assert front.get(TARGET, basic("dig", PW)).status == 200      # Basic works with Digest on


class Rfc7616DigestHandler(urllib.request.HTTPDigestAuthHandler):
    """Python's urllib (3.11) knows MD5 and SHA only and answers the first challenge: this
    teaches it SHA-256, the way RFC 7616 defines it."""

    def get_algorithm_impls(self, algorithm: str):  # type: ignore[no-untyped-def]
        if algorithm != "SHA-256":
            return super().get_algorithm_impls(algorithm)

        def h(x: str) -> str:
            return hashlib.sha256(x.encode("ascii")).hexdigest()
        return h, lambda s, d: h(f"{s}:{d}")


def test_urllib_digest_handler(front: Front) -> None:
    url = f"http://{front.host}:{front.port}{TARGET}"
    for user, status in (("dig", 200), ("plain", 401)):
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, user, PW)
        opener = urllib.request.build_opener(Rfc7616DigestHandler(passwords))
        try:
            with opener.open(url, timeout=10) as resp:
                got = resp.status
        except urllib.error.HTTPError as exc:
            got = exc.code
        assert got == status, user


CURL = shutil.which("curl")


def curl(front: Front, user: str, how: str) -> tuple[int, str]:
    """(HTTP status, curl's trace of what it sent)."""
    assert CURL is not None
    done = subprocess.run([CURL, "-sv", "-o", os.devnull, "-w", "%{http_code}", how, "-u",
                           f"{user}:{PW}", f"http://{front.host}:{front.port}{TARGET}"],
                          capture_output=True, text=True, timeout=30)
    return int(done.stdout), done.stderr


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_anyauth_works_with_and_without_digest(front: Front) -> None:
    """The JSON API's documented client: `curl --anyauth` takes SHA-256 Digest when the user has
    it, and walks down to Basic when not."""
    status, trace = curl(front, "dig", "--anyauth")
    assert status == 200 and "algorithm=SHA-256" in trace and "Authorization: Basic" not in trace
    status, trace = curl(front, "plain", "--anyauth")
    assert status == 200 and "Authorization: Basic" in trace
    status, _ = curl(front, "plain", "--digest")
    assert status == 401


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_a_user_with_only_the_md5_secret_of_an_upgrade_gets_in_with_curl(front: Front) -> None:
    """What the migration leaves for existing users: MD5 only (SHA-256 needs the password)."""
    front.svc.users.add("old", PW, perms=("api:json",), digest=True)
    with front.store.db.write() as conn:
        conn.execute("UPDATE users SET ha1_sha256 = NULL WHERE name = 'old'")
    for how in ("--digest", "--anyauth"):
        status, trace = curl(front, "old", how)
        assert status == 200 and "algorithm=MD5" in trace and "Authorization: Basic" not in trace


# --- what the database keeps --------------------------------------------------------------------
def stored_bytes(db: str) -> bytes:
    return b"".join(Path(p).read_bytes() for p in (db, db + "-wal") if os.path.exists(p))


def password_equivalents(user: str, pw: str) -> list[bytes]:
    text = f"{user}:{REALM}:{pw}".encode()
    return [hashlib.md5(text).hexdigest().encode(), hashlib.sha256(text).hexdigest().encode(),
            hashlib.md5(pw.encode()).hexdigest().encode(),
            hashlib.sha1(pw.encode()).hexdigest().encode(), pw.encode()]


def test_no_password_equivalent_is_stored_for_a_user_without_digest(tmp_path: Path) -> None:
    db = str(tmp_path / "smsd.db")
    store = Store(db)
    try:
        store.users.add("plain", "correct horse")
        store.users.add("dig", "battery staple", digest=True)
        data = stored_bytes(db)
        assert not any(secret in data for secret in password_equivalents("plain", "correct horse"))
        # The scan sees what is there: the opted-in user's HA1s are (as Digest needs them).
        assert password_equivalents("dig", "battery staple")[:2] == [
            s for s in password_equivalents("dig", "battery staple")[:2] if s in data]
        row = store.db.conn().execute("SELECT ha1, ha1_sha256 FROM users WHERE name = 'plain'")
        assert row.fetchone() == (None, None)
        store.users.set_digest("dig", None)       # turned off: the HA1s are gone from the row
        row = store.db.conn().execute("SELECT ha1, ha1_sha256 FROM users WHERE name = 'dig'")
        assert row.fetchone() == (None, None)
    finally:
        store.close()


def test_the_upgrade_keeps_digest_on_for_existing_users(tmp_path: Path) -> None:
    """Users of a v0.1.0 database had Digest working: they keep their MD5 HA1 (and nothing
    else changes); users made after the upgrade have Digest off unless asked for."""
    path = v010_database(tmp_path / "smsd.db")
    before = sqlite3.connect(path).execute(
        "SELECT name, kdf, salt, hash, realm, ha1, admin, created, perms, credits, sha_salt, "
        "sha_hash FROM users").fetchall()
    store = Store(path)
    try:
        after = store.db.conn().execute(
            "SELECT name, kdf, salt, hash, realm, ha1, admin, created, perms, credits, sha_salt, "
            "sha_hash FROM users").fetchall()
        assert after == before and before[0][0] == "alice"
        assert store.users.digest_algorithms("alice") == ["MD5"]
        assert store.users.digest_ha1("alice", REALM) \
            == hashlib.md5(f"alice:{REALM}:secret".encode()).hexdigest()
        store.users.add("newcomer", "pw")
        assert store.users.digest_algorithms("newcomer") == []
        store.users.set_password("alice", "changed")       # Digest stays on, SHA-256 added
        assert store.users.digest_algorithms("alice") == ["SHA-256", "MD5"]
    finally:
        store.close()


# --- file modes -----------------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def db_files(state: Path) -> list[Path]:
    return [p for p in state.iterdir() if p.name.startswith("smsd.db")]


def test_smsd_user_add_makes_a_private_database_and_backup(tmp_path: Path) -> None:
    state = tmp_path / "state"
    old = os.umask(0o022)                 # what a login shell usually has
    try:
        def smsd(*args: str) -> None:
            done = subprocess.run([sys.executable, "-m", "smsd", *args, "--state-dir",
                                   str(state)], capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        smsd("user", "add", "ann", "--password", "pw")
        smsd("backup", str(state / "copy.smsdbak"))
    finally:
        os.umask(old)
    files = db_files(state)
    assert files and {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(state / "copy.smsdbak") == 0o600


def test_an_old_world_readable_database_is_made_private_when_opened(tmp_path: Path) -> None:
    db = tmp_path / "smsd.db"
    Store(str(db)).close()
    keep = sqlite3.connect(db)              # holds the WAL files open, as a running reader would
    keep.execute("PRAGMA journal_mode=WAL")
    keep.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
    for p in db_files(tmp_path):
        p.chmod(0o644)
    Store(str(db)).close()
    keep.close()
    assert {p.name: mode(p) for p in db_files(tmp_path)} \
        == {p.name: 0o600 for p in db_files(tmp_path)}
