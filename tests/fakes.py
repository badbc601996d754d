"""A fake modem worker: a thread that takes jobs and calls the WorkerSink as a real worker would.

It honours the contract of smsd.modem: part_starting before "transmitting", part_result after,
on_air=False when a part is refused before it reached the modem, USSD replies, port changes.
Behaviour is configured with plain attributes (latency, an outcome function, MR counter start).
"""
from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import replace
from typing import Any, Callable

from smsd.model import (REG_OK, STATE_READY, InboundPdu, ModemJob, PortInfo, SendResult,
                        UssdReply)
from smsd.modem.jobs import SendPart, Ussd
from smsd.modem.sink import WorkerSink

Outcome = Callable[["FakeWorker", SendPart], "SendResult | None"]


def ready_info(port: int, **changes: object) -> PortInfo:
    base = PortInfo(port=port, state=STATE_READY, reg=REG_OK, imsi=f"0010100000{port:05d}",
                    iccid=f"894400000000{port:05d}", number=f"+44790000{port:04d}", slots=4,
                    slot=0, type="LTE")
    return replace(base, **changes)  # type: ignore[arg-type]


class FakeWorker:
    def __init__(self, port: int, sink: WorkerSink, *, latency: float = 0.0, mr_start: int = 0,
                 outcome: Outcome | None = None, info: PortInfo | None = None,
                 transmit_log: str | None = None) -> None:
        self.port = port
        self.sink = sink
        self.latency = latency
        self.mr = mr_start
        self.outcome = outcome
        self._info = info or ready_info(port)
        self._jobs: queue.Queue[ModemJob | None] = queue.Queue()
        self._log_fd = (os.open(transmit_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                        if transmit_log else None)
        self.transmitted: list[SendPart] = []    # parts that went "on the air"
        self.skipped: list[int] = []             # part_starting said no
        self.other_jobs: list[ModemJob] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"fake-{port}", daemon=True)

    @property
    def info(self) -> PortInfo:
        return self._info

    def start(self) -> "FakeWorker":
        self._thread.start()
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():                 # never started, or stopped already
            return
        self._jobs.put(None)
        self._thread.join(5)

    def submit(self, job: ModemJob) -> None:
        self._jobs.put(job)

    def change(self, **changes: object) -> None:
        """Change the port's state and tell the sink, as a worker does after AT+CREG etc."""
        self._info = replace(self._info, **changes)  # type: ignore[arg-type]
        self.sink.port_changed(self._info)

    def receive(self, pdu_hex: str, kind: str = "deliver", slot: int = 0) -> None:
        self.sink.inbound(InboundPdu(port=self.port, slot=slot, pdu_hex=pdu_hex, kind=kind,
                                     imsi=self._info.imsi))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if isinstance(job, SendPart):
                self._send(job)
            elif isinstance(job, Ussd):
                self._ussd(job)
            else:
                with self.lock:
                    self.other_jobs.append(job)

    def _send(self, job: SendPart) -> None:
        if not self._info.can_send:
            self.sink.part_result(self.port, SendResult(job.part_id, ok=False, on_air=False,
                                                        error="port not ready"))
            return
        if not self.sink.part_starting(self.port, job.part_id):
            with self.lock:
                self.skipped.append(job.part_id)
            return
        if self._log_fd is not None:
            os.write(self._log_fd, f"{job.part_id} {self.port}\n".encode())
        if self.latency:
            time.sleep(self.latency)
        result = self.outcome(self, job) if self.outcome else None
        if result is None:
            result = SendResult(job.part_id, ok=True, mr=self.mr)
            self.mr = (self.mr + 1) % 256
        with self.lock:
            self.transmitted.append(job)
        self.sink.part_result(self.port, result)

    def _ussd(self, job: Ussd) -> None:
        with self.lock:
            self.other_jobs.append(job)
        if not job.cancel:
            self.sink.ussd_reply(UssdReply(self.port, f"reply to {job.text}", 0))


def start_all(sched: Any, workers: dict[int, FakeWorker]) -> None:
    """Start a test rig's fake workers, then its scheduler."""
    for w in workers.values():
        w.start()
    sched.start()


def stop_all(sched: Any, workers: dict[int, FakeWorker], store: Any) -> None:
    """Stop a test rig: scheduler first (it submits to the workers), then workers, then store."""
    sched.stop()
    for w in workers.values():
        w.stop()
    store.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll a condition in a test (tests may poll; the code under test may not). True once it
    holds; when `timeout` runs out first the test fails here, whatever the caller does with
    the answer (`assert wait_for(...)` reads as before)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    if predicate():
        return True
    raise AssertionError(f"still not so after {timeout} s: {getattr(predicate, '__qualname__', predicate)}")
