"""Send, Outbox and Inbox over real HTTP: bad input of every form field, CSRF, escaping of
strangers' names and texts, ownership, paging, CSV export, the counter and progress endpoints."""
from __future__ import annotations

import json
import time

import pytest

from console_front import ADMIN_PW, PW, ConsoleFront
from fakes import wait_for

HOSTILE = '<script>alert("x")</script>&"\''


def signed_in(front: ConsoleFront, user: str = "alice") -> object:
    c = front.client()
    assert c.login(user, ADMIN_PW if user == "admin" else PW).status == 303
    return c


def queued(front: ConsoleFront) -> int:
    return len(front.svc.sending.query_results())


def test_send_queues_and_shows_progress(front: ConsoleFront) -> None:
    c = signed_in(front)
    reply = c.post("/send", {"to": "+447700900001, 447700900002", "text": "hello", "port": ""})
    assert reply.status == 303 and "/send?task=" in reply.location, reply.body
    task = reply.location.rpartition("=")[2]
    page = c.get(reply.location)
    assert 'id="progress"' in page.body and "Accepted: 2 message(s)" in page.body
    assert wait_for(lambda: json.loads(c.get(f"/send/task/{task}").body)["finished"])
    state = json.loads(c.get(f"/send/task/{task}").body)
    assert state["total"] == 2 and state["done"] == 2 and state["failed"] == 0


@pytest.mark.parametrize("fields,field_error", [
    ({"to": "", "text": "hi"}, "one or more numbers"),
    ({"to": "nobody-we-know", "text": "hi"}, "unknown recipient"),
    ({"to": "+4477009", "text": ""}, "empty text"),
    ({"to": "+4477009", "text": "hi", "port": "9"}, "no port 9"),
    ({"to": "+4477009", "text": "hi", "port": "0"}, "no port 0"),
    ({"to": "+12ab", "text": "hi"}, "unknown recipient"),
    ({"to": "+4477009", "text": "x" * 20000}, "text over"),
])
def test_bad_send_shows_the_error_and_queues_nothing(front: ConsoleFront, fields: dict[str, str],
                                                    field_error: str) -> None:
    c = signed_in(front)
    reply = c.post("/send", {"port": "", **fields})
    assert reply.status == 400
    assert field_error in reply.body and 'class="field-error"' in reply.body
    assert queued(front) == 0


@pytest.mark.parametrize("token", [None, "", "wrong", "x" * 43])
def test_send_without_a_valid_token_is_403_and_sends_nothing(front: ConsoleFront,
                                                            token: str | None) -> None:
    c = signed_in(front)
    fields = {"to": "+447700900001", "text": "hi"}
    if token is not None:
        fields["csrf"] = token
    assert c.post("/send", fields, csrf=False).status == 403
    assert queued(front) == 0


def test_another_sessions_token_does_not_pass(front: ConsoleFront) -> None:
    alice, bob = signed_in(front, "alice"), signed_in(front, "bob")
    reply = alice.post("/send", {"to": "+447700900001", "text": "hi", "csrf": bob.csrf})
    assert reply.status == 403 and queued(front) == 0


def test_a_hostile_contact_name_and_text_are_escaped(front: ConsoleFront) -> None:
    front.svc.book.contact_set("evil", "+447700900009")
    c = signed_in(front)
    reply = c.post("/send", {"to": "evil", "text": HOSTILE})
    assert reply.status == 303
    page = c.get("/outbox").body
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&quot;&#039;" in page
    bad = c.post("/send", {"to": HOSTILE, "text": "hi"})
    assert bad.status == 400 and "<script>alert" not in bad.body
    inbox = c.get("/inbox?text=" + "%3Cscript%3E")
    assert "<script>" not in inbox.body


def test_the_counter_uses_the_service_plan(front: ConsoleFront) -> None:
    c = signed_in(front)
    plan = lambda text: json.loads(c.get("/send/plan?text=" + text).body)  # noqa: E731
    assert plan("hello") == {"chars": 5, "parts": 1, "encoding": "gsm7"}
    assert plan("x" * 161)["parts"] == 2
    assert plan("%D0%96")["encoding"] == "ucs2"           # Cyrillic
    assert plan("%E2%82%AC")["encoding"] == "gsm7"        # the euro sign is in GSM-7's extension
    assert "error" in json.loads(c.get("/send/plan?text=hi&port=99").body)


