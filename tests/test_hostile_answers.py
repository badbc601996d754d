"""Every answer in its dialect (issue 13 item 5), over real HTTP on loopback: inputs that used to
end in an internal error with a traceback, or in an answer outside the dialect's format, now get
the dialect's own bad-request answer, log no traceback and queue nothing."""
from __future__ import annotations

import socket
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from front import PW, Front, basic
from hostile import LogCapture, Raw, dialect_problem, queued, send, serve_status

BIG = "99999999999999999999999"         # beyond 64 bits
JSON_AUTH = [(b"Authorization", basic("json", PW)["Authorization"].encode())]
JSON_BODY = [(b"Content-Type", b"application/json")]


@pytest.fixture
def front(tmp_path: Path) -> Iterator[Front]:
    f = serve_status(Front(str(tmp_path / "smsd.db"))).start()
    yield f
    f.close()


@pytest.fixture
def log() -> Iterator[LogCapture]:
    capture = LogCapture().install()
    yield capture
    capture.remove()


def api(front: Front, target: str, body: bytes = b"", method: bytes = b"GET") -> Raw:
    headers = JSON_AUTH + (JSON_BODY if body else [])
    return send(front, method, target.encode("latin-1"), headers, body)


def json_refusal(answer: Raw, code: int = 400) -> str:
    """The JSON API's refusal with error_code `code`; its reason."""
    assert dialect_problem("json", answer) is None, answer
    obj = answer.json()
    assert obj["error_code"] == code, obj
    return str(obj["reason"])


# --- JSON API -----------------------------------------------------------------------------------
def test_a_query_that_is_not_utf8_is_a_bad_request(front: Front, log: LogCapture) -> None:
    reply = api(front, "/api/get_port_info?port=%ff%fe&info_type=imei")
    assert reply.status == 200 and "UTF-8" in json_refusal(reply)
    assert not log.troubles()


@pytest.mark.parametrize("target", [
    f"/api/query_sms_result?user_id={BIG}", f"/api/stop_sms?task_id={BIG}",
    f"/api/stop_sms?task_id=-{BIG}", f"/api/query_incoming_sms?incoming_sms_id={BIG}",
    "/api/stop_sms?task_id=" + "9" * 5000,
    "/api/query_sms_result?user_id=%C2%B2",        # a superscript two: a digit, not a number
])
def test_integers_beyond_64_bits_are_a_bad_request(front: Front, log: LogCapture,
                                                    target: str) -> None:
    json_refusal(api(front, target))
    assert not log.troubles()


def test_a_user_id_beyond_64_bits_in_a_send_is_refused_and_queues_nothing(
        front: Front, log: LogCapture) -> None:
    body = ('{"text":"hi","param":[{"number":"447700900123","user_id":%s}]}' % BIG).encode()
    before = queued(front)
    assert "out of range" in json_refusal(api(front, "/api/send_sms", body, b"POST"))
    assert queued(front) == before and not log.troubles()


def test_json_nested_100000_deep_is_a_bad_request(front: Front, log: LogCapture) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    assert "nested" in json_refusal(api(front, "/api/send_sms", body, b"POST"))
    body = b'{"text":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    json_refusal(api(front, "/api/send_sms", body, b"POST"))
    assert not log.troubles()


def test_an_unpaired_surrogate_is_a_bad_request(front: Front, log: LogCapture) -> None:
    body = b'{"text":"\\ud800","param":[{"number":"447700900123"}]}'
    before = queued(front)
    assert "surrogate" in json_refusal(api(front, "/api/send_sms", body, b"POST"))
    body = b'{"info_type":"\\udfff"}'
    json_refusal(api(front, "/api/get_port_info", body, b"POST"))
    assert queued(front) == before and not log.troubles()


def test_an_empty_port_array_selects_nothing_and_is_refused(front: Front) -> None:
    before = queued(front)
    body = b'{"text":"hi","param":[{"number":"447700900123"}],"port":[]}'
    assert "'port'" in json_refusal(api(front, "/api/send_sms", body, b"POST"))
    assert queued(front) == before
    json_refusal(api(front, "/api/get_port_info", b'{"info_type":["imei"],"port":[]}', b"POST"))
    json_refusal(api(front, "/api/query_ussd_reply", b'{"port":[]}', b"POST"))
    # A query parameter left empty is absent: every port.
    got = api(front, "/api/get_port_info?info_type=imei&port=").json()
    assert got["error_code"] == 200 and [i["port"] for i in got["info"]] == [0, 1]  # type: ignore


@pytest.mark.parametrize("target,status", [
    ("/api/", 404), ("/api/send_sms/extra", 404), ("/api/%ff", 400)])
def test_not_found_under_api_is_json(front: Front, target: str, status: int) -> None:
    for auth in (JSON_AUTH, []):
        reply = send(front, b"GET", target.encode(), auth)
        assert reply.status == status
        json_refusal(reply, status)


