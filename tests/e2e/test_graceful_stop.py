"""A graceful stop loses nothing (issue 12): on SIGTERM or SIGINT the daemon starts no new part,
lets the parts on the air get the network's answer, records it and exits 0; what was queued is
sent after the restart. Each port of the simulated board takes 5 s per part, the daemon is
stopped 2 s into a batch of 20 messages on 4 ports: one part on the air per port."""
from __future__ import annotations

import json
import signal
import socket
import time
from typing import Any

import pytest

from e2e.harness import Daemon, journal_counts, wait_for

PORTS = 4
MESSAGES = 20
SUBMIT_TIME = 5.0


def start_slow_batch(d: Daemon) -> None:
    """Every port's network takes SUBMIT_TIME per part; 20 messages accepted; 2 s pass."""
    for port in range(PORTS):
        status, body = d.request("/sim/fault", json.dumps(
            {"port": port, "submit_time": SUBMIT_TIME}).encode())
        assert status == 200 and json.loads(body)["error_code"] == 200, body
    params = [{"number": f"+4477009{i:05d}", "text_param": [str(i)], "user_id": i}
              for i in range(MESSAGES)]
    assert d.api("send_sms", {"text": "batch #param#", "request_status_report": False,
                              "param": params})["error_code"] == 202
    time.sleep(2.0)


def all_final(d: Daemon) -> list[dict[str, Any]] | None:
    rows = d.results()
    done = len(rows) == MESSAGES and all(r["status"] in ("SENT_OK", "FAILED") for r in rows)
    return rows if done else None


def refuses_connections(d: Daemon) -> bool:
    try:
        socket.create_connection(("127.0.0.1", d.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:      # accepted by the kernel as the listener closed: ask again
        pass
    return False


def log_of(d: Daemon) -> str:
    return "".join(d.output)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_lets_the_parts_on_the_air_finish(make_daemon, tmp_path, sig) -> None:  # type: ignore[no-untyped-def]
    journal = str(tmp_path / "network.jsonl")
    d = make_daemon(ports=PORTS, extra=("--sim-journal", journal)).start()
    for bad in (b'{"port": 0, "submit_time": "slow"}', b'{"port": 0, "submit_time": -1}'):
        assert json.loads(d.request("/sim/fault", bad)[1])["error_code"] == 400
    start_slow_batch(d)
    d.proc.send_signal(sig)
    wait_for(lambda: refuses_connections(d), timeout=5, what="the listener closed")
    assert d.proc.poll() is None           # still waiting for the network's answers
    status, _ = d.signal_and_wait(timeout=30)
    log = log_of(d)
    assert status == 0, log
    assert f"stopping: {PORTS} parts in flight, waiting up to 80 s" in log, log
    assert f"stopped: {PORTS} sent, {MESSAGES - PORTS} left queued" in log, log
    assert "abandoned" not in log, log
    before = journal_counts(journal)
    assert len(before) == PORTS and max(before.values()) == 1, before

    d.start()
    rows = wait_for(lambda: all_final(d), timeout=60, what="all messages final after restart")
    assert [r for r in rows if r["status"] != "SENT_OK"] == []
    counts = journal_counts(journal)
    assert sorted(counts) == sorted(f"batch {i}" for i in range(MESSAGES))
    assert max(counts.values()) == 1, "a message went out twice"


@pytest.mark.parametrize("signals, why", [
    ((signal.SIGTERM,), "the drain timeout (1 s)"),
    ((signal.SIGINT, signal.SIGINT), "a second signal"),
], ids=["drain-timeout", "second-signal"])
def test_a_cut_short_stop_abandons_the_parts_on_the_air(make_daemon, tmp_path, signals,  # type: ignore[no-untyped-def]
                                                        why) -> None:
    journal = str(tmp_path / "network.jsonl")
    d = make_daemon(ports=PORTS, extra=("--sim-journal", journal, "--drain-timeout", "1")
                    if len(signals) == 1 else ("--sim-journal", journal)).start()
    start_slow_batch(d)
    status, _ = d.signal_and_wait(*signals, timeout=30)
    log = log_of(d)
    assert status == 0, log
    assert f"stopping: {why} cut the wait short; {PORTS} part(s) abandoned, outcome unknown " \
           "after the restart: port 0 part " in log, log
    assert f"stopped: 0 sent, {MESSAGES - PORTS} left queued" in log, log
    assert journal_counts(journal) == {}       # it did not wait for the network's answers

    d.start()
    rows = wait_for(lambda: all_final(d), timeout=60, what="all messages final after restart")
    # on the air at the stop: outcome unknown, which the JSON API shows as SENT_OK with no part
    # confirmed (docs/durability.md)
    failed = [r for r in rows if r["succ_count"] < r["count"]]
    assert len(failed) == PORTS and all(r["status"] == "SENT_OK" for r in failed)
    counts = journal_counts(journal)
    assert len(counts) == MESSAGES - PORTS and max(counts.values()) == 1
    assert not {f"batch {r['user_id']}" for r in failed} & set(counts)
