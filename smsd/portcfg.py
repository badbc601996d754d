"""Per-port settings and their run-time effects.

Every modem port is one connection. Its settings are text by smsd's own lower-case key (the
vendor dialects map their names to these at the edge: smsd/api/ozeki_settings.py), stored in
the `port_settings` table; an absent key has its default, and the defaults are smsd's own
behaviour, so a port nobody configured works exactly as before. Who honours what:

- the scheduler asks `may_send(port, now)` before it hands a part to a port: false while the
  connection is stopped, `send` is off, or `max_parts_per_minute` parts were handed in the last
  `window` seconds (a sliding window; 0 means no limit). `next_free` tells it when to look
  again. `status_reports`, `charset` and `national_languages` shape the PDUs it builds for the
  port (`srr`, `encoding`, `languages`).
- the modem worker asks `worker_settings(port)` (a plain dict, so `smsd.modem` imports nothing
  from here): `sim_pin` at init when the SIM wants its PIN, `smsc` (AT+CSCA), `submit_timeout`
  (the +CMGS answer wait), `keepalive_period` / `keepalive` (the idle refresh), `receive` (off:
  SMS announced by +CMTI stay on the SIM until it is on again) and `running` (off: the same,
  plus no sending), `call_policy` (what an incoming call gets: smsd/modem/calls.py).

Keys smsd cannot honour are refused with the list of those it can, never stored silently.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol

from smsd.errors import BadRequest
from smsd.numbers import POLICIES, normalise_number
from smsd.pdu.tables import LANGUAGES

log = logging.getLogger(__name__)

ON = frozenset({"on", "yes", "true", "1", "enabled"})
OFF = frozenset({"off", "no", "false", "0", "disabled"})
CHARSETS = {"gsm7bit": "GSM7bit", "ucs2": "UCS2", "default": "Default", "best match": "Default"}
WINDOW = 60.0                     # max_parts_per_minute counts parts per minute
_PIN = re.compile(r"[0-9]{4,8}").fullmatch
NAME_KEY, RUNNING_KEY = "name", "running"      # internal: driver name, started/stopped
PROFILE_LISTS = 64                # port lists whose profiles are kept (see PortConfig.profiles)
CALL_POLICIES = ("reject", "ignore", "forward")   # what a port does with an incoming call


class BadSetting(BadRequest):
    """A setting smsd does not support (`problem` None), or a value it cannot take. `key` is the
    key as given, so that a dialect can say it again in its own words."""

    reason = "setting"

    def __init__(self, message: str, key: str = "", problem: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.problem = problem


def _bool(value: str) -> str:
    low = value.strip().lower()
    if low in ON:
        return "on"
    if low in OFF:
        return "off"
    raise ValueError("must be on or off")


def _int_range(low: int, high: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        text = value.strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return str(int(text))
    return parse


def _pin(value: str) -> str:
    if value.strip() and not _PIN(value.strip()):
        raise ValueError("must be 4 to 8 digits (or empty for none)")
    return value.strip()


def _smsc(value: str) -> str:
    if not value.strip():
        return ""
    number = normalise_number(value, POLICIES["smsc"])
    if number is None:
        raise ValueError("must be a number of 3 to 20 digits, optional + (or empty: the SIM's)")
    return number


def _charset(value: str) -> str:
    found = CHARSETS.get(value.strip().lower())
    if found is None:
        raise ValueError("must be GSM7bit, UCS2 or Default")
    return found


_LANGUAGE_IDS = {name: lang for lang, name in LANGUAGES.items() if lang}


def _languages(value: str) -> str:
    """National language tables (TS 23.038 6.2.1.2.4) the port may use: names or ids, comma
    separated; "all"; "" or "none" for the default alphabet only. Canonical: names in id order."""
    words = [w for w in re.split(r"[\s,;]+", value.strip().lower()) if w]
    if words in ([], ["none"]):
        return ""
    if words == ["all"]:
        return ",".join(LANGUAGES[lang] for lang in sorted(_LANGUAGE_IDS.values()))
    found = set()
    for word in words:
        lang = int(word) if word.isdigit() else _LANGUAGE_IDS.get(word)
        if lang not in LANGUAGES or not lang:
            raise ValueError(f"{word!r} is not a national language; use none, all or names of "
                             f"{', '.join(_LANGUAGE_IDS)}")
        found.add(lang)
    return ",".join(LANGUAGES[lang] for lang in sorted(found))


def _text(value: str) -> str:
    if len(value) > 64 or not value.isprintable():
        raise ValueError("must be up to 64 printable characters")
    return value.strip()


def _call_policy(value: str) -> str:
    word = value.strip().lower()
    if word not in CALL_POLICIES:
        raise ValueError(f"must be one of {', '.join(CALL_POLICIES)}")
    return word


def _protocol(value: str) -> str:
    if value.strip().lower() not in ("gsmmodem", "gsm"):
        raise ValueError("a modem port is a GSMModem connection; it cannot change protocol")
    return "GSMModem"


@dataclass(frozen=True)
class Key:
    default: str
    parse: Callable[[str], str]
    meaning: str


KEYS: dict[str, Key] = {
    "send": Key("on", _bool, "send SMS through this port"),
    "receive": Key("on", _bool, "read received SMS from this port's SIM"),
    "max_parts_per_minute": Key("0", _int_range(0, 100000),
                                "at most this many parts a minute (0: no limit)"),
    "max_parts_per_day": Key("0", _int_range(0, 10_000_000),
                             "at most this many parts a day, from local midnight (0: no limit)"),
    "max_parts_per_month": Key("0", _int_range(0, 100_000_000),
                               "at most this many parts a calendar month (0: no limit)"),
    "sim_pin": Key("", _pin, "SIM PIN entered at init when the SIM asks for it"),
    "smsc": Key("", _smsc, "SMSC set with AT+CSCA at init (empty: the SIM's)"),
    "status_reports": Key("on", _bool, "request status reports for parts sent here"),
    "submit_timeout": Key("60", _int_range(5, 600), "seconds to wait for the +CMGS answer"),
    "charset": Key("GSM7bit", _charset,
                   "GSM7bit/Default: GSM 7-bit when the text fits, else UCS2; UCS2: always"),
    "national_languages": Key("", _languages,
                             "national language tables GSM-7 may use (e.g. turkish; all; none): "
                             "only if the recipients' handsets read them"),
    "keepalive_period": Key("30", _int_range(5, 86400), "seconds between idle signal refreshes"),
    "keepalive": Key("on", _bool, "refresh signal and registration while idle"),
    "phone_number": Key("", _text, "the SIM's number as the operator knows it (a label)"),
    "protocol": Key("GSMModem", _protocol, "always GSMModem for a modem port"),
    "call_policy": Key("reject", _call_policy,
                       "incoming calls: reject (hang up at once), ignore (let them ring) or "
                       "forward (leave them to the SIM's call forwarding)"),
}
WORKER_KEYS = ("receive", "sim_pin", "smsc", "submit_timeout", "call_policy",
               "keepalive_period", "keepalive", RUNNING_KEY)


def default_name(port: int) -> str:
    return f"GSMModem{port}"


def unsupported(key: str, names: Mapping[str, str] | None = None) -> BadSetting:
    """The refusal of a key smsd does not know, listing the supported ones (in `names`' words,
    a dialect's {smsd key: its own name}, when given)."""
    names = names or {}
    supported = ", ".join(names.get(k, k) for k in KEYS)
    return BadSetting(f"setting {key!r} is not supported for GSM modem connections "
                      f"(supported: {supported})", key)


def bad_value(key: str, problem: str, names: Mapping[str, str] | None = None) -> BadSetting:
    shown = (names or {}).get(key, key)
    return BadSetting(f"{shown}: {problem}", key, problem)


def parse_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Validated {key: canonical text}; BadSetting names the first key that is wrong."""
    out: dict[str, str] = {}
    for raw_key, raw in values.items():
        key = str(raw_key).strip()
        spec = KEYS.get(key)
        if spec is None:
            raise unsupported(key)
        text = raw if isinstance(raw, str) else ("on" if raw is True else "off" if raw is False
                                                 else str(raw))
        try:
            out[key] = spec.parse(text)
        except ValueError as exc:
            raise bad_value(key, str(exc)) from None
    return out


class SettingsRepo(Protocol):
    """Where the settings persist (smsd.store.port_settings.PortSettings)."""

    def all(self) -> dict[int, dict[str, str]]: ...
    def put(self, port: int, values: Mapping[str, str | None]) -> None: ...
    def clear(self, port: int) -> None: ...
    # Parts the port sent since then (epoch seconds): where a day's or month's count starts
    # after a restart.
    def parts_sent_since(self, port: int, since: float) -> int: ...


PERIODS = {"max_parts_per_day": "%Y-%m-%d", "max_parts_per_month": "%Y-%m"}


def period_start(key: str, now: float) -> float:
    """Local midnight of `now`'s day, or of the first of its month."""
    t = time.localtime(now)
    day = 1 if key == "max_parts_per_month" else t.tm_mday
    return time.mktime((t.tm_year, t.tm_mon, day, 0, 0, 0, 0, 0, -1))


def period_end(key: str, now: float) -> float:
    t = time.localtime(now)
    if key == "max_parts_per_month":
        year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
        return time.mktime((year, month, 1, 0, 0, 0, 0, 0, -1))
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday + 1, 0, 0, 0, 0, 0, -1))


