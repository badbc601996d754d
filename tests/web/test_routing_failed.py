"""Pushes that failed for good: a route's push target parks a batch its receiver refused for the
give-up time and goes on (smsd/push/worker.py); the Routing page lists them and replays one
(svc.routes.replay) against a receiver on loopback. Without a give-up time a target keeps
retrying the same batch, as before."""
from __future__ import annotations

import functools
import time


import pytest

from console_front import Client, ConsoleFront
from e2e.harness import PushReceiver
from smsd.push.worker import PushTarget, PushWorker
from smsd.service.book import route_matches
from smsd.store.contacts import route_cursor_key


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def inbound(front: ConsoleFront, text: str) -> None:
    """A received SMS event, as the modem sink stores one."""
    with front.store.db.write() as conn:
        front.store.events.emit(conn, "sms", {
            "incoming_sms_id": 1, "port": 0, "number": "+447700900555", "smsc": "",
            "timestamp": "2026-12-06 10:00:00", "text": text}, time.time())


def worker_for(front: ConsoleFront, route_id: int, clock: Clock, give_up: float | None,
               answers: list[int]) -> PushWorker:
    route = front.svc.routes.get(route_id)
    target = PushTarget(route.url, dialect=route.protocol, name=route_cursor_key(route_id),
                        match=functools.partial(route_matches, route), give_up=give_up)

    def post(url: str, data: bytes, ctype: str, timeout: float) -> int:
        answers.append(503 if b"BAD" in data else 200)
        return answers[-1]

    return PushWorker(front.store.events, [target], front.svc.sn, clock=clock, post=post,
                      failures=front.store.push_failed)


def run(worker: PushWorker, clock: Clock, seconds: float, step: float = 30.0) -> None:
    """Drive the worker's passes by hand over `seconds` of its clock."""
    end = clock.now + seconds
    while clock.now < end:
        for target in worker.targets:
            while worker._service(target):       # noqa: SLF001 - one pass, no thread
                pass
        clock.now += step


def test_a_batch_refused_for_the_give_up_time_is_parked_and_the_next_goes_out(
        front: ConsoleFront) -> None:
    route_id = front.svc.routes.add("http://127.0.0.1:9/in", "intelli-sms")   # one per POST
    inbound(front, "BAD one")
    inbound(front, "good one")
    clock, posts = Clock(), []  # type: Clock, list[int]
    worker = worker_for(front, route_id, clock, give_up=3600.0, answers=posts)
    run(worker, clock, 1800)
    assert front.store.push_failed.list() == []              # still retrying
    assert front.store.events.push_cursor(route_cursor_key(route_id)) == 0
    run(worker, clock, 3600)
    [parked] = front.store.push_failed.list()
    assert parked.event.payload["text"] == "BAD one" and parked.error == "HTTP 503"
    assert parked.attempts > 1
    assert front.store.events.push_cursor(route_cursor_key(route_id)) == 2   # both passed
    assert posts[-1:] == [200]                               # the good one went out
    assert [f.id for f in front.svc.routes.failed()] == [parked.id]


def test_without_a_give_up_time_a_target_retries_for_ever(front: ConsoleFront) -> None:
    route_id = front.svc.routes.add("http://127.0.0.1:9/in", "json")
    inbound(front, "BAD one")
    clock, posts = Clock(), []  # type: Clock, list[int]
    worker = worker_for(front, route_id, clock, give_up=None, answers=posts)
    run(worker, clock, 7 * 86400, step=600)
    assert front.store.push_failed.list() == []
    assert front.store.events.push_cursor(route_cursor_key(route_id)) == 0


def park(front: ConsoleFront, route_id: int, text: str) -> int:
    inbound(front, text)
    front.store.push_failed.park(route_cursor_key(route_id),
                                 [front.store.events.last_event_id()], "HTTP 503", 7)
    return front.store.push_failed.list()[0].id


def test_the_page_lists_parked_pushes_and_a_replay_delivers_one(front: ConsoleFront,
                                                                admin: Client) -> None:
    receiver = PushReceiver(failing=True)
    try:
        route_id = front.svc.routes.add(receiver.url, "intelli-sms")
        failed_id = park(front, route_id, "<b>parked</b> text")
        page = admin.get("/routing")
        assert f'id="failed-{failed_id}"' in page.body and "HTTP 503" in page.body
        reply = admin.post("/routing/replay", {"id": str(failed_id)})      # still refused
        assert reply.status == 200 and "answered HTTP 503" in reply.body
        assert front.store.push_failed.get(failed_id).attempts == 8    # type: ignore[union-attr]
        receiver.failing = False
        reply = admin.post("/routing/replay", {"id": str(failed_id)})
        assert "answered HTTP 200" in reply.body
        assert receiver.forms[-1]["text"] == "<b>parked</b> text"
        assert front.svc.routes.failed() == []
        assert f'id="failed-{failed_id}"' not in reply.body
        assert admin.post("/routing/replay", {"id": str(failed_id)}).status == 404
        assert [e.action for e in front.svc.audit.entries(action="route.replay")] == \
            ["route.replay", "route.replay"]
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_deleting_a_route_forgets_its_parked_pushes(front: ConsoleFront, admin: Client) -> None:
    route_id = front.svc.routes.add("http://127.0.0.1:9/in", "json")
    failed_id = park(front, route_id, "x")
    assert admin.post("/routing/delete", {"id": str(route_id)}).status == 303
    assert front.store.push_failed.get(failed_id) is None
    assert admin.post("/routing/replay", {"id": str(failed_id)}).status == 404


@pytest.mark.parametrize("value", ["", "x", "-1", "12345", "9" * 40])
def test_replay_of_nothing_is_404_and_needs_csrf(front: ConsoleFront, admin: Client,
                                                 value: str) -> None:
    assert admin.post("/routing/replay", {"id": value}).status == 404
    route_id = front.svc.routes.add("http://127.0.0.1:9/in", "json")
    failed_id = park(front, route_id, "x")
    assert admin.post("/routing/replay", {"id": str(failed_id)}, csrf=False).status == 403
    assert front.store.push_failed.get(failed_id) is not None
