"""Per-SIM settings and budgets: what a slot overrides of its port, and what each SIM may still do.

Every SIM is named by (port, slot): slot 0..3 on a multi-SIM port, 255 for the one SIM of a
single-slot port (PortInfo.slot says which is active). A SIM's value of a key is, in order: the
slot's own (`slot_settings`), the port's value for all its SIMs (stored as slot ALL_SLOTS), the
port setting of the same name where one exists (smsd/portcfg.py: sim_pin, smsc), the default.

The budget keys are counted per SIM, so that on a multi-SIM port each card has its own:

- `sim_parts_per_day`, `sim_parts_per_month`: SMS parts handed to this SIM in the local day /
  calendar month (0: no limit); reported as remain_daily_credit / remain_monthly_credit.
- `credit`: set it to give the SIM a credit counter; every part takes 1 off what is left
  (remain_credit); a SIM with nothing left sends no more until it is given credit again.
- `call_minutes_per_day`, `call_minutes_per_hour`, `calls_per_day`: call time and answered
  calls, counted from the call detail records (remain_daily_call_time, remain_hourly_call_time,
  remain_daily_connected). They limit nothing here yet: the box takes no calls it could refuse
  for budget.

A blocked SIM (set_port_info action=block) has no budget at all. The scheduler asks
`has_budget(port, slot, now)` before it hands a part to a port and `note_handed` after;
smsd/rotation.py moves a multi-SIM port to the next slot with budget.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from smsd.portcfg import KEYS as PORT_KEYS
from smsd.portcfg import BadSetting, Key, bad_value, period_start, unsupported

ALL_SLOTS = -1                 # a port's value for each of its SIMs
SINGLE = 255                   # the slot number of a single-slot port's SIM
SLOTS = (0, 1, 2, 3)


def _count(high: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        text = value.strip()
        if not text.isdigit() or int(text) > high:
            raise ValueError(f"must be a whole number from 0 to {high} (0: no limit)")
        return str(int(text))
    return parse


def _credit(value: str) -> str:
    """Empty: no credit counter; else a non-negative amount with up to 2 decimals."""
    text = value.strip()
    if not text:
        return ""
    try:
        amount = float(text)
    except ValueError:
        raise ValueError("must be an amount such as 100 or 25.50 (empty: no counter)") from None
    if not math.isfinite(amount) or not 0 <= amount <= 100_000_000:
        raise ValueError("must be from 0 to 100000000 (empty: no counter)")
    return f"{amount:.2f}"


SIM_KEYS: dict[str, Key] = {
    "sim_parts_per_day": Key("0", _count(10_000_000),
                             "SMS parts this SIM may send a day, from local midnight (0: no limit)"),
    "sim_parts_per_month": Key("0", _count(100_000_000),
                               "SMS parts this SIM may send a calendar month (0: no limit)"),
    "credit": Key("", _credit, "set the SIM's credit counter; each part takes 1 (empty: none)"),
    "call_minutes_per_day": Key("0", _count(1440), "call minutes a day (0: no limit)"),
    "call_minutes_per_hour": Key("0", _count(60), "call minutes an hour (0: no limit)"),
    "calls_per_day": Key("0", _count(100_000), "answered calls a day (0: no limit)"),
}
# Port settings a slot may override for its own SIM (the worker reads them for the active slot).
SLOT_PORT_KEYS = ("sim_pin", "smsc")
SLOT_KEYS = (*SIM_KEYS, *SLOT_PORT_KEYS)


def parse_slot_values(values: Mapping[str, object]) -> dict[str, str | None]:
    """Validated {key: canonical text}; an empty text of a port key (or None) removes the slot's
    own value, so the port's applies again. BadSetting names the first key that is wrong."""
    out: dict[str, str | None] = {}
    for raw_key, raw in values.items():
        key = str(raw_key).strip()
        text = "" if raw is None else str(raw)
        if key in SIM_KEYS:
            parse = SIM_KEYS[key].parse
        elif key in SLOT_PORT_KEYS:
            parse = PORT_KEYS[key].parse
        else:
            raise unsupported_slot_key(key)
        try:
            out[key] = parse(text) if text.strip() or key == "credit" else None
        except ValueError as exc:
            raise bad_value(key, str(exc)) from None
    return out


def unsupported_slot_key(key: str) -> BadSetting:
    err = unsupported(key)
    return BadSetting(f"setting {key!r} is not a per-SIM setting (per-SIM: "
                      f"{', '.join(SLOT_KEYS)})", err.key)