def test_users_see_only_their_own_messages(front: ConsoleFront) -> None:
    alice, bob, admin = (signed_in(front, u) for u in ("alice", "bob", "admin"))
    alice.post("/send", {"to": "+447700900001", "text": "from alice"})
    bob.post("/send", {"to": "+447700900002", "text": "from bob"})
    assert "from alice" in alice.get("/outbox").body and "from bob" not in alice.get("/outbox").body
    assert "from bob" in bob.get("/outbox").body and "from alice" not in bob.get("/outbox").body
    both = admin.get("/outbox").body
    assert "from alice" in both and "from bob" in both
    task = front.svc.search.outbox(front.svc.search.query(), "bob").rows[0].task_id
    assert alice.get(f"/send/task/{task}").status == 404           # not alice's: no such task
    assert alice.post(f"/send/task/{task}/stop", {}).status == 404


@pytest.mark.parametrize("task", ["9" * 25, "-1", "%D9%A3"])
def test_task_ids_sqlite_cannot_hold_are_no_such_task(front: ConsoleFront, task: str) -> None:
    c = signed_in(front)               # 25 digits overflowed SQLite's integer: a 500
    assert c.get(f"/send/task/{task}").status == 404
    assert c.post(f"/send/task/{task}/stop", {}).status == 404


def test_outbox_search_paging_and_csv(front: ConsoleFront) -> None:
    c = signed_in(front, "admin")
    numbers = ", ".join(f"+4477009{i:05d}" for i in range(60))
    assert c.post("/send", {"to": numbers, "text": "=HYPERLINK(\"x\")"}).status == 303
    first = c.get("/outbox").body
    assert "60 message(s), page 1 of 2" in first and 'rel="next"' in first
    assert "page 2 of 2" in c.get("/outbox?page=2").body
    assert "1 message(s)" in c.get("/outbox?number=447700900007").body
    assert c.get("/outbox?status=SENT_OK&port=1&from=2000-01-01&to=2999-12-31").status == 200
    for bad in ("status=BOGUS", "port=77", "from=yesterday", "from=2026-02-30", "page=0",
                "number=abc", "from=2026-01-02&to=2026-01-01"):
        reply = c.get("/outbox?" + bad)
        assert reply.status == 400 and 'class="field-error"' in reply.body, bad
    csv_reply = c.get("/outbox/export.csv?number=44770090000")
    assert csv_reply.headers["content-type"].startswith("text/csv")
    lines = csv_reply.body.strip().split("\r\n")
    assert lines[0].startswith("message_id,") and len(lines) == 11
    assert all("'=HYPERLINK" in line for line in lines[1:])            # no formula for Excel


def test_inbox_lists_marks_read_and_filters(front: ConsoleFront) -> None:
    front.svc.users.set_ports("alice", [0])
    for port, sender, text in ((0, "+447700900100", "hello alice"), (1, "+447700900200", "other")):
        front.store.inbox.add_inbound(port=port, slot=0, imsi="", sender=sender, smsc="",
                                      scts=time.time(), text=text, concat=None, now=time.time())
    alice = signed_in(front, "alice")
    page = alice.get("/inbox").body
    assert "hello alice" in page and "other" not in page and ">new<" in page
    again = alice.get("/inbox").body
    assert "hello alice" in again and ">new<" not in again             # shown once: read
    assert "No messages" in alice.get("/inbox?status=unread").body
    admin = signed_in(front, "admin")
    assert "other" in admin.get("/inbox?port=2").body
    assert "hello alice" not in admin.get("/inbox?port=2").body
    csv_reply = admin.get("/inbox/export.csv")
    assert "+447700900200" in csv_reply.body and "hello alice" in csv_reply.body


def test_stop_ends_a_bulk_send_and_the_progress_says_so(front: ConsoleFront) -> None:
    for worker in front.workers.values():
        worker.latency = 0.05                       # 40 messages take about a second
    c = signed_in(front)
    numbers = ", ".join(f"+4477009{i:05d}" for i in range(40))
    reply = c.post("/send", {"to": numbers, "text": "bulk"})
    task = reply.location.rpartition("=")[2]
    assert c.post(f"/send/task/{task}/stop", {}, csrf=False).status == 403   # still running
    stopped = c.post(f"/send/task/{task}/stop", {})
    assert stopped.status == 303 and "stopped" in c.get(stopped.location).body
    assert wait_for(lambda: json.loads(c.get(f"/send/task/{task}").body)["finished"])
    state = json.loads(c.get(f"/send/task/{task}").body)
    assert state["total"] == 40 and 0 < state["failed"] <= 40
