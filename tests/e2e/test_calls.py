"""Calls, CDRs and call forwarding over the JSON API (issue 16 points 1, 2 and 5's cdr push):
the real daemon on the simulator, real HTTP on loopback, a loopback push receiver."""
from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any

from e2e.harness import Daemon, PushReceiver, wait_for

# Copied from the gateway JSON API document (sections 12.4, 17 and 18.7): the shapes we answer.
SPEC_CDR_PUSH = json.loads(
    '{"sn":"xxxx-xxxx-xxxx-xxxx", "cdr": [{"port":2,"start_date":"2015-07-21 16:35:20",'
    '"answer_date":"2015-07-21 16:35:31","duration":3,"source_number":"1010",'
    '"destination_number":"6717","direction":"ip->gsm","ip":"172.16.100.136",'
    '"codec":"G.711U","hangup":"called","gsm_code":16,"bcch":""}]}')
SPEC_FORWARD_SET = ("port=8&action=CallForward&param=Unconditional&number=15013828917",
                    {"error_code": 200, "sn": "xxxx-xxxx-xxxx-xxxx"})
SPEC_FORWARD_GET = ("port=8&info_type=CallForward",
                    {"error_code": 200, "sn": "xxxx-xxxx-xxxx-xxxx",
                     "info": [{"port": 8, "CallForwarding": {"Unconditional": "15013828917"}}]})
CALLER = "+447700900123"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def sim_call(d: Daemon, **body: Any) -> dict[str, Any]:
    status, data = d.request("/sim/call", json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
    assert status == 200
    return dict(json.loads(data))


def cdrs(d: Daemon, **query: Any) -> list[dict[str, Any]]:
    reply = d.api("get_cdr", query)
    assert reply["error_code"] == 200, reply
    return list(reply["cdr"])


def ozeki(d: Daemon, **params: str) -> None:
    query = urllib.parse.urlencode({"username": "admin", "password": d.password, **params})
    with urllib.request.urlopen(f"{d.base}/api?{query}", timeout=30) as resp:
        assert resp.status == 200 and b"<error>" not in resp.read()


def test_calls_become_cdrs_and_cdr_pushes(make_daemon, receiver: PushReceiver) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2, push_urls=(receiver.url,)).start()
    own = {i["port"]: i["number"] for i in d.api("get_port_info", query="port=0,1&info_type=number")["info"]}
    ozeki(d, action="configdriver", name="GSMModem1", CALLPOLICY="ignore")
    before = time.strftime(TIME_FORMAT, time.localtime(time.time() - 1))
    # Port 0 keeps the default policy: the call is rejected at once (the caller would ring 30 s).
    assert sim_call(d, port=0, **{"from": CALLER}, ring_seconds=30)["outcome"] == "ringing"
    # Port 1 ignores calls: it rings until the caller gives up, with the caller's cause.
    assert sim_call(d, port=1, **{"from": "07700900555"}, ring_seconds=1,
                    hangup_cause=17)["outcome"] == "ringing"
    rows = wait_for(lambda: len(cdrs(d)) == 2 and cdrs(d), timeout=15, what="two CDRs")
    by_port = {r["port"]: r for r in rows}
    assert set(by_port[0]) == set(SPEC_CDR_PUSH["cdr"][0])            # exactly the spec's keys
    assert by_port[0] == {
        "port": 0, "start_date": by_port[0]["start_date"], "answer_date": "", "duration": 0,
        "source_number": CALLER, "destination_number": own[0], "direction": "gsm->ip",
        "ip": "", "codec": "", "hangup": "gateway", "gsm_code": 21, "bcch": ""}
    assert by_port[1]["hangup"] == "calling" and by_port[1]["gsm_code"] == 17
    assert by_port[1]["source_number"] == "07700900555"
    assert before <= by_port[0]["start_date"] <= time.strftime(TIME_FORMAT)
    # Filters: port, and start time bounds (the document's time format).
    assert [r["port"] for r in cdrs(d, port=[1])] == [1]
    assert cdrs(d, time_before=before) == []
    assert len(cdrs(d, time_after=before)) == 2
    assert d.api("get_cdr", query="port=0")["cdr"] == [by_port[0]]     # GET with a query too
    # Each finished call was pushed (section 17), with the same item get_cdr shows.
    pushed = wait_for(lambda: len(receiver.items("cdr")) == 2 and receiver.items("cdr"),
                      what="two cdr pushes")
    assert sorted(pushed, key=lambda r: r["port"]) == sorted(rows, key=lambda r: r["port"])
    body = next(b for b in receiver.bodies if "cdr" in b)
    assert set(body) == set(SPEC_CDR_PUSH) and body["sn"] == d.api("get_cdr")["sn"]


