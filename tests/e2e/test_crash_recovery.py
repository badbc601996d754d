"""A crash loses nothing the network sent (issue 19 point 3, docs/durability.md).

The simulated board runs in a process of its own (`python -m smsd.sim`), as a real board outlives
the daemon: SIGKILL of the daemon leaves the modems, their SIM storage and the network running.
One daemon life story, killed twice:

1. a message goes out, the daemon is killed before its status report comes; the report arrives
   during the downtime (stored on the SIM: AT+CNMI ds=2) and so does an inbound SMS; after the
   restart the message is DELIVERED and the SMS is in the inbox and pushed;
2. two messages are killed between AT+CMGS and their answer: after the restart the one of a
   user without `resend_unknown` is outcome unknown and not resent; the one of a user who chose
   `resend_unknown` is sent again.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from e2e.harness import Daemon, PushReceiver, SimProcess, journal_counts, smsd_cli, wait_for

REPORT_DELAY = 3.0          # submit accepted -> status report, long enough to kill in between
NUMBER = "+447700900123"


def serial_daemon(tmp_path: Path, sim: SimProcess, push_url: str) -> Daemon:
    """A daemon on the simulator's ptys as real serial ports ([port.N] in its config)."""
    return sim.serial_daemon(str(tmp_path), "--push-url", push_url, push_urls=(push_url,))


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    s = SimProcess(2, "--latency", "0.05", "--report-delay", str(REPORT_DELAY),
                   "--journal", str(tmp_path / "network.jsonl"))
    yield s
    s.stop()


def result_of(d: Daemon, user_id: int) -> dict[str, Any] | None:
    found = [r for r in d.results() if r["user_id"] == user_id]
    return found[0] if found else None


def status_of(d: Daemon, user_id: int) -> str:
    found = result_of(d, user_id)
    return found["status"] if found else ""


def status_in_db(d: Daemon, user_id: int) -> str:
    import sqlite3
    conn = sqlite3.connect(os.path.join(d.state_dir, "smsd.db"))
    try:
        row = conn.execute("SELECT status FROM messages WHERE user_id = ?", (user_id,)).fetchone()
        return row[0] if row else ""
    finally:
        conn.close()


def test_a_crash_loses_nothing_the_network_sent(tmp_path: Path, sim: SimProcess) -> None:
    receiver = PushReceiver()
    d = serial_daemon(tmp_path, sim, receiver.url)
    try:
        d.start()
        # 1. a report and an SMS that arrive while the daemon is dead
        d.api("send_sms", {"text": "report after the crash", "request_status_report": True,
                           "param": [{"number": NUMBER, "user_id": 1}]})
        wait_for(lambda: status_of(d, 1) == "SENT_OK", what="first message sent")
        d.kill9()
        killed = time.monotonic()
        sim.post("/sms", {"port": 1, "from": "+447700900555", "text": "sent while down"})
        wait_for(lambda: sim.stored(0) + sim.stored(1) >= 2, timeout=REPORT_DELAY + 5,
                 what="the report and the SMS stored on the SIMs")
        assert time.monotonic() - killed < 30
        d.start()
        wait_for(lambda: status_of(d, 1) == "DELIVERED", timeout=20,
                 what="the report of the downtime matched")
        inbox = wait_for(lambda: d.api("query_incoming_sms", query="flag=all")["sms"],
                         what="the SMS of the downtime in the inbox")
        assert [m["text"] for m in inbox] == ["sent while down"]
        wait_for(lambda: any(m["text"] == "sent while down" for m in receiver.items("sms")),
                 timeout=20, what="the SMS of the downtime pushed")
        wait_for(lambda: sim.stored(0) == 0 and sim.stored(1) == 0, timeout=10,
                 what="SIM storage emptied after the commit")

        # 2. killed between AT+CMGS and its answer: outcome unknown, not resent; resent for a
        # user who chose resend_unknown
        smsd_cli(d, "user", "add", "bob", "--password", "pw-bob-1234")
        smsd_cli(d, "user", "resend-unknown", "bob", "yes")
        sim.post("/submit_time", {"port": 0, "seconds": 2})
        sim.post("/submit_time", {"port": 1, "seconds": 2})
        d.api("send_sms", {"text": "in flight at the crash", "request_status_report": False,
                           "param": [{"number": "+447700900124", "user_id": 2}]})
        d.api("send_sms", {"text": "resend me", "request_status_report": False,
                           "param": [{"number": "+447700900125", "user_id": 3}]},
              auth=("bob", "pw-bob-1234"))
        wait_for(lambda: on_air(d) == 2, what="both parts handed to the modems")
        d.kill9()
        sim.post("/submit_time", {"port": 0, "seconds": None})
        sim.post("/submit_time", {"port": 1, "seconds": None})
        d.start()
        assert status_in_db(d, 2) == "UNKNOWN"
        time.sleep(1.0)                                     # time enough for a (wrong) resend
        assert status_in_db(d, 2) == "UNKNOWN"
        shown = result_of(d, 2)                             # the JSON API's nearest status
        assert shown is not None and (shown["status"], shown["succ_count"]) == ("SENT_OK", 0)
        wait_for(lambda: status_in_db(d, 3) == "SENT_OK", what="bob's part resent")
        counts = journal_counts(str(tmp_path / "network.jsonl"))
        assert counts["in flight at the crash"] <= 1
        assert counts["report after the crash"] == 1
        assert counts["resend me"] >= 1              # 2 when the first one had gone out: his choice
        log = "".join(d.output)
        assert "outcome unknown, not resent" in log
        assert "resent (its user's resend_unknown)" in log
    finally:
        d.stop()
        receiver.close()


def on_air(d: Daemon) -> int:
    import sqlite3
    conn = sqlite3.connect(os.path.join(d.state_dir, "smsd.db"))
    try:
        return int(conn.execute("SELECT count(*) FROM parts WHERE status = 'on_air'")
                   .fetchone()[0])
    finally:
        conn.close()
