"""A requested alphabet is a preference, never a reason to refuse (issue 11), end to end: each
dialect that lets a client ask for GSM 7-bit (or that sends 7-bit text by default) accepts a
text GSM-7 cannot carry, the simulated network receives it in UCS2 with nothing lost, and the
service's record (Ozeki's messagetype, which reads it for any message id) says UCS2 went out."""
from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path
import pytest

from e2e.harness import Daemon, wait_for
from e2e.test_intelli import decoded, journal
from e2e.test_ozeki import call, items, message, send as ozeki_send

TEXT = "Ωmega 😀 €"          # Ω and € are GSM-7 (€ via the extension table), 😀 is not


def get(d: Daemon, path: str, **params: str) -> str:
    with urllib.request.urlopen(d.base + path + "?" + urllib.parse.urlencode(params),
                                timeout=30) as resp:
        assert resp.status == 200
        return str(resp.read().decode("utf-8")).strip()


def on_air_ucs2(air: Path, to: str) -> None:
    """The one part that reached `to`: UCS2, the whole text."""
    records = wait_for(lambda: [r for r in journal(air) if r["to"] == to], 30,
                       what=f"the message to {to} on the air")
    got = decoded(records[0])
    assert (len(records), got.encoding, got.text) == (1, "ucs2", TEXT)


def went_out_as_ucs2(d: Daemon, message_id: str) -> None:
    """The service's record of the alphabet, as Ozeki's getmessage shows it."""
    wait_for(lambda: message(d, message_id).get("status") in ("sent", "delivered"), 30,
             what=f"message {message_id} sent")
    assert message(d, message_id)["messagetype"] == "SMS:TEXT:UCS2"


@pytest.fixture
def box(make_daemon, tmp_path) -> tuple[Daemon, Path]:  # type: ignore[no-untyped-def]
    air = tmp_path / "air.jsonl"
    return make_daemon(ports=1, extra=("--sim-journal", str(air))).start(), air


def test_json_api_gsm_7bit(box: tuple[Daemon, Path]) -> None:
    d, air = box
    reply = d.api("send_sms", {"text": TEXT, "encoding": "gsm-7bit",
                               "param": [{"number": "+447700900601", "user_id": 61}]})
    assert reply["error_code"] == 202, reply
    on_air_ucs2(air, "+447700900601")
    rows = wait_for(lambda: [r for r in d.results(user_id=[61]) if r["status"] != "SENDING"],
                    30, what="the send result")
    assert rows[0]["status"] in ("SENT_OK", "DELIVERED") and rows[0]["count"] == 1
    # #param#: the recipient whose text fits goes in GSM-7, the other in UCS2.
    reply = d.api("send_sms", {"text": "Hi #param#", "encoding": "gsm-7bit",
                               "param": [{"number": "+447700900602", "text_param": ["Bob"]},
                                         {"number": "+447700900603", "text_param": ["😀"]}]})
    assert reply["error_code"] == 202, reply
    for to, text, encoding in (("+447700900602", "Hi Bob", "gsm7"),
                               ("+447700900603", "Hi 😀", "ucs2")):
        record = wait_for(lambda: [r for r in journal(air) if r["to"] == to], 30, what=to)[0]
        assert (decoded(record).text, decoded(record).encoding) == (text, encoding)


def test_ozeki_gsm7bit_message_type(box: tuple[Daemon, Path]) -> None:
    d, air = box
    report = ozeki_send(d, "+447700900611", TEXT, messagetype="SMS:TEXT:GSM7BIT")[0]
    assert report["statuscode"] == "0", report
    assert report["messagetype"] == "SMS:TEXT:UCS2"         # what goes out, not what was asked
    on_air_ucs2(air, "+447700900611")
    went_out_as_ucs2(d, report["messageid"])
    plain = ozeki_send(d, "+447700900612", "plain", messagetype="SMS:TEXT:GSM7BIT")[0]
    assert plain["messagetype"] == "SMS:TEXT:GSM7BIT"
    wait_for(lambda: message(d, plain["messageid"]).get("messagetype") == "SMS:TEXT:GSM7BIT",
             30, what="the plain message sent in GSM-7")


@pytest.mark.parametrize("enc", ["0", "1"])
def test_isms_enc(box: tuple[Daemon, Path], enc: str) -> None:
    d, air = box
    body = get(d, "/sendmsg", user="admin", passwd=d.password, cat="1", to="+447700900621",
               text=TEXT, enc=enc)
    assert body.startswith("ID: "), body
    on_air_ucs2(air, "+447700900621")
    went_out_as_ucs2(d, body[4:])


