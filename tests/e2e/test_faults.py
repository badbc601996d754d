"""Every simulator fault injected on the running daemon, and the recovery it needs, with its
evidence (issue 19 points 1 and 2; docs/simulator.md#faults, docs/recovery.md).

One daemon serves the whole module (a port per fault where faults could meet); its waits are
shortened in a [modem] section so that a climb of the ladder takes seconds. Evidence is read
where an operator reads it: get_port_info's `recovery`, the exception_info pushes, /metrics
and the daemon's log.
"""
from __future__ import annotations

import json
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from e2e.harness import ADMIN_PW, FAST_RECOVERY, Daemon, PushReceiver, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from console_front import Client  # noqa: E402

pytestmark = pytest.mark.xdist_group("faults")      # one shared daemon: one worker

PORTS = 8
MODEM = FAST_RECOVERY


@pytest.fixture(scope="module")
def receiver() -> Iterator[PushReceiver]:
    r = PushReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def d(tmp_path_factory: pytest.TempPathFactory, receiver: PushReceiver) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("faults")
    conf = base / "smsd.conf"
    conf.write_text(MODEM)
    daemon = Daemon(str(base / "state"), ports=PORTS, push_urls=(receiver.url,),
                    extra=("--config", str(conf)))
    daemon.start()
    for port in range(PORTS):       # the idle refresh every 5 s (it finds a full SIM store)
        poke(daemon, port)
    yield daemon
    daemon.stop()
    print(f"--- daemon log (last 80 lines) ---\n{''.join(daemon.output[-80:])}")


# --- helpers ------------------------------------------------------------------------------------
def fault(d: Daemon, port: int, name: str, **extra: Any) -> dict[str, Any]:
    status, body = d.request("/sim/fault", json.dumps({"port": port, "fault": name,
                                                       **extra}).encode())
    answer = json.loads(body)
    assert status == 200 and answer["error_code"] == 200, answer
    return dict(answer)


def poke(d: Daemon, port: int) -> None:
    """A port setting changed (Ozeki's configdriver): the worker refreshes the modem at once,
    so a fault that waits for the next command meets one now."""
    query = urllib.parse.urlencode({"action": "configdriver", "name": f"GSMModem{port}",
                                    "KEEPALIVEPERIOD": "5", "username": "admin",
                                    "password": ADMIN_PW})
    with urllib.request.urlopen(f"{d.base}/api?{query}", timeout=30) as resp:
        body = resp.read()
        assert resp.status == 200 and b"<statuscode>0</statuscode>" in body, body


def recovery(d: Daemon, port: int) -> dict[str, Any]:
    info = d.api("get_port_info", query=f"port={port}&info_type=reg,recovery")["info"][0]
    return {**info["recovery"], "reg": info["reg"]}


def recovered(d: Daemon, port: int, count: int) -> dict[str, Any] | None:
    """The port's recovery once it has had more than `count` and is registered again."""
    r = recovery(d, port)
    done = r["count"] > count and r["state"] == "ready" and r["reg"] == "REGISTER_OK" \
        and r["recovered_by"] and not r["step"]
    return r if done else None


def send(d: Daemon, uid: int, ports: list[int] | None = None, report: bool = False,
         count: int = 1, text: str = "fault test") -> list[int]:
    ids = list(range(uid, uid + count))
    body: dict[str, Any] = {"text": text, "request_status_report": report,
                            "param": [{"number": f"+4477009{i:05d}", "user_id": i}
                                      for i in ids]}
    if ports is not None:
        body["port"] = ports
    assert d.api("send_sms", body)["error_code"] == 202
    return ids


def final(d: Daemon, ids: list[int], wanted: tuple[str, ...] = ("SENT_OK", "DELIVERED"),
          timeout: float = 30) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        rows = d.results(user_id=ids)
        return rows if len(rows) == len(ids) and all(r["status"] in wanted for r in rows) \
            else None
    return list(wait_for(done, timeout, what=f"messages {ids} {wanted}"))