@dataclass(frozen=True)
class Rules:
    """What the scheduler and intake ask of one port many times a second (every pass, every
    accepted request), resolved once from its stored values over the defaults."""

    sending: bool                   # running and send on
    per_minute: int                 # max_parts_per_minute (0: no limit)
    per_day: int                    # max_parts_per_day
    per_month: int                  # max_parts_per_month
    status_reports: bool
    ucs2: bool                      # charset=UCS2: "auto" texts go out in UCS2
    languages: tuple[int, ...]      # national_languages as ids

    @property
    def limited(self) -> bool:
        """Some rate or period limit is set: may_send must count."""
        return bool(self.per_minute or self.per_day or self.per_month)

    @classmethod
    def of(cls, own: Mapping[str, str]) -> "Rules":
        def value(key: str) -> str:
            found = own.get(key)
            return found if found is not None else KEYS[key].default
        languages = value("national_languages")
        return cls(sending=own.get(RUNNING_KEY, "on") == "on" and value("send") == "on",
                   per_minute=int(value("max_parts_per_minute")),
                   per_day=int(value("max_parts_per_day")),
                   per_month=int(value("max_parts_per_month")),
                   status_reports=value("status_reports") == "on",
                   ucs2=value("charset") == "UCS2",
                   languages=_language_ids(languages))


