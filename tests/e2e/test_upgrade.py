"""Upgrading from each release loses nothing.

For every release in releases.txt: the release is installed from its tag (or its recorded commit)
into a venv of its own (release_venv.py: its packaging, entry point, package data and C codec build
are exercised; the venv is cached under build/), its `smsd` entry point runs the daemon on the
simulator with its own C codec, and it is filled through its own interfaces: users with permissions
and credits (its `smsd user` command), contacts, groups and a forwarding route (its CSV import and
`smsd route`), messages DELIVERED, SENT_OK and FAILED, messages left queued (the simulated network
down), an inbound SMS, and pushes pending (both push targets refusing). Then the current code
starts on the same state directory: the data must all be there, seen through the same interfaces,
and the queue and the pending pushes must go out.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import Daemon, PushReceiver, wait_for
from e2e.release_venv import ReleaseVenv, release_venv
from smsd.store import migrate

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ROOT / "releases.txt"
PORTS = 2
CONTACTS_CSV = "Name,Number,Groups\nAnn,+447700900201,friends\nBen,+447700900202,friends;work\n"
GROUPS_CSV = "Group,Members\nsolo,Ann\n"
LONG_TEXT = "queued across the upgrade " * 8          # two parts


def releases() -> list[tuple[str, str]]:
    out = []
    for line in RELEASES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            tag, commit = line.split()
            out.append((tag, commit))
    return out


def git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, timeout=120)


def resolve(tag: str, commit: str) -> str:
    """The release's commit: from its tag when the clone has tags, else the recorded one."""
    if shutil.which("git") is None or git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout: the releases' code is not at hand")
    tagged = git("rev-parse", "--verify", "--quiet", f"{tag}^{{commit}}")
    if tagged.returncode == 0:
        found = tagged.stdout.decode().strip()
        assert found == commit, f"tag {tag} is {found}, releases.txt says {commit}"
        return found
    assert git("cat-file", "-e", f"{commit}^{{commit}}").returncode == 0, \
        f"{tag}: commit {commit} is not in this clone (a shallow clone? fetch the history)"
    return commit


@dataclass(frozen=True)
class Smsd:
    """One smsd: how to run it and its environment."""
    command: tuple[str, ...]
    env: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """An smsd command's output."""
        done = subprocess.run([*self.command, *args], input=stdin, capture_output=True,
                              text=True, timeout=60, env={**os.environ, **self.env})
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def daemon(self, state: str, **kw: Any) -> Daemon:
        return Daemon(state, command=self.command, env=self.env, **kw)


CURRENT = Smsd((sys.executable, "-m", "smsd"), {})      # the code under test


def released(rv: ReleaseVenv) -> Smsd:
    """The release, through its venv's entry point."""
    return Smsd((str(rv.smsd),), rv.env())


def dump(path: str) -> list[str]:
    """The database's rows and schema, and its user_version last."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return list(conn.iterdump()) + [f"user_version={version}"]
    finally:
        conn.close()


def as_user(d: Daemon, name: str, password: str, api: str, obj: Any) -> dict[str, Any]:
    status, body = d.request(f"/api/{api}", json.dumps(obj).encode(), auth=(name, password),
                             headers={"Content-Type": "application/json"})
    assert status == 200, (status, body)
    reply: dict[str, Any] = json.loads(body)
    return reply


def results_by_number(d: Daemon) -> dict[str, dict[str, Any]]:
    return {r["number"]: r for r in d.results()}


def out_for(d: Daemon, *numbers: str) -> dict[str, dict[str, Any]] | None:
    """The results, once the messages to `numbers` are all sent."""
    rows = results_by_number(d)
    done = all(rows.get(n, {}).get("status") in ("SENT_OK", "DELIVERED") for n in numbers)
    return rows if done else None


def table(text: str) -> list[dict[str, str]]:
    """A `smsd ... list` table as rows by column name (no cell here holds a space)."""
    header, *rows = text.splitlines()
    return [dict(zip(header.split(), row.split(), strict=True)) for row in rows if row.strip()]


def as_before(after: Any, before: Any) -> Any:
    """`after` with only what `before` has: the fields and table columns a later version added
    are left out, every one the release showed is kept (with its value, to compare)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return {key: as_before(after.get(key, "<missing>"), value)
                for key, value in before.items()}
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [as_before(a, b) for a, b in zip(after, before)]
    return after