@pytest.mark.parametrize("method", [b"DELETE", b"PUT", b"OPTIONS", b"PATCH"])
def test_a_method_not_allowed_under_api_is_json(front: Front, method: bytes) -> None:
    reply = send(front, method, b"/api/send_sms", JSON_AUTH, b"{}")
    assert reply.status == 405 and "GET" in reply.headers["allow"]
    assert str(method.decode()) in json_refusal(reply, 405)


def test_get_status_with_a_garbage_body_answers_with_error_code(front: Front) -> None:
    for body in (b"garbage", b"\xff\xfe", b'{"cdr":1}'):
        json_refusal(api(front, "/api/get_status", body, b"POST"))
    documented = api(front, "/api/get_status", b'[{"performance"}]', b"POST")
    assert list(documented.json()) == ["performance"]
    assert api(front, "/api/get_status").json()["performance"]["cpu_used"] == "3"  # type: ignore


@pytest.mark.parametrize("header", [
    b"Digest foo", b"Digest =", b"Digest a=", b"Digest " + b"a" * 200_000,
    b'Digest username="json", realm=smsd, nonce',
    b"Digest " + b", ".join(b"k%d=v" % i for i in range(20_000)), b"Basic !!!",
    b"Basic " + b"QQ==" * 1000, b"Bearer x", b"\xff\xfe"])
def test_garbage_authorization_is_a_401_in_json(front: Front, log: LogCapture,
                                                header: bytes) -> None:
    reply = send(front, b"GET", b"/api/query_sms_in_queue", [(b"Authorization", header)])
    assert reply.status == 401
    json_refusal(reply, 401)
    assert not log.troubles()


def test_an_unsupported_transfer_encoding_is_a_json_bad_request(front: Front) -> None:
    reply = send(front, b"POST", b"/api/send_sms",
                 JSON_AUTH + [(b"Transfer-Encoding", b"gzip")], b"{}")
    assert reply.status == 400
    json_refusal(reply, 400)


# --- iSMS ---------------------------------------------------------------------------------------
def test_an_isms_text_of_one_megabyte_gets_602(front: Front, log: LogCapture) -> None:
    before = queued(front)
    query = urllib.parse.urlencode({"user": "isms", "passwd": PW, "cat": 1,
                                    "to": "447700900123", "text": "a" * (1 << 20)})
    reply = send(front, b"GET", b"/sendmsg?" + query.encode())
    assert (reply.status, reply.body) == (200, b"Err: 602\n")
    assert reply.headers["content-type"] == "text/plain; charset=iso-8859-1"
    posted = send(front, b"POST", b"/sendmsg",
                  [(b"Content-Type", b"application/x-www-form-urlencoded")], query.encode())
    assert (posted.status, posted.body) == (200, b"Err: 602\n")
    assert queued(front) == before and not log.troubles()
    # The server is still serving, and a text that fits goes out.
    query = urllib.parse.urlencode({"user": "isms", "passwd": PW, "to": "447700900123",
                                    "text": "fits"})
    assert send(front, b"GET", b"/sendmsg?" + query.encode()).body.startswith(b"ID: ")


@pytest.mark.parametrize("method,headers", [
    (b"PUT", []), (b"DELETE", []), (b"POST", [(b"Transfer-Encoding", b"gzip")]),
    (b"GET", [(b"Bad Header", b"x")])])
def test_isms_answers_602_to_what_it_cannot_read(front: Front, method: bytes,
                                                 headers: list[tuple[bytes, bytes]]) -> None:
    reply = send(front, method, b"/sendmsg?user=isms", headers)
    assert (reply.status, reply.body) == (200, b"Err: 602\n")


# --- IntelliSoftware ----------------------------------------------------------------------------
@pytest.mark.parametrize("method,target", [
    (b"GET", b"/smsgateway/nope.aspx"), (b"GET", b"/smsgateway/"), (b"GET", b"/SMSGATEWAY/a/b"),
    (b"PUT", b"/smsgateway/sendmsg.aspx"), (b"GET", b"/smsgateway/%ff.aspx")])
def test_intelli_answers_200_err_for_unknown_pages_and_methods(front: Front, method: bytes,
                                                               target: bytes) -> None:
    reply = send(front, method, target)
    assert (reply.status, reply.body) == (200, b"ERR:INVALID_REQUEST")


# --- gateway.php --------------------------------------------------------------------------------
def gateway(front: Front, **params: str) -> str:
    query = {"clientuser": "gw", "clientpwd": PW, "sender": "Shop", "message": "hi", **params}
    target = "/module/gateway.php?" + urllib.parse.urlencode(query)
    reply = send(front, b"GET", target.encode())
    assert dialect_problem("gateway", reply) is None, reply
    return reply.text


@pytest.mark.parametrize("to", ["-447700900123", "+-447700900123", ".447700900123",
                                "447700900123,-447700900124"])
def test_gateway_php_refuses_a_number_with_a_leading_sign_as_106(front: Front, to: str) -> None:
    before = queued(front)
    assert gateway(front, to=to) == "ERROR 106"
    assert queued(front) == before
    assert gateway(front, to="+44 (7700) 900-123") == "OK"