def test_intellisoftware_text_type(box: tuple[Daemon, Path]) -> None:
    d, air = box
    body = get(d, "/smsgateway/sendmsg.aspx", username="admin", password=d.password,
               to="447700900631", text=TEXT, type="1")
    assert body.startswith("ID:") and body[3:].isdigit(), body
    on_air_ucs2(air, "+447700900631")


def test_gateway_php(box: tuple[Daemon, Path]) -> None:
    d, air = box
    body = get(d, "/module/gateway.php", clientuser="admin", clientpwd=d.password,
               to="447700900641", message=TEXT, sender="Shop", delivery="yes")
    assert body.startswith("OK "), body
    on_air_ucs2(air, "+447700900641")
    went_out_as_ucs2(d, body[3:])


def test_json_api_results_say_which_alphabet_went_out(make_daemon, receiver,  # type: ignore[no-untyped-def]
                                                      tmp_path) -> None:
    """The JSON API's encoding extension: query_sms_result and the pushed sms_result say
    "unicode" for a gsm-7bit request GSM-7 could not carry, "gsm-7bit" for a plain text."""
    air = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, push_urls=(receiver.url,), extra=("--sim-journal", str(air))).start()
    for text, user_id in ((TEXT, 71), ("plain text", 72)):
        reply = d.api("send_sms", {"text": text, "encoding": "gsm-7bit",
                                   "param": [{"number": f"+4477009007{user_id}",
                                              "user_id": user_id}]})
        assert reply["error_code"] == 202, reply
    expected = {71: "unicode", 72: "gsm-7bit"}
    rows = wait_for(lambda: len(rows := [r for r in d.results(user_id=[71, 72])
                                         if r["status"] == "DELIVERED"]) == 2 and rows, 30,
                    what="both delivered")
    assert {r["user_id"]: r["encoding"] for r in rows} == expected
    assert all(list(r)[-1] == "encoding" for r in rows)       # after the spec's keys
    pushed = wait_for(lambda: len(done := [r for r in receiver.items("sms_result")
                                           if r["status"] == "DELIVERED"]) == 2 and done, 30,
                      what="both pushed as delivered")
    assert {r["user_id"]: r["encoding"] for r in pushed} == expected
    on_air = {r["to"]: decoded(r) for r in journal(air)}
    assert (on_air["+447700900771"].encoding, on_air["+447700900771"].text) == ("ucs2", TEXT)
    assert on_air["+447700900772"].encoding == "gsm7"


def test_json_api_counts_turkish_as_the_ports_it_may_use_send_it(make_daemon,  # type: ignore[no-untyped-def]
                                                                  tmp_path) -> None:
    """The part count at intake (issue 11): a request restricted to a port that allows the
    Turkish tables is counted as that port sends it (GSM-7, one part); a request any port may
    send, with a port lacking the tables, is counted in UCS2 and never goes out in more."""
    turkish = ("\u015eu an \u0130zmir'deyim, ak\u015fam g\u00f6r\u00fc\u015f\u00fcr\u00fcz "
               "\u00e7ocuklar")
    text = turkish + " " + turkish                       # 87 characters: 2 UCS2 parts, 1 GSM-7
    air = tmp_path / "air.jsonl"
    d = make_daemon(ports=2, extra=("--sim-journal", str(air))).start()
    assert items(call(d, action="configdriver", name="GSMModem1",
                      NATIONALLANGUAGES="Turkish"), "error") == []
    restricted = d.api("send_sms", {"text": text, "port": [1], "encoding": "gsm-7bit",
                                    "param": [{"number": "+905321110081", "user_id": 81}]})
    assert restricted["error_code"] == 202, restricted
    anyport = d.api("send_sms", {"text": text, "encoding": "gsm-7bit",
                                 "param": [{"number": f"+90532111009{i}", "user_id": 90 + i}
                                           for i in range(4)]})
    assert anyport["error_code"] == 202, anyport
    rows = wait_for(lambda: len(done := [r for r in d.results(user_id=[81, 90, 91, 92, 93])
                                         if r["status"] != "SENDING"]) == 5 and done, 30,
                    what="all five sent")
    assert {r["status"] for r in rows} <= {"SENT_OK", "DELIVERED"}, rows
    by_user = {r["user_id"]: r for r in rows}
    assert (by_user[81]["port"], by_user[81]["count"], by_user[81]["encoding"]) == \
        (1, 1, "gsm-7bit")
    for uid in (90, 91, 92, 93):                        # counted 2; what went out on its port
        r = by_user[uid]
        assert (r["count"], r["encoding"]) == ((1, "gsm-7bit") if r["port"] == 1
                                               else (2, "unicode"))
    parts = [rec for rec in journal(air) if rec["to"].startswith("+90532111")]
    assert len(parts) == sum(r["count"] for r in rows) <= 1 + 4 * 2
    assert all(decoded(rec).text == text for rec in parts if not decoded(rec).concat)