def snapshot(d: Daemon, smsd: Smsd, state: str) -> dict[str, Any]:
    """What the interfaces show of the data (compared before and after the upgrade)."""
    contacts = list(csv.DictReader(io.StringIO(
        smsd.cli("contacts", "export", "-", "--state-dir", state))))
    groups = list(csv.DictReader(io.StringIO(
        smsd.cli("groups", "export", "-", "--state-dir", state))))
    return {
        "users": table(smsd.cli("user", "list", "--state-dir", state)),
        "routes": table(smsd.cli("route", "list", "--state-dir", state)),
        "contacts": sorted((c["Name"], c["Number"]) for c in contacts),
        "groups": sorted((g["Group"], g["Members"]) for g in groups),
        "inbox": d.api("query_incoming_sms", query="flag=all")["sms"],
        "reports": d.api("query_sms_deliver_status", {})["result"],
        "connections": ozeki(d, action="listdrivers"),
    }


def administer_old(smsd: Smsd, state: str, route_url: str) -> None:
    """Users, the address book and a route, with the old release's commands (before its
    daemon starts, so that the route is among its push targets from the start)."""
    smsd.cli("user", "add", "bob", "--password", "bob-pw", "--perm", "api:json,api:isms",
             "--credits", "50", "--state-dir", state)
    smsd.cli("user", "add", "carol", "--password", "carol-pw", "--perm", "web",
             "--state-dir", state)
    smsd.cli("contacts", "import", "-", "--state-dir", state, stdin=CONTACTS_CSV)
    smsd.cli("groups", "import", "-", "--state-dir", state, stdin=GROUPS_CSV)
    smsd.cli("route", "add", route_url, "--protocol", "json", "--state-dir", state)


def fill_old(d: Daemon) -> dict[str, int]:
    """Put data of every kind in through the old release's HTTP interfaces (the running `d`);
    the task ids by role."""
    tasks = {}
    tasks["delivered"] = as_user(d, "bob", "bob-pw", "send_sms", {
        "text": "delivered before the upgrade",
        "param": [{"number": "+447700900101", "user_id": 1}]})["task_id"]
    tasks["sent"] = d.api("send_sms", {"text": "sent, no report", "request_status_report": False,
                                       "param": [{"number": "+447700900102", "user_id": 2}]})["task_id"]
    d.request("/sim/sms", json.dumps({"port": 0, "from": "+447700900555",
                                      "text": "inbound before the upgrade"}).encode())
    wait_for(lambda: (r := results_by_number(d)).get("+447700900101", {}).get("status")
             == "DELIVERED" and r.get("+447700900102", {}).get("status") == "SENT_OK",
             what="the delivered and the sent message")
    wait_for(lambda: d.api("query_incoming_sms", query="flag=all")["sms"], what="the inbound SMS")
    # Sending off on every port (Ozeki connection settings): what is sent now stays queued,
    # or is stopped (FAILED).
    for port in range(PORTS):
        ozeki(d, action="configdriver", name=f"GSMModem{port}", SEND="no")
    tasks["queued"] = as_user(d, "bob", "bob-pw", "send_sms", {
        "text": LONG_TEXT, "param": [{"number": "+447700900103", "user_id": 3},
                                     {"number": "+447700900104", "user_id": 4}]})["task_id"]
    tasks["failed"] = d.api("send_sms", {"text": "stopped, so failed",
                                         "param": [{"number": "+447700900105", "user_id": 5}]})["task_id"]
    d.api("stop_sms", {"task_id": tasks["failed"]})
    wait_for(lambda: results_by_number(d).get("+447700900105", {}).get("status") == "FAILED",
             what="the stopped message")
    return tasks


def ozeki(d: Daemon, **params: str) -> list[dict[str, str]]:
    """An Ozeki NG API call as the admin; the items of its XML answer."""
    query = urllib.parse.urlencode({"username": "admin", "password": d.password, **params})
    status, body = d.request(f"/api?{query}")
    assert status == 200, (status, body)
    return [{c.tag: c.text or "" for c in el} for el in ET.fromstring(body) if len(el)]


