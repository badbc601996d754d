"""Ozeki NG's names of the port settings, mapped to smsd's own at the edge.

The core (smsd/portcfg.py) keys a port's settings by neutral lower-case names; an Ozeki client
configures a "GSM modem connection" with Ozeki's upper-case keys and reads them back the same
way. Values are passed through unchanged (the core validates them); a key Ozeki does not name
is passed on as the client wrote it, for the core to refuse in its turn (after the checks that
come first: the permission, the connection name), and `in_ozeki_words` says the core's
refusal again with Ozeki's names.
"""
from __future__ import annotations

from typing import Mapping

from smsd.portcfg import BadSetting, bad_value, unsupported

# Ozeki NG key -> smsd's key. Every core setting has one Ozeki name.
TO_CORE: dict[str, str] = {
    "SEND": "send",
    "RECEIVE": "receive",
    "LIMITTOMPM": "max_parts_per_minute",
    "LIMITPERDAY": "max_parts_per_day",         # smsd's own: Ozeki NG has no such key
    "LIMITPERMONTH": "max_parts_per_month",     # smsd's own, likewise
    "PINCODE": "sim_pin",
    "SMSSERVICECENTERADDRESS": "smsc",
    "DELIVERYREPORT": "status_reports",
    "SUBMITTIMEOUT": "submit_timeout",
    "PREFEREDCHARSET": "charset",
    "NATIONALLANGUAGES": "national_languages",
    "KEEPALIVEPERIOD": "keepalive_period",
    "KEEPALIVEREQUEST": "keepalive",
    "PHONENUMBER": "phone_number",
    "PROTOCOL": "protocol",
    "CALLPOLICY": "call_policy",                # smsd's own: what incoming calls get
}
TO_OZEKI: dict[str, str] = {core: ozeki for ozeki, core in TO_CORE.items()}


def to_core(values: Mapping[str, str]) -> dict[str, str]:
    """{OZEKI KEY: value} -> {smsd key: value}; a key Ozeki does not name stays as it is (upper
    case, which no smsd key is)."""
    upper = (key.strip().upper() for key in values)
    return {TO_CORE.get(key, key): value for key, value in zip(upper, values.values())}


def in_ozeki_words(exc: BadSetting) -> BadSetting:
    """The core's refusal of a setting, naming the keys as Ozeki does."""
    if exc.problem is None:
        return unsupported(exc.key, TO_OZEKI)
    return bad_value(exc.key, exc.problem, TO_OZEKI)


def to_ozeki(settings: Mapping[str, str]) -> dict[str, str]:
    """{smsd key: value} -> {OZEKI KEY: value}, in the core's order; internal keys left out."""
    return {TO_OZEKI[key]: value for key, value in settings.items() if key in TO_OZEKI}


__all__ = ["TO_CORE", "TO_OZEKI", "in_ozeki_words", "to_core", "to_ozeki"]
