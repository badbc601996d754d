"""A message left in SIM storage is read without a restart (found by bench/soak.py).

A failed AT+CMGR (here the modem drops the final OK of its answer: the read times out) or a
+CMTI lost in garbage leaves an SMS on the SIM. It used to wait there until the next start or
until the store was full; the idle refresh now asks AT+CPMS? and drains a store that holds
anything (smsd/modem/storage.py)."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

from e2e.harness import ADMIN_PW, Daemon, wait_for

SENDER = "+447700900321"


def test_an_sms_whose_read_failed_is_read_at_the_next_refresh(tmp_path: Path) -> None:
    d = Daemon(str(tmp_path / "state"), ports=1).start()
    try:
        status, body = d.request("/sim/fault", json.dumps(
            {"port": 0, "fault": "drop_ok", "count": 1}).encode())
        assert status == 200, body
        status, body = d.request("/sim/sms", json.dumps(
            {"port": 0, "from": SENDER, "text": "read after a failed read"}).encode())
        assert status == 200, body
        wait_for(lambda: any("AT+CMGR" in line for line in d.output), 20,
                 what="the read that fails")
        # the idle refresh every 5 s from now (Ozeki's configdriver sets the port's keepalive)
        query = urllib.parse.urlencode({"action": "configdriver", "name": "GSMModem0",
                                        "KEEPALIVEPERIOD": "5", "username": "admin",
                                        "password": ADMIN_PW})
        with urllib.request.urlopen(f"{d.base}/api?{query}", timeout=30) as resp:
            assert resp.status == 200
        inbox = wait_for(lambda: [m for m in d.api("query_incoming_sms", query="flag=all")["sms"]
                                  if m["number"] == SENDER], 40, interval=0.5,
                         what="the SMS read off the SIM")
        assert [m["text"] for m in inbox] == ["read after a failed read"]
        assert any("message(s) left in SIM storage" in line for line in d.output)
    finally:
        d.stop()
