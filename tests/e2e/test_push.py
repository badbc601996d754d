"""Push events end to end: the daemon POSTs the spec's JSON bodies to a loopback receiver, retries
until it answers 2xx, and keeps undelivered events across a kill -9."""
from __future__ import annotations

from e2e.harness import PushReceiver, wait_for


def test_events_are_pushed_with_retry(make_daemon, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.fail_first = 3
    d = make_daemon(ports=2, push_urls=(receiver.url,)).start()
    ups = wait_for(lambda: len(receiver.items("register")) >= 2 and receiver.items("register"),
                   what="register up events")
    assert {r["port"] for r in ups} == {0, 1} and all(r["status"] == "up" for r in ups)
    assert all(r["imsi"] and r["iccid"] for r in ups) and "slot" not in ups[0]
    d.api("send_sms", {"text": "pushed", "param": [{"number": "+447700900777", "user_id": 5}]})
    d.request("/sim/sms", b'{"port": 1, "from": "+447700900555", "text": "inbound push"}')
    d.api("send_ussd", {"port": [0], "text": "*100#"})
    wait_for(lambda: receiver.items("sms") and receiver.items("ussd")
             and receiver.items("sms_deliver_status")
             and any(r["status"] == "DELIVERED" for r in receiver.items("sms_result")),
             timeout=30, what="all event kinds")
    sms = receiver.items("sms")[0]
    assert set(sms) == {"incoming_sms_id", "port", "number", "smsc", "timestamp", "text"}
    assert (sms["port"], sms["number"], sms["text"]) == (1, "+447700900555", "inbound push")
    result = [r for r in receiver.items("sms_result") if r["status"] == "DELIVERED"][0]
    assert result["number"] == "+447700900777" and result["user_id"] == 5
    assert receiver.items("sms_deliver_status")[0]["status_code"] == 0
    assert "balance" in receiver.items("ussd")[0]["text"].lower()
    assert receiver.attempts > len(receiver.bodies)       # the first three were refused and retried
    assert all(b["sn"] == d.api("query_sms_in_queue")["sn"] for b in receiver.bodies)


def test_undelivered_events_survive_kill9(make_daemon) -> None:  # type: ignore[no-untyped-def]
    receiver = PushReceiver(fail_first=10**9)       # down until we say otherwise
    try:
        d = make_daemon(ports=1, push_urls=(receiver.url,)).start()
        d.request("/sim/sms", b'{"port": 0, "from": "+447700900556", "text": "kept"}')
        wait_for(lambda: d.api("query_incoming_sms", query="flag=all")["sms"], what="stored")
        d.kill9()
        receiver.fail_first = 0
        d.start()
        wait_for(lambda: any(m["text"] == "kept" for m in receiver.items("sms")), timeout=30,
                 what="push after restart")
    finally:
        receiver.close()
