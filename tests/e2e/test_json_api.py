"""The JSON gateway API end to end: the real daemon on the simulator, real HTTP on loopback."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

from e2e.harness import Daemon, wait_for


def final(d: Daemon, statuses: tuple[str, ...] = ("SENT_OK", "DELIVERED", "FAILED"), **q):  # type: ignore[no-untyped-def]
    rows = d.results(**q)
    return rows if rows and all(r["status"] in statuses for r in rows) else None


def test_send_sms_is_sent_and_delivered(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    reply = d.api("send_sms", {"text": "hello", "param": [{"number": "+447700900123", "user_id": 7}]})
    assert reply["error_code"] == 202
    assert isinstance(reply["task_id"], int) and reply["sn"]
    rows = wait_for(lambda: final(d, ("DELIVERED",), user_id=[7]), what="delivery report")
    row = rows[0]
    assert row["number"] == "+447700900123" and row["count"] == 1 and row["succ_count"] == 1
    assert row["port"] in (0, 1) and 0 <= row["ref_id"] <= 255 and row["imsi"]
    reports = d.api("query_sms_deliver_status", {"number": ["+447700900123"]})["result"]
    assert reports and reports[0]["status_code"] == 0 and reports[0]["ref_id"] == row["ref_id"]


def test_param_substitution_and_user_ids(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    own = d.api("get_port_info", query="port=1&info_type=number")["info"][0]["number"]
    d.api("send_sms", {"text": "hi #param#, code #param#", "port": [0], "param": [
        {"number": own, "text_param": ["ann", "42"], "user_id": 1},
        {"number": own, "text_param": ["bob", "43"], "user_id": 2}]})
    wait_for(lambda: final(d, ("SENT_OK", "DELIVERED"), user_id=[1, 2]), what="sent")
    inbox = wait_for(lambda: len(d.api("query_incoming_sms", query="flag=all")["sms"]) == 2
                     and d.api("query_incoming_sms", query="flag=all")["sms"], what="arrival")
    assert sorted(m["text"] for m in inbox) == ["hi ann, code 42", "hi bob, code 43"]
    assert all(m["port"] == 1 for m in inbox)


def test_limits_and_bad_input_answer_in_the_dialect(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    many = [{"number": f"+4477009{i:05d}"} for i in range(129)]
    assert d.api("send_sms", {"text": "x", "param": many})["error_code"] == 413
    assert d.api("send_sms", {"text": "é" * 751, "param": [{"number": "123"}]})["error_code"] == 413
    status, body = d.request("/api/send_sms", b"{not json", headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["error_code"] == 400
    assert d.api("send_sms", {"text": 5, "param": [{"number": "1"}]})["error_code"] == 400
    assert d.api("send_sms", {"text": "x", "param": "123"})["error_code"] == 400
    assert d.api("send_sms", {"text": "x", "param": [{"number": "12a"}]})["error_code"] == 400
    assert d.api("send_sms", {"text": "x", "port": [7], "param": [{"number": "1"}]})["error_code"] == 400
    assert d.api("stop_sms", query="task_id=99999")["error_code"] == 404
    assert d.api("query_sms_in_queue")["in_queue"] == 0   # nothing half-written
    status, _ = d.request("/api/query_sms_in_queue", auth=("admin", "wrong"))
    assert status == 401


def test_form_posts_and_get_queries_work_like_json(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    status, body = d.request("/api/get_port_info", b"port=1&info_type=imsi,reg",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    info = json.loads(body)["info"]
    assert status == 200 and [i["port"] for i in info] == [1] and info[0]["reg"] == "REGISTER_OK"
    # curl -d '{json}' without a Content-Type header sends it as a form: still JSON to us.
    status, body = d.request("/api/send_sms", b'{"text":"x","param":[{"number":"+447700900001"}]}',
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert json.loads(body)["error_code"] == 202


def test_digest_auth_is_accepted_once_turned_on(make_daemon) -> None:  # type: ignore[no-untyped-def]
    """Digest is an opt-in per user (docs/security.md): `smsd user digest admin on` on the
    running daemon's database, then an RFC 7616 client gets in with SHA-256 Digest."""
    from test_secrets_at_rest import Rfc7616DigestHandler
    d = make_daemon(ports=1).start()
    url = d.base + "/api/query_sms_in_queue"
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, d.base, "admin", d.password)
    opener = urllib.request.build_opener(Rfc7616DigestHandler(mgr))
    try:
        opener.open(url, timeout=10)
        raise AssertionError("Digest accepted for a user who has it off")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    done = subprocess.run([sys.executable, "-m", "smsd", "user", "digest", "admin", "on",
                           "--password", d.password, "--state-dir", d.state_dir],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with opener.open(url, timeout=10) as resp:
        assert json.loads(resp.read())["error_code"] == 200


def test_get_port_info_returns_exactly_the_keys_asked(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    info = d.api("get_port_info", query="port=0,1&info_type=imei,reg,signal")["info"]
    assert [set(i) for i in info] == [{"port", "imei", "reg", "signal"}] * 2
    assert all(i["reg"] == "REGISTER_OK" and len(i["imei"]) == 15 for i in info)
    assert d.api("get_port_info", query="info_type=bogus")["error_code"] == 400


def test_get_status_reports_real_figures(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    status, body = d.request("/api/get_status", b'[{"performance"}]')
    perf = json.loads(body)["performance"]
    assert set(perf) == {"cpu_used", "flash_total", "flash_used", "memory_total", "memory_cached",
                         "memory_buffers", "memory_free", "memory_used"}
    assert all(v.isdigit() for v in perf.values())
    assert int(perf["memory_total"]) > int(perf["memory_free"]) > 0


def test_the_printed_url_answers_with_the_api_endpoints(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    # the printed URL is the web console's: a stranger is led to its sign-in form
    status, body = d.request("/", auth=("nobody", "x"))
    assert status == 200 and b'name="username"' in body and b'name="password"' in body
