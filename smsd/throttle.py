"""Login throttling that refuses at once instead of sleeping, and cannot be turned against others.

Policy (docs/security.md says the same for operators):

* Failures are counted per source address, per user name and per (user, address) pair. A count is
  forgotten after `forget_after` seconds without a new failure; a restart forgets everything (a
  throttle, not a lockout).
* A key is blocked once its count reaches its allowance: for `base * 2**(count - free)` seconds
  after its last failure, capped. An address gets 5 free failures and blocks of up to 5 minutes;
  a user name gets 10 and blocks of at most 30 s.
* While a key that governs a request is blocked, the request is refused at once (`Throttled`, an
  AuthError: each dialect answers its own auth error, the web pages 429) without looking at the
  password; a refused request is not a failure and extends nothing. No worker thread ever sleeps,
  so a flood of bad logins costs a few microseconds per request and delays nobody else.
* Which keys govern a request: an address that logged in as that user before (a *trusted pair*,
  remembered for `trust_for`) is governed by the pair's own count only. Every other request is
  governed by its address and its user name. So an attacker elsewhere who blocks a user name does
  not lock out the user's usual address, a misconfigured client that blocks a shared address
  (NAT, one host running two programs) does not lock out the good account on it, and someone at
  that shared address still gets only 5 free guesses at the trusted account (the pair's count).
  A user at a new address waits out the name's block, at most `user_cap` (30 s) after the last
  failure.
* Success records the trusted pair and clears nothing else: a caller who owns one account must
  not be able to wipe the failure count of the address they guess from by logging in between
  guesses.
* The slow password hash is the expensive part of a guess: at most `free - count` of them (at
  least 1) may run at once per governing key, so 200 simultaneous guesses from one address cost
  5 hash computations, not 200. A known-good password is answered from the store's cache and
  never reaches that gate.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from smsd.errors import Throttled

log = logging.getLogger("smsd.auth")

MAX_KEYS = 10_000        # failure counts kept (a flood from many addresses must not grow memory)
MAX_TRUSTED = 10_000     # trusted (user, address) pairs kept


@dataclass(frozen=True)
class ThrottlePolicy:
    address_free: int = 5          # failures from one address (or one trusted pair) before a block
    address_cap: float = 300.0
    user_free: int = 10            # failures on one user name, from anywhere, before a block
    user_cap: float = 30.0         # short: a user at a new address waits at most this long
    base: float = 1.0              # the first block; each further failure doubles it
    forget_after: float = 900.0    # a count is dropped after this long without a failure
    trust_for: float = 30 * 86400.0


@dataclass(frozen=True)
class _Key:
    name: str                      # "addr:...", "user:...", "pair:..."
    free: int
    cap: float


class FailureThrottle:
    def __init__(self, clock: Callable[[], float],
                 policy: ThrottlePolicy = ThrottlePolicy()) -> None:
        self._clock = clock
        self._policy = policy
        self._failures: dict[str, tuple[int, float]] = {}    # key -> (count, last failure)
        self._pending: dict[str, int] = {}                     # key -> slow checks running
        self._trusted: dict[tuple[str, str], float] = {}      # (user, address) -> last success
        self._quiet_at = 0.0        # from then on every failure counted is forgotten
        self._lock = threading.Lock()           # HTTP threads log in concurrently

    # --- the three steps of a login -------------------------------------------------------------
    def check(self, name: str, remote: str) -> None:
        """Throttled when a key that governs this request is blocked."""
        if not self._failures:      # no failure counted anywhere: no key can be blocked (the
            return                  # usual case, and every request asks, 1.9 -> 0.1 us)
        now = self._clock()
        if now >= self._quiet_at:   # the last failure is forgotten: so is every other one
            self._forget_all(now)
            return
        with self._lock:
            for key in self._governing(name, remote, now):
                left = self._blocked_until(key, now) - now
                if left > 0:
                    raise Throttled(left, key.name.partition(":")[0])

    def begin_slow_check(self, name: str, remote: str) -> Callable[[], None]:
        """Reserve one slow password check; the function returned gives it back. Throttled when a
        governing key is blocked, or has as many checks running as it has failures left."""
        now = self._clock()
        with self._lock:
            keys = self._governing(name, remote, now)
            for key in keys:
                # the block may have begun since check(): other guesses failed meanwhile
                left = self._blocked_until(key, now) - now
                if left > 0:
                    raise Throttled(left, key.name.partition(":")[0])
                count = self._count(key.name, now)
                if self._pending.get(key.name, 0) >= max(1, key.free - count):
                    raise Throttled(self._policy.base, key.name.partition(":")[0])
            for key in keys:
                self._pending[key.name] = self._pending.get(key.name, 0) + 1
        return lambda: self._end_slow_check(keys)

    def failed(self, name: str, remote: str) -> None:
        now = self._clock()
        with self._lock:
            for key in self._keys(name, remote):
                count = self._count(key.name, now) + 1
                self._failures[key.name] = (count, now)
                self._quiet_at = now + self._policy.forget_after
                if count >= key.free:
                    log.warning("login throttle: %s blocked for %.0f s after %d failures",
                                key.name, self._block(key, count), count)
            self._bound(now)

    def succeeded(self, name: str, remote: str) -> None:
        if not remote:
            return
        now = self._clock()
        with self._lock:
            self._trusted[(name, remote)] = now
            if len(self._trusted) > MAX_TRUSTED:
                newest = sorted(self._trusted.items(), key=lambda kv: kv[1])[-MAX_TRUSTED // 2:]
                self._trusted = dict(newest)

    # --- keys -----------------------------------------------------------------------------------
    def _keys(self, name: str, remote: str) -> list[_Key]:
        """Every key a failure counts against."""
        p = self._policy
        keys = [_Key(f"user:{name}", p.user_free, p.user_cap)]
        if remote:      # in-process callers (tests, the admin command) have no address
            keys += [_Key(f"addr:{remote}", p.address_free, p.address_cap),
                     _Key(f"pair:{name}@{remote}", p.address_free, p.address_cap)]
        return keys

    def _governing(self, name: str, remote: str, now: float) -> list[_Key]:
        user, *by_address = self._keys(name, remote)
        if not by_address:
            return [user]
        address, pair = by_address
        trusted = now - self._trusted.get((name, remote), -self._policy.trust_for) \
            < self._policy.trust_for
        return [pair] if trusted else [address, user]

    def _block(self, key: _Key, count: int) -> float:
        if count < key.free:
            return 0.0
        return min(key.cap, self._policy.base * 2.0 ** min(count - key.free, 60))

    def _blocked_until(self, key: _Key, now: float) -> float:
        count, last = self._failures.get(key.name, (0, now))
        if now - last >= self._policy.forget_after:
            return 0.0
        return last + self._block(key, count)

    def _count(self, name: str, now: float) -> int:
        count, last = self._failures.get(name, (0, now))
        return count if now - last < self._policy.forget_after else 0

    def _end_slow_check(self, keys: list[_Key]) -> None:
        with self._lock:
            for key in keys:
                left = self._pending.get(key.name, 0) - 1
                if left > 0:
                    self._pending[key.name] = left
                else:
                    self._pending.pop(key.name, None)

    def _forget_all(self, now: float) -> None:
        """Drop the failures once the newest is past `forget_after` (they all count as zero
        then), so that check() is back on its fast path after a mistyped password."""
        with self._lock:
            if now >= self._quiet_at:
                self._failures.clear()

    def _bound(self, now: float) -> None:
        # A flood from many addresses must not grow memory without limit.
        if len(self._failures) <= MAX_KEYS:
            return
        recent = sorted(self._failures.items(), key=lambda kv: kv[1][1])[-MAX_KEYS // 2:]
        self._failures = {k: v for k, v in recent if now - v[1] < self._policy.forget_after}
