"""Pure parsers for information responses, as EC25, SIM7600 and SIM800 modules print them.

Each takes the information lines of a `Response` (or the args of a `Urc`) and returns plain
values; none raises on odd input: a reply it does not understand yields the documented default,
because one malformed line must not take a port down.
"""
from __future__ import annotations

from dataclasses import dataclass

from .fields import split_fields, split_prefix, to_int, unquote

# --- registration states (names match smsd.model.REG_*; at/ imports nothing from smsd) ------------
REG_NO_SIM = "NO_SIM"
REG_PIN_REQUIRE = "PIN_REQUIRE"
REG_PUK_REQUIRE = "PUK_REQUIRE"
REG_UNREGISTER = "UNREGISTER"
REG_SEARCHING = "SEARCHING_NETWORK"
REG_OK = "REGISTER_OK"
REG_UNKNOWN = "UNKNOWN"

# TS 27.007 7.2 <stat>: 1 home and 5 roaming are registered (6/7 "SMS only" variants too).
_CREG_STAT = {0: REG_UNREGISTER, 1: REG_OK, 2: REG_SEARCHING, 3: REG_UNREGISTER, 4: REG_UNKNOWN,
              5: REG_OK, 6: REG_OK, 7: REG_OK}

# TS 27.007 7.3 <AcT> -> the coarse network type the APIs report.
_ACT_TYPE = {0: "GSM", 1: "GSM", 3: "GSM", 2: "WCDMA", 4: "WCDMA", 5: "WCDMA", 6: "WCDMA",
             7: "LTE", 8: "GSM", 9: "LTE", 10: "LTE", 11: "LTE", 12: "LTE", 13: "LTE"}


def first_with(lines: tuple[str, ...] | list[str], prefix: str) -> tuple[str, ...] | None:
    """Fields of the first line carrying `prefix` (e.g. "+CSQ"), or None."""
    for line in lines:
        name, rest = split_prefix(line)
        if name == prefix:
            return split_fields(rest)
    return None


def bare_value(lines: tuple[str, ...] | list[str], prefix: str = "") -> str:
    """The first bare line (AT+CGSN, AT+CIMI) or the value after `prefix` (`+CGSN: 86...`)."""
    for line in lines:
        name, rest = split_prefix(line)
        if not name or (prefix and name == prefix):
            return unquote(rest.strip())
    return ""


# --- signal, registration, operator, network type ---------------------------------------------------
def parse_csq(lines: tuple[str, ...]) -> int:
    """`+CSQ: <rssi>,<ber>` -> rssi 0..31; 99 (not known) and junk -> 0."""
    fields = first_with(lines, "+CSQ")
    rssi = to_int(fields[0], 99) if fields else 99
    return rssi if rssi is not None and 0 <= rssi <= 31 else 0


@dataclass(frozen=True)
class Registration:
    stat: int
    reg: str
    lac: str = ""
    ci: str = ""
    act: int | None = None


def parse_creg_fields(fields: tuple[str, ...], *, is_answer: bool) -> Registration | None:
    """Fields of +CREG/+CGREG/+CEREG. The answer to the query starts with <n>, the URC does not."""
    body = fields[1:] if is_answer else fields
    stat = to_int(body[0]) if body else None
    if stat is None:
        return None
    lac = unquote(body[1]) if len(body) > 1 else ""
    ci = unquote(body[2]) if len(body) > 2 else ""
    act = to_int(body[3]) if len(body) > 3 else None
    return Registration(stat, _CREG_STAT.get(stat, REG_UNKNOWN), lac, ci, act)


def parse_creg(lines: tuple[str, ...], prefix: str = "+CREG") -> Registration | None:
    fields = first_with(lines, prefix)
    return parse_creg_fields(fields, is_answer=True) if fields else None


def parse_cpin(lines: tuple[str, ...]) -> str:
    """`+CPIN: READY` -> "" (no blocking state); otherwise the registration state to report."""
    fields = first_with(lines, "+CPIN")
    code = unquote(fields[0]).upper() if fields else ""
    if code == "READY":
        return ""
    if code.startswith("SIM PIN"):
        return REG_PIN_REQUIRE
    if code.startswith("SIM PUK"):
        return REG_PUK_REQUIRE
    return REG_NO_SIM if code in ("", "NOT INSERTED", "NOT READY") else REG_UNKNOWN


