"""Per-SIM limits and rotation, IMEI/number/block, device and exception_info pushes, end to end.

The daemon runs in simulate mode; limits are set on the web console's Ports page (a signed-in
session over HTTP, as a browser would), everything else through the JSON API and /sim/fault, and
pushes arrive at a loopback receiver. Bodies are compared with the shapes of the JSON API
document, section 17 (copied below).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from e2e.harness import ADMIN_PW, fast_recovery_config, keepalive_every, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from console_front import Client  # noqa: E402

# Section 17 of the JSON API document: the device and exception bodies (shape: keys and types).
DOC_DEVICE = {"sn": "xxxx-xxxx-xxxx-xxxx", "device": {"port_number": 32, "IP": "172.18.55.142",
                                                      "MAC": "F8-A0-3D-48-E5-19",
                                                      "status": "power_on"}}
DOC_EXCEPTION = {"sn": "xxxx-xxxx-xxxx-xxxx",
                 "exception_info": {"port": 0, "type": "call_fail", "action": "reset"}}


def port_info(d, port: int, keys: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return d.api("get_port_info", query=f"port={port}&info_type={keys}")["info"][0]


def console(d) -> Client:  # type: ignore[no-untyped-def]
    client = Client("127.0.0.1", d.port)
    assert client.login("admin", ADMIN_PW).status == 303
    return client


def set_sim(client: Client, port: int, slot: int, **values: str) -> None:
    reply = client.post("/ports/sim", {"port": str(port), "slot": str(slot), **values})
    assert reply.status == 303, reply.body[-600:]


def exceptions(receiver, **match: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    found = [b["exception_info"] for b in receiver.bodies if "exception_info" in b]
    return [e for e in found if all(e.get(k) == v for k, v in match.items())]


def sent(d, user_ids: list[int]) -> list[dict[str, Any]] | None:  # type: ignore[no-untyped-def]
    rows = d.results(user_id=user_ids)
    done = len(rows) == len(user_ids) and all(r["status"] in ("SENT_OK", "DELIVERED")
                                              for r in rows)
    return rows if done else None


def send(d, first: int, count: int, ports: list[int] | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    ids = list(range(first, first + count))
    body: dict[str, Any] = {"text": "budget", "request_status_report": False,
                            "param": [{"number": f"+4477009{i:05d}", "user_id": i} for i in ids]}
    if ports is not None:
        body["port"] = ports
    assert d.api("send_sms", body)["error_code"] == 202
    return ids


def test_limits_rotate_to_the_next_slot_then_to_other_ports(make_daemon, receiver) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2, slots=2, push_urls=(receiver.url,)).start()
    device = wait_for(lambda: [b for b in receiver.bodies if "device" in b], what="device push")
    assert set(device[0]) == set(DOC_DEVICE)
    assert set(device[0]["device"]) == set(DOC_DEVICE["device"])
    assert device[0]["device"]["port_number"] == 2 and device[0]["device"]["status"] == "power_on"

    client = console(d)
    set_sim(client, 0, 0, sim_parts_per_day="2")
    set_sim(client, 0, 1, sim_parts_per_day="2", credit="10")
    before = port_info(d, 0, "slot,imsi,remain_daily_credit,remain_monthly_credit,remain_credit,"
                             "remain_daily_calltime,remain_hourly_calltime,remain_daily_connect")
    assert before == {"port": 0, "slot": 0, "imsi": before["imsi"], "remain_daily_credit": "2.00",
                      "remain_monthly_credit": "", "remain_credit": "",
                      "remain_daily_call_time": "", "remain_hourly_call_time": "",
                      "remain_daily_connected": ""}

    ids = send(d, 1, 4, [0])
    rows = wait_for(lambda: sent(d, ids), timeout=40, what="4 SMS through port 0")
    assert {r["port"] for r in rows} == {0}
    by_id = {r["user_id"]: r["imsi"] for r in rows}
    assert by_id[1] == by_id[2] == before["imsi"] and by_id[3] == by_id[4] != before["imsi"]
    wait_for(lambda: exceptions(receiver, port=0, type="limit_reached", slot=0,
                                action="switch_slot"), what="limit push")
    wait_for(lambda: exceptions(receiver, port=0, type="slot_switched", slot=1), what="switch push")
    body = next(b for b in receiver.bodies if "exception_info" in b)
    assert set(body) == set(DOC_EXCEPTION)

    after = port_info(d, 0, "slot,remain_daily_credit,remain_credit")
    assert after == {"port": 0, "slot": 1, "remain_daily_credit": "0.00", "remain_credit": "8.00"}

    # Every SIM of port 0 is spent: messages for any port go to port 1, none is lost.
    ids = send(d, 5, 2)
    rows = wait_for(lambda: sent(d, ids), timeout=30, what="sent elsewhere")
    assert {r["port"] for r in rows} == {1}
    wait_for(lambda: exceptions(receiver, port=0, type="limit_reached", slot=1,
                                action="stop_sending"), what="stop push")

    # The network refuses port 1's SIM: it hands over to slot 1 and says so.
    assert d.request("/sim/fault", b'{"port": 1, "denied": true}')[0] == 200
    wait_for(lambda: exceptions(receiver, port=1, type="reg_denied", action="switch_slot"),
             what="denied push")
    wait_for(lambda: port_info(d, 1, "slot,reg") == {"port": 1, "slot": 1, "reg": "REGISTER_OK"},
             timeout=20, what="port 1 on slot 1")


def test_imei_number_block_and_a_hung_modem(make_daemon, receiver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1, push_urls=(receiver.url,),
                    extra=fast_recovery_config(str(tmp_path))).start()
    # The idle refresh every 5 s, from the reset below on: once the hang at the end is cleared,
    # the next refresh finds the port registered again (30 s by default).
    keepalive_every(d, 0, 5)
    imei = "861673031234562"
    assert d.api("set_port_info", query=f"port=0&action=imei&param={imei}")["error_code"] == 200
    assert port_info(d, 0, "imei") == {"port": 0, "imei": imei}
    for bad in ("123", "861673031234563", "86167303123456x"):
        reply = d.api("set_port_info", query=f"port=0&action=imei&param={bad}")
        assert reply["error_code"] == 400 and reply["reason"]
    assert d.api("set_port_info", query=f"port=7&action=imei&param={imei}")["error_code"] == 400
    assert d.api("set_port_info", query="port=0&action=number")["error_code"] == 400

    assert d.api("set_port_info", query="port=0&action=number&param=%2B447700900555")[
        "error_code"] == 200
    assert port_info(d, 0, "number")["number"] == "+447700900555"

    d.api("set_port_info", query="port=0&action=reset")
    wait_for(lambda: port_info(d, 0, "reg")["reg"] == "REGISTER_OK", timeout=40, what="reset")
    assert port_info(d, 0, "imei,number") == {"port": 0, "imei": imei, "number": "+447700900555"}

    assert d.api("set_port_info", query="port=0&action=block")["error_code"] == 200
    assert port_info(d, 0, "blocked") == {"port": 0, "blocked": True}
    send(d, 1, 1, [0])
    try:
        wait_for(lambda: sent(d, [1]), timeout=2, what="nothing sent while blocked")
        raise AssertionError("a blocked SIM sent a message")
    except AssertionError as exc:
        assert "timed out" in str(exc)
    assert d.api("set_port_info", query="port=0&action=unblock")["error_code"] == 200
    assert wait_for(lambda: sent(d, [1]), timeout=20, what="sent after unblock")[0]["port"] == 0

    d.request("/sim/fault", b'{"port": 0, "fault": "hang"}')
    send(d, 2, 1, [0])                       # the submit finds the modem hung
    wait_for(lambda: exceptions(receiver, port=0, type="modem_hung", action="recover"),
             timeout=30, what="hung push")
    wait_for(lambda: exceptions(receiver, port=0, type="modem_hung", action="retry"),
             what="recovery step push")
    d.request("/sim/fault", b'{"port": 0, "fault": "none"}')
    assert wait_for(lambda: sent(d, [2]), timeout=60, what="sent after recovery")[0]["port"] == 0

    d.stop()          # a graceful stop says power_off before the push thread ends
    statuses = [b["device"]["status"] for b in receiver.bodies if "device" in b]
    assert statuses == ["power_on", "power_off"]
