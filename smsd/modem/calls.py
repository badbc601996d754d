"""Voice calls on a modem port: incoming calls become call records; call forwarding jobs.

Theory of operation. An SMS gateway takes no calls, but it must not let them ring unseen. The
worker hands every `RING` / `+CRING` / `+CLIP` / `NO CARRIER` URC to its `CallTracker`. The first
of a call opens a record (start time, the caller from +CLIP, the port's call policy then):

- `reject` (the default): a follow-up hangs up at once with the profile's hang-up command;
- `ignore`: it rings until the caller gives up (the network's no-reply forwarding may take it);
- `forward`: leave the call to the SIM's call forwarding (network state, set with AT+CCFC). When
  this port's last AT+CCFC read showed busy forwarding active for the SIM it holds, it rejects at
  once, which the network treats as "user busy" and forwards without delay; otherwise it lets it
  ring for the network's no-reply forwarding.

`NO CARRIER` (the other side released), or our own hang-up, ends the call: a follow-up reads the
release cause with AT+CEER and the record goes up through `report`. URC handlers never issue
commands (the worker's rule): they only queue follow-ups, bound to the call they are for, so a
late follow-up of a call that ended otherwise does nothing.

Call forwarding: a `CallForward` job sets (registration, or erasure without a number) or checks
the forwarding of one reason, or checks all four, and then reads the state back from the network
with AT+CCFC=<reason>,2; the job's `reply` gets what the network said.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smsd.at import Command, CommandError, Response, Urc
from smsd.at.calls import parse_ceer, parse_clip, voice_forward
from smsd.model import STATE_READY, ModemJob

log = logging.getLogger("smsd.modem")

POLICIES = ("reject", "ignore", "forward")
DIRECTION_IN = "gsm->ip"                 # the JSON API's word for a call from the GSM side
HANGUP_GATEWAY, HANGUP_CALLING = "gateway", "calling"
# AT+CCFC reasons (TS 27.007 7.11); 4 is "all call forwarding" (used to cancel them all).
REASONS = (0, 1, 2, 3)
BUSY = 1
ALL_REASONS = 4
VOICE = 1                                # <class> 1: voice
_NUMBER = re.compile(r"\+?[0-9]{1,20}")


@dataclass(frozen=True)
class CallRecord:
    """One finished call, as the worker reports it (`WorkerSink.call_ended`)."""

    port: int
    slot: int
    imsi: str
    source_number: str
    destination_number: str
    started: float                       # epoch seconds
    answered: float | None
    ended: float
    hangup: str                          # "calling" | "gateway"
    gsm_code: int                        # TS 24.008 cause; 0 when the modem named none
    policy: str
    direction: str = DIRECTION_IN

    @property
    def duration(self) -> int:
        return 0 if self.answered is None else max(0, round(self.ended - self.answered))


@dataclass(frozen=True)
class ForwardResult:
    """What the network answered: {reason: number ("" = not forwarded)}, or why it failed."""

    ok: bool
    forwards: dict[int, str] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class CallForward(ModemJob):
    """Set (`number` given; "" erases) or only check (`number` None) call forwarding of `reason`
    (0..3, or 4 = all, for an erasure or a check of every reason); `reply` gets the outcome."""

    reason: int
    number: str | None
    reply: Callable[[ForwardResult], None]


@dataclass
class _Call:
    started: float
    policy: str
    number: str = ""
    ending: bool = False                  # a hang-up or NO CARRIER is being handled


class CallTracker:
    """One port's calls; lives in (and is only called from) the port's worker thread."""

    def __init__(self, run: Callable[[Command], Response | CommandError],
                 followup: Callable[[Callable[[], object]], None],
                 report: Callable[[CallRecord], None], *, timeout: float = 5.0,
                 wall: Callable[[], float] = time.time) -> None:
        self._run = run                  # the worker's channel.run (worker thread only)
        self._followup = followup
        self._report = report
        self._timeout = timeout
        self._wall = wall
        self._call: _Call | None = None
        self._where: Callable[[], tuple[int, int, str, str]] = lambda: (0, 255, "", "")
        self._forwards: tuple[str, dict[int, str]] = ("", {})   # (imsi, what AT+CCFC read)

    def bind(self, where: Callable[[], tuple[int, int, str, str]]) -> None:
        """Where a record is from: (port, slot, imsi, own number), asked when a call ends."""
        self._where = where

    @property
    def ringing(self) -> bool:
        return self._call is not None

    # --- URCs ---------------------------------------------------------------------------------
    def on_urc(self, urc: Urc, policy: str, hangup: str) -> None:
        if urc.name == "NO CARRIER":
            self._remote_end()
            return
        call = self._call or self._open(policy, hangup)
        if urc.name == "+CLIP":
            call.number = parse_clip(urc.args) or call.number

    def _open(self, policy: str, hangup: str) -> _Call:
        call = _Call(self._wall(), policy if policy in POLICIES else "reject")
        self._call = call
        if call.policy == "reject" or (call.policy == "forward" and self._busy_forwarded()):
            self._followup(lambda: self._reject(call, hangup))
        return call

    def _busy_forwarded(self) -> bool:
        imsi, forwards = self._forwards
        return bool(imsi) and imsi == self._where()[2] and bool(forwards.get(BUSY))

    def _remote_end(self) -> None:
        call = self._call
        if call is not None and not call.ending:
            call.ending = True
            self._followup(lambda: self._finish(call, HANGUP_CALLING))

    # --- follow-ups (worker thread, commands allowed) --------------------------------------------
    def _reject(self, call: _Call, hangup: str) -> None:
        if self._call is not call or call.ending:
            return                       # the caller was quicker
        call.ending = True
        answer = self._run(Command(hangup, self._timeout))
        if isinstance(answer, CommandError):
            log.warning("call hang-up %s failed: %s", hangup, answer.text)
        self._finish(call, HANGUP_GATEWAY)

    def _finish(self, call: _Call, hangup: str) -> None:
        if self._call is not call:
            return
        self._call = None
        ended = self._wall()
        answer = self._run(Command("AT+CEER", self._timeout))
        cause = parse_ceer(answer.lines) if isinstance(answer, Response) else None
        self._emit(call, hangup, 0 if cause is None else cause, ended)

    def _emit(self, call: _Call, hangup: str, cause: int, ended: float) -> None:
        port, slot, imsi, own = self._where()
        self._report(CallRecord(port, slot, imsi, call.number, own, call.started, None, ended,
                                hangup, cause, call.policy))

    def reset(self) -> None:
        """The modem restarted: a call it had is gone; record it (no cause can be read now)."""
        call, self._call = self._call, None
        if call is not None:
            self._emit(call, HANGUP_GATEWAY, 0, self._wall())

    # --- call forwarding ------------------------------------------------------------------------
    def forward_job(self, job: CallForward, state: str, ussd_timeout: float) -> ForwardResult:
        """A CallForward job on a port in `state`; refused without a command when the port is
        not ready or the number is not one (never quote junk into a command line)."""
        if job.number and not (job.number.isascii() and _NUMBER.fullmatch(job.number)):
            return ForwardResult(False, error="not a phone number")
        if job.reason not in (*REASONS, ALL_REASONS) or (job.reason == ALL_REASONS
                                                         and job.number):
            return ForwardResult(False, error=f"no forwarding reason {job.reason}")
        if state != STATE_READY:
            return ForwardResult(False, error=f"port {state}")
        return self.forward(job, ussd_timeout)

    def forward(self, job: CallForward, ussd_timeout: float) -> ForwardResult:
        """Run a CallForward job: the change (if any), then the read-back of the reasons."""
        if job.number is not None:
            error = self._ccfc_set(job.reason, job.number, ussd_timeout)
            if error:
                return ForwardResult(False, error=error)
        found: dict[int, str] = {}
        for reason in (REASONS if job.reason == ALL_REASONS else (job.reason,)):
            answer = self._run(Command(f"AT+CCFC={reason},2", ussd_timeout))
            if isinstance(answer, CommandError):
                return ForwardResult(False, found, f"AT+CCFC={reason},2 -> {answer.text}")
            found[reason] = voice_forward(answer.lines)
            self._remember(reason, found[reason])
        return ForwardResult(True, found)

    def _remember(self, reason: int, number: str) -> None:
        imsi = self._where()[2]
        known_imsi, known = self._forwards
        self._forwards = (imsi, {**(known if known_imsi == imsi else {}), reason: number})

    def _ccfc_set(self, reason: int, number: str, timeout: float) -> str:
        if number:
            toa = 145 if number.startswith("+") else 129
            text = f'AT+CCFC={reason},3,"{number}",{toa},{VOICE}'
        else:
            text = f"AT+CCFC={reason},4"
        answer = self._run(Command(text, timeout))
        return f"{text} -> {answer.text}" if isinstance(answer, CommandError) else ""
