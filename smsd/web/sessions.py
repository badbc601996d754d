"""Server-side sessions of the web console: a random id in a cookie, everything else here.

A session ends when it has been idle longer than `idle` seconds, at sign-out, or when its user's
password changes (`end_user`, called by the service's password-change hook) or the user is
deleted. Memory is bounded: past MAX_SESSIONS the least recently used ones are dropped. A restart
forgets every session (users sign in again), which is what an appliance reboot should do.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Callable

MAX_SESSIONS = 2000
DEFAULT_IDLE = 30 * 60.0


@dataclass
class Session:
    id: str
    user: str
    csrf: str                    # the token every form of this session carries
    last_seen: float
    flash: list[str] = field(default_factory=list)     # messages shown once on the next page


class SessionStore:
    def __init__(self, clock: Callable[[], float], idle: float = DEFAULT_IDLE) -> None:
        self._clock = clock
        self.idle = idle
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()       # HTTP threads share the store

    def new(self, user: str) -> Session:
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32),
                          self._clock())
        with self._lock:
            self._sessions[session.id] = session
            if len(self._sessions) > MAX_SESSIONS:
                self._drop_oldest()
        return session

    def get(self, session_id: str | None, *, touch: bool = True) -> Session | None:
        """The live session with that id, its idle time restarted (unless `touch` is False: a
        page's own refresh is not the user doing something); None when unknown or idle too long
        (then it is gone)."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle:
                del self._sessions[session_id]
                return None
            if touch:
                session.last_seen = now
            return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def end_user(self, user: str, keep: str | None = None) -> int:
        """End every session of `user` but `keep`; how many ended."""
        with self._lock:
            gone = [sid for sid, s in self._sessions.items() if s.user == user and sid != keep]
            for sid in gone:
                del self._sessions[sid]
        return len(gone)

    def count(self) -> int:
        return len(self._sessions)

    def _drop_oldest(self) -> None:
        by_age = sorted(self._sessions.values(), key=lambda s: s.last_seen)
        for session in by_age[:len(by_age) - MAX_SESSIONS // 2]:
            del self._sessions[session.id]
