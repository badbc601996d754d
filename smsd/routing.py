"""Message routing rules as data, and the pure decisions made with them (docs/routing.md).

Outbound: an ordered list of rules; the first whose number prefix, user and dialect match a
recipient decides the ports that recipient's message may use: its targets in fall-back order,
each narrowed by what the request names and what the user may use. Today a target is a
`PortGroup` (a named list of ports); a connection to a service provider (issue 18) will be a
second kind of target beside it, which this module then routes to instead of a port list.

Inbound: a forward rule matches a received SMS by port, sender prefix and text keyword and names
the numbers it is forwarded to; who pays and how loops are stopped is the service's
(smsd/service/forwarding.py).

No I/O here: the service decides a message's ports at intake with `route`, and the scheduler,
at dispatch, asks `tier_of` which of those ports may take it now, so the Routing page's "which
route would this number take?" box runs exactly the code the messages do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence, Union

MAX_PREFIX = 24                       # digits of a number prefix
MAX_NAME = 40                         # characters of a port group's name
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]*").fullmatch
_SEPARATORS = re.compile(r"[\s\-./()]")
_PREFIX = re.compile(r"\+?[0-9]*").fullmatch
_AFTER_WORD = ":;,.!?"

Tiers = tuple[tuple[int, ...], ...]    # ports in fall-back order: tier 1 first


@dataclass(frozen=True)
class PortGroup:
    """A named list of the box's ports."""

    name: str

    @property
    def key(self) -> str:
        return f"group:{self.name}"


# A connection to a service provider (smsd/connections) stands in a message's ports as a number
# of its own: CONNECTION_BASE + its id, far above any port of a board.
CONNECTION_BASE = 10000


def is_connection(port: int) -> bool:
    return port >= CONNECTION_BASE


@dataclass(frozen=True)
class Connection:
    """A connection to a service provider (SMPP, HTTP or SMTP; docs/connections.md)."""

    name: str

    @property
    def key(self) -> str:
        return f"conn:{self.name}"


# What a rule routes to; `parse_target` and `route` are the places that know the kinds.
Target = Union[PortGroup, Connection]


def parse_target(text: str) -> Target:
    """A target from its stored key ("group:NAME", "conn:NAME"); ValueError for an unknown
    kind."""
    kind, _, name = text.partition(":")
    if kind == "group" and name:
        return PortGroup(name)
    if kind == "conn" and name:
        return Connection(name)
    raise ValueError(f"unknown routing target {text!r}")


@dataclass(frozen=True)
class OutboundRule:
    id: int
    pos: int                          # order: the lowest matching pos decides
    prefix: str                       # "" any number; "+44", "0049", "07" ... (see match)
    user: str                         # "" any user
    dialect: str                      # "" any front end ("json", "isms", "web", "forward" ...)
    targets: tuple[Target, ...]       # fall-back order

    def matches(self, number: str, user: str | None, dialect: str) -> bool:
        return (number_matches(self.prefix, number) and (not self.user or self.user == user)
                and (not self.dialect or self.dialect == dialect))


@dataclass(frozen=True)
class ForwardRule:
    """Received SMS matching port, sender prefix and keyword go on as SMS to `numbers`."""

    id: int
    port: int | None                  # None: received on any port
    sender_prefix: str
    keyword: str                      # "" any text; else the text's first word, any case
    numbers: tuple[str, ...]
    owner: str                        # the user the forward is queued as (who pays)
    max_per_hour: int                 # forwards per sender per hour, at most
    enabled: bool = True
    since: float = 0.0                # made then: applies to SMS received from then on

    def matches(self, port: int, sender: str, text: str, received: float) -> bool:
        return (self.enabled and received >= self.since
                and (self.port is None or self.port == port)
                and number_matches(self.sender_prefix, sender)
                and keyword_matches(self.keyword, text))


@dataclass(frozen=True)
class Decision:
    """What routing decided for one recipient."""

    rule: OutboundRule | None          # None: no rule matched (today's behaviour)
    tiers: Tiers                       # the ports allowed, by fall-back order ((): see rule)
    reason: str = ""                   # why no port is left ("" when there is one)

    @property
    def ports(self) -> tuple[int, ...] | None:
        """Every port the message may use; None: any (no rule matched, none named)."""
        if self.rule is None and not self.tiers:
            return None
        return tuple(sorted({p for tier in self.tiers for p in tier}))

    @property
    def refused(self) -> bool:
        return bool(self.reason)


# --- numbers and keywords ---------------------------------------------------------------------
def clean_prefix(text: str) -> str:
    """A rule's number prefix as stored: separators off, a leading 00 written as +;
    ValueError when it is not digits (with an optional +)."""
    cleaned = _SEPARATORS.sub("", text.strip())
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not _PREFIX(cleaned) or len(cleaned.lstrip("+")) > MAX_PREFIX or cleaned == "+":
        raise ValueError(f"number prefix {text!r}: up to {MAX_PREFIX} digits, optional + or 00")
    return cleaned


