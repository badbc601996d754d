"""Parsers of the voice-call answers: +CLIP (caller id), +CEER (release cause), +CCFC (forwarding).

Pure functions over the lines the engine collected; see tests/test_at_calls.py for the replies
each one was written against.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .fields import split_fields, split_prefix, to_int, unquote

# TS 24.008 10.5.4.11 cause values by the texts modules print for them (AT+CEER is
# manufacturer-specific text: some print the number, most only the words). Keys are squashed
# (lower case, letters and digits only) so punctuation and spacing differences do not matter.
_CAUSE_WORDS = {
    "No cause information available": 0,
    "Unassigned (unallocated) number": 1, "Unassigned number": 1,
    "No route to destination": 3,
    "Operator determined barring": 8,
    "Normal call clearing": 16, "Normal clearing": 16,
    "User busy": 17,
    "No user responding": 18,
    "User alerting, no answer": 19, "No answer": 19,
    "Call rejected": 21,
    "Number changed": 22,
    "Destination out of order": 27,
    "Invalid number format": 28, "Invalid number format (incomplete number)": 28,
    "Normal, unspecified": 31,
    "No circuit/channel available": 34,
    "Network out of order": 38,
    "Temporary failure": 41,
    "Switching equipment congestion": 42,
    "Requested circuit/channel not available": 44,
    "Resources unavailable, unspecified": 47,
    "Bearer capability not authorized": 57,
    "Service or option not available, unspecified": 63,
    "Recovery on timer expiry": 102,
    "Protocol error, unspecified": 111,
    "Interworking, unspecified": 127,
}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


CAUSES = {_squash(text): cause for text, cause in _CAUSE_WORDS.items()}


def parse_clip(args: tuple[str, ...]) -> str:
    """`+CLIP: "<number>",<type>[,...]` (its fields) -> the caller's number; "" when withheld.
    A type-145 number printed without its "+" gets it back."""
    if not args:
        return ""
    number = unquote(args[0]).strip()
    if number and not number.startswith("+") and len(args) > 1 and to_int(args[1]) == 145:
        number = "+" + number
    return number


def parse_ceer(lines: tuple[str, ...]) -> int | None:
    """The release cause of an AT+CEER report: a known cause text anywhere in it, else its first
    non-zero number that can be a cause (1..127; a leading 0 is a location or "none"), else 0
    for a report of zeros; None when the report names none."""
    fields: list[str] = []
    for line in lines:
        name, rest = split_prefix(line)
        if name == "+CEER":
            fields += [unquote(f).strip() for f in split_fields(rest)]
    for text in fields:
        if _squash(text) in CAUSES:
            return CAUSES[_squash(text)]
    numbers = [int(text) for text in fields
               if text.isascii() and text.isdigit() and len(text) <= 9 and int(text) <= 127]
    return next((n for n in numbers if n), 0 if numbers else None)


@dataclass(frozen=True)
class ForwardLine:
    """One `+CCFC:` line of a query: active or not, for which class, to which number."""

    active: bool
    cls: int
    number: str = ""
    time: int | None = None          # the no-reply time, when the network says it


def parse_ccfc(lines: tuple[str, ...]) -> list[ForwardLine]:
    """`+CCFC: <status>,<class>[,<number>,<type>[,<subaddr>,<satype>[,<time>]]]` lines."""
    out: list[ForwardLine] = []
    for line in lines:
        name, rest = split_prefix(line)
        fields = split_fields(rest)
        if name != "+CCFC" or len(fields) < 2:
            continue
        number = parse_clip(tuple(fields[2:4])) if len(fields) > 2 else ""
        time = to_int(fields[6]) if len(fields) > 6 and fields[6] else None
        out.append(ForwardLine(to_int(fields[0]) == 1, to_int(fields[1], 0) or 0, number, time))
    return out


def voice_forward(lines: tuple[str, ...]) -> str:
    """The number voice calls (class 1, alone or in a class sum) are forwarded to; "" for none."""
    for line in parse_ccfc(lines):
        if line.active and line.cls & 1 and line.number:
            return line.number
    return ""
