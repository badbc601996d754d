"""Recipient resolution: the items a request names -> the numbers it sends to, and what was not.

`resolve_recipients(items, policy)` takes each item in order: a number (by the policy's shape)
is normalised under the dialect's `NumberPolicy` (smsd/numbers.py, one table); anything else is
a name the address book expands (contacts, groups, and with `names="lists"` subscription lists),
each number it gives normalised the same way. Duplicates are dropped (as the policy defines a
duplicate), the first kept. Every item that cannot be sent to is reported with why; a dialect
only renders the `Resolution` in its own words and codes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from smsd.errors import UnknownRecipient
from smsd.model import Limits
from smsd.numbers import (POLICIES, NumberPolicy, duplicate_key, looks_like_number,
                          normalise_number)

# Why an item (or a number a name expanded to) is not sent to.
RejectKind = Literal["number", "unknown", "name"]


@dataclass(frozen=True)
class Outcome:
    """One recipient of an item, in the order they came: a number to send to, or a reject."""

    item: int                   # index of the item in the request
    number: str | None          # the normalised number; None for a reject
    reject: RejectKind | None = None
    text: str | None = None     # for a reject: the number a name expanded to that failed
    detail: str = ""            # for a reject: a sentence for logs and verbose replies


@dataclass(frozen=True)
class Resolution:
    outcomes: tuple[Outcome, ...]     # accepted and rejected, in order; duplicates left out
    too_many: bool = False            # more numbers than the policy's cap
    too_many_items: bool = False      # more items than the policy's `max_items`

    @property
    def numbers(self) -> list[str]:
        return [o.number for o in self.outcomes if o.number is not None]

    @property
    def rejects(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.number is None]


class Recipients:
    """The service's resolver; `expand_book` and `expand_lists` are the address book's and the
    subscription lists' expansions of one name (UnknownRecipient for an unknown name)."""

    def __init__(self, expand_book: Callable[[Sequence[str]], list[str]],
                 expand_lists: Callable[[Sequence[str]], list[str]], limits: Limits) -> None:
        self._expand = {"book": expand_book, "lists": expand_lists}
        self._limits = limits

    def resolve_recipients(self, items: Sequence[str], policy: NumberPolicy) -> Resolution:
        if policy.max_items is not None and len(items) > policy.max_items:
            return Resolution((), too_many_items=True)
        expand = self._expand[policy.names]
        outcomes = _dedupe([o for i, item in enumerate(items)
                            for o in _resolve_one(i, item, policy, expand)], policy)
        cap = self._limits.max_expanded if policy.expanded_limit else self._limits.max_numbers
        return Resolution(tuple(outcomes),
                          too_many=sum(o.number is not None for o in outcomes) > cap)


def _resolve_one(index: int, item: str, policy: NumberPolicy,
                 expand: Callable[[Sequence[str]], list[str]]) -> list[Outcome]:
    if looks_like_number(item, policy):
        return [_number(index, item, None, policy)]
    name = item.strip()
    if policy.max_name_bytes is not None and len(name.encode("utf-8")) > policy.max_name_bytes:
        return [Outcome(index, None, "name", detail=f"name over {policy.max_name_bytes} bytes")]
    try:
        numbers = expand([name])
    except UnknownRecipient as exc:
        return [Outcome(index, None, "unknown", detail=str(exc))]
    # The book keeps a number written as +digits as it is: then the item itself is what failed.
    return [_number(index, n, None if n == name else n, policy) for n in numbers]


def _number(index: int, text: str, expanded: str | None, policy: NumberPolicy) -> Outcome:
    number = normalise_number(text, policy)
    if number is None:
        return Outcome(index, None, "number", text=expanded,
                       detail=f"not a phone number: {text[:40]!r}")
    return Outcome(index, number)


def _dedupe(outcomes: list[Outcome], policy: NumberPolicy) -> list[Outcome]:
    if policy.duplicates == "keep":
        return outcomes
    seen: set[str] = set()
    out = []
    for o in outcomes:
        if o.number is not None:
            key = duplicate_key(o.number, policy)
            if key in seen:
                continue
            seen.add(key)
        out.append(o)
    return out


__all__ = ["POLICIES", "NumberPolicy", "Outcome", "Recipients", "Resolution", "looks_like_number",
           "normalise_number"]
