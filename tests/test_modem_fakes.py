"""Test doubles for the modem worker (no tests here): a recording WorkerSink, a fake not a mock."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from smsd.model import InboundPdu, PortInfo, SendResult, UssdReply
from smsd.modem.calls import CallRecord


class RecordingSink:
    """Records every call; `wait` blocks until a condition on the records holds."""

    def __init__(self, cancel: frozenset[int] = frozenset(),
                 on_inbound: Callable[[InboundPdu], None] | None = None) -> None:
        self.cancel = cancel
        self.on_inbound = on_inbound
        self.calls: list[tuple[str, object]] = []
        self.results: list[tuple[int, SendResult]] = []
        self.inbound_msgs: list[InboundPdu] = []
        self.ussd: list[UssdReply] = []
        self.infos: dict[int, list[PortInfo]] = {}
        self._cond = threading.Condition()

    def _record(self, name: str, value: object) -> None:
        with self._cond:
            self.calls.append((name, value))
            self._cond.notify_all()

    def part_starting(self, port: int, part_id: int) -> bool:
        self._record("part_starting", (port, part_id))
        return part_id not in self.cancel

    def part_result(self, port: int, result: SendResult) -> None:
        with self._cond:
            self.results.append((port, result))
        self._record("part_result", (port, result))

    def inbound(self, msg: InboundPdu) -> None:
        if self.on_inbound is not None:
            self.on_inbound(msg)        # may raise: the worker must then keep the message
        with self._cond:
            self.inbound_msgs.append(msg)
        self._record("inbound", msg)

    def ussd_reply(self, reply: UssdReply) -> None:
        with self._cond:
            self.ussd.append(reply)
        self._record("ussd_reply", reply)

    def port_changed(self, info: PortInfo) -> None:
        with self._cond:
            self.infos.setdefault(info.port, []).append(info)
        self._record("port_changed", info)

    def call_ended(self, record: CallRecord) -> None:
        self._record("call_ended", record)

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Re-checked on every sink call and every 20 ms (for state outside the sink)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.02))
            return True

    def last_info(self, port: int) -> PortInfo | None:
        with self._cond:
            infos = self.infos.get(port)
            return infos[-1] if infos else None

    def results_for(self, port: int) -> list[SendResult]:
        with self._cond:
            return [res for p, res in self.results if p == port]
