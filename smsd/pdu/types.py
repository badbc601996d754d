"""Result types shared by both codec backends (pure Python and C via cffi).

Both backends must return exactly these objects, equal field by field, so that the differential
test can compare them with ==.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

KIND_DELIVER = "deliver"
KIND_SUBMIT = "submit"
KIND_STATUS_REPORT = "status_report"

ENC_GSM7 = "gsm7"
ENC_UCS2 = "ucs2"
ENC_8BIT = "8bit"


@dataclass(frozen=True)
class InfoElement:
    """One UDH information element (TS 23.040 9.2.3.24)."""

    iei: int
    data: bytes


@dataclass(frozen=True)
class Decoded:
    """A decoded SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT."""

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
    udh: list[InfoElement] = field(default_factory=list)
    encoding: str = ENC_GSM7               # gsm7 | ucs2 | 8bit
    data: bytes = b""                      # user data without UDH (8-bit payloads; raw for others)
    number_toa: int = 0x91                 # type-of-address octet of `number`
    discharge: dt.datetime | None = None   # TP-DT (status report)
    message_class: int | None = None       # 0..3 or None
    validity: object | None = None         # submit: timedelta (relative/enhanced) or datetime
    status_report_requested: bool = False  # TP-SRR / TP-SRI
    ports: tuple[int, int] | None = None   # application port addressing (dst, src)


@dataclass(frozen=True)
class SubmitPart:
    """One encoded SMS-SUBMIT part, ready for AT+CMGS."""

    hex: str          # full PDU in upper-case hex, SMSC field included ("00" = modem default)
    tpdu_len: int     # octets after the SMSC field: the AT+CMGS=<length> argument
    seq: int = 1
    total: int = 1
    text: str = ""    # the slice of the text this part carries
