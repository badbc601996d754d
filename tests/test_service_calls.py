"""svc.calls over a temp store and fake workers: what it refuses before a job, how it waits, and
that what the network said is shown only for the SIM it was said of."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smsd.errors import BadRequest
from smsd.model import REG_NO_SIM, STATE_QUARANTINED, ModemJob
from smsd.modem.calls import CallForward, ForwardResult
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.service.calls import CallForwardFailed, Calls
from smsd.store import Store
from tests.fakes import FakeWorker


class NetworkWorker(FakeWorker):
    """Answers CallForward jobs as a network holding `forwards` would (reason -> number)."""

    forwards: dict[int, str] = {}

    def submit(self, job: ModemJob) -> None:
        if not isinstance(job, CallForward):
            super().submit(job)
            return
        if job.number is not None:
            self.forwards = {**self.forwards, job.reason: job.number}
        reasons = (0, 1, 2, 3) if job.reason == 4 else (job.reason,)
        job.reply(ForwardResult(True, {r: self.forwards.get(r, "") for r in reasons}))


WORKERS: dict[int, FakeWorker] = {}


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Service]:
    store = Store(str(tmp_path / "calls.db"))
    sched = Scheduler(store)
    sink = ModemEventSink(store, sched)
    workers = {0: NetworkWorker(0, sink), 1: FakeWorker(1, sink)}    # port 1 never answers
    sched.attach(workers)
    WORKERS.clear()
    WORKERS.update(workers)
    service = Service(store, sched, workers)
    yield service
    store.close()


def test_forwarding_is_shown_for_the_sim_it_was_read_of(svc: Service) -> None:
    assert svc.calls.set_forward(0, "Unconditional", "15013828917") == \
        {"Unconditional": "15013828917"}
    assert svc.calls.set_forward(0, "not_reachable", "+447700900003") == \
        {"Unconditional": "15013828917", "NotReachable": "+447700900003"}
    assert svc.calls.forwarding([0, 1]) == [
        (0, {"Unconditional": "15013828917", "NotReachable": "+447700900003"}), (1, {})]
    worker = WORKERS[0]
    worker.change(imsi="001010000099999")                   # another SIM in the port
    assert svc.calls.forwarding([0]) == [(0, {})]
    assert svc.calls.check_forward(0) == {"Unconditional": "15013828917",
                                          "NotReachable": "+447700900003"}


@pytest.mark.parametrize("param, number, words", [
    ("Sideways", "123", "'param' must be"), ("", "123", "'param' must be"),
    ("Busy", "12;ATD", "not a phone number"), ("Busy", "１２３", "not a phone number"),
    ("Busy", "1" * 21, "not a phone number")])
def test_bad_requests_are_refused_before_any_job(svc: Service, param: str, number: str,
                                                 words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        svc.calls.set_forward(0, param, number)


def test_ports_that_cannot_take_the_job_are_refused_at_once(svc: Service) -> None:
    with pytest.raises(BadRequest, match="no port 7"):
        svc.calls.check_forward(7)
    worker = WORKERS[0]
    worker.change(reg=REG_NO_SIM)
    with pytest.raises(BadRequest, match="has no SIM"):
        svc.calls.check_forward(0)
    worker.change(reg="REGISTER_OK", state=STATE_QUARANTINED)
    started = time.monotonic()
    with pytest.raises(CallForwardFailed, match="quarantined"):
        svc.calls.set_forward(0, "Busy", "123")
    assert time.monotonic() - started < 1


def test_a_modem_that_never_answers_costs_the_wait_then_a_500(svc: Service) -> None:
    calls = Calls(svc._store, svc.ports._scheduler, svc.ports, svc.access,  # type: ignore[attr-defined]
                  wait=0.2)         # the service's own subjects, a short wait
    with pytest.raises(CallForwardFailed, match="did not answer"):
        calls.check_forward(1)
    assert calls.forwarding([1]) == [(1, {})]
