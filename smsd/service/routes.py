"""svc.routing: the message routing rules (docs/routing.md).

- Port groups: named lists of the box's ports.
- Outbound rules, in order: number prefix, optionally user and front end -> port groups in
  fall-back order. `Sending.send_sms` asks `decide` for each recipient at intake; a message whose
  rule leaves it no port is FAILED with the reason (or, when that is every recipient, the whole
  submission is refused with it). The scheduler keeps to the fall-back order at dispatch.
- Inbound forward rules: received SMS forwarded as SMS (smsd/service/forwarding.py does it).
- `which`: the Routing page's "which route would this number take?", through the very functions
  intake and the scheduler use.

The store holds plain rows (smsd/store/routes_rules.py); the typed rules are smsd/routing.py's.
Every change validates everything before it writes.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from smsd.errors import BadRequest, NoPortAvailable, NotFound
from smsd.numbers import is_normal, normalise_number
from smsd.routing import (CONNECTION_BASE, Connection, Decision, ForwardRule, OutboundRule,
                          PortGroup, check_group_name, clean_prefix, parse_target, route,
                          tiers_text)
from smsd.scheduler import Scheduler
from smsd.store.connections import Connections
from smsd.store.db import Store
from smsd.store.outbox import RowRoute
from smsd.store.routes_rules import ForwardLogRow, RoutingRules

# Front ends a rule may name (the `dialect` of their tasks); "forward" is a forward rule's SMS.
DIALECTS = ("json", "isms", "intelli", "ozeki", "gateway_php", "web", "smpp", "forward", "smtp")
MAX_RULES = 500
MAX_TARGETS = 8
MAX_FORWARD_NUMBERS = 10
MAX_KEYWORD = 40
DEFAULT_PER_HOUR = 10
_KEYWORD = re.compile(r"\S+").fullmatch


@dataclass(frozen=True)
class GroupInfo:
    name: str
    ports: tuple[int, ...]
    used_by: tuple[int, ...]          # the outbound rules naming it


@dataclass(frozen=True)
class Which:
    """The answer of the test box: the rule, the ports by fall-back order, and which of them
    would take the message now."""

    decision: Decision
    now: tuple[int, ...]              # ports that may take it at this moment (() none)


class RouteRefused(NoPortAvailable):
    """Routing leaves no port for any recipient of a submission (its reason says why)."""


def _rule(row: tuple[int, int, str, str, str, tuple[str, ...]]) -> OutboundRule:
    rid, pos, prefix, user, dialect, targets = row
    return OutboundRule(rid, pos, prefix, user, dialect, tuple(parse_target(t) for t in targets))


class Routing:
    def __init__(self, store: Store, scheduler: Scheduler,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._rules = store.routing_rules
        self._connections = Connections(store.db, store.events, store.outbox)
        self._scheduler = scheduler
        self._clock = clock

    @property
    def rules_store(self) -> RoutingRules:
        return self._rules

    # --- port groups ----------------------------------------------------------------------------
    def groups(self) -> list[GroupInfo]:
        rules = self.outbound()
        return [GroupInfo(g.name, g.ports, tuple(r.id for r in rules if any(
                    t == PortGroup(g.name) for t in r.targets))) for g in self._rules.groups()]

    def group_ports(self) -> dict[str, tuple[int, ...]]:
        return {g.name: g.ports for g in self._rules.groups()}

    def set_group(self, name: str, ports: Iterable[int]) -> str:
        """Create or replace a port group; the name as stored."""
        try:
            name = check_group_name(name)
        except ValueError as exc:
            raise BadRequest(str(exc), field="group_name") from None
        wanted = sorted(set(ports))
        unknown = [p for p in wanted if p not in self._scheduler.ports]
        if unknown:
            raise BadRequest(f"group ports: the box has no port {unknown[0] + 1}",
                             field="group_ports")
        if not wanted:
            raise BadRequest("group ports: at least one port", field="group_ports")
        self._rules.put_group(name, tuple(wanted))
        return name

    def delete_group(self, name: str) -> None:
        users = [r.id for r in self.outbound() if PortGroup(name) in r.targets]
        if users:
            raise BadRequest(f"group {name!r} is used by outbound rule {users[0]}: delete or "
                             "change that rule first", field="group_name")
        if not self._rules.delete_group(name):
            raise NotFound(f"no port group {name!r}")

    # --- outbound rules -------------------------------------------------------------------------
    def outbound(self) -> list[OutboundRule]:
        return [_rule(r) for r in self._rules.outbound()]

    def add_outbound(self, targets: Sequence[str], *, prefix: str = "", user: str = "",
                     dialect: str = "") -> int:
        """A rule at the end of the list: `targets` are port group names, or connections as
        "conn:NAME", in fall-back order."""
        try:
            prefix = clean_prefix(prefix)
        except ValueError as exc:
            raise BadRequest(str(exc), field="prefix") from None
        user = user.strip()
        if user and not self._store.users.exists(user):
            raise BadRequest(f"rule user: no user {user!r}", field="rule_user")
        if dialect and dialect not in DIALECTS:
            raise BadRequest(f"rule front end must be one of {', '.join(DIALECTS)}",
                             field="dialect")
        names = [t.strip() for t in targets if t.strip()]
        if not names or len(names) > MAX_TARGETS:
            raise BadRequest(f"rule targets: 1 to {MAX_TARGETS} port groups", field="targets")
        chosen = [self._target(n) for n in names]
        if len(set(chosen)) != len(chosen):
            raise BadRequest("rule targets: a port group named twice", field="targets")
        if len(self._rules.outbound()) >= MAX_RULES:
            raise BadRequest(f"at most {MAX_RULES} outbound rules", field="targets")
        keys = tuple(t.key for t in chosen)
        return self._rules.add_outbound(prefix, user, dialect, keys, self._clock())

    def _target(self, name: str) -> PortGroup | Connection:
        """A target named by a user: "conn:NAME" (or "connection:NAME") is a connection,
        anything else a port group; each must exist."""
        kind, _, rest = name.partition(":")
        if kind in ("conn", "connection") and rest.strip():
            if rest.strip() not in self.connection_numbers():
                raise BadRequest(f"rule targets: no connection {rest.strip()!r}",
                                 field="targets")
            return Connection(rest.strip())
        if name not in self.group_ports():
            raise BadRequest(f"rule targets: no port group {name!r}", field="targets")
        return PortGroup(name)

    def connection_numbers(self) -> dict[str, int]:
        """Each connection's number in a message's ports (smsd/routing.py CONNECTION_BASE)."""
        return {c.name: CONNECTION_BASE + c.id for c in self._connections.all()}

    def delete_outbound(self, rule_id: int) -> None:
        if not self._rules.delete_outbound(rule_id):
            raise NotFound(f"no outbound rule {rule_id}")

    def move_outbound(self, rule_id: int, step: int) -> None:
        if step not in (-1, 1):
            raise BadRequest("a rule moves one place up (-1) or down (+1)")
        if not self._rules.move_outbound(rule_id, step):
            raise NotFound(f"no outbound rule {rule_id}")

    # --- decisions ------------------------------------------------------------------------------
    def decide(self, numbers: Sequence[str], user: str | None, dialect: str,
               requested: Sequence[int] | None) -> list[Decision] | None:
        """Each recipient's decision, in order; None when there are no rules (today's way)."""
        rules = self.outbound()
        if not rules:
            return None
        groups = self.group_ports()
        allowed = self.allowed_ports(user)
        connections = self.connection_numbers()
        return [route(rules, groups, n, user, dialect, requested=requested, allowed=allowed,
                      connections=connections) for n in numbers]

    def for_intake(self, numbers: Sequence[str], user: str | None, dialect: str,
                   requested: Sequence[int] | None) -> IntakeRouting:
        """Routing for a submission: RouteRefused (with the first reason) when no recipient has
        a port left, else each message's own ports; those with none are FAILED at intake with
        their reason, never dropped."""
        decisions = self.decide(numbers, user, dialect, requested)
        if decisions and all(d.refused for d in decisions):
            raise RouteRefused(decisions[0].reason)
        return IntakeRouting(None if decisions is None else tuple(decisions))

    def allowed_ports(self, user: str | None) -> tuple[int, ...] | None:
        """The ports `user` may send on; None: all of them. smsd has no per-user restriction of
        sending ports yet: a rule is narrowed by the request's ports only, and this is where a
        user's own restriction narrows it once there is one."""
        return None

    def which(self, number: str, user: str | None = None, dialect: str = "",
              requested: Sequence[int] | None = None) -> Which:
        """The test box: what intake would decide for `number`, and the ports that would take
        the message now (the scheduler's own fall-back choice)."""
        normal = normalise_number(number)
        if normal is None or not is_normal(normal):
            raise BadRequest(f"number {number!r}: digits, optional +, separators",
                             field="which_number")
        if dialect and dialect not in DIALECTS:
            raise BadRequest(f"front end must be one of {', '.join(DIALECTS)}",
                             field="which_dialect")
        decisions = self.decide([normal], user, dialect, requested)
        decision = decisions[0] if decisions else Decision(None, ())
        if decision.refused:
            return Which(decision, ())
        if decision.rule is None:
            ports = requested or self._scheduler.ports
            return Which(decision, tuple(p for p in ports if self._scheduler.able(p)))
        return Which(decision, tuple(p for p in self._scheduler.route_tier(decision.tiers)
                                     if self._scheduler.able(p)))

    # --- inbound forward rules ------------------------------------------------------------------
    def forwards(self) -> list[ForwardRule]:
        return [ForwardRule(*r) for r in self._rules.forwards()]

    def add_forward(self, numbers: Sequence[str], owner: str, *, port: int | None = None,
                    sender_prefix: str = "", keyword: str = "",
                    max_per_hour: int = DEFAULT_PER_HOUR) -> int:
        """Received SMS matching port, sender prefix and keyword are forwarded to `numbers`,
        queued as `owner` (who pays: credits, port limits, their outbox)."""
        cleaned = self._forward_numbers(numbers)
        if not self._store.users.exists(owner):
            raise BadRequest(f"forward owner: no user {owner!r}", field="fwd_owner")
        if port is not None and port not in self._scheduler.ports:
            raise BadRequest("forward port: any, or one of the box's ports", field="fwd_port")
        try:
            prefix = clean_prefix(sender_prefix) if sender_prefix.strip() else ""
        except ValueError as exc:
            raise BadRequest(f"forward sender {exc}", field="fwd_sender") from None
        keyword = keyword.strip()
        if keyword and (len(keyword) > MAX_KEYWORD or not _KEYWORD(keyword)
                        or not keyword.isprintable()):
            raise BadRequest(f"forward keyword: one word of up to {MAX_KEYWORD} characters",
                             field="fwd_keyword")
        if isinstance(max_per_hour, bool) or not 1 <= max_per_hour <= 3600:
            raise BadRequest("forward rate: 1 to 3600 forwards per sender per hour",
                             field="fwd_rate")
        return self._rules.add_forward(port, prefix, keyword, cleaned, owner, max_per_hour,
                                       self._clock())

    @staticmethod
    def _forward_numbers(numbers: Sequence[str]) -> tuple[str, ...]:
        cleaned: list[str] = []
        for text in numbers:
            if not text.strip():
                continue
            normal = normalise_number(text)
            if normal is None or not is_normal(normal):
                raise BadRequest(f"forward numbers: {text.strip()!r} is no phone number",
                                 field="fwd_numbers")
            if normal not in cleaned:
                cleaned.append(normal)
        if not cleaned or len(cleaned) > MAX_FORWARD_NUMBERS:
            raise BadRequest(f"forward numbers: 1 to {MAX_FORWARD_NUMBERS} numbers",
                             field="fwd_numbers")
        return tuple(cleaned)

    def delete_forward(self, rule_id: int) -> None:
        if not self._rules.delete_forward(rule_id):
            raise NotFound(f"no forward rule {rule_id}")

    def forward_log(self, limit: int = 50) -> list[ForwardLogRow]:
        return self._rules.recent_log(limit)


@dataclass(frozen=True)
class IntakeRouting:
    """What routing means for one submission at intake (`Routing.for_intake`)."""

    decisions: tuple[Decision, ...] | None     # None: no rules, today's way

    @property
    def routes(self) -> list[RowRoute] | None:
        """Intake's per-message routes: the tiers to store, or the reason the message fails."""
        if self.decisions is None:
            return None
        return [(None, "") if d.rule is None else (None, d.reason) if d.refused
                else (tiers_text(d.tiers), "") for d in self.decisions]

    def charge(self, parts: Sequence[int]) -> int:
        """The parts to charge: a message routing fails at intake costs nothing."""
        if self.decisions is None:
            return sum(parts)
        return sum(n for n, d in zip(parts, self.decisions) if not d.refused)

    def sendable(self, requested: Sequence[int] | None) -> list[int] | None:
        """The ports one of which must be able to send for the submission to be taken."""
        if self.decisions is None or any(d.rule is None for d in self.decisions):
            return list(requested) if requested is not None else None
        return sorted({p for d in self.decisions for p in d.ports or ()})
