"""GET /metrics, GET /health and smsd-check against the running daemon on the simulator
(issue 19 points 6 and 8; docs/monitoring.md).

Who may read /metrics depends on the connection's peer address as the socket gives it: a client
here binds its end to 127.0.0.2, a loopback address that is not the box's own (127.0.0.1), so it
looks like another host while the test stays on loopback.
"""
from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from e2e.harness import Daemon, smsd_cli, wait_for
from smsd import check

ELSEWHERE = "127.0.0.2"          # a peer that is not the box itself


def get(d: Daemon, path: str, *, source: str = "127.0.0.1", auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30,
                                      source_address=(source, 0))
    hdrs = dict(headers or {})
    if auth is not None:
        hdrs["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    try:
        conn.request("GET", path, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


def scrape(d: Daemon) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, headers, body = get(d, "/metrics")
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and all(dict(ls).get(k) == want for k, want in labels.items()))


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = check.main(list(args))
    return code, capsys.readouterr().out.strip()


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon (2 ports) for the tests that only read, and a send of their own."""
    d = Daemon(str(tmp_path_factory.mktemp("metrics") / "state"), ports=2)
    d.start()
    smsd_cli(d, "user", "add", "watcher", "--password", "watch-pw", "--perm", "metrics")
    smsd_cli(d, "user", "add", "clerk", "--password", "clerk-pw", "--perm", "api:json")
    yield d
    d.stop()
    print(f"--- daemon log (last 80 lines) ---\n{''.join(d.output[-80:])}")


def test_the_scrape_shows_the_ports_and_moves_with_a_send(box: Daemon) -> None:
    before = scrape(box)
    assert total(before, "smsd_ports") == 2 and total(before, "smsd_ports_registered") == 2
    for port in ("0", "1"):
        assert total(before, "smsd_port_registered", port=port) == 1
        assert total(before, "smsd_port_can_send", port=port) == 1
        assert 0 < total(before, "smsd_port_signal_rssi", port=port) <= 31
        assert total(before, "smsd_port_info", port=port, reg="REGISTER_OK",
                     operator="SIMNET", state="ready") == 1
        assert before[("smsd_sim_blocked", (("port", port), ("slot", "255")))] == 0
    assert total(before, "process_resident_memory_bytes") > 1e6
    assert total(before, "process_cpu_seconds_total") > 0
    sent = total(before, "smsd_port_parts_sent_total")
    timed = total(before, "smsd_port_submit_seconds_count")
    json_ok = total(before, "smsd_http_requests_total", dialect="json", status="200")

    accepted = box.api("send_sms", {"text": "metrics", "param": [{"number": "+447700900311"}]})
    assert accepted["error_code"] == 202
    wait_for(lambda: total(scrape(box), "smsd_port_parts_sent_total") == sent + 1,
             what="the part counted as sent")
    after = scrape(box)
    assert total(after, "smsd_port_submit_seconds_count") == timed + 1
    assert 0 < total(after, "smsd_port_submit_seconds_sum") - \
        total(before, "smsd_port_submit_seconds_sum") < 30
    assert total(after, "smsd_http_requests_total", dialect="json", status="200") > json_ok
    assert total(after, "smsd_http_requests_total", dialect="metrics", status="200") >= 2
    assert 0 <= total(after, "smsd_last_send_age_seconds") < 30
    assert total(after, "smsd_port_messages_24h") >= 1
    assert total(after, "smsd_queue_messages") >= 0
    assert total(after, "smsd_port_parts_failed_total") == total(before,
                                                                 "smsd_port_parts_failed_total")


def test_another_host_needs_a_user_with_the_metrics_permission(box: Daemon) -> None:
    status, headers, body = get(box, "/metrics", source=ELSEWHERE)
    assert status == 401 and "Basic" in headers["www-authenticate"] and "smsd_" not in body
    # A forwarding header is the client's own words: it does not make the peer the box.
    assert get(box, "/metrics", source=ELSEWHERE,
               headers={"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"})[0] == 401
    assert get(box, "/metrics", source=ELSEWHERE, auth=("watcher", "wrong"))[0] == 401
    status, _, body = get(box, "/metrics", source=ELSEWHERE, auth=("clerk", "clerk-pw"))
    assert status == 403 and "metrics permission" in body
    status, _, body = get(box, "/metrics", source=ELSEWHERE, auth=("watcher", "watch-pw"))
    assert status == 200 and "smsd_ports_registered 2.0" in body
    assert get(box, "/metrics", source=ELSEWHERE, auth=("admin", box.password))[0] == 200
    # /health stays open to anybody.
    assert get(box, "/health", source=ELSEWHERE)[:1] == (200,)


def test_smsd_check_states_against_the_running_daemon(box: Daemon,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = ("-U", box.base)
    code, out = run_check(capsys, "ports", *url)
    assert code == check.OK and out.startswith("SMSD PORTS OK - 2 of 2 ports registered |")
    assert out.endswith("'ports_registered'=2;;1:;0;")
    code, out = run_check(capsys, "ports", *url, "-w", "3:")
    assert code == check.WARNING and out.startswith("SMSD PORTS WARNING")
    code, out = run_check(capsys, "ports", *url, "-w", "3:", "-c", "4:")
    assert code == check.CRITICAL and out.startswith("SMSD PORTS CRITICAL")
    code, out = run_check(capsys, "queue", *url, "-w", "@0:0")       # alert when empty
    assert code == check.WARNING and "'queue'=0;@0:0;5000;0;" in out
    code, out = run_check(capsys, "push-backlog", *url)
    assert code == check.OK and "'push_backlog'=0;100;1000;0;" in out
    assert run_check(capsys, "oldest", *url)[0] == check.OK
    assert run_check(capsys, "health", *url) == (check.OK, "SMSD HEALTH OK - healthy")
    # Credentials it cannot pass, a daemon that does not answer: UNKNOWN.
    code, out = run_check(capsys, "queue", "-U", f"http://127.0.0.1:{box.port}/nowhere")
    assert code == check.UNKNOWN and "HTTP 404" in out
    assert run_check(capsys, "queue", "-U", "http://127.0.0.1:1")[0] == check.UNKNOWN
    assert run_check(capsys, "queue", *url, "-w", "x:y")[0] == check.UNKNOWN   # usage
    # The installed command is the same code; its exit status is the state.
    done = subprocess.run([sys.executable, "-m", "smsd.check", "ports", *url, "-c", "3:"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == check.CRITICAL, done.stdout + done.stderr
    assert done.stdout.startswith("SMSD PORTS CRITICAL - 2 of 2 ports registered")


def test_closed_loopback_health_503_and_the_check_with_a_password(
        make_daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "smsd.conf"
    conf.write_text("[metrics]\nopen_on_loopback = no\n")
    d = make_daemon(ports=1, extra=("--config", str(conf))).start()
    smsd_cli(d, "user", "add", "watcher", "--password", "watch-pw", "--perm", "metrics")
    assert get(d, "/metrics")[0] == 401                    # the box itself must log in too
    assert get(d, "/metrics", auth=("watcher", "watch-pw"))[0] == 200
    code, out = run_check(capsys, "ports", "-U", d.base)
    assert code == check.UNKNOWN and "401" in out
    secret = tmp_path / "pw"
    secret.write_text("watch-pw\n")
    code, out = run_check(capsys, "ports", "-U", d.base, "-u", "watcher", "--password-file",
                          str(secret))
    assert code == check.OK, out

    status, _, body = get(d, "/health")
    assert (status, body) == (200, "ok\n")
    status, _ = d.request("/sim/fault", json.dumps({"port": 0, "fault": "no_sim"}).encode(),
                          headers={"Content-Type": "application/json"})
    assert status == 200
    wait_for(lambda: get(d, "/health")[0] == 503, what="/health to say no port can send")
    status, _, body = get(d, "/health")
    assert body.startswith("unhealthy\nno port can send (port 0 ") and "NO_SIM" in body
    code, out = run_check(capsys, "health", "-U", d.base)
    assert code == check.CRITICAL and out.startswith("SMSD HEALTH CRITICAL - no port can send")
    code, out = run_check(capsys, "ports", "-U", d.base, "-u", "watcher", "-p", "watch-pw")
    assert code == check.CRITICAL and "0 of 1 ports registered" in out
