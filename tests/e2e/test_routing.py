"""Routing rules on the real daemon (simulate mode) over real HTTP (docs/routing.md): rules
made on the console's Routing page, submissions through the JSON and iSMS dialects, the
simulated network carrying the SMS; and forward-as-SMS between two ports forwarding to each
other, whose loop stops after one forward."""
from __future__ import annotations

import html
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from console_front import Client  # noqa: E402
from e2e.harness import ADMIN_PW, Daemon, wait_for  # noqa: E402


def console(d: Daemon) -> Client:
    host, port = re.match(r"http://([^:]+):(\d+)", d.base).groups()  # type: ignore[union-attr]
    c = Client(host, int(port))
    assert c.login("admin", ADMIN_PW).status == 303
    return c


def post(c: Client, path: str, fields: dict[str, str]) -> Any:
    reply = c.post(path, fields)
    assert reply.status == 303, (path, reply.status, reply.body[-1500:])
    return reply


def own_number(d: Daemon, port: int) -> str:
    return str(d.api("get_port_info", query=f"port={port}&info_type=number")["info"][0]["number"])


def inject(d: Daemon, sender: str, text: str, port: int) -> None:
    body = json.dumps({"port": port, "from": sender, "text": text}).encode()
    status, reply = d.request("/sim/sms", body, headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(reply)["error_code"] == 200, reply


def test_outbound_rules_over_http(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=3).start()
    c = console(d)
    post(c, "/routing/group", {"group_name": "uk", "group_ports": "0"})
    post(c, "/routing/group", {"group_name": "spare", "group_ports": "2"})
    post(c, "/routing/rule", {"prefix": "+44", "target1": "uk", "target2": "spare"})
    answer = html.unescape(c.post("/routing/which", {"which_number": "+447700900001"}).body)
    assert "Outbound rule 1: port(s) 1 then port(s) 3." in answer, answer[-3000:]
    assert "It would go out now on port(s) 1." in answer, answer[-3000:]
    # One submission, split per recipient: the rule's port for +44, any port for the other.
    reply = d.api("send_sms", {"text": "routed", "param": [{"number": "+447700900001"},
                                                           {"number": "+15550100"}]})
    assert reply["error_code"] == 202 and reply["task_id"], reply
    results = wait_for(lambda: [r for r in d.results() if r["status"] in ("SENT_OK", "DELIVERED")
                                ] if len(d.results()) == 2 and all(
        r["status"] in ("SENT_OK", "DELIVERED") for r in d.results()) else None, 30,
        what="both sent")
    by_number = {r["number"]: r for r in results}
    assert by_number["+447700900001"]["port"] == 0, results
    # A request naming only a port the rule does not allow: refused in the dialect's format.
    refused = d.api("send_sms", {"text": "no", "port": [1], "param": [{"number": "+447700900002"}]})
    assert refused["error_code"] == 550 and "routing rule 1" in refused["reason"], refused
    status, body = d.request("/sendmsg?user=admin&passwd=" + ADMIN_PW
                             + "&cat=1&to=447700900003&text=hi&modem=2")
    assert body.startswith(b"Err: 608"), body
    # Sending off on port 1 (the rule's first group): it falls back to the spare group.
    post(c, "/ports/settings", {"port": "0", "send": "off"})
    answer = html.unescape(c.post("/routing/which", {"which_number": "+447700900004"}).body)
    assert "It would go out now on port(s) 3." in answer, answer[-3000:]
    d.api("send_sms", {"text": "spare", "param": [{"number": "+447700900004"}]})
    spare = wait_for(lambda: [r for r in d.results(number=["+447700900004"])
                              if r["status"] in ("SENT_OK", "DELIVERED")], 30, what="sent")
    assert spare[0]["port"] == 2, spare


def test_forward_loop_between_two_ports_stops(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    first, second = own_number(d, 0), own_number(d, 1)
    c = console(d)
    post(c, "/routing/forward", {"fwd_numbers": second, "fwd_port": "0", "fwd_owner": "admin",
                                 "fwd_rate": "10"})
    post(c, "/routing/forward", {"fwd_numbers": first, "fwd_port": "1", "fwd_owner": "admin",
                                 "fwd_rate": "10"})
    inject(d, "+15550001", "loop test", port=0)
    forwarded = "Fwd from +15550001: loop test"

    def inbox() -> list[tuple[int, str]]:
        sms = d.api("query_incoming_sms", query="flag=all")["sms"]
        return sorted((m["port"], m["text"]) for m in sms)

    wait_for(lambda: (1, forwarded) in inbox(), 30, what="the forward on port 2")
    page = wait_for(lambda: (lambda b: b if "loop stopped" in b else None)(
        html.unescape(c.get("/routing").body)), 20, what="the loop stopped")
    assert "forwarded" in page
    time.sleep(2.0)                  # time for a second round, were there one
    assert inbox() == [(0, "loop test"), (1, forwarded)]
    sent = [r for r in d.results()]
    assert [r["number"] for r in sent] == [second]
