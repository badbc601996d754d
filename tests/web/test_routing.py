"""The Routing page over real HTTP on loopback: rules added and deleted through svc.routes (its
validation, errors next to the field), the Test button against a local receiver (each push
format, a refusal, no answer, a redirect not followed, a receiver that never answers), CSRF,
permissions, escaping, the audit log."""
from __future__ import annotations

import html
import http.server
import re
import socket
import threading
import time
import urllib.parse
from typing import Any, Iterator

import pytest

from console_front import PW, Client, ConsoleFront
from e2e.harness import PushReceiver, reserved_port
from smsd.service.route_probe import HEAD_BYTES


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    served = PushReceiver()
    yield served
    served.server.shutdown()
    served.server.server_close()


def field_error(body: str, name: str) -> str:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', body)
    return html.unescape(found.group(1)) if found else ""


def add(client: Client, url: str, protocol: str = "isms", **more: str) -> Any:
    fields = {"url": url, "protocol": protocol, "port": "", "sender_prefix": "",
              "text_prefix": ""}
    fields.update(more)
    return client.post("/routing/add", fields)


def test_a_rule_is_added_listed_and_deleted_with_audit(front: ConsoleFront,
                                                       admin: Client) -> None:
    reply = add(admin, "http://127.0.0.1:9/in", "json", port="1", sender_prefix="+4479",
                text_prefix="ALARM")
    assert reply.status == 303, reply.body
    [route] = front.svc.routes.all()
    assert (route.url, route.protocol, route.port, route.sender_prefix, route.text_prefix) == \
        ("http://127.0.0.1:9/in", "json", 1, "+4479", "ALARM")
    page = admin.get("/routing")
    assert f'id="route-{route.id}"' in page.body and "ALARM" in page.body
    assert admin.post("/routing/delete", {"id": str(route.id)}).status == 303
    assert front.svc.routes.all() == []
    assert admin.post("/routing/delete", {"id": str(route.id)}).status == 404
    assert [e.action for e in front.svc.audit.entries(action="route")] == \
        ["route.delete", "route.create"]


@pytest.mark.parametrize("fields,name", [
    ({"url": ""}, "url"), ({"url": "ftp://host/x"}, "url"), ({"url": "http://"}, "url"),
    ({"url": "http://a b/"}, "url"), ({"url": "javascript:alert(1)"}, "url"),
    ({"protocol": "smtp"}, "protocol"), ({"protocol": ""}, "protocol"),
    ({"port": "2"}, "port"), ({"port": "-1"}, "port"), ({"port": "x"}, "port"),
    ({"sender_prefix": "9" * 65}, "sender_prefix"), ({"text_prefix": "a\nb"}, "text_prefix"),
    ({"text_prefix": "\x00"}, "text_prefix"),
])
def test_bad_rules_are_refused_next_to_their_field(front: ConsoleFront, admin: Client,
                                                   fields: dict[str, str], name: str) -> None:
    base = {"url": "http://127.0.0.1:9/in", "protocol": "isms", "port": "", "sender_prefix": "",
            "text_prefix": ""}
    reply = admin.post("/routing/add", {**base, **fields})
    assert reply.status == 400
    assert field_error(reply.body, name), reply.body
    assert front.svc.routes.all() == []
    assert front.svc.audit.entries(action="route") == []


def test_what_a_rule_holds_is_escaped(front: ConsoleFront, admin: Client) -> None:
    assert add(admin, 'http://127.0.0.1:9/"><script>x</script>',
               text_prefix="<b>KEY</b>").status == 303
    page = admin.get("/routing").body
    assert "<script>x</script>" not in page and "<b>KEY</b>" not in page
    assert "&lt;b&gt;KEY&lt;/b&gt;" in page
    refused = admin.post("/routing/add", {"url": "<i>x</i>", "protocol": "isms"})
    assert "<i>x</i>" not in refused.body


@pytest.mark.parametrize("protocol,check", [
    ("isms", lambda ctype, body: body.startswith(b"XMLDATA=%3C%3Fxml")),
    ("json", lambda ctype, body: b'"sms":[' in body and b"smsd routing test" in body),
    ("intelli-sms", lambda ctype, body: b"text=smsd+routing+test" in body),
    ("intelli-status", lambda ctype, body: b"status=3" in body),
    ("intelli-subscription", lambda ctype, body: b"sublistname=test" in body),
])
def test_the_test_button_posts_a_sample_in_the_rules_format(
        front: ConsoleFront, admin: Client, receiver: PushReceiver, protocol: str,
        check: Any) -> None:
    assert add(admin, receiver.url, protocol).status == 303
    [route] = front.svc.routes.all()
    events = front.store.events.last_event_id()
    reply = admin.post("/routing/test", {"id": str(route.id)})
    assert reply.status == 200
    assert "answered HTTP 200" in reply.body
    [(ctype, body)] = receiver.posts
    assert check(ctype, body), body
    assert front.svc.audit.entries(action="route.test")[0].detail == f"route {route.id}: HTTP 200"
    assert front.store.events.last_event_id() == events       # a test stores no event


