"""Issue 11 end to end on the simulated board: a port that allows the Turkish tables sends a
Turkish text as GSM-7 with the national language IEs, and a corrupt inbound PDU is kept as
undecodable while the daemon carries on receiving."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from e2e.harness import wait_for
from e2e.test_ozeki import call, items, journal, send

from smsd.pdu import decode, encode_deliver

_SCTS = dt.datetime(2026, 12, 6, 21, 0, tzinfo=dt.timezone.utc)
TURKISH_TEXT = "\u015eu an \u0130zmir'deyim, ak\u015fam g\u00f6r\u00fc\u015f\u00fcr\u00fcz \u00e7ocuklar"


def _on_air(path: Any, number: str) -> list[Any]:
    """The SMS-SUBMIT TPDUs the simulated network took for `number`, decoded."""
    return [decode(rec["tpdu"], smsc=False) for rec in journal(path) if rec["to"] == number]


def test_turkish_text_goes_out_as_gsm7_with_the_national_ies(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=2, extra=("--sim-journal", str(path))).start()
    assert items(call(d, action="configdriver", name="GSMModem1",
                      NATIONALLANGUAGES="Turkish"), "error") == []
    bad = items(call(d, action="configdriver", name="GSMModem0", NATIONALLANGUAGES="klingon"),
                "error")
    assert bad[0]["statuscode"] == "11" and "NATIONALLANGUAGES" in bad[0]["statusmessage"]
    send(d, "+905321110001", TURKISH_TEXT, serviceprovider="GSMModem1")
    send(d, "+905321110002", TURKISH_TEXT, serviceprovider="GSMModem0")
    turkish = wait_for(lambda: _on_air(path, "+905321110001"), what="sent on port 1")
    plain = wait_for(lambda: _on_air(path, "+905321110002"), what="sent on port 0")
    [msg] = turkish
    assert (msg.encoding, msg.text) == ("gsm7", TURKISH_TEXT)
    national = {e.iei: e.data for e in msg.udh if e.iei in (0x24, 0x25)}
    assert national and set(national.values()) == {b"\x01"}        # 1 = Turkish
    [wide] = plain                               # the port that does not allow it: UCS2
    assert (wide.encoding, wide.text, wide.udh) == ("ucs2", TURKISH_TEXT, [])


def _bad_pdus(d: Any) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{d.state_dir}/smsd.db?mode=ro", uri=True)
    try:
        return conn.execute("SELECT pdu, error FROM bad_pdus ORDER BY id").fetchall()
    finally:
        conn.close()


def test_corrupt_inbound_pdus_are_kept_and_the_daemon_carries_on(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    corrupt = [
        "00040B915121551532F4000011101171955140FFC8329BFD06",    # TP-UDL beyond the octets
        "00440B915121551532F40004111011719551400405" + "0A000301",  # UDH beyond the user data
        "0004FF911346",                                          # address beyond the PDU
        "00040B915121551532F40000111011719551",                  # time stamp cut short
        "0003",                                                  # reserved TP-MTI
        "0001000B915121551532F4000005C8329BFD06",                # an SMS-SUBMIT, not received
    ]
    for pdu in corrupt:
        status, body = d.request("/sim/sms", json.dumps({"port": 0, "pdu": pdu}).encode())
        assert status == 200 and json.loads(body)["error_code"] == 200, body
    status, body = d.request("/sim/sms", json.dumps({"port": 0, "pdu": "XYZ"}).encode())
    assert json.loads(body)["error_code"] == 400
    d.request("/sim/sms", json.dumps({"port": 0, "from": "+447900200009",
                                      "text": "still here"}).encode())
    # and a good one in the Turkish tables, as a Turkish network sends it
    [turkish] = encode_deliver("+905321110009", TURKISH_TEXT, scts=_SCTS, languages=(1,))
    assert "2401" in turkish or "2501" in turkish
    d.request("/sim/sms", json.dumps({"port": 0, "pdu": turkish}).encode())
    inbox = wait_for(lambda: len(d.api("query_incoming_sms", query="flag=all")["sms"]) == 2
                     and d.api("query_incoming_sms", query="flag=all")["sms"],
                     what="the good SMS after the corrupt ones")
    assert sorted(m["text"] for m in inbox) == sorted(["still here", TURKISH_TEXT])
    kept = wait_for(lambda: len(_bad_pdus(d)) == len(corrupt) and _bad_pdus(d),
                    what="every corrupt PDU kept")
    assert sorted(p.upper() for p, _ in kept) == sorted(p.upper() for p in corrupt)
    assert all(error for _, error in kept)