def pushed(receiver: PushReceiver, **match: Any) -> list[dict[str, Any]]:
    found = [b["exception_info"] for b in receiver.bodies if "exception_info" in b]
    return [e for e in found if all(e.get(k) == v for k, v in match.items())]


def metric(d: Daemon, name: str, **labels: str) -> float | None:
    status, body = d.request("/metrics")
    assert status == 200
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.decode().splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
        if not want and line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def logged(d: Daemon, text: str) -> bool:
    """The line is in the daemon's output, or comes within 5 s (a busy stretch's INFO lines
    reach stderr up to 20 ms late); fails the test otherwise."""
    return bool(wait_for(lambda: any(text in line for line in d.output), 5, what=repr(text)))


def dashboard_line(d: Daemon, port: int) -> str:
    """The Recovery line of the port's card, as the dashboard's poll reads it."""
    client = Client("127.0.0.1", d.port)
    assert client.login("admin", ADMIN_PW).status == 303
    reply = client.get("/dashboard/data")
    assert reply.status == 200
    return str(next(p for p in json.loads(reply.body)["ports"] if p["port"] == port)["recovery"])


def inbox_from(d: Daemon, sender: str) -> list[dict[str, Any]]:
    page = d.api("query_incoming_sms", query="flag=all")["sms"]
    return [m for m in page if m["number"] == sender]


# --- the ladder ---------------------------------------------------------------------------------
def test_hang_climbs_the_ladder_and_messages_go_out_elsewhere(d: Daemon,
                                                              receiver: PushReceiver) -> None:
    before = recovery(d, 0)["count"]
    fault(d, 0, "hang")
    poke(d, 0)
    r = wait_for(lambda: (lambda x: x if x["step"] else None)(recovery(d, 0)), 10,
                 what="port 0 recovering")
    assert r["reason"].startswith("no answer to 'AT")
    ids = send(d, 100, count=6)                          # any port: the healthy ones take them
    assert {row["port"] for row in final(d, ids)} <= set(range(1, PORTS))
    r = wait_for(lambda: recovered(d, 0, before), 40, what="port 0 back")
    # Only a power cycle cures a hung module: the climb got to a GPIO rung.
    assert r["recovered_by"] in ("reset_line", "power_key", "power_enable"), r
    assert r["reason"].startswith("no answer to 'AT")
    assert pushed(receiver, port=0, type="modem_hung", action="recover")
    assert pushed(receiver, port=0, type="modem_hung", action="retry")
    wait_for(lambda: pushed(receiver, port=0, type="modem_recovered", action=r["recovered_by"]),
             what="modem_recovered push")
    assert (metric(d, "smsd_port_recoveries_total", port="0") or 0) >= before + 1
    assert metric(d, "smsd_port_last_recovery", port="0", recovered_by=r["recovered_by"]) == 1
    assert logged(d, f"port 0: recovered by {r['recovered_by']}")
    assert dashboard_line(d, 0).startswith(f"healthy; last: {r['reason']} "
                                           f"(by {r['recovered_by']}")
    assert final(d, send(d, 120, ports=[0]))[0]["port"] == 0


def test_drop_ok_is_a_timeout_the_first_rung_cures(d: Daemon) -> None:
    before = recovery(d, 2)["count"]
    fault(d, 2, "drop_ok")           # the next reply comes without its OK
    poke(d, 2)
    r = wait_for(lambda: recovered(d, 2, before), 20, what="port 2 recovered")
    assert r["recovered_by"] == "retry" and r["reason"].startswith("no answer to 'AT"), r
    assert final(d, send(d, 200, ports=[2]))[0]["port"] == 2


