"""`smsd user|contacts|groups|route` run as a subprocess against a temporary state dir."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from smsd.admin_cli import Admin
from smsd.model import Contact, Group
from smsd.store import Store


def smsd(state: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smsd", *args, "--state-dir", str(state)],
                          input=stdin, capture_output=True, text=True, timeout=60)


def ok(state: Path, *args: str, stdin: str = "") -> str:
    done = smsd(state, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def opened(state: Path) -> Store:
    return Store(str(state / "smsd.db"))


def test_user_commands(tmp_path: Path) -> None:
    ok(tmp_path, "user", "add", "ann", "--password", "pw1", "--perm", "web,api:json",
       "--credits", "5")
    printed = ok(tmp_path, "user", "add", "bob", "--admin")   # no terminal: a random password
    bob_pw = printed.split("password: ")[1].strip()
    store = opened(tmp_path)
    try:
        assert store.users.check("ann", "pw1") and store.users.check("bob", bob_pw)
        assert store.users.login_sha1("ann", hashlib.sha1(b"pw1").hexdigest()) is not None
        ann = store.users.info("ann")
        assert ann is not None and ann.perms == {"web", "api:json"} and ann.credits == 5
        ok(tmp_path, "user", "passwd", "ann", "--password", "pw2")
        assert not store.users.check("ann", "pw1") and store.users.check("ann", "pw2")
        assert ok(tmp_path, "user", "credits", "ann", "+3").strip() == "8"
        ok(tmp_path, "user", "credits", "ann", "2")
        assert store.users.info("ann").credits == 2             # type: ignore[union-attr]
        assert smsd(tmp_path, "user", "credits", "ann", "-3").returncode == 1
        ok(tmp_path, "user", "credits", "ann", "unlimited")
        ok(tmp_path, "user", "perm", "ann", "api:*")
        assert store.users.info("ann").perms == {               # type: ignore[union-attr]
            "api:json", "api:isms", "api:gateway_php", "api:intelli", "api:ozeki"}
        lines = ok(tmp_path, "user", "list").splitlines()
        assert lines[0].split() == ["NAME", "ADMIN", "CREDITS", "DIGEST", "PERMISSIONS"]
        assert lines[1].split()[:4] == ["ann", "no", "unlimited", "off"]
        assert lines[2].split() == ["bob", "yes", "unlimited", "off", "all"]
        ok(tmp_path, "user", "disable", "ann")
        assert store.users.info("ann").disabled                 # type: ignore[union-attr]
        assert ok(tmp_path, "user", "list").splitlines()[1].endswith(" (disabled)")
        ok(tmp_path, "user", "enable", "ann")
        assert not store.users.info("ann").disabled             # type: ignore[union-attr]
        ok(tmp_path, "user", "del", "ann")
        assert store.users.info("ann") is None
    finally:
        store.close()


@pytest.mark.parametrize("args", [
    ("user", "add", "ann", "--password", "x", "--perm", "web,fax"),
    ("user", "del", "nobody"),
    ("user", "disable", "nobody"),
    ("user", "passwd", "nobody", "--password", "x"),
    ("user", "credits", "nobody", "5"),
    ("user", "credits", "nobody", "lots"),
    ("route", "add", "gopher://x"),
    ("route", "del", "7"),
])
def test_mistakes_exit_1_with_a_message(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = smsd(tmp_path, *args)
    assert done.returncode == 1 and done.stderr.startswith("smsd: ")


def test_user_digest_options(tmp_path: Path) -> None:
    """Digest is off unless asked for; add --digest, passwd --digest/--no-digest (default: as it
    was) and `user digest NAME on|off` (on needs the current password) set it."""
    ok(tmp_path, "user", "add", "ann", "--password", "pw1")
    ok(tmp_path, "user", "add", "cy", "--password", "pw1", "--digest")
    store = opened(tmp_path)
    try:
        assert store.users.digest_algorithms("ann") == []
        assert store.users.digest_algorithms("cy") == ["SHA-256", "MD5"]
        assert store.users.digest_ha1("cy", "smsd", "SHA-256") \
            == hashlib.sha256(b"cy:smsd:pw1").hexdigest()
        ok(tmp_path, "user", "passwd", "cy", "--password", "pw2")
        assert store.users.digest_ha1("cy", "smsd") == hashlib.md5(b"cy:smsd:pw2").hexdigest()
        ok(tmp_path, "user", "passwd", "cy", "--password", "pw3", "--no-digest")
        assert store.users.digest_algorithms("cy") == []
        ok(tmp_path, "user", "passwd", "ann", "--password", "pw4", "--digest")
        assert store.users.digest_algorithms("ann") == ["SHA-256", "MD5"]
        ok(tmp_path, "user", "digest", "ann", "off")
        assert store.users.digest_algorithms("ann") == []
        wrong = smsd(tmp_path, "user", "digest", "ann", "on", "--password", "pw1")
        assert wrong.returncode == 1 and "not the password" in wrong.stderr
        assert smsd(tmp_path, "user", "digest", "ann", "on").returncode == 1   # no terminal
        ok(tmp_path, "user", "digest", "ann", "on", "--password", "pw4")
        assert store.users.digest_ha1("ann", "smsd") == hashlib.md5(b"ann:smsd:pw4").hexdigest()
        assert store.users.check("ann", "pw4")                  # the password did not change
        lines = ok(tmp_path, "user", "list").splitlines()
        assert [line.split()[3] for line in lines[1:]] == ["SHA-256,MD5", "off"]
    finally:
        store.close()



def test_address_book_files(tmp_path: Path) -> None:
    contacts = tmp_path / "in.csv"
    contacts.write_text("Name,Phone Number,Group\nAnn,+441,team\nBob,2,team;all\n",
                        encoding="utf-8")
    assert "2 contacts imported" in ok(tmp_path, "contacts", "import", str(contacts))
    assert "1 groups imported" in ok(tmp_path, "groups", "import", "-", stdin="Group,Members\n"
                                                                           "all,Bob;Ann\n")
    ok(tmp_path, "contacts", "export", str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines() == [
        "Name,Number,Groups", "Ann,+441,all;team", "Bob,2,all;team"]
    assert ok(tmp_path, "groups", "export", "-").splitlines() == [
        "Group,Members", "all,Bob;Ann", "team,Ann;Bob"]
    store = opened(tmp_path)
    try:
        book = Admin(store)
        assert book.book.contacts() == [Contact("Ann", "+441"), Contact("Bob", "2")]
        assert book.book.groups() == [Group("all", ("Bob", "Ann")), Group("team", ("Ann", "Bob"))]
    finally:
        store.close()


def test_route_commands(tmp_path: Path) -> None:
    assert ok(tmp_path, "route", "add", "http://127.0.0.1:9000/rx", "--port", "3",
              "--sender-prefix", "+44", "--text-prefix", "KEY").strip() == "1"
    assert ok(tmp_path, "route", "add", "http://127.0.0.1:9001/rx", "--protocol",
              "json").strip() == "2"
    lines = ok(tmp_path, "route", "list").splitlines()
    assert lines[1].split() == ["1", "isms", "3", "+44", "KEY", "http://127.0.0.1:9000/rx"]
    assert lines[2].split() == ["2", "json", "any", "*", "*", "http://127.0.0.1:9001/rx"]
    ok(tmp_path, "route", "del", "1")
    store = opened(tmp_path)
    try:
        assert [r.id for r in store.routes.all()] == [2] and store.events.push_cursor("route:2") == 0
    finally:
        store.close()
