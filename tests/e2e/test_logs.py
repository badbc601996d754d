"""Logs that tell a message's story (issue 19 point 7, docs/logs.md), on the running daemon.

One daemon: a send over HTTP logs accepted / sent / delivered / pushed with one message id; a
request with passwords in its query, its Basic auth and its form body leaves none in the log
(every line has its access line); a SIGTERM while requests are in flight logs no traceback.
Then a daemon whose standard error is "the journal" (JOURNAL_STREAM names the pipe) writes
`<N>` priorities and no timestamps.
"""
from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from e2e.harness import ADMIN_PW, Daemon, PushReceiver, reserved_port, wait_for

SECRETS = ("Qz9-query-secret", "Qz9-basic-secret", "Qz9-form-secret", "Qz9-client-secret")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def lines_about(d: Daemon, message_id: int) -> list[str]:
    return [line for line in d.output if re.search(rf"\bmessage {message_id}\b", line)]


def hammer(d: Daemon, stop: threading.Event) -> None:
    auth = base64.b64encode(f"admin:{d.password}".encode()).decode()
    request = (f"GET /api/query_sms_result HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}"
               "\r\n\r\n").encode()
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", d.port), timeout=2) as s:
                s.sendall(request)
                s.recv(10)
        except OSError:
            time.sleep(0.01)


def test_story_secrets_and_a_quiet_stop(make_daemon, receiver: PushReceiver) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1, push_urls=(receiver.url,)).start()

    # 1. one message's life, four lines with its id
    sent = d.api("send_sms", {"text": "tell my story", "request_status_report": True,
                              "param": [{"number": "+447700900321", "user_id": 9}]})
    wait_for(lambda: any(r["status"] == "DELIVERED" for r in receiver.items("sms_result")),
             timeout=20, what="DELIVERED pushed")
    ids = {int(m) for m in re.findall(r"message (\d+) accepted: task " + str(sent["task_id"]),
                                      "".join(d.output))}
    assert len(ids) == 1, d.output
    (message_id,) = ids
    wait_for(lambda: any("pushed to" in line for line in lines_about(d, message_id)),
             what="the pushed line")
    story = "".join(lines_about(d, message_id))
    assert re.search(rf"message {message_id} accepted: task \d+, user admin, dialect json", story)
    assert re.search(rf"message {message_id}: part 1 sent on port 0, slot -, reference \d+",
                     story)
    assert f"message {message_id}: delivered" in story
    assert re.search(rf"message {message_id}: sms_result pushed to ", story)
    assert all(" INFO " in line for line in lines_about(d, message_id))
    # a report that says "failed" is that message's "failed with cause"
    d.api("send_sms", {"text": "not for long", "request_status_report": True,
                       "param": [{"number": "+447700900000", "user_id": 10}]})
    wait_for(lambda: re.search(r"message \d+: status report on port 0, reference \d+: "
                               r"TP-ST 65 \(failed\)", "".join(d.output)),
             what="the failed report's line")

    # 2. secrets in the query, Basic auth, a form body, a JSON body: none in the log
    query = urllib.parse.urlencode({"user": "admin", "password": SECRETS[0], "to": "1"})
    d.request(f"/api/query_sms_in_queue?{query}")
    d.request("/api/query_sms_in_queue?x=1", auth=("admin", SECRETS[1]))
    d.request("/sendmsg", urllib.parse.urlencode({"user": "admin", "passwd": SECRETS[2],
                                                  "cat": "1", "to": "1", "text": "x"}).encode(),
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    d.request(f"/http/send-message?username=admin&clientpwd={SECRETS[3]}&to=1&text=x")
    # the last request's line (a busy stretch's INFO lines reach stderr up to 20 ms late)
    wait_for(lambda: any("smsd.access" in line and "/http/send-message?" in line
                         for line in d.output), what="access lines")
    log = "".join(d.output)
    access = [line for line in d.output if "smsd.access" in line]
    assert any("password=***" in line and '"GET /api/query_sms_in_queue?' in line
               for line in access), access
    assert any("clientpwd=***" in line for line in access), access
    assert any(" admin " in line and " 401 " in line for line in access), access

    # 3. SIGTERM with requests in flight: no traceback
    stop = threading.Event()
    threads = [threading.Thread(target=hammer, args=(d, stop), daemon=True) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    try:
        status, _ = d.signal_and_wait(signal.SIGTERM)
    finally:
        stop.set()
    log = "".join(d.output)
    assert status == 0
    assert "Traceback" not in log and "Bad file descriptor" not in log, log[-3000:]
    assert not [s for s in SECRETS if s in log]
    assert d.password not in log.split("smsd ready", 1)[1]      # not even the admin's own


def test_journal_stream_gets_priorities_and_no_timestamps(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    st = os.fstat(write_end)
    port, dead = reserved_port(), reserved_port()
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsd", "run", "--simulate", "1", "--sim-latency", "0.05",
         "--listen", f"127.0.0.1:{port}", "--state-dir", str(tmp_path / "state"),
         "--admin-password", ADMIN_PW, "--push-url", f"http://127.0.0.1:{dead}/push"],
        stdout=write_end, stderr=write_end, env=env)
    os.close(write_end)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(
        line.decode(errors="replace") for line in os.fdopen(read_end, "rb")), daemon=True)
    reader.start()
    try:
        # the push to a closed port fails: a warning
        wait_for(lambda: any(line.startswith("<4>") for line in out), timeout=30,
                 what="a warning line")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.join(5)
    logged = [line for line in out if line.startswith("<")]
    assert any(line.startswith("<6>smsd: starting") for line in logged), out
    assert any(line.startswith("<4>smsd.push") and "failed" in line for line in logged), out
    assert not [line for line in logged if TIMESTAMP.search(line)], logged
    # the rest are the daemon's own stdout lines (`smsd ready ...`)
    assert all(line.startswith("<") or line.startswith(("smsd ready", "admin account"))
               for line in out if line.strip()), out