def test_unplugged_port_is_found_again_under_its_stable_name(d: Daemon,
                                                             receiver: PushReceiver) -> None:
    before = recovery(d, 7)["count"]
    fault(d, 7, "unplug", seconds=0.5)
    r = wait_for(lambda: recovered(d, 7, before), 30, what="port 7 back after the unplug")
    assert r["recovered_by"] == "reopen" and r["reason"].startswith("port lost"), r
    assert logged(d, "port 7: recovered by reopen")
    wait_for(lambda: pushed(receiver, port=7, type="modem_recovered", action="reopen"),
             what="modem_recovered push")
    assert final(d, send(d, 700, ports=[7]))[0]["port"] == 7


def test_port_gone_too_long_is_quarantined_with_its_reason_then_back(d: Daemon) -> None:
    before = recovery(d, 7)["count"]
    fault(d, 7, "unplug", seconds=4)      # longer than the reopen rung waits (reappear = 1)
    r = wait_for(lambda: (lambda x: x if x["state"] == "quarantined" else None)(recovery(d, 7)),
                 15, what="port 7 quarantined")
    assert r["step"] == "quarantine" and r["recovered_by"] == "quarantine", r
    assert r["reason"].startswith("port lost"), r
    assert logged(d, "port 7: quarantined after retry, reinit, reset, reopen")
    assert ": port lost" in dashboard_line(d, 7)   # "quarantine: ..." (or the next climb's)
    ids = send(d, 710, count=3)           # meanwhile the other ports send
    assert all(row["port"] != 7 for row in final(d, ids))
    r = wait_for(lambda: recovered(d, 7, before), 20, what="port 7 back from quarantine")
    assert r["recovered_by"] == "reopen" and r["reason"].startswith("port lost"), r
    assert final(d, send(d, 720, ports=[7]))[0]["port"] == 7


def test_reboot_is_noticed_and_the_modem_set_up_again(d: Daemon) -> None:
    before = recovery(d, 6)["count"]
    fault(d, 6, "reboot")                # RDY, echo on again: the worker initialises anew
    r = wait_for(lambda: recovered(d, 6, before), 20, what="port 6 re-initialised")
    assert (r["reason"], r["recovered_by"]) == ("modem restarted by itself", "reinit"), r
    assert logged(d, "port 6: modem restarted by itself")
    assert final(d, send(d, 600, ports=[6]))[0]["port"] == 6


def test_full_sim_storage_is_read_out_and_waiting_sms_arrive(d: Daemon) -> None:
    before = recovery(d, 5)["count"]
    fault(d, 5, "storage_full")
    status, _ = d.request("/sim/sms", json.dumps({"port": 5, "from": "+447700900555",
                                                  "text": "after the full store"}).encode())
    assert status == 200
    r = wait_for(lambda: (lambda x: x if x["count"] > before else None)(recovery(d, 5)), 20,
                 what="full store noticed")
    assert r["reason"] == "SIM storage full (30/30)" and r["recovered_by"] == "drain", r
    got = wait_for(lambda: inbox_from(d, "+447700900555"), 20, what="the waiting SMS")
    assert [m["text"] for m in got] == ["after the full store"]
    assert logged(d, "port 5: SIM message storage full (30/30)")


# --- errors that cost a message an attempt, never the message ----------------------------------
def test_cms_error_retries_the_part(d: Daemon) -> None:
    fault(d, 3, "cms:500", count=1)
    rows = final(d, send(d, 300, ports=[3]))
    assert rows[0]["port"] == 3
    assert (metric(d, "smsd_port_cms_errors_total", port="3", code="500") or 0) >= 1


def test_cme_errors_leave_the_port_working(d: Daemon) -> None:
    fault(d, 3, "cme:100", count=3)
    poke(d, 3)                           # the refresh's commands meet the errors
    time.sleep(0.5)
    assert recovery(d, 3)["reg"] == "REGISTER_OK"
    assert final(d, send(d, 310, ports=[3]))[0]["port"] == 3


def test_sim_busy_delays_the_send(d: Daemon) -> None:
    fault(d, 4, "sim_busy", seconds=1.5)
    rows = final(d, send(d, 400, ports=[4]))
    assert rows[0]["port"] == 4


