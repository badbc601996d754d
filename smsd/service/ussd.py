"""USSD: one session per port at a time; the reply arrives later and is asked for."""
from __future__ import annotations

from typing import Callable, Sequence

from smsd.errors import BadRequest
from smsd.model import Limits
from smsd.modem.jobs import Ussd as UssdJob
from smsd.scheduler import Scheduler
from smsd.service.access import AccessPolicy
from smsd.service.ports import Ports, will_send
from smsd.store.db import Store

USSD_COMMANDS = ("send", "cancel")


class Ussd:
    def __init__(self, store: Store, scheduler: Scheduler, ports: Ports, access: AccessPolicy,
                 limits: Limits, clock: Callable[[], float], wait: float) -> None:
        self._store = store
        self._scheduler = scheduler
        self._ports = ports
        self._access = access
        self.limits = limits
        self._clock = clock
        self._wait = wait              # a USSD older than this no longer makes a port busy

    def send(self, ports: Sequence[int], text: str, command: str = "send",
                  user: str | None = None) -> list[tuple[int, int]]:
        """(port, 200 sent | 486 busy | 503 not registered) for each port."""
        if command not in USSD_COMMANDS:
            raise BadRequest("command must be send or cancel")
        if command == "send" and not text:
            raise BadRequest("empty USSD text")
        if len(text.encode("utf-8")) > self.limits.ussd_max_bytes:
            raise BadRequest(f"USSD text over {self.limits.ussd_max_bytes} bytes")
        wanted = self._ports.known(ports)
        if not wanted:
            raise BadRequest("no port given")
        self._access.require_ports_of(user, wanted, "USSD")
        return [(port, self._one(port, text, command)) for port in wanted]

    def _one(self, port: int, text: str, command: str) -> int:
        info = self._scheduler.info(port)
        if not will_send(info):
            return 503
        now = self._clock()
        if command == "send" and (info.busy or self._pending(port, now)):
            return 486
        if command == "send":
            self._store.inbox.ussd_sent(port, text, now)
        self._scheduler.submit(port, UssdJob(text, cancel=command == "cancel"))
        return 200

    def _pending(self, port: int, now: float) -> bool:
        last = self._store.inbox.ussd_last(port)
        return last is not None and last[0] == "out" and now - last[2] < self._wait

    def replies(self, ports: Sequence[int],
                         user: str | None = None) -> list[tuple[int, str]]:
        """The latest reply of each port; "" when none came since the last USSD we sent."""
        out = []
        wanted = self._ports.known(ports) or []
        self._access.require_ports_of(user, wanted, "USSD")
        for port in wanted:
            last = self._store.inbox.ussd_last(port)
            out.append((port, last[1] if last is not None and last[0] == "in" else ""))
        return out
