"""Calls on the GSM side: call detail records and call forwarding (svc.calls).

CDRs are what the ports' workers recorded (smsd/modem/calls.py -> store.cdr). Call forwarding is
state of the network, not of the box: setting or checking it is a job for the port's worker,
which runs AT+CCFC and reads the result back from the network; the caller waits for that answer.
What the network said last is kept per port with the SIM (IMSI) it was said of, and
`forwarding()` shows it only while that SIM is still the port's: nothing is echoed from a request.
"""
from __future__ import annotations

import re
import threading
from typing import Sequence

from smsd.errors import BadRequest, ServiceError
from smsd.model import STATE_QUARANTINED, STATE_RECOVERING
from smsd.modem.calls import ALL_REASONS, CallForward, ForwardResult
from smsd.scheduler import Scheduler
from smsd.service.access import AccessPolicy
from smsd.service.ports import Ports, require_sim
from smsd.service.sending import parse_query_time
from smsd.store.cdr import CallDetail
from smsd.store.db import Store

# The JSON API's forwarding names (section 18) -> AT+CCFC reasons; the spec spells one of them
# both "NotReachable" and "Not_Reachable", so names compare without case or underscores.
FORWARD_NAMES = {0: "Unconditional", 1: "Busy", 2: "NoReply", 3: "NotReachable"}
_PARAMS = {**{name.lower(): reason for reason, name in FORWARD_NAMES.items()},
           "cancelall": ALL_REASONS}
PARAM_WORDS = "Unconditional, Busy, NoReply, NotReachable or CancelAll"
_NUMBER = re.compile(r"\+?[0-9]{1,20}")

__all__ = ["CallDetail", "Calls", "CallForwardFailed", "FORWARD_NAMES"]


class CallForwardFailed(ServiceError):
    """The modem or the network did not carry the forwarding request out (vendor code 500)."""

    reason = "call_forward"


class _Answer:
    """Where a worker thread leaves a CallForward job's result for the waiting request."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.result = ForwardResult(False, error="no answer")

    def __call__(self, result: ForwardResult) -> None:
        self.result = result
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


class Calls:
    def __init__(self, store: Store, scheduler: Scheduler, ports: Ports, access: AccessPolicy,
                 wait: float = 150.0) -> None:
        self._store = store
        self._scheduler = scheduler
        self._ports = ports
        self._access = access
        # Up to five network round trips (a change, four read-backs), each up to the modem's
        # USSD timeout, behind whatever the port is doing.
        self._wait = wait
        self._lock = threading.Lock()
        self._known: dict[int, tuple[str, dict[int, str]]] = {}   # port -> (imsi, reason: number)

    # --- call detail records ------------------------------------------------------------------------
    def cdr(self, ports: Sequence[int] | None = None, time_after: str | None = None,
            time_before: str | None = None, user: str | None = None) -> list[CallDetail]:
        """The calls of `ports` (None: all) that started within the bounds, oldest first."""
        wanted = self._ports.known(ports)
        if wanted is None:
            self._access.require_port_control(user, "call records of every port")
        else:
            self._access.require_ports_of(user, wanted, "call records")
        return self._store.cdr.query(ports=wanted, time_after=parse_query_time(time_after),
                                     time_before=parse_query_time(time_before))

    # --- call forwarding ----------------------------------------------------------------------------
    def set_forward(self, port: int, param: str, number: str | None,
                    user: str | None = None) -> dict[str, str]:
        """Forward `param`'s calls to `number` ("" or None: cancel it; CancelAll: every
        forwarding off). Returns the port's forwarding as the network then reads."""
        reason = forward_reason(param)
        number = (number or "").strip()
        if reason == ALL_REASONS:
            number = ""
        elif number and not (number.isascii() and _NUMBER.fullmatch(number)):
            raise BadRequest(f"'number' {number!r} is not a phone number (up to 20 digits, an "
                             "optional leading +)")
        self._check(port, user)
        return self._run(port, CallForward(reason, number, _Answer()))

    def check_forward(self, port: int, user: str | None = None) -> dict[str, str]:
        """Read every forwarding of the port's SIM from the network."""
        self._check(port, user)
        return self._run(port, CallForward(ALL_REASONS, None, _Answer()))

    def forwarding(self, ports: Sequence[int] | None = None,
                   user: str | None = None) -> list[tuple[int, dict[str, str]]]:
        """(port, {name: number} of active forwardings) as the network last answered, for the
        SIM the port holds now; {} for a port never read (CheckCallForward reads it)."""
        wanted = self._ports.known(ports) or sorted(self._ports.all)
        self._access.require_ports_of(user, wanted, "call forwarding")
        out = []
        for port in wanted:
            imsi = self._scheduler.info(port).imsi
            with self._lock:
                known_imsi, forwards = self._known.get(port, ("", {}))
            shown = forwards if imsi and imsi == known_imsi else {}
            out.append((port, {FORWARD_NAMES[r]: n for r, n in sorted(shown.items()) if n}))
        return out

    def _check(self, port: int, user: str | None) -> None:
        self._ports.known([port])
        self._access.require_port_control(user, "call forwarding")
        info = self._scheduler.info(port)
        require_sim(info)
        if info.state in (STATE_RECOVERING, STATE_QUARANTINED):
            # Its worker is busy bringing the modem back: say so now rather than after the wait.
            raise CallForwardFailed(f"port {port} is {info.state}")

    def _run(self, port: int, job: CallForward) -> dict[str, str]:
        answer = job.reply
        assert isinstance(answer, _Answer)
        self._scheduler.submit(port, job)
        if not answer.wait(self._wait):
            raise CallForwardFailed(f"port {port}: the modem did not answer within "
                                    f"{self._wait:g} s")
        result = answer.result
        if result.forwards:
            self._remember(port, result.forwards)
        if not result.ok:
            raise CallForwardFailed(f"port {port}: {result.error}")
        return dict(self.forwarding([port])[0][1])

    def _remember(self, port: int, forwards: dict[int, str]) -> None:
        imsi = self._scheduler.info(port).imsi
        with self._lock:
            known_imsi, known = self._known.get(port, ("", {}))
            merged = {**known, **forwards} if known_imsi == imsi else dict(forwards)
            self._known[port] = (imsi, merged)


def forward_reason(param: str | None) -> int:
    """The AT+CCFC reason of a `param` (Unconditional, Busy, NoReply, NotReachable, CancelAll)."""
    key = (param or "").strip().lower().replace("_", "")
    if key not in _PARAMS:
        raise BadRequest(f"'param' must be {PARAM_WORDS}, not {param!r}")
    return _PARAMS[key]