def test_no_sim_takes_the_port_out_until_the_sim_is_back(d: Daemon,
                                                         receiver: PushReceiver) -> None:
    fault(d, 4, "no_sim")
    wait_for(lambda: recovery(d, 4)["reg"] == "NO_SIM", 10, what="NO_SIM")
    assert wait_for(lambda: pushed(receiver, port=4, type="sim_lost"), what="sim_lost push")
    rows = final(d, send(d, 410, count=4))
    assert all(row["port"] != 4 for row in rows)
    fault(d, 4, "none")
    wait_for(lambda: recovery(d, 4)["reg"] == "REGISTER_OK", 20, what="SIM back")
    assert final(d, send(d, 420, ports=[4]))[0]["port"] == 4


def test_garbage_and_slow_replies_do_not_stop_the_port(d: Daemon) -> None:
    before = recovery(d, 1)["count"]
    fault(d, 1, "garbage")
    fault(d, 1, "slow")
    rows = final(d, send(d, 500, ports=[1], count=2))
    assert {row["port"] for row in rows} == {1}
    fault(d, 1, "none")
    assert recovery(d, 1)["reg"] == "REGISTER_OK" and recovery(d, 1)["count"] == before


# --- what the network does ---------------------------------------------------------------------
def test_duplicate_and_reordered_inbound_parts_make_one_message(d: Daemon) -> None:
    fault(d, 2, "duplicate_mo")
    fault(d, 2, "parts_out_of_order")
    text = "Out of order and twice. " * 12          # three parts
    status, _ = d.request("/sim/sms", json.dumps({"port": 2, "from": "+447700900222",
                                                  "text": text}).encode())
    assert status == 200
    got = wait_for(lambda: inbox_from(d, "+447700900222"), 20, what="the long SMS")
    time.sleep(1)                                   # the repeats have arrived by now
    assert [m["text"] for m in inbox_from(d, "+447700900222")] == [text]
    assert got[0]["port"] == 2


def test_late_and_missing_reports(d: Daemon) -> None:
    fault(d, 3, "late_report", seconds=2)
    late = send(d, 800, ports=[3], report=True)
    assert final(d, late, ("SENT_OK",))
    time.sleep(1)
    assert d.results(user_id=late)[0]["status"] == "SENT_OK"       # not yet
    final(d, late, ("DELIVERED",), timeout=10)
    fault(d, 3, "no_report")
    missing = send(d, 810, ports=[3], report=True)
    final(d, missing, ("SENT_OK",))
    after = send(d, 811, ports=[3], report=True)             # the count was one
    final(d, after, ("DELIVERED",))
    assert d.results(user_id=missing)[0]["status"] == "SENT_OK"


def test_message_reference_wraps_and_reports_still_match(d: Daemon) -> None:
    fault(d, 6, "mr_wrap")
    rows = final(d, send(d, 900, ports=[6], report=True, count=10), ("DELIVERED",))
    refs = sorted(row["ref_id"] for row in rows)
    assert 255 in refs and 0 in refs


def test_schedule_sets_faults_later_and_bad_ones_are_refused(d: Daemon) -> None:
    body = {"schedule": [{"at": 0.2, "port": 5, "fault": "cme:100", "count": 1, "for": 0.5}]}
    status, answer = d.request("/sim/fault", json.dumps(body).encode())
    assert status == 200 and json.loads(answer)["planned"] == 1
    for bad in ({"port": 0, "fault": "melt"}, {"port": 0, "fault": "cms:x"},
                {"port": 0, "fault": "drop_ok", "count": 0},
                {"port": 0, "fault": "unplug", "seconds": -1},
                {"schedule": [{"at": 1, "port": 99, "fault": "hang"}]},
                {"schedule": "soon"}):
        status, answer = d.request("/sim/fault", json.dumps(bad).encode())
        assert json.loads(answer)["error_code"] == 400, bad
    assert Path(d.state_dir).exists()