def number_matches(prefix: str, number: str) -> bool:
    """Does `number` (normalised: +digits, national digits, or as written) start with `prefix`?
    The digits decide, a `+` on either side aside: "+44" matches "+447..." and a dialect's bare
    "447..." alike, "07" matches national numbers. A non-numeric prefix (an alphanumeric sender)
    is compared as written."""
    if not prefix:
        return True
    if prefix.lstrip("+").isdigit():
        return number.lstrip("+").startswith(prefix.lstrip("+"))
    return number.startswith(prefix)


def keyword_matches(keyword: str, text: str) -> bool:
    """The text's first word is the keyword, in any case, punctuation after it aside ("ALARM:"
    is the keyword "alarm"); "" matches any text."""
    if not keyword:
        return True
    words = text.split(None, 1)
    return bool(words) and words[0].rstrip(_AFTER_WORD).casefold() == keyword.casefold()


def check_group_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not _NAME(name):
        raise ValueError(f"group name {name!r}: 1-{MAX_NAME} letters, digits, space, _ . -")
    return name


# --- outbound: intake ---------------------------------------------------------------------------
def first_rule(rules: Sequence[OutboundRule], number: str, user: str | None,
               dialect: str) -> OutboundRule | None:
    for rule in rules:
        if rule.matches(number, user, dialect):
            return rule
    return None


def route(rules: Sequence[OutboundRule], groups: Mapping[str, tuple[int, ...]], number: str,
          user: str | None, dialect: str, *, requested: Sequence[int] | None,
          allowed: Iterable[int] | None, connections: Mapping[str, int] | None = None
          ) -> Decision:
    """The ports one recipient's message may use, by fall-back order.

    A rule never widens: each of its targets is narrowed to the ports the request names
    (`requested`, None: any) and the user may use (`allowed`, None: any); targets left empty
    are dropped, and when none is left the decision says why. A connection target is its own
    tier (its number, `connections`: name -> number); a request that names ports keeps it only
    when it names that connection too. No matching rule: the request's own ports, as before
    rules existed."""
    rule = first_rule(rules, number, user, dialect)
    if rule is None:
        return Decision(None, (tuple(requested),) if requested else ())
    narrow = set(requested) if requested else None
    mine = set(allowed) if allowed is not None else None
    tiers: list[tuple[int, ...]] = []
    for target in rule.targets:
        if isinstance(target, Connection):
            found = (connections or {}).get(target.name)
            if found is not None and (narrow is None or found in narrow):
                tiers.append((found,))
            continue
        ports = set(groups.get(target.name, ()))
        if narrow is not None:
            ports &= narrow
        if mine is not None:
            ports &= mine
        if ports and tuple(sorted(ports)) not in tiers:
            tiers.append(tuple(sorted(ports)))
    if tiers:
        return Decision(rule, tuple(tiers))
    return Decision(rule, (), _why_none(rule, groups, narrow, mine))


def _why_none(rule: OutboundRule, groups: Mapping[str, tuple[int, ...]],
              requested: set[int] | None, allowed: set[int] | None) -> str:
    ports = sorted({p for t in rule.targets if isinstance(t, PortGroup)
                    for p in groups.get(t.name, ())})
    names = ", ".join(t.name for t in rule.targets)
    if not ports:
        return (f"routing rule {rule.id}: its targets ({names}) hold no port or usable "
                "connection")
    listed = ", ".join(str(p + 1) for p in ports)
    if requested is not None and not requested & set(ports):
        return (f"routing rule {rule.id} allows port(s) {listed} only (groups {names}); "
                "the request names none of them")
    return f"routing rule {rule.id} allows port(s) {listed} only; the user may use none of them"


# --- outbound: dispatch -------------------------------------------------------------------------
def tiers_text(tiers: Tiers) -> str:
    """Stored form: tiers split by ';', ports by ','. "0,1;2" = ports 0 and 1, then port 2."""
    return ";".join(",".join(str(p) for p in tier) for tier in tiers)


def parse_tiers(text: str) -> Tiers:
    return tuple(tuple(int(p) for p in tier.split(",") if p) for tier in text.split(";") if tier)


def tier_of(tiers: Tiers, able: Callable[[int], bool]) -> tuple[int, ...]:
    """The ports that may take a message now: the first tier with a port that can send (`able`),
    so a later tier is used only while no port of an earlier one can; () when none can."""
    for tier in tiers:
        if any(able(p) for p in tier):
            return tier
    return ()
