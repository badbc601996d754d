"""Ports end to end: USSD, slots, power, a stuck modem, inbound SMS and the unread/read flags."""
from __future__ import annotations

from e2e.harness import fast_recovery_config, wait_for


def port_info(d, port: int, keys: str):  # type: ignore[no-untyped-def]
    return d.api("get_port_info", query=f"port={port}&info_type={keys}")["info"][0]


def test_ussd_balance_and_own_number(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    reply = d.api("send_ussd", {"port": [0, 1], "text": "*101#"})
    assert reply["error_code"] == 202
    assert [r["status"] for r in reply["result"]] == [200, 200]
    numbers = [port_info(d, p, "number")["number"] for p in (0, 1)]
    replies = wait_for(lambda: (lambda r: r if all(x["text"] for x in r) else None)(
        d.api("query_ussd_reply", query="port=0,1")["reply"]), what="USSD replies")
    for rep, number in zip(replies, numbers):
        assert number.lstrip("+")[-6:] in rep["text"]
    assert d.api("send_ussd", {"port": [0], "command": "send"})["error_code"] == 400


def test_slot_switch_power_and_reset(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1, slots=2).start()
    before = port_info(d, 0, "imsi,slot,reg")
    assert before["slot"] == 0 and before["reg"] == "REGISTER_OK"
    assert d.api("set_port_info", query="port=0&action=slot&param=1")["error_code"] == 200
    after = wait_for(lambda: (lambda i: i if i["slot"] == 1 and i["reg"] == "REGISTER_OK" else None)(
        port_info(d, 0, "imsi,slot,reg")), what="slot 1 registered")
    assert after["imsi"] and after["imsi"] != before["imsi"]
    assert d.api("set_port_info", query="port=0&action=slot&param=7")["error_code"] == 400
    assert d.api("set_port_info", query="port=0&action=power&param=off")["error_code"] == 200
    wait_for(lambda: port_info(d, 0, "reg")["reg"] == "POWER_OFF", what="power off")
    assert d.api("send_sms", {"text": "x", "port": [0], "param": [{"number": "1"}]})["error_code"] == 550
    d.api("set_port_info", query="port=0&action=power&param=on")
    wait_for(lambda: port_info(d, 0, "reg")["reg"] == "REGISTER_OK", what="power on")
    d.api("set_port_info", query="port=0&action=reset")
    wait_for(lambda: port_info(d, 0, "reg")["reg"] == "REGISTER_OK", timeout=30, what="after reset")
    assert d.api("set_port_info", query="port=0&action=fly")["error_code"] == 400


def test_stuck_modem_does_not_block_the_board(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=3, extra=fast_recovery_config(str(tmp_path))).start()
    d.request("/sim/fault", b'{"port": 0, "fault": "hang"}')
    params = [{"number": f"+4477009{i:05d}", "user_id": i} for i in range(20)]
    d.api("send_sms", {"text": "while stuck", "request_status_report": False, "param": params})
    rows = wait_for(lambda: (lambda r: r if len(r) == 20 and all(
        x["status"] in ("SENT_OK", "FAILED") for x in r) else None)(d.results()),
        timeout=60, what="batch done despite a stuck modem")
    assert sum(r["status"] == "SENT_OK" for r in rows) >= 19
    wait_for(lambda: port_info(d, 0, "reg")["reg"] != "REGISTER_OK", timeout=60,
             what="stuck port taken out of service")
    d.request("/sim/fault", b'{"port": 0, "fault": "none"}')
    wait_for(lambda: port_info(d, 0, "reg")["reg"] == "REGISTER_OK", timeout=90,
             what="stuck port recovered")
    d.api("send_sms", {"text": "after recovery", "port": [0], "param": [{"number": "+447700900999",
                                                                        "user_id": 99}]})
    wait_for(lambda: d.results(user_id=[99]) and d.results(user_id=[99])[0]["status"] in
             ("SENT_OK", "DELIVERED"), timeout=30, what="recovered port sends")
    assert d.results(user_id=[99])[0]["port"] == 0


def test_inbound_long_sms_and_flags(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    long_text = "Long inbound message. " * 15          # > 160 characters: concatenated parts
    status, _ = d.request("/sim/sms", ('{"port": 1, "from": "+447700900321", "text": "%s"}'
                                       % long_text).encode())
    assert status == 200
    page = wait_for(lambda: d.api("query_incoming_sms")["sms"], what="inbound")
    assert len(page) == 1 and page[0]["text"] == long_text and page[0]["port"] == 1
    assert page[0]["number"] == "+447700900321" and page[0]["smsc"]
    again = d.api("query_incoming_sms")
    assert again["sms"] == [] and again["read"] == 1 and again["unread"] == 0
    assert d.api("query_incoming_sms", query="flag=read")["sms"][0]["text"] == long_text
    first_id = page[0]["incoming_sms_id"]
    assert d.api("query_incoming_sms", query=f"flag=all&incoming_sms_id={first_id}")["sms"] == []
    assert d.request("/sim/sms", b'{"port": 9, "from": "1", "text": "x"}')[0] == 200
    assert d.api("query_incoming_sms", query="flag=bogus")["error_code"] == 400


def test_stop_sms_stops_unsent_parts(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1, latency=0.5).start()
    params = [{"number": f"+4477009{i:05d}"} for i in range(20)]
    task = d.api("send_sms", {"text": "stop me", "request_status_report": False,
                              "param": params})["task_id"]
    wait_for(lambda: any(r["status"] == "SENT_OK" for r in d.results()), what="first sent")
    assert d.api("stop_sms", query=f"task_id={task}")["error_code"] == 200
    # Only the part already on the air may still finish; nothing else is waiting.
    assert d.api("query_sms_in_queue")["in_queue"] <= 1
    wait_for(lambda: d.api("query_sms_in_queue")["in_queue"] == 0, what="queue empty")
    rows = wait_for(lambda: (lambda r: r if all(x["status"] != "SENDING" for x in r) else None)(
        d.results()), what="in-flight part settled")
    sent = sum(r["status"] == "SENT_OK" for r in rows)
    assert sent < 20 and sum(r["status"] == "FAILED" for r in rows) == 20 - sent


def test_fresh_state_dir_gets_a_random_admin_password(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1, admin_password=None)
    d.start(wait_ports=False)
    path = tmp_path / "state" / "admin-password"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    d.password = path.read_text().strip()
    assert len(d.password) >= 12 and d.password in "".join(d.output)
    assert d.api("query_sms_in_queue")["error_code"] == 200
