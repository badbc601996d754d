"""Who may see and do what: ownership and roles, decided here once for every dialect.

Every service method a dialect calls for a client takes the authenticated user's name as
`user`; `None` is the box itself (the `smsd` commands, the daemon's own work, tests of the layer
below) and is never restricted. The rule (docs/security.md):

- an admin sees and does everything;
- anybody else sees and acts on the messages and tasks they sent (`tasks.user`), and sees the
  inbound messages of the ports and forwarding routes assigned to them (`smsd user assign`);
- port control (power, reset, SIM slot, SIM lock, port settings and Ozeki connections) and the
  simulator's injection endpoints need the `ports` permission; USSD on a port needs it, or that
  port assigned;
- somebody else's item is looked up as if it did not exist (NotFound, None, left out of a list),
  so ids cannot be probed; a forbidden action raises Forbidden, which each dialect renders as its
  own refusal.

`AccessPolicy` is handed to every subject object that answers for a user.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from smsd.errors import Forbidden
from smsd.store.db import Store

PORTS_PERM = "ports"


@dataclass(frozen=True)
class Access:
    """One user's standing: the policy's answers are properties of it."""

    user: str
    admin: bool = False
    perms: frozenset[str] = frozenset()

    @property
    def controls_ports(self) -> bool:
        return self.admin or PORTS_PERM in self.perms

    @property
    def owner(self) -> str | None:
        """Whose messages and tasks this user's lists hold: None (everybody's) for an admin."""
        return None if self.admin else self.user

    def owns(self, owner: str | None) -> bool:
        return self.admin or owner == self.user


class AccessPolicy:
    def __init__(self, store: Store) -> None:
        self._store = store

    def of(self, user: str | None) -> Access | None:
        """The standing of `user`; None for the box itself. A name the store does not know (a
        user deleted while a request ran) or a disabled user is a user with no rights."""
        if user is None:
            return None
        info = self._store.users.info(user)
        if info is None or info.disabled:
            return Access(user)
        return Access(user, info.admin, info.perms)

    def owner(self, user: str | None) -> str | None:
        """The store's owner filter for `user`'s lists (None: everything)."""
        access = self.of(user)
        return None if access is None else access.owner

    def may_see(self, user: str | None, owner: str | None) -> bool:
        access = self.of(user)
        return access is None or access.owns(owner)

    def may_control_ports(self, user: str | None) -> bool:
        access = self.of(user)
        return access is None or access.controls_ports

    def require_port_control(self, user: str | None, what: str = "port control") -> None:
        if not self.may_control_ports(user):
            raise Forbidden(f"{what} needs an admin or the {PORTS_PERM} permission")

    def require_ports_of(self, user: str | None, ports: Iterable[int], what: str) -> None:
        """Forbidden unless `user` controls ports or has every one of `ports` assigned."""
        access = self.of(user)
        if access is None or access.controls_ports:
            return
        mine = set(self._store.users.assigned(access.user, "port"))
        others = sorted(set(ports) - mine)
        if others:
            raise Forbidden(f"{what} on port {others[0]} needs that port assigned, an admin or "
                            f"the {PORTS_PERM} permission")