def test_gateway_php_refuses_an_unknown_type_as_120(front: Front) -> None:
    before = queued(front)
    assert gateway(front, to="447700900123", type="bogus") == "ERROR 120"
    assert gateway(front, to="447700900123", type="flash", test="yes") == "ERROR 120"
    assert queued(front) == before
    # Bad credentials still come first.
    assert gateway(front, to="447700900123", type="bogus", clientpwd="x") == "ERROR 104"
    assert gateway(front, to="447700900123", type="LONG") == "OK"
    assert gateway(front, to="447700900123", type="") == "OK"


@pytest.mark.parametrize("target", [b"/module/gateway.php", b"/module/gatewayrapport.php"])
def test_gateway_php_answers_its_own_words_to_what_it_cannot_read(front: Front,
                                                                  target: bytes) -> None:
    word = {b"/module/gateway.php": b"ERROR 120", b"/module/gatewayrapport.php": b"NONE"}[target]
    for method in (b"PUT", b"DELETE"):
        assert send(front, method, target).body == word
    big = send(front, b"GET", target + b"?clientuser=" + b"a" * 300_000)
    assert (big.status, big.body) == (200, word)


# --- Ozeki --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method,target,extra", [
    (b"PUT", b"/api", b""), (b"DELETE", b"/httpapi", b""),
    (b"GET", b"/api?action=sendmessage&messagedata=", b"x" * 300_000)])
def test_ozeki_answers_its_xml_to_what_it_cannot_read(front: Front, method: bytes,
                                                      target: bytes, extra: bytes) -> None:
    reply = send(front, method, target + extra)
    assert reply.status == 200 and dialect_problem("ozeki", reply) is None, reply
    assert b"<statuscode>9</statuscode>" in reply.body


# --- what any dialect's client may send -----------------------------------------------------------
def test_raw_latin1_and_utf8_bytes_in_a_url_reach_the_dialect(front: Front,
                                                               log: LogCapture) -> None:
    """Old clients put text in the URL unencoded; waitress alone refuses bytes over 127."""
    for raw, text in ((b"caf\xe9 \xa3", "café £"), (b"caf\xc3\xa9 \xe2\x82\xac", "café €")):
        target = b"/sendmsg?user=isms&passwd=" + PW.encode() + b"&to=447700900123&text=" + raw
        reply = send(front, b"GET", target.replace(b" ", b"%20"))
        assert reply.body.startswith(b"ID: "), reply
        ident = int(reply.body.split()[1])
        assert front.svc.sending.message(ident).text == text        # type: ignore[union-attr]
    reply = api(front, "/api/get_port_info?info_type=imei&note=caf\xc3\xa9")
    assert reply.json()["error_code"] == 200
    assert not log.troubles()


def test_a_multipart_body_without_boundary_is_read_as_no_fields(front: Front,
                                                                log: LogCapture) -> None:
    body = f"user=isms&passwd={PW}&to=447700900123&text=hi".encode()
    before = queued(front)
    reply = send(front, b"POST", b"/sendmsg", [(b"Content-Type", b"multipart/form-data")], body)
    assert reply.body == b"Err: 601\n"           # no user: the fields were not read
    reply = send(front, b"POST", b"/smsgateway/sendmsg.aspx",
                 [(b"Content-Type", b"multipart/form-data; boundary=\xff")], body)
    assert reply.body == b"ERR:NO_USERNAME"
    assert queued(front) == before and not log.troubles()


@pytest.mark.parametrize("method", [b"GET", b"POST"])
def test_expect_100_continue_without_a_body_is_answered_at_once(front: Front,
                                                                method: bytes) -> None:
    reply = send(front, method, b"/sendmsg?user=isms&passwd=x", [(b"Expect", b"100-continue")],
                 timeout=5)
    assert reply.body == b"Err: 601\n"


@pytest.mark.parametrize("target,answer", [
    (b"/api/send_sms", b'"error_code":413'), (b"/sendmsg", b"Err: 602\n"),
    (b"/smsgateway/sendmsg.aspx", b"ERR:INVALID_REQUEST"), (b"/module/gateway.php", b"ERROR 120"),
    (b"/api", b"<statuscode>9</statuscode>")])
def test_a_body_over_the_servers_limit_is_refused_before_it_is_read(
        front: Front, log: LogCapture, target: bytes, answer: bytes) -> None:
    """waitress would otherwise read up to 1 GiB of it to a temporary file first."""
    before = queued(front)
    head = (b"POST " + target + b" HTTP/1.1\r\nHost: box\r\nContent-Length: 104857600\r\n"
            + JSON_AUTH[0][0] + b": " + JSON_AUTH[0][1] + b"\r\n\r\n")
    with socket.create_connection((front.host, front.port), timeout=5) as sock:
        sock.sendall(head + b"{" * 1000)     # and then nothing: the answer must not wait for more
        reply = b"".join(iter(lambda: sock.recv(65536), b""))     # until the server closes
    assert reply.startswith(b"HTTP/1.1 ") and answer in reply, reply
    assert queued(front) == before and not log.troubles()
