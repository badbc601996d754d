"""Faults of the simulated modems, injected per port (`SimBoard.set_fault`, `POST /sim/fault`).

Theory of operation. Four faults last until cleared and live in `SimModem.fault` (`hang`,
`no_sim`, `no_network`, and `none`, which clears every fault of the port). Every other kind is
kept here, in the port's `Faults`, and consulted by the modem at a few points of its byte path:

- before a command runs (`before_command`): `cme:<code>` answers the next N commands with
  +CME ERROR, `cms:<code>` answers the next N AT+CMGS with +CMS ERROR instead of the prompt
  (the PDU never leaves: the part may go out elsewhere at once), `sim_busy` answers the SIM's
  commands with +CME ERROR: 14 (SMS commands with +CMS ERROR: 314) for T seconds;
- when a reply is written (`drop_final`, `after_reply`, `reply_delay`): `drop_ok` leaves out
  the final OK of the next N replies, `garbage` writes random bytes and half lines after every
  reply, `slow` holds every reply (and every submit) ten times as long;
- when the network routes a submit or hands over an inbound message (`report_delay`,
  `shape_inbound`): `late_report` / `no_report` delay (by T s, default 20 report delays) or
  drop the status reports of the next N submits, `duplicate_mo` delivers the next inbound message twice, `parts_out_of_order` delivers
  the parts of the next long one last part first.

The rest act once when set: `reboot` restarts the module (silent, then `RDY`, echo back on, the
PIN asked again), `storage_full` fills the SIM's message storage with messages the host never
read (a full store takes no more: the network keeps the new ones waiting, CMS 322), `mr_wrap`
moves the message reference to 250 so that it wraps past 255 within a few submits. `unplug`
is the board's (smsd/sim/board.py): the port's pty goes away and a new one appears after T s
under the same stable link name.

A schedule (`parse_schedule`, `random_schedule`) sets faults at given times and clears them
after a while: what bench/soak.py throws at a board.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from smsd import pdu
from smsd.sim.atcmd import AtCmd, Reply, cme, cms
from smsd.sim.network import STAT_REC_READ, Network, SimCard
from smsd.sim.tpdu import tpdu_len


class SimModem(Protocol):
    """What a fault needs of its module (smsd.sim.modem.SimModem; no import: no circle)."""

    mr: int
    network: Network

    @property
    def card(self) -> SimCard: ...
    def power_on(self) -> None: ...

LASTING = ("none", "hang", "no_sim", "no_network")          # SimModem.fault
COUNTED = ("drop_ok", "cms", "cme", "late_report", "no_report", "duplicate_mo",
           "parts_out_of_order")
SWITCHED = ("garbage", "slow")                               # on until `none`
ONCE = ("reboot", "storage_full", "mr_wrap", "unplug", "sim_busy")
KINDS = LASTING + COUNTED + SWITCHED + ONCE

MAX_COUNT = 10_000
MAX_SECONDS = 600.0
SLOW_FACTOR = 10.0
SLOW_BASE = 0.05          # a healthy module answers a plain command within this
LATE_FACTOR = 20.0        # a late report comes this many report delays after the submit
MR_WRAP_START = 250
CME_SIM_BUSY = 14
CMS_SIM_BUSY = 314
FILLER_SENDER = "+447700900000"
GARBAGE_HALF_LINES = ("+CM", "+CRE", "^SYS", "+QIN", "+CPI", "+CDS")
# Commands that talk to the SIM (a busy SIM answers them with an error), by AT name.
SIM_COMMANDS = frozenset({"+CPIN", "+CIMI", "+CCID", "+QCCID", "+ICCID", "+CNUM", "+CLCK",
                          "+CPWD", "+CSIM", "+CRSM"})
SMS_COMMANDS = frozenset({"+CMGS", "+CMGR", "+CMGL", "+CMGD", "+CMGW", "+CPMS", "+CSCA"})


@dataclass(frozen=True)
class FaultSpec:
    """One fault as asked: `kind`, its code (cms/cme), count (N) and seconds (T)."""

    kind: str
    code: int = 0
    count: int = 1
    seconds: float = 0.0


def parse(name: str, count: int | None = None, seconds: float | None = None) -> FaultSpec:
    """`hang`, `cms:500`, `cme:10`, ...; ValueError names what is wrong."""
    kind, _, code_text = name.strip().partition(":")
    if kind not in KINDS:
        raise ValueError(f"unknown fault {name!r} (known: {', '.join(KINDS)})")
    code = 0
    if kind in ("cms", "cme"):
        if not code_text.isdigit() or not 0 <= int(code_text) <= 999:
            raise ValueError(f"{kind} needs a code 0..999: {kind}:<code>")
        code = int(code_text)
    elif code_text:
        raise ValueError(f"fault {kind!r} takes no code")
    n = 1 if count is None else int(count)
    if not 1 <= n <= MAX_COUNT:
        raise ValueError(f"count must be 1..{MAX_COUNT}")
    t = _default_seconds(kind) if seconds is None else float(seconds)
    if not 0 <= t <= MAX_SECONDS:        # NaN fails this too
        raise ValueError(f"seconds must be 0..{MAX_SECONDS:g}")
    return FaultSpec(kind, code, n, t)


def _default_seconds(kind: str) -> float:
    return {"unplug": 2.0, "sim_busy": 3.0}.get(kind, 0.0)


class Faults:
    """The counted and switched faults of one module (the lasting ones are SimModem.fault)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.clear()

    def clear(self) -> None:
        self.counts: dict[str, int] = {}
        self.cms_code = 0
        self.cme_code = 0
        self.garbage = False
        self.slow = False
        self.busy_until = 0.0
        self.late_seconds = 0.0

    def active(self) -> list[str]:
        """What is set now, for logs and tests."""
        names = [k for k, n in self.counts.items() if n > 0]
        return names + [k for k in SWITCHED if getattr(self, k)]

    # --- setting --------------------------------------------------------------------------
    def apply(self, m: SimModem, spec: FaultSpec, now: float) -> None:
        """Set a fault that is not SimModem's own (see the module docstring)."""
        kind = spec.kind
        if kind in COUNTED:
            self.counts[kind] = spec.count
            if kind == "cms":
                self.cms_code = spec.code
            elif kind == "cme":
                self.cme_code = spec.code
            elif kind == "late_report":
                self.late_seconds = spec.seconds
        elif kind in SWITCHED:
            setattr(self, kind, True)
        elif kind == "sim_busy":
            self.busy_until = now + spec.seconds
        elif kind == "reboot":
            m.power_on()
        elif kind == "storage_full":
            fill_storage(m)
        elif kind == "mr_wrap":
            m.mr = MR_WRAP_START

    def _take(self, kind: str) -> bool:
        left = self.counts.get(kind, 0)
        if left <= 0:
            return False
        self.counts[kind] = left - 1
        return True

    # --- the command path -------------------------------------------------------------------
    def before_command(self, cmd: AtCmd, now: float) -> Reply | None:
        """An error that replaces the command's answer (the command does not run), or None."""
        if not cmd.name:
            return None                 # plain AT: even a sick module answers OK
        if now < self.busy_until:
            if cmd.name in SMS_COMMANDS:
                return cms(CMS_SIM_BUSY)
            if cmd.name in SIM_COMMANDS:
                return cme(CME_SIM_BUSY)
        if cmd.name == "+CMGS" and self._take("cms"):
            return cms(self.cms_code)
        if self._take("cme"):
            return cme(self.cme_code)
        return None

    def drop_final(self, reply: Reply) -> bool:
        """True: write this reply without its final result (only an OK is dropped)."""
        return reply.final == "OK" and self._take("drop_ok")

    def reply_delay(self) -> float:
        return SLOW_FACTOR * SLOW_BASE if self.slow else 0.0

    def submit_factor(self) -> float:
        return SLOW_FACTOR if self.slow else 1.0

    def after_reply(self) -> bytes:
        """Junk to write after a reply: random non-text bytes, then a half line."""
        if not self.garbage:
            return b""
        noise = bytes(self._rng.choice(_NOISE) for _ in range(self._rng.randint(1, 12)))
        half = self._rng.choice(GARBAGE_HALF_LINES).encode()
        return noise + b"\r\n" + half

    # --- the network side -------------------------------------------------------------------
    def report_delay(self, normal: float) -> float | None:
        """Seconds until the status report of a submit; None: the network sends none."""
        if self._take("no_report"):
            return None
        if self._take("late_report"):
            return self.late_seconds or normal * LATE_FACTOR
        return normal

    def shape_inbound(self, parts: Sequence[str]) -> list[str]:
        """The order (and number) in which the network hands over an inbound message's parts."""
        out = list(parts)
        if len(out) > 1 and self._take("parts_out_of_order"):
            out.reverse()
        if self._take("duplicate_mo"):
            out = out + out
        return out


