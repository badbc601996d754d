"""Phone numbers as each front end writes them: one normaliser, a policy per dialect as data.

A number is written with separators (spaces, dashes, dots, slashes, brackets) between its digits
and is international when it starts with `+` or with the international prefix (`00`); a number
that starts with the national trunk prefix (`0`) is national; bare digits are either taken as
international (a country code first) or kept as written, as the dialect's vendor does. The
outcome is `+<digits>` for an international number, the digits as written for a national one.

Pure functions and data (no I/O): the address book, the service's recipient resolution
(smsd/service/recipients.py), the console's Send page, the dialects' parameter checks, the
subscription lists and the store's "same subscriber" matches all use this module; no other code
cleans or shapes a phone number itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# What a duplicate is: the same number (`exact`), the same digits whatever the `+` (`digits`:
# a dialect that shows numbers without it cannot tell them apart), or none (`keep`: each sent).
Duplicates = Literal["exact", "digits", "keep"]
# How names expand: contacts and groups, or subscription lists as well.
Names = Literal["book", "lists"]


@dataclass(frozen=True)
class NumberPolicy:
    """How one front end writes numbers and names recipients (docs/ARCHITECTURE.md)."""

    name: str
    separators: str = r"[\s\-./()]"      # characters ignored (removed) anywhere in a number
    written: str | None = None           # the shape a number must have as written (None: any)
    quoted: bool = False                 # double quotes around a number are taken off
    space_is_plus: bool = False          # a leading space before the digits is a `+` that
    #                                      came unencoded in a URL (smsd.api.legacy)
    numberish: str | None = None         # an item of this shape is a number, never a name
    #                                      (None: a number when it normalises, else a name)
    international_prefix: str = ""       # written for `+` ("00"); "" none: kept as written
    trunk_prefix: str = ""               # a national number starts with it; "" none
    national: bool = True                # national numbers are accepted (kept as written)
    bare_international: bool = False     # bare digits are a country code first (`+` added)
    country_code_nonzero: bool = False   # an international number's first digit is 1-9
    min_digits: int = 1                  # digits of the number once its prefix is off
    max_digits: int = 24
    max_written_digits: int | None = None  # digits as written (a `00` prefix counts)
    max_name_bytes: int | None = None    # longer names are refused (the vendor's field size)
    names: Names = "book"
    duplicates: Duplicates = "exact"
    max_items: int | None = None         # items one request may name (before expansion)
    expanded_limit: bool = False         # capped at Limits.max_expanded, not max_numbers


# The one table: every front end's number policy.
AS_WRITTEN = NumberPolicy("as-written", written=None, max_written_digits=24)
POLICIES: dict[str, NumberPolicy] = {
    # The address book stores numbers as written, separators removed.
    "book": AS_WRITTEN,
    "isms": NumberPolicy("isms", numberish=r"\+?[0-9]{1,24}", max_written_digits=24,
                         max_name_bytes=50),
    "ozeki": NumberPolicy("ozeki", max_written_digits=24, duplicates="keep"),
    "intelli": NumberPolicy("intelli", quoted=True, space_is_plus=True,
                            international_prefix="00", trunk_prefix="0",
                            bare_international=True, min_digits=4, max_digits=20,
                            max_written_digits=20, names="lists", duplicates="digits",
                            max_items=100, expanded_limit=True),
    # The console's Send page: numbers as people type them (separators, `+`), else book names.
    "web": NumberPolicy("web", max_written_digits=24, expanded_limit=True),
    # A port's SMSC address setting: digits as written, a `+` that came as a space put back.
    "smsc": NumberPolicy("smsc", separators=r"(?!)", written=r"\+?[0-9]+", space_is_plus=True,
                         min_digits=3, max_digits=20, max_written_digits=20),
    # Subscription lists key a subscriber by digits: `+` and `00` both mark international.
    "msisdn": NumberPolicy("msisdn", international_prefix="00", max_written_digits=24),
    "gateway_php": NumberPolicy("gateway_php", written=r"\+?\(?[0-9][0-9\s\-./()]*",
                                numberish=r"[+0-9\s\-./()]+", international_prefix="00",
                                trunk_prefix="0", national=False, bare_international=True,
                                country_code_nonzero=True, min_digits=7, max_digits=15),
}
_DIGITS = re.compile(r"[0-9]+").fullmatch
_NORMAL = re.compile(r"\+?[0-9]+").fullmatch


def normalise_number(text: str, policy: NumberPolicy = AS_WRITTEN) -> str | None:
    """The number `text` writes under `policy` (`+<digits>`, or national digits, or as written
    without separators); None when it is no number there."""
    written = text.strip().strip('"') if policy.quoted else text.strip()
    if policy.space_is_plus and text[:1] == " " and written[:1].isdigit():
        written = "+" + written
    if policy.written is not None and not re.fullmatch(policy.written, written):
        return None
    cleaned = re.sub(policy.separators, "", written)
    plus = cleaned.startswith("+")
    digits = cleaned[1:] if plus else cleaned
    if not _DIGITS(digits) or (policy.max_written_digits is not None
                               and len(digits) > policy.max_written_digits):
        return None
    kind, digits = _classify(digits, plus, policy)
    if kind == "national" and not policy.national:
        return None
    if kind == "international" and policy.country_code_nonzero and digits[:1] == "0":
        return None
    if not policy.min_digits <= len(digits) <= policy.max_digits:
        return None
    return {"international": "+" + digits, "national": digits, "written": cleaned}[kind]


def _classify(digits: str, plus: bool, policy: NumberPolicy) -> tuple[str, str]:
    """("international" | "national" | "written", the digits once the prefix is off)."""
    intl, trunk = policy.international_prefix, policy.trunk_prefix
    if plus:
        return "international", digits
    if intl and digits.startswith(intl):
        return "international", digits[len(intl):]
    if trunk and digits.startswith(trunk):
        return "national", digits
    return ("international" if policy.bare_international else "written"), digits


def looks_like_number(text: str, policy: NumberPolicy) -> bool:
    """Is `text` a number (to normalise, refused if it does not) rather than a name to expand?"""
    if policy.numberish is not None:
        return bool(re.fullmatch(policy.numberish, text))
    return normalise_number(text, policy) is not None


def is_normal(text: str, max_digits: int | None = 24, min_digits: int = 1) -> bool:
    """Is `text` a number as `normalise_number` writes it (`+<digits>` or digits), with
    `min_digits`..`max_digits` digits? The cheap check for numbers that were normalised
    already (the intake's last check, the book's own numbers, search terms)."""
    if not _NORMAL(text):
        return False
    digits = len(text) - (text[:1] == "+")
    return min_digits <= digits and (max_digits is None or digits <= max_digits)


def msisdn(number: str) -> str | None:
    """'+44 7700-900123' / '0044 7700 900123' -> '447700900123': the digits of an international
    number without its prefix, a national one as written; None when `number` is no number."""
    normal = normalise_number(number, POLICIES["msisdn"])
    return None if normal is None else normal.lstrip("+")


def same_subscriber(a: str, b: str) -> bool:
    """Do two numbers reach the same subscriber? One side may be national and the other
    international (a submission and its status report, a list entry and an inbound sender), so
    the last 7 to 9 digits decide when the whole numbers differ; a sender that is no number
    (an alphanumeric name) matches only itself."""
    da, db = _subscriber_key(a), _subscriber_key(b)
    if da == db:
        return True
    n = min(len(da), len(db), 9)
    return n >= 7 and _DIGITS(da) is not None and _DIGITS(db) is not None and da[-n:] == db[-n:]


def _subscriber_key(number: str) -> str:
    # Fast path: stored numbers are normalised already (a status report search runs this per row).
    if _NORMAL(number) and not number.startswith("00"):
        return number.lstrip("+")
    digits = msisdn(number)
    return number if digits is None else digits


def duplicate_key(number: str, policy: NumberPolicy) -> str:
    return number.lstrip("+") if policy.duplicates == "digits" else number


# SMPP addresses carry a type of number (TON) and a numbering plan (NPI) beside the digits:
# TON 1 international (`+` added), 2 national (kept as written), 0 unknown (as written, a `+`
# allowed); 5 alphanumeric names a sender, never a recipient. NPI 0 (unknown) or 1 (E.164).
SMPP = NumberPolicy("smpp", max_written_digits=20, max_digits=20)
SMPP_TONS = (0, 1, 2, 4)          # unknown, international, national, subscriber
SMPP_NPIS = (0, 1)


def smpp_number(address: str, ton: int, npi: int) -> str | None:
    """The number an SMPP address with this TON/NPI names, under the smpp policy, or None."""
    if ton not in SMPP_TONS or npi not in SMPP_NPIS:
        return None
    if ton == 1 and not address.startswith("+"):
        address = "+" + address
    elif ton in (2, 4) and address.startswith("+"):
        return None
    return normalise_number(address, SMPP)


POLICIES["smpp"] = SMPP
