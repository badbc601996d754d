"""+CMS ERROR codes: which failures are worth retrying (on another port) and which are not.

"Permanent" means the message itself is at fault or the destination refuses it, so another
port would fail the same way. Problems of this port, its SIM or the network are temporary: the
scheduler may retry the part elsewhere. Sources: TS 24.011 Annex E (RP causes, codes 0..127),
TS 23.040 9.2.3.22 (TP-FCS, 128..255), TS 27.005 3.2.5 (ME/TA errors, 300..511; 512+ vendor).
"""
from __future__ import annotations

PERMANENT_CMS: frozenset[int] = frozenset({
    # TS 24.011 RP-cause
    1,    # unassigned (unallocated) number
    8,    # operator determined barring
    10,   # call barred
    21,   # short message transfer rejected
    28,   # unidentified subscriber
    29,   # facility rejected
    30,   # unknown subscriber
    50,   # requested facility not subscribed
    69,   # requested facility not implemented
    95, 96, 97, 99,   # invalid message / mandatory IE / message type / IE non-existent
    # TS 23.040 TP-FCS
    0x80, 0x81, 0x82, 0x8F,   # PID errors
    0x90, 0x91, 0x9F,         # DCS errors
    0xA0, 0xA1, 0xAF,         # command errors
    0xB0,                     # TPDU not supported
    0xC1,                     # no SC subscription
    0xC3,                     # invalid SME address
    0xC4,                     # destination SME barred
    0xC5,                     # SM rejected - duplicate SM
    0xC6, 0xC7,               # TP-VPF / TP-VP not supported
    # TS 27.005 3.2.5: our PDU is malformed; resending it elsewhere changes nothing
    303,  # operation not supported
    304,  # invalid PDU mode parameter
    305,  # invalid text mode parameter
})

DESCRIPTIONS: dict[int, str] = {
    1: "unassigned number", 8: "operator determined barring", 10: "call barred",
    21: "transfer rejected", 27: "destination out of service", 38: "network out of order",
    41: "temporary failure", 42: "congestion", 47: "resources unavailable",
    0xC0: "SC busy", 0xC2: "SC system failure", 0xC3: "invalid SME address",
    300: "ME failure", 302: "operation not allowed", 304: "invalid PDU mode parameter",
    310: "SIM not inserted", 311: "SIM PIN required", 313: "SIM failure", 314: "SIM busy",
    316: "SIM PUK required", 322: "memory full", 330: "SMSC address unknown",
    331: "no network service", 332: "network timeout", 500: "unknown error",
}


def is_permanent(cms: int | None) -> bool:
    """Unknown and vendor codes count as temporary: a wrong retry costs less than a lost SMS."""
    return cms in PERMANENT_CMS


def describe(cms: int | None) -> str:
    if cms is None:
        return "ERROR"
    return f"+CMS ERROR: {cms} ({DESCRIPTIONS.get(cms, 'unspecified')})"