# Bytes no AT line is made of: controls (no CR/LF) and the upper half.
_NOISE = bytes([b for b in range(0x00, 0x20) if b not in (0x0A, 0x0D, 0x1A, 0x1B)]
               + list(range(0x80, 0x100)))


def fill_storage(m: SimModem) -> int:
    """Fill the free locations of the active SIM with read messages the host never fetched;
    returns how many were written."""
    scts = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    card = m.card
    written = 0
    for idx, stored in enumerate(card.storage):
        if stored is None:
            hex_pdu = pdu.encode_deliver(FILLER_SENDER, f"stored {idx}", scts=scts,
                                         smsc=m.network.smsc)[0]
            card.store(hex_pdu, tpdu_len(hex_pdu))
            card.storage[idx].stat = STAT_REC_READ          # type: ignore[union-attr]
            written += 1
    return written


# --- schedules ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    """Set `spec` on `port` at `at` seconds from now; clear the port's faults `clear_after`
    seconds later (0: leave it set)."""

    at: float
    port: int
    spec: FaultSpec
    clear_after: float = 0.0


def parse_schedule(entries: object, ports: int) -> list[Planned]:
    """`[{"at": 1.5, "port": 0, "fault": "hang", "for": 5, "count": 1, "seconds": 2}, ...]`"""
    if not isinstance(entries, list) or len(entries) > MAX_COUNT:
        raise ValueError(f"schedule must be a list of at most {MAX_COUNT} entries")
    plan = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValueError("each schedule entry must be an object")
        port = int(entry["port"])
        if not 0 <= port < ports:
            raise ValueError(f"no port {port}")
        at, clear = float(entry.get("at", 0)), float(entry.get("for", 0))
        if not (0 <= at <= 86400 and 0 <= clear <= 86400):
            raise ValueError("'at' and 'for' must be 0..86400 seconds")
        spec = parse(str(entry["fault"]), entry.get("count"), entry.get("seconds"))
        plan.append(Planned(at, port, spec, clear))
    return plan


# Faults a random schedule picks from: each heals by itself or once cleared.
SOAK_KINDS = ("hang", "garbage", "drop_ok", "cms:500", "cme:100", "no_sim", "sim_busy",
              "storage_full", "reboot", "unplug", "slow", "duplicate_mo", "parts_out_of_order",
              "late_report", "no_report", "mr_wrap")


def random_schedule(ports: int, every: float, until: float, duration: float, seed: int,
                    kinds: Sequence[str] = SOAK_KINDS) -> list[Planned]:
    """A fault on a random port every `every` seconds until `until`, each cleared after
    `duration` seconds: the soak's weather."""
    if every <= 0 or until < 0 or until / every > MAX_COUNT:
        raise ValueError("random schedule: every > 0 and at most "
                         f"{MAX_COUNT} faults in all")
    rng = random.Random(seed)
    plan, at = [], every
    while at <= until:
        spec = parse(rng.choice(list(kinds)))
        plan.append(Planned(at, rng.randrange(ports), spec, duration))
        at += every
    return plan