@pytest.mark.parametrize("tag,commit", releases(), ids=[t for t, _ in releases()])
def test_upgrade_from_release_keeps_everything(tag: str, commit: str, tmp_path: Path) -> None:
    started = time.monotonic()
    rv = release_venv(tag, resolve(tag, commit))
    # The release's own code, its package data and its C codec, not ours
    assert Path(str(rv.probe["file"])).is_relative_to(rv.path), rv.probe
    assert rv.probe["version"] == tag.removeprefix("v"), rv.probe
    assert rv.probe["schema"] is True and rv.probe["backend"] == "c", rv.probe
    # ... which its entry point runs: a console script of the venv's interpreter
    script = rv.smsd.read_text()
    assert script.startswith(f"#!{rv.python}\n") and "from smsd.__main__ import main" in script, \
        script
    venv_took = time.monotonic() - started
    release = released(rv)
    state = str(tmp_path / "state")
    pushes = PushReceiver(failing=True)                 # both targets down while the old runs
    routed = PushReceiver(failing=True, path="/route")
    old = new = None
    try:
        old = release.daemon(state, ports=PORTS, push_urls=(pushes.url,))
        administer_old(release, state, routed.url)
        old.start()
        assert any("PDU codec backend c (smsd._pdu_c)" in line for line in old.output), \
            "".join(old.output)
        tasks = fill_old(old)
        before = snapshot(old, release, state)
        results_before = results_by_number(old)
        queued = [results_before[n] for n in ("+447700900103", "+447700900104")]
        assert all(r["status"] not in ("SENT_OK", "DELIVERED", "FAILED") for r in queued), queued
        assert routed.attempts and pushes.attempts and not routed.posts and not pushes.posts
        old.stop()
        old_took = time.monotonic() - started
        old_dump = dump(os.path.join(state, "smsd.db"))
        old_version = int(old_dump[-1].split("=")[1])

        pushes.failing = routed.failing = False
        new = CURRENT.daemon(state, ports=PORTS, push_urls=(pushes.url,))
        new.start()
        # The file as the release left it is kept beside, when the schema had to change.
        copies = [n for n in os.listdir(state) if n.startswith("smsd.db.pre-v")]
        if old_version < migrate.latest():
            assert copies == [f"smsd.db.pre-v{migrate.latest()}.bak"]
            assert dump(os.path.join(state, copies[0])) == old_dump
        else:
            assert copies == []
        # Everything is there, through the same interfaces.
        assert as_before(snapshot(new, CURRENT, state), before) == before
        after = results_by_number(new)
        for number in ("+447700900101", "+447700900102", "+447700900105"):
            assert as_before(after[number], results_before[number]) == results_before[number]
        assert as_user(new, "bob", "bob-pw", "query_sms_in_queue", {})["error_code"] == 200
        status, _ = new.request("/api/query_sms_in_queue", auth=("carol", "carol-pw"))
        assert status == 403                           # carol kept her permissions (web only)
        # The queue goes out once sending is on again ...
        for port in range(PORTS):
            ozeki(new, action="configdriver", name=f"GSMModem{port}", SEND="yes")
        sent = wait_for(lambda: out_for(new, "+447700900103", "+447700900104"),
                        timeout=60, what="the queued messages to go out")
        assert sent["+447700900103"]["count"] == 2
        # ... and so do the pushes held back: the inbound SMS to the route, the events to the
        # push target (results of the messages finished before the upgrade included).
        wait_for(lambda: any(s["text"] == "inbound before the upgrade"
                             for s in routed.items("sms")),
                 timeout=60, what="the routed inbound SMS")
        wait_for(lambda: {"+447700900101", "+447700900102", "+447700900105"}
                 <= {r["number"] for r in pushes.items("sms_result")}
                 and any(s["text"] == "inbound before the upgrade" for s in pushes.items("sms")),
                 timeout=60, what="the pending pushes")
        bob = next(u for u in snapshot(new, CURRENT, state)["users"] if u["NAME"] == "bob")
        # bob paid 1 part for the delivered message and 2 x 2 for the queued pair, once: 50 - 5
        assert (bob["CREDITS"], bob["PERMISSIONS"]) == ("45", "api:json,api:isms"), bob
    finally:
        for d in (old, new):
            if d is not None:
                d.stop()
                print(f"--- daemon log (last 60 lines) ---\n{''.join(d.output[-60:])}")
        pushes.close()
        routed.close()
    made = "cached" if rv.made_in is None else f"made in {rv.made_in:.1f}s"
    print(f"upgrade from {tag}: its venv {made} ({venv_took:.1f}s with the checks; built with "
          f"{rv.route}; from the index: {rv.extra_deps or 'nothing'}), the release filled its "
          f"database in {old_took - venv_took:.1f}s, {time.monotonic() - started:.1f}s in all; "
          f"task ids {tasks}")