def test_the_sample_passes_the_rules_own_filters(front: ConsoleFront, admin: Client,
                                                 receiver: PushReceiver) -> None:
    assert add(admin, receiver.url, "intelli-sms", sender_prefix="+4479",
               text_prefix="ALARM").status == 303
    admin.post("/routing/test", {"id": str(front.svc.routes.all()[0].id)})
    [form] = receiver.forms
    assert form["from"].startswith("4479") and form["text"].startswith("ALARM")


def test_a_refusal_shows_its_status(front: ConsoleFront, admin: Client) -> None:
    failing = PushReceiver(failing=True)
    try:
        add(admin, failing.url)
        reply = admin.post("/routing/test", {"id": str(front.svc.routes.all()[0].id)})
        assert reply.status == 200 and "answered HTTP 503" in reply.body
        assert failing.attempts == 1
    finally:
        failing.server.shutdown()
        failing.server.server_close()


class Answering(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the class's status, Location and body."""

    status = 200
    location = ""
    body = b""
    posts = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).posts += 1
        self.send_response(self.status)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(handler: type) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_answer_body_is_cut_and_escaped(front: ConsoleFront, admin: Client) -> None:
    handler = type("Big", (Answering,), {"body": b"<script>evil()</script>" + b"x" * 100_000})
    server = serve(handler)
    try:
        add(admin, f"http://127.0.0.1:{server.server_address[1]}/in")
        reply = admin.post("/routing/test", {"id": str(front.svc.routes.all()[0].id)})
        assert "answered HTTP 200" in reply.body and "(cut)" in reply.body
        assert "<script>evil()" not in reply.body and "&lt;script&gt;evil()" in reply.body
        shown = re.search(r'<pre class="answer">([^<]*)</pre>', reply.body)
        assert shown and len(html.unescape(shown.group(1))) == HEAD_BYTES
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_shown_not_followed(front: ConsoleFront, admin: Client,
                                          receiver: PushReceiver) -> None:
    handler = type("Moved", (Answering,), {"status": 307, "location": receiver.url})
    server = serve(handler)
    try:
        add(admin, f"http://127.0.0.1:{server.server_address[1]}/in")
        reply = admin.post("/routing/test", {"id": str(front.svc.routes.all()[0].id)})
        assert "answered HTTP 307" in reply.body
        assert receiver.attempts == 0
    finally:
        server.shutdown()
        server.server_close()


def test_no_answer_is_said_and_a_silent_receiver_is_given_up_on(front: ConsoleFront,
                                                                admin: Client) -> None:
    port = reserved_port()                    # nothing listens there
    add(admin, f"http://127.0.0.1:{port}/in")
    reply = admin.post("/routing/test", {"id": str(front.svc.routes.all()[0].id)})
    assert reply.status == 200 and "No answer:" in reply.body
    assert "no answer" in front.svc.audit.entries(action="route.test")[0].detail
    # A receiver that accepts and never answers: the service's bounded wait ends the test.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        route_id = front.svc.routes.add(f"http://127.0.0.1:{silent.getsockname()[1]}/in")
        started = time.monotonic()
        answer = front.svc.routes.test(route_id, front.svc.sn, timeout=0.5)
        assert answer.status is None and answer.error
        assert time.monotonic() - started < 3.0
    finally:
        silent.close()


def test_a_receiver_that_drips_its_answer_is_cut_off(front: ConsoleFront) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    try:
        route_id = front.svc.routes.add(f"http://127.0.0.1:{listener.getsockname()[1]}/in")
        started = time.monotonic()
        answer = front.svc.routes.test(route_id, front.svc.sn, timeout=0.5)
        assert time.monotonic() - started < 3.0          # each byte came within the timeout
        assert answer.status is None and "within 1 s" in answer.error
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("route_id", ["", "x", "-1", "999", "9" * 40])
def test_testing_or_deleting_a_rule_that_does_not_exist_is_404(admin: Client,
                                                               route_id: str) -> None:
    assert admin.post("/routing/test", {"id": route_id}).status == 404
    assert admin.post("/routing/delete", {"id": route_id}).status == 404


def test_without_csrf_nothing_is_added_tested_or_deleted(front: ConsoleFront, admin: Client,
                                                         receiver: PushReceiver) -> None:
    fields = {"url": receiver.url, "protocol": "isms"}
    assert admin.post("/routing/add", fields, csrf=False).status == 403
    assert front.svc.routes.all() == []
    route_id = front.svc.routes.add(receiver.url)
    assert admin.post("/routing/test", {"id": str(route_id)}, csrf=False).status == 403
    assert admin.post("/routing/delete", {"id": str(route_id), "csrf": "nope"}).status == 403
    assert receiver.attempts == 0 and len(front.svc.routes.all()) == 1


def test_only_admins_may_use_the_page(front: ConsoleFront, receiver: PushReceiver) -> None:
    front.svc.users.add("operator", PW, perms=("web", "ports"))
    for name in ("alice", "operator"):
        client = front.client()
        client.login(name, PW)
        assert "Routing" not in client.get("/dashboard").body
        assert client.get("/routing").status == 403
        assert client.post("/routing/add", {"url": receiver.url, "protocol": "isms"}
                           ).status == 403
    route_id = front.svc.routes.add(receiver.url)
    alice = front.client()
    alice.login("alice", PW)
    assert alice.post("/routing/test", {"id": str(route_id)}).status == 403
    assert receiver.attempts == 0
    assert urllib.parse.urlsplit(receiver.url).hostname == "127.0.0.1"