def _language_ids(names: str) -> tuple[int, ...]:
    """The ids of a stored national_languages value. `put` checks what it stores; a name it
    would refuse (a database edited by hand, or from a build with more tables) is left out
    with a warning rather than failing the dispatch pass of every port that asks."""
    known = []
    for name in filter(None, names.split(",")):
        if name in _LANGUAGE_IDS:
            known.append(_LANGUAGE_IDS[name])
        else:
            log.warning("national_languages: unknown language %r ignored", name)
    return tuple(known)


class PortConfig:
    """Settings of every port, cached in memory (the scheduler asks on each pass).

    The values of a port are also kept resolved as one Rules (`rules`), built on first use and
    dropped under the same lock by every write (put, clear: the only ways settings change), so
    the next question after a change sees it; every settings change goes through here."""

    def __init__(self, settings: SettingsRepo, *, clock: Callable[[], float] = time.time,
                 window: float = WINDOW) -> None:
        self._settings = settings
        self._clock = clock
        self.window = window
        self._lock = threading.Lock()
        self._values: dict[int, dict[str, str]] = settings.all()
        self._handed: dict[int, deque[float]] = {}
        # (port, key, period label) -> parts handed in that day or month (max_parts_per_day/
        # _month), seeded from the store the first time a limit is asked about.
        self._period: dict[tuple[int, str, str], int] = {}
        self._rules: dict[int, Rules] = {}
        self._generation = 0            # writes so far; a cache filled across one is dropped
        self._worker: dict[int, dict[str, str]] = {}       # worker_settings, per port
        self._limited: frozenset[int] | None = None         # limited_ports
        # port list -> its distinct profiles (port_profiles, asked by every intake); dropped
        # with any port's rules, as a write of one port may change the profiles of any list.
        self._profiles: dict[tuple[int, ...], list[tuple[str, tuple[int, ...]]]] = {}

    # --- reading --------------------------------------------------------------------------------
    def stored(self, port: int) -> dict[str, str]:
        with self._lock:
            return dict(self._values.get(port, {}))

    def effective(self, port: int) -> dict[str, str]:
        """Every supported key with its value (stored or default)."""
        own = self.stored(port)
        return {key: own.get(key, spec.default) for key, spec in KEYS.items()}

    def get(self, port: int, key: str) -> str:
        with self._lock:
            own = self._values.get(port, {})
            value = own.get(key)
        if value is not None:
            return value
        return KEYS[key].default if key in KEYS else "on" if key == RUNNING_KEY else ""

    def rules(self, port: int) -> Rules:
        """The port's Rules: a dict look-up unless a write dropped them since the last ask."""
        found = self._rules.get(port)
        if found is None:
            with self._lock:
                found = self._rules[port] = Rules.of(self._values.get(port, {}))
        return found

    def limited_ports(self) -> frozenset[int]:
        """The ports with a rate, day or month limit set: the only ones next_free can delay
        (a port without stored values has the defaults: no limit)."""
        found = self._limited
        if found is None:
            with self._lock:        # built under the lock every write takes: never stale
                found = self._limited = frozenset(
                    port for port, own in self._values.items() if Rules.of(own).limited)
        return found

    def profiles(self, ports: Iterable[int]) -> list[tuple[str, tuple[int, ...]]]:
        """The distinct (what "auto" means, national language ids) of `ports`, sorted."""
        key = tuple(ports)
        found = self._profiles.get(key)
        if found is None:
            generation = self._generation
            found = sorted({self._profile(p) for p in key})
            with self._lock:
                if len(self._profiles) >= PROFILE_LISTS:    # clients choose the lists
                    self._profiles.clear()
                if generation == self._generation:      # no write came between: not stale
                    self._profiles[key] = found
        return list(found)

    def _profile(self, port: int) -> tuple[str, tuple[int, ...]]:
        rules = self.rules(port)
        return ("ucs2" if rules.ucs2 else "auto"), rules.languages

    def on(self, port: int, key: str) -> bool:
        return self.get(port, key) == "on"

    def worker_settings(self, port: int) -> dict[str, str]:
        """What the port's worker reads (it asks for each part it sends): kept per port like
        the Rules and dropped with them by every write; each caller gets its own copy."""
        found = self._worker.get(port)
        if found is None:
            generation = self._generation
            found = {key: self.get(port, key) for key in WORKER_KEYS}
            with self._lock:
                if generation == self._generation:      # no write came between: not stale
                    self._worker[port] = found
        return dict(found)

    # --- writing --------------------------------------------------------------------------------
    def put(self, port: int, values: Mapping[str, str | None]) -> None:
        self._settings.put(port, values)
        with self._lock:
            own = self._values.setdefault(port, {})
            for key, value in values.items():
                if value is None:
                    own.pop(key, None)
                else:
                    own[key] = value
            self._changed(port)

    def clear(self, port: int) -> None:
        self._settings.clear(port)
        with self._lock:
            self._values.pop(port, None)
            self._handed.pop(port, None)
            self._changed(port)

    def _changed(self, port: int) -> None:
        """Drop what was resolved from the old values; call with the lock held. The day and
        month counters go too (the next question seeds them from the store again): parts are
        counted only while a limit is set, so a limit set anew would start from a stale count."""
        self._generation += 1
        for slot in [s for s in self._period if s[0] == port]:
            del self._period[slot]
        self._rules.pop(port, None)
        self._worker.pop(port, None)
        self._limited = None
        self._profiles.clear()

    # --- names ----------------------------------------------------------------------------------
    def name(self, port: int) -> str:
        return self.get(port, NAME_KEY) or default_name(port)

    def named(self, port: int) -> bool:
        return bool(self.get(port, NAME_KEY))

    def find(self, name: str, ports: list[int]) -> int | None:
        wanted = name.strip().lower()
        for port in ports:
            if self.name(port).lower() == wanted:
                return port
        return None

    # --- the scheduler's side -------------------------------------------------------------------
    def sending_enabled(self, port: int) -> bool:
        return self.rules(port).sending

    def may_send(self, port: int, now: float) -> bool:
        rules = self.rules(port)
        if not rules.sending:
            return False
        if not rules.limited:           # nothing to count: the common case, one look-up
            return True
        limit = rules.per_minute
        if limit and len(self._recent(port, now)) >= limit:
            return False
        return not self._periods_full(port, now)

    def note_handed(self, port: int, now: float) -> None:
        rules = self.rules(port)
        if not rules.limited:
            return
        if rules.per_minute:
            with self._lock:
                self._handed.setdefault(port, deque()).append(now)
        for key in PERIODS:
            if int(self.get(port, key)):
                slot = self._period_slot(port, key, now)
                with self._lock:
                    # gone when a settings change came in between: the next question seeds it
                    # from the store, which counts this part already (it is leased)
                    if slot in self._period:
                        self._period[slot] += 1

    def next_free(self, port: int, now: float) -> float | None:
        """When a rate-limited port may take its next part (None: not rate-limited now)."""
        rules = self.rules(port)
        if not rules.sending or not rules.limited or self.may_send(port, now):
            return None
        full = [period_end(key, now) for key in PERIODS if self._period_full(port, key, now)]
        if full:
            return max(full)
        recent = self._recent(port, now)
        return recent[0] + self.window if recent else None

    def period_counts(self, port: int, now: float) -> dict[str, int]:
        """Parts handed this day and this month, for the limits that are set."""
        return {key: self._period_count(port, key, now) for key in PERIODS
                if int(self.get(port, key))}

    def _periods_full(self, port: int, now: float) -> bool:
        return any(self._period_full(port, key, now) for key in PERIODS)

    def _period_full(self, port: int, key: str, now: float) -> bool:
        limit = int(self.get(port, key))
        if not limit:
            return False
        return self._period_count(port, key, now) >= limit

    def _period_count(self, port: int, key: str, now: float) -> int:
        """The parts handed in `now`'s day or month. A settings change drops the counters
        (`_changed`), also between finding one and reading it: then it is seeded again."""
        while True:
            slot = self._period_slot(port, key, now)
            with self._lock:
                count = self._period.get(slot)
            if count is not None:
                return count

    def _period_slot(self, port: int, key: str, now: float) -> tuple[int, str, str]:
        """The counter of `now`'s day or month, seeded from the store when first asked for."""
        slot = (port, key, time.strftime(PERIODS[key], time.localtime(now)))
        with self._lock:
            if slot in self._period:
                return slot
        seed = self._settings.parts_sent_since(port, period_start(key, now))
        with self._lock:
            self._period.setdefault(slot, seed)
            for old in [s for s in self._period if s[:2] == slot[:2] and s != slot]:
                del self._period[old]           # yesterday's count is not needed any more
        return slot

    def status_reports(self, port: int, requested: bool) -> bool:
        return requested and self.rules(port).status_reports

    def languages(self, port: int) -> tuple[int, ...]:
        """The national language ids the port's PDUs may use (empty: default alphabet only)."""
        return self.rules(port).languages

    def encoding(self, port: int, requested: str) -> str:
        if requested == "auto" and self.rules(port).ucs2:
            return "ucs2"
        return requested

    def _recent(self, port: int, now: float) -> list[float]:
        with self._lock:
            times = self._handed.get(port)
            if not times:
                return []
            while times and times[0] <= now - self.window:
                times.popleft()
            return list(times)