class SlotRepo(Protocol):
    """Where per-SIM values persist (smsd.store.sim_slots.SimSlots)."""

    def all_settings(self) -> dict[tuple[int, int], dict[str, str]]: ...
    def put_settings(self, port: int, slot: int, values: Mapping[str, str | None]) -> None: ...
    def add_parts(self, port: int, slot: int, day: str, count: int = 1) -> float | None: ...
    def parts_between(self, port: int, slot: int, first_day: str, last_day: str) -> int: ...
    def call_use(self, port: int, slot: int, since: float) -> tuple[int, int]: ...
    def state(self) -> dict[tuple[int, int], tuple[float | None, str, bool]]: ...
    def set_credit(self, port: int, slot: int, credit: float | None) -> None: ...
    def set_number(self, port: int, slot: int, number: str) -> None: ...
    def set_blocked(self, port: int, slot: int, blocked: bool) -> None: ...


@dataclass(frozen=True)
class Remaining:
    """What one SIM may still do; None where no limit is set."""

    credit: float | None
    monthly: int | None
    daily: int | None
    daily_call_minutes: int | None
    hourly_call_minutes: int | None
    daily_calls: int | None


@dataclass
class _SimState:
    credit: float | None = None
    number: str = ""
    blocked: bool = False


class SimLimits:
    """Per-SIM values and budgets, cached in memory (the scheduler asks on every pass)."""

    def __init__(self, repo: SlotRepo, port_value: Callable[[int, str], str] | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._repo = repo
        self._port_value = port_value
        self._clock = clock
        self._lock = threading.Lock()
        self._values = repo.all_settings()
        # (port, slot) -> (sim_parts_per_day, sim_parts_per_month) resolved, asked for every
        # port on every dispatch pass; emptied by every put (a port-wide value changes each of
        # its slots), the only way these values change.
        self._limits: dict[tuple[int, int], tuple[int, int]] = {}
        self._state = {k: _SimState(*v) for k, v in repo.state().items()}
        self._days: dict[tuple[int, int], tuple[str, int]] = {}     # today's parts
        self._months: dict[tuple[int, int], tuple[str, int]] = {}   # this month's parts

    # --- values -----------------------------------------------------------------------------
    def own(self, port: int, slot: int) -> dict[str, str]:
        with self._lock:
            return dict(self._values.get((port, slot), {}))

    def value(self, port: int, slot: int, key: str) -> str:
        with self._lock:
            found = self._own_value(port, slot, key)
        if found is not None:
            return found
        if key in SIM_KEYS:
            return SIM_KEYS[key].default
        return self._port_value(port, key) if self._port_value is not None else ""

    def _own_value(self, port: int, slot: int, key: str) -> str | None:
        """The slot's own value, else the port's for all its SIMs; call with the lock held."""
        for where in ((port, slot), (port, ALL_SLOTS)):
            found = self._values.get(where, {}).get(key)
            if found is not None:
                return found
        return None

    def effective(self, port: int, slot: int) -> dict[str, str]:
        return {key: self.value(port, slot, key) for key in SLOT_KEYS}

    def put(self, port: int, slot: int, values: Mapping[str, str | None]) -> None:
        """Store validated values (parse_slot_values); `credit` sets the counter afresh."""
        stored = {k: v for k, v in values.items() if k != "credit"}
        if stored:
            self._repo.put_settings(port, slot, stored)
        with self._lock:
            own = self._values.setdefault((port, slot), {})
            for key, value in stored.items():
                if value is None:
                    own.pop(key, None)
                else:
                    own[key] = value
            self._limits.clear()
        if "credit" in values:
            self.set_credit(port, slot, None if not values["credit"] else
                            float(values["credit"] or 0))

    def worker_settings(self, port: int, slot: int, base: Mapping[str, str]) -> dict[str, str]:
        """The worker's settings of a port with the active SIM's own sim_pin and smsc."""
        out = dict(base)
        with self._lock:
            own = self._values.get((port, slot), {})
            out.update({k: own[k] for k in SLOT_PORT_KEYS if k in own})
        return out

    # --- SIM state --------------------------------------------------------------------------
    def _sim(self, port: int, slot: int) -> _SimState:
        found = self._state.get((port, slot))     # entries are never replaced nor removed
        if found is not None:
            return found
        with self._lock:
            return self._state.setdefault((port, slot), _SimState())

    def credit(self, port: int, slot: int) -> float | None:
        return self._sim(port, slot).credit

    def set_credit(self, port: int, slot: int, credit: float | None) -> None:
        self._repo.set_credit(port, slot, credit)
        self._sim(port, slot).credit = credit

    def number(self, port: int, slot: int) -> str:
        return self._sim(port, slot).number

    def set_number(self, port: int, slot: int, number: str) -> None:
        self._repo.set_number(port, slot, number)
        self._sim(port, slot).number = number

    def blocked(self, port: int, slot: int) -> bool:
        return self._sim(port, slot).blocked

    def set_blocked(self, port: int, slot: int, blocked: bool) -> None:
        self._repo.set_blocked(port, slot, blocked)
        self._sim(port, slot).blocked = blocked

    # --- message budget ---------------------------------------------------------------------
    def has_budget(self, port: int, slot: int, now: float) -> bool:
        return not self.why_not(port, slot, now)

    def why_not(self, port: int, slot: int, now: float) -> str:
        """"" when the SIM may take a part now, else what stops it (blocked, daily limit...)."""
        sim = self._sim(port, slot)
        if sim.blocked:
            return "blocked"
        if sim.credit is not None and sim.credit < 1:
            return "credit"
        day_limit, month_limit = self._part_limits(port, slot)
        if day_limit and self._day_count(port, slot, now) >= day_limit:
            return "daily limit"
        if month_limit and self._month_count(port, slot, now) >= month_limit:
            return "monthly limit"
        return ""

    def _part_limits(self, port: int, slot: int) -> tuple[int, int]:
        """(sim_parts_per_day, sim_parts_per_month) of the SIM, resolved once per put."""
        found = self._limits.get((port, slot))
        if found is None:
            with self._lock:        # resolved under the lock put holds: never stale
                found = self._limits[(port, slot)] = (
                    self._limit_locked(port, slot, "sim_parts_per_day"),
                    self._limit_locked(port, slot, "sim_parts_per_month"))
        return found

    def _limit_locked(self, port: int, slot: int, key: str) -> int:
        own = self._own_value(port, slot, key)
        return int(SIM_KEYS[key].default if own is None else own)

    def note_handed(self, port: int, slot: int, now: float, count: int = 1) -> None:
        day_count, month_count = self._day_count(port, slot, now), self._month_count(port, slot,
                                                                                      now)
        day = _day(now)
        credit = self._repo.add_parts(port, slot, day, count)
        with self._lock:
            self._days[(port, slot)] = (day, day_count + count)
            self._months[(port, slot)] = (day[:7], month_count + count)
            if credit is not None or (port, slot) in self._state:
                self._state.setdefault((port, slot), _SimState()).credit = credit

    def _day_count(self, port: int, slot: int, now: float) -> int:
        day = _day(now)
        with self._lock:
            cached = self._days.get((port, slot))
        if cached is not None and cached[0] == day:
            return cached[1]
        count = self._repo.parts_between(port, slot, day, day)
        with self._lock:
            self._days[(port, slot)] = (day, count)
        return count

    def _month_count(self, port: int, slot: int, now: float) -> int:
        day = _day(now)
        with self._lock:
            cached = self._months.get((port, slot))
        if cached is not None and cached[0] == day[:7]:
            return cached[1]
        count = self._repo.parts_between(port, slot, day[:7] + "-01", day)
        with self._lock:
            self._months[(port, slot)] = (day[:7], count)
        return count

    # --- what is left -----------------------------------------------------------------------
    def remaining(self, port: int, slot: int, now: float | None = None) -> Remaining:
        now = self._clock() if now is None else now
        day_limit = int(self.value(port, slot, "sim_parts_per_day"))
        month_limit = int(self.value(port, slot, "sim_parts_per_month"))
        talked_day, calls_day = self._repo.call_use(port, slot, period_start("day", now))
        talked_hour, _ = self._repo.call_use(port, slot, now - 3600)     # the last hour
        return Remaining(
            credit=self.credit(port, slot),
            monthly=_left(month_limit, self._month_count(port, slot, now)),
            daily=_left(day_limit, self._day_count(port, slot, now)),
            daily_call_minutes=_minutes_left(int(self.value(port, slot, "call_minutes_per_day")),
                                             talked_day),
            hourly_call_minutes=_minutes_left(
                int(self.value(port, slot, "call_minutes_per_hour")), talked_hour),
            daily_calls=_left(int(self.value(port, slot, "calls_per_day")), calls_day))


def _left(limit: int, used: int) -> int | None:
    return max(0, limit - used) if limit else None


def _minutes_left(limit_minutes: int, seconds: int) -> int | None:
    return max(0, limit_minutes * 60 - seconds) // 60 if limit_minutes else None


_last_day: tuple[int, str] = (-1, "")        # (a minute since the epoch, its local date)


def _day(now: float) -> str:
    """The local date of `now` (YYYY-MM-DD). Asked several times for every part handed, so the
    last answer is kept for its minute: time zones are whole minutes off UTC, so a date never
    changes inside one."""
    global _last_day
    minute = int(now // 60)
    kept, day = _last_day
    if minute != kept:
        day = time.strftime("%Y-%m-%d", time.localtime(now))
        _last_day = (minute, day)           # one tuple: threads see one pair or the other
    return day
