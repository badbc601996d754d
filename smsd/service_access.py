"""Who may see and do what: ownership and roles, decided here once for every dialect.

Mixed into `smsd.service.Service`. Every Service method a dialect calls for a client takes the
authenticated user's name as `user`; `None` is the box itself (the `smsd` commands, the daemon's
own work, tests of the layer below) and is never restricted. The rule (docs/security.md):

- an admin sees and does everything;
- anybody else sees and acts on the messages and tasks they sent (`tasks.user`), and sees the
  inbound messages of the ports and forwarding routes assigned to them (`smsd user assign`);
- port control (power, reset, SIM slot, SIM lock, port settings and Ozeki connections) and the
  simulator's injection endpoints need the `ports` permission; USSD on a port needs it, or that
  port assigned;
- somebody else's item is looked up as if it did not exist (NotFound, None, left out of a list),
  so ids cannot be probed; a forbidden action raises Forbidden, which each dialect renders as its
  own refusal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from smsd.errors import BadRequest, Forbidden, NotFound
from smsd.store.db import Store

PORTS_PERM = "ports"
MAX_PORTS = 32                    # a box has at most 32 modem ports (0..31)


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


class AccessService:
    _store: Store

    def access(self, user: str | None) -> Access | None:
        """The standing of `user`; None for the box itself. A name the store does not know (a
        user deleted while a request ran) is a user with no rights."""
        if user is None:
            return None
        info = self._store.users.info(user)
        if info is None:
            return Access(user)
        return Access(user, info.admin, info.perms)

    def _owner(self, user: str | None) -> str | None:
        """The store's owner filter for `user`'s lists (None: everything)."""
        access = self.access(user)
        return None if access is None else access.owner

    def _may_see(self, user: str | None, owner: str | None) -> bool:
        access = self.access(user)
        return access is None or access.owns(owner)

    def may_control_ports(self, user: str | None) -> bool:
        access = self.access(user)
        return access is None or access.controls_ports

    def require_port_control(self, user: str | None, what: str = "port control") -> None:
        if not self.may_control_ports(user):
            raise Forbidden(f"{what} needs an admin or the {PORTS_PERM} permission")

    def _require_ports_of(self, user: str | None, ports: Iterable[int], what: str) -> None:
        """Forbidden unless `user` controls ports or has every one of `ports` assigned."""
        access = self.access(user)
        if access is None or access.controls_ports:
            return
        mine = set(self._store.users.assigned(access.user, "port"))
        others = sorted(set(ports) - mine)
        if others:
            raise Forbidden(f"{what} on port {others[0]} needs that port assigned, an admin or "
                            f"the {PORTS_PERM} permission")

    # --- assignments (what a user sees of the inbox) -------------------------------------------
    def user_ports(self, name: str) -> list[int]:
        return self._store.users.assigned(name, "port")

    def user_routes(self, name: str) -> list[int]:
        return self._store.users.assigned(name, "route")

    def user_set_ports(self, name: str, ports: Iterable[int]) -> None:
        """Replace the ports whose inbound messages `name` sees (and may send USSD on)."""
        wanted = list(ports)
        for port in wanted:
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < MAX_PORTS:
                raise BadRequest(f"port {port!r}: a port number 0..{MAX_PORTS - 1}")
        if not self._store.users.assign(name, "port", wanted):
            raise NotFound(f"no user {name!r}")

    def user_set_routes(self, name: str, route_ids: Iterable[int]) -> None:
        """Replace the forwarding routes whose matching inbound messages `name` sees."""
        wanted = list(route_ids)
        known = {route.id for route in self._store.routes.all()}
        for ident in wanted:
            if ident not in known:
                raise BadRequest(f"no route {ident!r} (smsd route list)")
        if not self._store.users.assign(name, "route", wanted):
            raise NotFound(f"no user {name!r}")


__all__ = ["Access", "AccessService", "PORTS_PERM"]