@dataclass(frozen=True)
class Operator:
    name: str = ""
    act: int | None = None

    @property
    def type(self) -> str:
        return _ACT_TYPE.get(self.act, "UNKNOWN") if self.act is not None else "UNKNOWN"


def parse_cops(lines: tuple[str, ...]) -> Operator:
    """`+COPS: <mode>[,<format>,"<oper>"[,<AcT>]]`."""
    fields = first_with(lines, "+COPS") or ()
    name = unquote(fields[2]) if len(fields) > 2 else ""
    act = to_int(fields[3]) if len(fields) > 3 else None
    return Operator(name, act)


def parse_qnwinfo(lines: tuple[str, ...]) -> str:
    """Quectel `+QNWINFO: "FDD LTE","23410","LTE BAND 3",1300` -> LTE (also "No Service")."""
    fields = first_with(lines, "+QNWINFO")
    act = unquote(fields[0]).upper() if fields else ""
    return _type_from_words(act)


def parse_cpsi(lines: tuple[str, ...]) -> str:
    """SIMCom `+CPSI: LTE,Online,...` / `+CPSI: GSM,Online,...` / `+CPSI: NO SERVICE,Online`."""
    fields = first_with(lines, "+CPSI")
    return _type_from_words(unquote(fields[0]).upper() if fields else "")


def _type_from_words(act: str) -> str:
    if "LTE" in act or "CAT-M" in act or "NB" in act:
        return "LTE"
    if any(word in act for word in ("WCDMA", "HSPA", "HSDPA", "HSUPA", "UMTS", "TDSCDMA")):
        return "WCDMA"
    if any(word in act for word in ("GSM", "GPRS", "EDGE")):
        return "GSM"
    if "CDMA" in act or "EVDO" in act:
        return "CDMA"
    return "UNKNOWN"


def parse_cgatt(lines: tuple[str, ...]) -> str:
    fields = first_with(lines, "+CGATT")
    return "attached" if fields and to_int(fields[0]) == 1 else "detached"


# --- identity -----------------------------------------------------------------------------------------
def parse_cnum(lines: tuple[str, ...]) -> str:
    """`+CNUM: "Line 1","+447900123456",145` -> "+447900123456"; no line or empty -> ""."""
    fields = first_with(lines, "+CNUM")
    if not fields or len(fields) < 2:
        return ""
    number = unquote(fields[1])
    toa = to_int(fields[2]) if len(fields) > 2 else None
    if number and toa == 145 and not number.startswith("+"):
        number = "+" + number
    return number


def parse_csca(lines: tuple[str, ...]) -> str:
    """`+CSCA: "+447802000332",145`; SIMCom in UCS2 charset prints hex: decoded when so."""
    fields = first_with(lines, "+CSCA")
    if not fields:
        return ""
    number = unquote(fields[0])
    if len(number) >= 8 and len(number) % 4 == 0 and number.startswith("00"):
        number = _ucs2_hex_or_raw(number)
    toa = to_int(fields[1]) if len(fields) > 1 else None
    if number and toa == 145 and not number.startswith("+"):
        number = "+" + number
    return number


def _ucs2_hex_or_raw(text: str) -> str:
    try:
        return bytes.fromhex(text).decode("utf-16-be")
    except (ValueError, UnicodeDecodeError):
        return text


def parse_iccid(lines: tuple[str, ...]) -> str:
    """ICCID in its vendor variants: `+QCCID: 8944...`, `+ICCID: 8944...`, `+CCID: "8944..."`,
    `^ICCID: ...`, or a bare line. Trailing filler `F` is dropped (19-digit ICCIDs)."""
    for line in lines:
        name, rest = split_prefix(line)
        value = unquote(rest.strip()) if name else line.strip()
        value = value.upper().rstrip("F")
        if value.isdigit() and 18 <= len(value) <= 22:
            return value
    return ""


def parse_imsi(lines: tuple[str, ...]) -> str:
    value = bare_value(lines, "+CIMI")
    return value if value.isdigit() else ""


def parse_imei(lines: tuple[str, ...]) -> str:
    value = bare_value(lines, "+CGSN")
    return value if value.isdigit() else ""


@dataclass(frozen=True)
class Identity:
    manufacturer: str = ""
    model: str = ""
    revision: str = ""