def test_call_forwarding_is_set_checked_and_read_back_from_the_network(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    query, answer = SPEC_FORWARD_SET
    set_reply = d.api("set_port_info", query=query.replace("port=8", "port=1"))
    assert set_reply == {**answer, "sn": set_reply["sn"]}
    query, answer = SPEC_FORWARD_GET
    expected = {**answer, "sn": set_reply["sn"],
                "info": [{**answer["info"][0], "port": 1}]}          # type: ignore[index]
    assert d.api("get_port_info", query=query.replace("port=8", "port=1")) == expected
    assert d.api("set_port_info", query="port=1&action=CheckCallForward")["error_code"] == 200
    assert d.api("get_port_info", query="port=1&info_type=CallForward") == expected
    # The network has it: a call to port 1's SIM is forwarded and never rings, so no CDR.
    assert sim_call(d, port=1, **{"from": CALLER})["outcome"] == "forwarded"
    d.api("set_port_info", {"port": 1, "action": "CallForward", "param": "NoReply",
                            "number": "+447700900999"})
    d.api("set_port_info", query="port=1&action=CheckCallForward")
    info = d.api("get_port_info", query="port=0,1&info_type=CallForward")["info"]
    assert info == [{"port": 0, "CallForwarding": {}},
                    {"port": 1, "CallForwarding": {"Unconditional": "15013828917",
                                                   "NoReply": "+447700900999"}}]
    time.sleep(0.5)
    assert d.api("get_cdr", query="port=1")["cdr"] == []
    # One reason cancelled (no number), then all of them.
    d.api("set_port_info", query="port=1&action=CallForward&param=Unconditional")
    assert d.api("get_port_info", query="port=1&info_type=CallForward")["info"][0] == \
        {"port": 1, "CallForwarding": {"NoReply": "+447700900999"}}
    d.api("set_port_info", query="port=1&action=CallForward&param=CancelAll")
    assert d.api("get_port_info", query="port=1&info_type=CallForward")["info"][0] == \
        {"port": 1, "CallForwarding": {}}
    assert sim_call(d, port=1, **{"from": CALLER}, ring_seconds=5)["outcome"] == "ringing"
    wait_for(lambda: d.api("get_cdr", query="port=1")["cdr"], what="the call rang again")


def refusal(d: Daemon, name: str, query: str) -> tuple[int, str]:
    reply = d.api(name, query=query)
    return reply["error_code"], reply.get("reason", "")


def test_bad_call_requests_get_the_documents_codes_with_a_reason(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    forward = "set_port_info"
    assert refusal(d, forward, "port=5&action=CallForward&param=Busy&number=123") == \
        (400, "no port 5")
    code, reason = refusal(d, forward, "port=0&action=CallForward&param=Busy&number=12ab")
    assert code == 400 and "not a phone number" in reason
    code, reason = refusal(d, forward, "port=0&action=CallForward&param=Sideways&number=123")
    assert code == 400 and "Unconditional, Busy, NoReply, NotReachable or CancelAll" in reason
    code, reason = refusal(d, forward, "port=0&action=CallForward&number=123")
    assert code == 400 and "'param'" in reason
    assert refusal(d, forward, "port=0&action=CallForward&param=Not_Reachable&number=123") == \
        (200, "")                                                   # the spec's own spelling
    code, reason = refusal(d, "get_port_info", "port=0&info_type=imei,CallForward")
    assert code == 400 and "alone" in reason
    code, reason = refusal(d, "get_cdr", "time_after=yesterday")
    assert code == 400 and "YYYY-MM-DD HH:MM:SS" in reason
    assert refusal(d, "get_cdr", "port=40")[0] == 400
    # A port without a SIM.
    status, _ = d.request("/sim/fault", json.dumps({"port": 1, "fault": "no_sim"}).encode(),
                          headers={"Content-Type": "application/json"})
    assert status == 200
    wait_for(lambda: d.api("get_port_info", query="port=1&info_type=reg")["info"][0]["reg"]
             == "NO_SIM", what="SIM gone")
    assert refusal(d, forward, "port=1&action=CheckCallForward") == (400, "port 1 has no SIM")
    # The simulator's endpoint refuses impossible calls in its own words.
    status, data = d.request("/sim/call", json.dumps({"port": 0, "from": "abc"}).encode(),
                             headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(data)["error_code"] == 400
