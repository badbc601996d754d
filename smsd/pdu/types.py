"""Result types shared by both codec backends (pure Python and C via cffi).

Both backends must return exactly these objects, equal field by field, so that the differential
test can compare them with ==.

WHY named tuples rather than frozen dataclasses: a frozen dataclass pays object.__setattr__ per
field, about 1.5 us for the 19 fields of Decoded, which was half the cost of a C decode. A
NamedTuple is just as immutable (attribute assignment raises AttributeError), compares field by
field, has a useful repr and `_replace`, and the backends can build it in one step with
tuple.__new__(cls, values). Fields are read by name everywhere; never rely on tuple order
outside the two backends.
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

KIND_DELIVER = "deliver"
KIND_SUBMIT = "submit"
KIND_STATUS_REPORT = "status_report"

ENC_GSM7 = "gsm7"
ENC_UCS2 = "ucs2"
ENC_8BIT = "8bit"


class InfoElement(NamedTuple):
    """One UDH information element (TS 23.040 9.2.3.24)."""

    iei: int
    data: bytes


class Decoded(NamedTuple):
    """A decoded SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT.

    The field order is the backends' construction order (tuple.__new__); keep them in step.
    `udh` is a list, so a Decoded is not hashable (as the dataclass before it was not).
    """

    kind: str                              # deliver | submit | status_report
    smsc: str | None                       # "+4479..." or None when absent/empty
    number: str                            # OA, DA or RA; international with leading "+"
    text: str                              # decoded user text ("" for 8-bit data)
    dcs: int
    pid: int
    scts: dt.datetime | None               # aware datetime where present
    concat: tuple[int, int, int] | None    # (ref, total, seq)
    mr: int | None                         # TP-MR (submit, status report)
    status: int | None                     # TP-ST (status report)
    udh: list[InfoElement] = []            # never mutated: backends always pass a fresh list
    encoding: str = ENC_GSM7               # gsm7 | ucs2 | 8bit
    data: bytes = b""                      # user data without UDH (8-bit payloads; raw for others)
    number_toa: int = 0x91                 # type-of-address octet of `number`
    discharge: dt.datetime | None = None   # TP-DT (status report)
    message_class: int | None = None       # 0..3 or None
    validity: object | None = None         # submit: timedelta (relative/enhanced) or datetime
    status_report_requested: bool = False  # TP-SRR / TP-SRI
    ports: tuple[int, int] | None = None   # application port addressing (dst, src)


class SubmitPart(NamedTuple):
    """One encoded SMS-SUBMIT part, ready for AT+CMGS."""

    hex: str          # full PDU in upper-case hex, SMSC field included ("00" = modem default)
    tpdu_len: int     # octets after the SMSC field: the AT+CMGS=<length> argument
    seq: int = 1
    total: int = 1
    text: str = ""    # the slice of the text this part carries
