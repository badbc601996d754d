"""The audit log of administrative actions (users, routing, network, restore, reset, ...).

Whoever performs an admin action for a user records it here: `svc.audit.record(user, action,
detail)` after the change succeeded (a refused change is not an action). Actions are dotted
names, subject first ("user.create", "user.password", "route.delete", "network.apply",
"system.restore", "system.reset"); `detail` is for a human reader and must not hold secrets
(never a password). `svc.audit.entries(...)` lists them, newest first, for the System page.
"""
from __future__ import annotations

import re
from typing import Callable

from smsd.errors import BadRequest
from smsd.store.audit import AuditEntry
from smsd.store.db import Store

ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*").fullmatch
MAX_DETAIL = 2000
MAX_PAGE = 500


class Audit:
    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def record(self, user: str | None, action: str, detail: str = "") -> int:
        """Append one entry (`user` None: the box itself); its id."""
        if not ACTION(action) or len(action) > 64:
            raise BadRequest(f"audit action {action!r}: a dotted lower-case name")
        detail = "".join(c if c.isprintable() else " " for c in detail)[:MAX_DETAIL]
        return self._store.audit.append(user or "", action, detail, self._clock())

    def entries(self, *, limit: int = 100, before_id: int | None = None, user: str | None = None,
                action: str | None = None) -> list[AuditEntry]:
        """Newest first, at most `limit` (1..MAX_PAGE); `action` "user" matches "user.*" too."""
        if isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit: 1..{MAX_PAGE}")
        prefix = None if not action else action
        found = self._store.audit.entries(limit=limit, before_id=before_id, user=user,
                                          action_prefix=prefix)
        if action and not action.endswith("."):
            found = [e for e in found if e.action == action or e.action.startswith(action + ".")]
        return found


__all__ = ["Audit", "AuditEntry"]