def parse_ati(lines: tuple[str, ...]) -> Identity:
    """ATI as Quectel prints it (`Quectel` / `EC25` / `Revision: ...`) or SIMCom does
    (`Manufacturer: ...` / `Model: ...` / `Revision: ...`); SIM800 prints one line `SIM800 R14.18`."""
    labelled = {k.strip().lower(): v.strip() for k, _, v in
                (line.partition(":") for line in lines if ":" in line)}
    bare = [line.strip() for line in lines if ":" not in line and line.strip()]
    manufacturer = labelled.get("manufacturer") or (bare[0] if bare else "")
    model = labelled.get("model") or (bare[1] if len(bare) > 1 else "")
    if not model and manufacturer and " " in manufacturer:
        model = manufacturer.split()[0]
    return Identity(manufacturer, model, labelled.get("revision", ""))


# --- SMS storage -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredPdu:
    index: int
    stat: int
    pdu: str


def parse_cmgr(lines: tuple[str, ...], index: int) -> StoredPdu | None:
    """PDU mode `+CMGR: <stat>,[<alpha>],<length>` then the PDU line; None for an empty slot."""
    fields = first_with(lines, "+CMGR")
    if fields is None:
        return None
    pdu = _line_after(lines, "+CMGR")
    stat = to_int(fields[0], 0) if fields else 0
    return StoredPdu(index, stat or 0, pdu) if pdu else None


def _line_after(lines: tuple[str, ...], prefix: str) -> str:
    for i, line in enumerate(lines[:-1]):
        if line.startswith(prefix + ":"):
            return lines[i + 1].strip()
    return ""


def parse_cmgl(lines: tuple[str, ...]) -> list[StoredPdu]:
    """PDU mode `+CMGL: <index>,<stat>,[<alpha>],<length>` each followed by its PDU line."""
    found: list[StoredPdu] = []
    for i, line in enumerate(lines):
        name, rest = split_prefix(line)
        if name != "+CMGL" or i + 1 >= len(lines):
            continue
        fields = split_fields(rest)
        index = to_int(fields[0]) if fields else None
        if index is not None and not split_prefix(lines[i + 1])[0]:
            found.append(StoredPdu(index, to_int(fields[1], 0) or 0 if len(fields) > 1 else 0,
                                   lines[i + 1].strip()))
    return found


@dataclass(frozen=True)
class Storage:
    mem: str
    used: int
    total: int


def parse_cpms(lines: tuple[str, ...]) -> list[Storage]:
    """Query form `+CPMS: "SM",3,50,"SM",3,50,"SM",3,50` or set form `+CPMS: 3,50,3,50,3,50`."""
    fields = first_with(lines, "+CPMS") or ()
    if fields and fields[0].startswith('"'):
        groups = [fields[i:i + 3] for i in range(0, len(fields) - 2, 3)]
        return [Storage(unquote(g[0]), to_int(g[1], 0) or 0, to_int(g[2], 0) or 0) for g in groups]
    pairs = [fields[i:i + 2] for i in range(0, len(fields) - 1, 2)]
    return [Storage("", to_int(p[0], 0) or 0, to_int(p[1], 0) or 0) for p in pairs]


def parse_cmgs(lines: tuple[str, ...]) -> int | None:
    fields = first_with(lines, "+CMGS")
    return to_int(fields[0]) if fields else None


def parse_new_message(args: tuple[str, ...]) -> tuple[str, int] | None:
    """+CMTI / +CDSI args `"SM",3` -> ("SM", 3)."""
    if len(args) < 2:
        return None
    index = to_int(args[1])
    return (unquote(args[0]), index) if index is not None else None


# --- USSD --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cusd:
    status: int
    text: str = ""
    dcs: int | None = None


def parse_cusd(args: tuple[str, ...]) -> Cusd:
    """`+CUSD: <m>[,"<str>",<dcs>]` (TS 27.007 7.15); the string is returned as printed."""
    status = to_int(args[0], 2) if args else 2
    text = unquote(args[1]) if len(args) > 1 else ""
    dcs = to_int(args[2]) if len(args) > 2 else None
    return Cusd(status if status is not None else 2, text, dcs)


def parse_slot(lines: tuple[str, ...], prefix: str) -> int | None:
    """`+QDSIM: 1` / `+SMSIMSLOT: 2` -> the active slot."""
    fields = first_with(lines, prefix)
    return to_int(fields[0]) if fields else None
