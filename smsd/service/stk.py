"""SIM Toolkit menus: read a port's current STK frame, answer it (svc.stk).

The session is live state of the modem (nothing is stored): each call is a job for the port's
worker (smsd/modem/stk.py), and the caller waits for its answer. Checks in the order a client
can act on them: the port exists, the user may use it, it has a SIM, the SIM is unlocked, the
modem is up; then the worker checks the request against the frame it names (frame_id, item,
the answer's kind and length), because only it knows the frame at that moment.
"""
from __future__ import annotations

from smsd.errors import BadRequest, ServiceError
from smsd.model import REG_PIN_REQUIRE, REG_PUK_REQUIRE
from smsd.modem.stk import LOCKED, MAX_TEXT, StkItem, StkJob, StkView
from smsd.scheduler import Scheduler
from smsd.service.access import AccessPolicy
from smsd.service.ports import Ports, require_sim

STK_ACTIONS = ("ok", "cancel", "home")
__all__ = ["Stk", "StkItem", "StkUnavailable", "StkView"]


class StkUnavailable(ServiceError):
    """The modem could not show or take the STK frame (vendor code 500)."""

    reason = "stk"


class Stk:
    def __init__(self, scheduler: Scheduler, ports: Ports, access: AccessPolicy,
                 wait: float = 20.0) -> None:
        self._scheduler = scheduler
        self._ports = ports
        self._access = access
        self._wait = wait          # a job queued behind a send may wait that send's answer

    def view(self, port: int, user: str | None = None) -> StkView:
        """The port's current frame; a locked SIM shows input_type 12 without asking it."""
        locked = self._check(port, user)
        if locked:
            return StkView("", locked, LOCKED, 0)
        return self._run(port, StkJob("view"))

    def frame_id(self, port: int, user: str | None = None) -> int:
        return self.view(port, user).frame_id

    def go(self, port: int, *, item: int | None = None, param: str | None = None,
           action: str | None = None, frame_id: int | None = None,
           user: str | None = None) -> StkView:
        """Choose `item`, answer `param`, or act (ok, cancel, home); the frame shown after."""
        action = _action(action, item, param)
        if param is not None and len(param) > MAX_TEXT:
            raise BadRequest(f"'param' is longer than {MAX_TEXT} characters")
        locked = self._check(port, user)
        if locked:
            raise BadRequest(f"port {port}: {locked}; enter the PIN first")
        return self._run(port, StkJob(action, item=item, param=param, frame_id=frame_id))

    def _check(self, port: int, user: str | None) -> str:
        """"" when the port's SIM can be asked, the lock's description when it is locked."""
        self._ports.known([port])
        self._access.require_ports_of(user, [port], "STK")
        info = self._scheduler.info(port)
        require_sim(info)
        if info.reg in (REG_PIN_REQUIRE, REG_PUK_REQUIRE):
            return "the SIM is locked (" + ("PIN" if info.reg == REG_PIN_REQUIRE else "PUK") \
                + " required)"
        return ""

    def _run(self, port: int, job: StkJob) -> StkView:
        self._scheduler.submit(port, job)
        if not job.reply.wait(self._wait):
            raise StkUnavailable(f"port {port}: the modem did not answer within "
                                 f"{self._wait:g} s")
        if job.reply.refused:
            raise BadRequest(job.reply.refused)
        if job.reply.view is None:
            raise StkUnavailable(job.reply.failed or f"port {port}: no STK frame")
        return job.reply.view


def _action(action: str | None, item: int | None, param: str | None) -> str:
    """The worker's action: an item or a param alone means "ok"; nothing at all is refused."""
    if action is None:
        if item is None and param is None:
            raise BadRequest("send 'item', 'param' or 'action' (ok, cancel or home)")
        return "ok"
    word = action.strip().lower()
    if word not in STK_ACTIONS:
        raise BadRequest("'action' must be ok, cancel or home")
    return word
