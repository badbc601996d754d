"""Ownership and roles over real HTTP on loopback, every dialect (issue 13 item 1).

A user sees and acts on their own messages and tasks, and on the inbound messages of the ports and
routes assigned to them; port control and the simulator endpoints need an admin or the `ports`
permission; a lookup of somebody else's item answers as if it did not exist. Admins see all.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest

from front import PW, Front, basic
from fakes import wait_for
from smsd.model import Recipient, SendRequest
from smsd.modem.jobs import Power

NUMBER = "+447700900123"


class FakeSim:
    """Records what the /sim/* endpoints asked of the simulator."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()

    def inject_sms(self, port: int, sender: str, text: str, slot: int | None = None) -> None:
        with self.lock:
            self.calls.append(("sms", port, sender, text))

    def inject_pdu(self, port: int, pdu_hex: str, slot: int | None = None) -> None:
        with self.lock:
            self.calls.append(("pdu", port, pdu_hex))

    def set_fault(self, port: int, fault: str) -> None:
        with self.lock:
            self.calls.append(("fault", port, fault))

    def set_submit_time(self, port: int, seconds: float | None) -> None:
        with self.lock:
            self.calls.append(("submit_time", port, seconds))


@pytest.fixture
def sim() -> FakeSim:
    return FakeSim()


@pytest.fixture
def front(tmp_path: Path, sim: FakeSim) -> Iterator[Front]:
    f = Front(str(tmp_path / "smsd.db"), sim=sim)
    svc = f.svc
    svc.users.add("boss", PW, perms=(), admin=True)
    svc.users.add("json2", PW, perms=("api:json",))
    svc.users.add("porter", PW, perms=("api:json", "api:ozeki", "ports"))
    svc.users.add("isms2", PW, perms=("api:isms",))
    svc.users.add("gw2", PW, perms=("api:gateway_php",))
    svc.users.add("oz2", PW, perms=("api:ozeki",))
    f.start()
    yield f
    f.close()


def api(front: Front, user: str, call: str, **query: Any) -> dict[str, Any]:
    target = f"/api/{call}" + ("?" + "&".join(f"{k}={quote(str(v))}" for k, v in query.items())
                               if query else "")
    reply = front.get(target, basic(user, PW))
    assert reply.status == 200, reply
    out: dict[str, Any] = json.loads(reply.body)
    return out


def sent_by(front: Front, user: str, user_id: int | None = None) -> tuple[int, int]:
    """(task id, message id) of a message queued by `user`."""
    accepted = front.svc.sending.send_sms(SendRequest(text=f"from {user}",
                                              recipients=(Recipient(NUMBER, user_id=user_id),)),
                                  user=user)
    return accepted.task_id, accepted.message_ids[0]


def received(front: Front, port: int, text: str, sender: str = "+447700900555") -> int:
    ident = front.store.inbox.add_inbound(port=port, slot=0, imsi="", sender=sender, smsc="",
                                          scts=None, text=text, concat=None, now=time.time())
    assert ident is not None
    return ident


def power_jobs(front: Front, port: int) -> list[Power]:
    worker = front.workers[port]
    with worker.lock:
        return [j for j in worker.other_jobs if isinstance(j, Power)]


# --- JSON API -----------------------------------------------------------------------------------
def test_json_port_control_needs_admin_or_the_ports_permission(front: Front) -> None:
    refused = api(front, "json", "set_port_info", port=1, action="power", param="off")
    assert refused["error_code"] == 403 and "ports" in refused["reason"]
    for action, param in (("reset", ""), ("slot", "1"), ("lock", "1234"), ("unlock", "1234")):
        assert api(front, "json", "set_port_info", port=1, action=action,
                   param=param)["error_code"] == 403
    # Even an action the box does not know is refused for the role first: nothing to probe.
    assert api(front, "json", "set_port_info", port=1, action="imei",
               param="1")["error_code"] == 403
    time.sleep(0.2)
    assert power_jobs(front, 1) == []
    assert api(front, "porter", "set_port_info", port=1, action="power",
               param="off")["error_code"] == 200
    assert api(front, "boss", "set_port_info", port=0, action="power",
               param="off")["error_code"] == 200
    assert wait_for(lambda: len(power_jobs(front, 1)) == 1 and len(power_jobs(front, 0)) == 1)


def test_json_stop_sms_of_another_users_task_is_not_found(front: Front) -> None:
    boss_task, _ = sent_by(front, "boss")
    own_task, _ = sent_by(front, "json")
    refused = api(front, "json", "stop_sms", task_id=boss_task)
    unknown = api(front, "json", "stop_sms", task_id=boss_task + 1000)
    assert refused["error_code"] == unknown["error_code"] == 404
    assert front.store.db.conn().execute("SELECT stopped FROM tasks WHERE id = ?",
                                         (boss_task,)).fetchone()[0] == 0
    assert api(front, "json", "stop_sms", task_id=own_task)["error_code"] == 200
    assert api(front, "boss", "stop_sms", task_id=boss_task)["error_code"] == 200


def test_json_results_and_reports_are_the_users_own(front: Front) -> None:
    sent_by(front, "boss", user_id=7)
    sent_by(front, "json2", user_id=7)
    sent_by(front, "json", user_id=8)
    mine = api(front, "json", "query_sms_result")["result"]
    assert [r["user_id"] for r in mine] == [8]
    assert api(front, "json", "query_sms_result", user_id=7)["result"] == []
    assert len(api(front, "boss", "query_sms_result", user_id=7)["result"]) == 2
    assert len(api(front, "boss", "query_sms_result")["result"]) == 3
    # Delivery reports follow the message's owner.
    assert wait_for(lambda: len(front.store.outbox.query_sms_result()) == 3 and all(
        r.status == "SENT_OK" for r in front.store.outbox.query_sms_result()))
    for part in front.store.db.conn().execute("SELECT port, mr FROM parts").fetchall():
        front.store.inbox.record_status_report(port=part[0], slot=0, imsi="", recipient=NUMBER,
                                               mr=part[1], st=0, category="delivered", scts=None,
                                               discharge=None, now=time.time(), window=3600)
    assert len(api(front, "json", "query_sms_deliver_status")["result"]) == 1
    assert len(api(front, "boss", "query_sms_deliver_status")["result"]) == 3


def test_json_inbox_is_scoped_to_the_users_ports_and_routes(front: Front) -> None:
    on0 = received(front, 0, "to port zero")
    on1 = received(front, 1, "to port one")
    coupon = received(front, 0, "COUPON 42")
    nobody = api(front, "json2", "query_incoming_sms", flag="all")
    assert nobody["sms"] == [] and nobody["read"] == nobody["unread"] == 0
    front.svc.users.set_ports("json", [1])
    route = front.svc.routes.add("http://127.0.0.1:9/hook", "json", port=0, text_prefix="COUPON")
    front.svc.users.set_routes("json", [route])
    page = api(front, "json", "query_incoming_sms")
    assert [m["incoming_sms_id"] for m in page["sms"]] == [on1, coupon]
    assert page["unread"] == 0 and page["read"] == 2
    # Their reading marked only their own messages read: the admin still finds port 0's unread.
    boss = api(front, "boss", "query_incoming_sms")
    assert [m["incoming_sms_id"] for m in boss["sms"]] == [on0]
    assert api(front, "json", "query_incoming_sms", flag="all", port=0)["sms"][0]["text"] == \
        "COUPON 42"


def test_json_ussd_needs_the_port(front: Front) -> None:
    assert api(front, "json", "send_ussd", port=0, text="*100#")["error_code"] == 403
    assert api(front, "json", "query_ussd_reply", port=0)["error_code"] == 403
    front.svc.users.set_ports("json", [0])
    assert api(front, "json", "send_ussd", port=0, text="*100#")["error_code"] == 202
    assert api(front, "json", "send_ussd", port=1, text="*100#")["error_code"] == 403
    assert api(front, "porter", "send_ussd", port=1, text="*100#")["error_code"] == 202
    assert api(front, "boss", "query_ussd_reply", port=1)["error_code"] == 200


def test_sim_endpoints_need_admin_or_ports(front: Front, sim: FakeSim) -> None:
    body = json.dumps({"port": 0, "from": NUMBER, "text": "hi"})
    for user, code in (("json", 403), ("porter", 200), ("boss", 200)):
        reply = front.post("/sim/sms", body, basic(user, PW))
        assert json.loads(reply.body)["error_code"] == code, (user, reply)
    assert len(sim.calls) == 2


# --- iSMS ---------------------------------------------------------------------------------------
def test_isms_querymsg_of_another_users_message_is_not_found(front: Front) -> None:
    _, boss_msg = sent_by(front, "boss")
    _, own_msg = sent_by(front, "isms")

    def status(user: str, ident: int) -> str:
        return front.get(f"/querymsg?user={user}&passwd={PW}&apimsgid={ident}").body.strip()

    assert status("isms", boss_msg) == f"ID: {boss_msg} Status: 5"
    assert status("isms", 10 ** 9) == f"ID: {10 ** 9} Status: 5"
    assert status("isms", own_msg) != f"ID: {own_msg} Status: 5"
    assert status("isms2", own_msg) == f"ID: {own_msg} Status: 5"


def test_isms_inbox_is_scoped(front: Front) -> None:
    received(front, 0, "zero")
    received(front, 1, "one")
    front.svc.users.set_ports("isms", [1])
    assert front.get(f"/querycount?user=isms&passwd={PW}").body.strip() == "Count: 1"
    assert front.get(f"/querycount?user=isms2&passwd={PW}").body.strip() == "Count: 0"
    lines = front.get(f"/recvmsg?user=isms&passwd={PW}").body.strip().split("\n")
    assert lines[2] == "1" and lines[-1] == "one"
    assert front.get(f"/recvmsg?user=isms2&passwd={PW}").body.split("\n")[2] == "0"


# --- gateway.php --------------------------------------------------------------------------------
def test_gatewayrapport_needs_a_login_and_shows_only_the_users_own(front: Front) -> None:
    _, boss_msg = sent_by(front, "boss")
    _, own_msg = sent_by(front, "gw")
    assert wait_for(lambda: all(r.status == "SENT_OK" for r in front.store.outbox.query_sms_result()))

    def rapport(query: str) -> str:
        return front.get(f"/module/gatewayrapport.php?{query}").body

    assert rapport(f"smsid={own_msg}") == "ERROR 100"
    assert rapport(f"clientuser=gw&smsid={own_msg}") == "ERROR 101"
    assert rapport(f"clientuser=gw&clientpwd=wrong&smsid={own_msg}") == "ERROR 104"
    assert rapport(f"clientuser=gw&clientpwd={PW}&smsid={own_msg}") == "SUBMITTED"
    assert rapport(f"clientuser=gw&clientpwd={PW}&smsid={boss_msg}") == "NONE"
    assert rapport(f"clientuser=gw2&clientpwd={PW}&smsid={own_msg}") == "NONE"
    assert rapport(f"clientuser=json&clientpwd={PW}&smsid={own_msg}") == "ERROR 116"


# --- Ozeki --------------------------------------------------------------------------------------
def ozeki(front: Front, user: str, action: str, **query: Any) -> str:
    extra = "".join(f"&{k}={quote(str(v))}" for k, v in query.items())
    return front.get(f"/api?action={action}&username={user}&password={PW}{extra}").body


def test_ozeki_connection_management_needs_admin_or_ports(front: Front) -> None:
    for action, query in (("listdrivers", {}), ("stopdriver", {"name": "GSMModem1"}),
                          ("createdriver", {"type": "GSMModem"}),
                          ("configdriver", {"name": "GSMModem1", "running": "off"})):
        body = ozeki(front, "ozeki", action, **query)
        assert "<statuscode>1</statuscode>" in body, (action, body)
    assert front.svc.ports.connections()[1].running
    assert "Connection stopped" in ozeki(front, "porter", "stopdriver", name="GSMModem1")
    assert not front.svc.ports.connections()[1].running
    assert "Connection started" in ozeki(front, "boss", "startdriver", name="GSMModem1")


def test_ozeki_messages_are_the_users_own_and_the_inbox_scoped(front: Front) -> None:
    _, boss_msg = sent_by(front, "boss")
    _, own_msg = sent_by(front, "ozeki")
    on0 = received(front, 0, "zero")
    on1 = received(front, 1, "one")
    front.svc.users.set_ports("ozeki", [1])
    assert "<statuscode>8</statuscode>" in ozeki(front, "ozeki", "getmessage", messageid=boss_msg)
    assert f"<messageid>{own_msg}</messageid>" in ozeki(front, "ozeki", "getmessage",
                                                        messageid=own_msg)
    assert f"<messageid>IN{on0}</messageid>" not in ozeki(front, "ozeki", "getmessage",
                                                           messageid=f"IN{on0}")
    assert f"<messageid>IN{on1}</messageid>" in ozeki(front, "ozeki", "getmessage",
                                                       messageid=f"IN{on1}")
    for ident in (f"IN{on0}", boss_msg):      # somebody else's: not found, and not hidden
        assert "<statuscode>8</statuscode>" in ozeki(front, "ozeki", "deletemessage",
                                                     messageid=ident)
    assert f"<messageid>IN{on0}</messageid>" in ozeki(front, "boss", "getmessage",
                                                       messageid=f"IN{on0}")
    assert f"<messageid>{boss_msg}</messageid>" in ozeki(front, "boss", "getmessage",
                                                         messageid=boss_msg)
    listing = ozeki(front, "ozeki", "listmessages", folder="inbox")
    assert f"IN{on1}" in listing and f"IN{on0}" not in listing
    assert "<message>" not in ozeki(front, "oz2", "receivemessage", folder="inbox")
    everything = ozeki(front, "boss", "listmessages", folder="inbox")
    assert f"IN{on0}" in everything and f"IN{on1}" in everything
