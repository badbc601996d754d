"""Issue 11, items 1-4: what real-world captures and a new user found, on both codec backends.

1. national language single/locking shift IEs (0x24/0x25) decode with every table of
   TS 23.038 annex A.2/A.3 and encode when allowed, with part sizes that pay for the IEs;
2. UDH elements that are not concatenation never shift or swallow the text and are reported;
3. alphanumeric originators take floor(length * 4 / 7) septets, never a padding character;
4. malformed PDUs are refused with CodecError by both backends alike (property tests compare
   their verdicts on random and mutated PDUs).
"""
from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdu_backends import BACKENDS, codec  # noqa: F401
from smsd.errors import CodecError, EncodingError
from smsd.pdu import gsm7, tables

OA = bytes.fromhex("0B915121551532F4")          # +15121551234
SCTS = bytes.fromhex("11101171955140")
TURKISH = "\u011e\u011f\u0130\u0131\u015e\u015f\u00e7"      # Ğ ğ İ ı Ş ş ç


def deliver(udh: bytes, septets: bytes, *, oa: bytes = OA, smsc: bytes = b"\x00") -> str:
    """A GSM-7 SMS-DELIVER whose UDH (IEs without UDHL) is followed by the septets at the
    right fill-bit offset (TS 23.040 9.2.3.24): built here, independently of the codec."""
    header = bytes([len(udh)]) + udh if udh else b""
    skip = (len(header) * 8 + 6) // 7
    body = header + gsm7.pack(septets, skip * 7 - len(header) * 8)
    first = 0x44 if udh else 0x04
    tpdu = bytes([first]) + oa + bytes([0x00, 0x00]) + SCTS + bytes([skip + len(septets)]) + body
    return (smsc + tpdu).hex().upper()


def national_ies(lock: int, shift: int) -> bytes:
    return (bytes([0x25, 1, lock]) if lock else b"") + (bytes([0x24, 1, shift]) if shift else b"")


def verdict(mod: ModuleType, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", mod.decode(*args)
    except CodecError as exc:
        return "error", type(exc)


# --- 1. national language tables: decoding ---------------------------------------------------
def _pieces(septets: bytes, size: int = 140) -> list[bytes]:
    out, i = [], 0
    while i < len(septets):
        j = min(i + size, len(septets))
        if septets[j - 1] == gsm7.ESC:
            j -= 1                                  # keep ESC with its code
        out.append(septets[i:j])
        i = j
    return out


PAIRS = [(lk, sh) for lk in [0, *sorted(tables.LOCKING_SHIFT)]
         for sh in [0, *sorted(tables.SINGLE_SHIFT)]]


@pytest.mark.parametrize("lock, shift", PAIRS, ids=lambda v: str(v))
def test_every_code_of_every_table_pair_decodes(codec: ModuleType, lock: int, shift: int) -> None:
    """Every defined code of the locking table, and ESC + every code of the single shift table,
    read back as the annex's character when the UDH names the tables."""
    main = tables.LOCKING_SHIFT.get(lock, tables.GSM7_DEFAULT)
    ext = tables.SINGLE_SHIFT.get(shift, tables.GSM7_EXTENSION)
    septets = bytes(c for c in range(128) if c in main)
    want = "".join(main[c] for c in septets)
    for c in sorted(ext):
        septets += bytes([gsm7.ESC, c])
        want += ext[c]
    got = "".join(codec.decode(deliver(national_ies(lock, shift), piece)).text
                  for piece in _pieces(septets))
    assert got == want


# Values read from the annex tables of TS 23.038 (A.3 locking, A.2 single shift), independently
# of smsd/pdu/tables.py: (IEI, language id, code, character).
ANNEX = [
    (0x25, 1, 0x04, "\u20ac"), (0x25, 1, 0x07, "\u0131"), (0x25, 1, 0x0B, "\u011e"),
    (0x25, 1, 0x0C, "\u011f"), (0x25, 1, 0x1C, "\u015e"), (0x25, 1, 0x1D, "\u015f"),
    (0x25, 1, 0x40, "\u0130"), (0x25, 1, 0x60, "\u00e7"),
    (0x24, 1, 0x47, "\u011e"), (0x24, 1, 0x49, "\u0130"), (0x24, 1, 0x53, "\u015e"),
    (0x24, 1, 0x63, "\u00e7"), (0x24, 1, 0x67, "\u011f"), (0x24, 1, 0x69, "\u0131"),
    (0x24, 1, 0x73, "\u015f"), (0x24, 1, 0x65, "\u20ac"),
    (0x24, 2, 0x09, "\u00e7"), (0x24, 2, 0x41, "\u00c1"), (0x24, 2, 0x49, "\u00cd"),
    (0x24, 2, 0x4F, "\u00d3"), (0x24, 2, 0x55, "\u00da"), (0x24, 2, 0x61, "\u00e1"),
    (0x24, 2, 0x69, "\u00ed"), (0x24, 2, 0x6F, "\u00f3"), (0x24, 2, 0x75, "\u00fa"),
    (0x25, 3, 0x04, "\u00ea"), (0x25, 3, 0x12, "\u00aa"), (0x25, 3, 0x15, "\u221e"),
    (0x25, 3, 0x16, "^"), (0x25, 3, 0x17, "\\"), (0x25, 3, 0x18, "\u20ac"),
    (0x25, 3, 0x1A, "|"), (0x25, 3, 0x24, "\u00ba"), (0x25, 3, 0x60, "~"), (0x25, 3, 0x7D, "`"),
    (0x24, 3, 0x05, "\u00ea"), (0x24, 3, 0x0B, "\u00d4"), (0x24, 3, 0x12, "\u03a6"),
    (0x24, 3, 0x41, "\u00c0"), (0x24, 3, 0x5B, "\u00c3"), (0x24, 3, 0x61, "\u00c2"),
    (0x24, 3, 0x7F, "\u00e2"),
    # the Indic locking tables put KA at 0x15 and swap the parentheses (0x28 ")", 0x29 "(")
    (0x25, 4, 0x00, "\u0981"), (0x25, 4, 0x15, "\u0995"), (0x25, 4, 0x28, ")"),
    (0x25, 4, 0x29, "("), (0x25, 5, 0x15, "\u0a95"), (0x25, 6, 0x15, "\u0915"),
    (0x25, 6, 0x60, "\u0950"), (0x25, 7, 0x15, "\u0c95"), (0x25, 8, 0x15, "\u0d15"),
    (0x25, 9, 0x15, "\u0b15"), (0x25, 10, 0x15, "\u0a15"), (0x25, 11, 0x15, "\u0b95"),
    (0x25, 12, 0x15, "\u0c15"), (0x25, 13, 0x00, "\u0627"),
    (0x24, 4, 0x19, "\u09e6"), (0x24, 6, 0x19, "\u0964"), (0x24, 6, 0x1A, "\u0965"),
    (0x24, 6, 0x1C, "\u0966"), (0x24, 11, 0x1C, "\u0be6"), (0x24, 12, 0x1C, "\u0c66"),
    (0x24, 13, 0x3F, "\u06d4"), (0x24, 13, 0x1C, "\u06f0"),
]


@pytest.mark.parametrize("iei, lang, code, char", ANNEX)
def test_annex_values(codec: ModuleType, iei: int, lang: int, code: int, char: str) -> None:
    septets = bytes([code]) if iei == 0x25 else bytes([gsm7.ESC, code])
    msg = codec.decode(deliver(bytes([iei, 1, lang]), b" " + septets + b" "))
    assert msg.text == " " + char + " "        # space: 0x20 in every table


def test_unknown_language_and_void_spanish_locking_read_the_default(codec: ModuleType) -> None:
    # A.3.2 is void (no Spanish locking table) and id 14+ is reserved: the default tables
    for ies in (bytes([0x25, 1, 2]), bytes([0x25, 1, 14]), bytes([0x24, 1, 99])):
        msg = codec.decode(deliver(ies, gsm7.require_septets("Hola {x}")))
        assert msg.text == "Hola {x}" and msg.udh[0].iei == ies[0]


# --- 1. national language tables: encoding -----------------------------------------------------
def _national(msg: Any) -> dict[int, bytes]:
    return {e.iei: e.data for e in msg.udh if e.iei in (0x24, 0x25)}


def test_turkish_text_goes_out_as_gsm7_only_when_allowed(codec: ModuleType) -> None:
    text = "\u00c7\u0131\u011f d\u00fc\u015ft\u00fc, \u015fof\u00f6r \u0130zmir'e gitti"
    assert codec.choose_encoding(text) == "ucs2"
    assert codec.choose_encoding(text, languages=(1,)) == "gsm7"
    plain = codec.decode(codec.encode_submit("+905321234567", text)[0].hex)
    assert (plain.encoding, plain.text, _national(plain)) == ("ucs2", text, {})
    parts = codec.encode_submit("+905321234567", text, languages=(1,))
    msg = codec.decode(parts[0].hex)
    assert (len(parts), msg.encoding, msg.text) == (1, "gsm7", text)
    assert set(_national(msg).values()) == {b"\x01"}
    # another allowed language that cannot carry the text changes nothing
    assert codec.choose_encoding(text, languages=(3, 6)) == "ucs2"


@pytest.mark.parametrize("concat16, one_part, per_part", [(False, 155, 149), (True, 155, 148)])
def test_part_sizes_pay_for_the_national_ie(codec: ModuleType, concat16: bool, one_part: int,
                                            per_part: int) -> None:
    """One locking shift IE costs 3 octets: 155 septets alone (UDH 4 octets), 149 a part with
    the 8-bit concatenation IE (UDH 1 + 5 + 3 octets), 148 with the 16-bit one."""
    text = "\u0131" * one_part                   # dotless i: one septet in the Turkish locking table
    parts = codec.encode_submit("+90", text, languages=(1,), concat16=concat16)
    assert len(parts) == 1 and codec.decode(parts[0].hex).text == text
    assert codec.count_parts(text, languages=(1,)) == 1
    longer = text + "\u0131" * 200
    parts = codec.encode_submit("+90", longer, languages=(1,), concat16=concat16, concat_ref=9)
    msgs = [codec.decode(p.hex) for p in parts]
    assert [len(m.text) for m in msgs] == [per_part, per_part, len(longer) - 2 * per_part]
    assert "".join(m.text for m in msgs) == longer
    for seq, m in enumerate(msgs, 1):
        assert _national(m) == {0x25: b"\x01"} and m.concat == (9, 3, seq)
        assert (m.udh[0].iei == 0x08) is concat16
    assert codec.count_parts(longer, languages=(1,)) == 3 or concat16


def test_national_ties_beat_ucs2_not_default_gsm7(codec: ModuleType) -> None:
    assert codec.choose_encoding("Hello {world}", languages=tuple(range(1, 14))) == "gsm7"
    msg = codec.decode(codec.encode_submit("+1", "Hello {world}",
                                           languages=tuple(range(1, 14)))[0].hex)
    assert _national(msg) == {}                 # the default tables carry it: no IE at all


@pytest.mark.parametrize("bad", [(0,), (14,), (-1,), ("1",), (1.0,), (True,), "1", 1, None])
def test_bad_language_ids_are_codec_errors(codec: ModuleType, bad: Any) -> None:
    with pytest.raises(CodecError):
        codec.encode_submit("+1", "x", languages=bad)
    with pytest.raises(CodecError):
        codec.count_parts("x", languages=bad)


def test_forced_gsm7_without_an_allowed_table_is_an_encoding_error(codec: ModuleType) -> None:
    with pytest.raises(EncodingError):
        codec.encode_submit("+90", "\u015fey", encoding="gsm7", languages=(2,))


# --- 2. UDH elements that are not concatenation -----------------------------------------------
IES = {
    "text formatting": bytes([0x0A, 3, 0x00, 0x05, 0x01]),
    "text formatting+colour": bytes([0x0A, 4, 0x00, 0x05, 0x01, 0x23]),
    "predefined sound": bytes([0x0B, 2, 0x03, 0x01]),
    "predefined animation": bytes([0x0D, 2, 0x0A, 0x04]),
    "ports 8-bit": bytes([0x04, 2, 0xE0, 0xE1]),
    "ports 16-bit": bytes([0x05, 4, 0x0B, 0x84, 0x23, 0xF0]),
    "unknown empty": bytes([0x70, 0]),
    "unknown": bytes([0x7F, 5, 1, 2, 3, 4, 5]),
    "concat 8-bit": bytes([0x00, 3, 0x42, 2, 1]),
    "concat 16-bit": bytes([0x08, 4, 0x01, 0x02, 2, 2]),
    "single shift": bytes([0x24, 1, 1]),
    "locking shift": bytes([0x25, 1, 1]),
}
COMBOS = [c for r in (1, 2, 3) for c in itertools.combinations(IES, r)]


@pytest.mark.parametrize("names", COMBOS, ids=lambda c: "+".join(c))
def test_udh_elements_keep_the_text_exact(codec: ModuleType, names: tuple[str, ...]) -> None:
    text = "Hello world, EMS @ 100% {ok}"       # "@" is septet 0: a fill-bit slip would show
    udh = b"".join(IES[n] for n in names)
    msg = codec.decode(deliver(udh, gsm7.require_septets(text)))
    assert msg.text == text
    assert [(e.iei, e.data) for e in msg.udh] == [(IES[n][0], IES[n][2:]) for n in names]
    if "ports 16-bit" in names:
        assert msg.ports == (0x0B84, 0x23F0)
    elif "ports 8-bit" in names:
        assert msg.ports == (0xE0, 0xE1)
    if "concat 16-bit" in names:
        assert msg.concat == (0x0102, 2, 2)
    elif "concat 8-bit" in names:
        assert msg.concat == (0x42, 2, 1)


@pytest.mark.parametrize("udh_len", range(1, 20))
def test_fill_bits_for_every_udh_length(codec: ModuleType, udh_len: int) -> None:
    """UDH of 1..19 octets (IE 0x70 of growing length): every fill-bit count 0..6 occurs."""
    udh = bytes([0x70, udh_len - 3]) + bytes(range(udh_len - 3)) if udh_len >= 3 else b""
    udh = udh or bytes([0x70, 0])
    text = "@" * 3 + "abc@"
    msg = codec.decode(deliver(udh, gsm7.require_septets(text)))
    assert msg.text == text and msg.udh[0].iei == 0x70


def test_udh_elements_with_ucs2_and_8bit(codec: ModuleType) -> None:
    udh = IES["text formatting"] + IES["predefined sound"]
    body = "\u041f\u0440\u0438\u0432\u0435\u0442".encode("utf-16-be")
    for dcs, payload, check in ((0x08, body, "text"), (0x04, b"\x00\x01\xff", "data")):
        ud = bytes([len(udh)]) + udh + payload
        pdu = "00" + (bytes([0x44]) + OA + bytes([0, dcs]) + SCTS + bytes([len(ud)]) + ud).hex()
        msg = codec.decode(pdu)
        assert [e.iei for e in msg.udh] == [0x0A, 0x0B]
        if check == "text":
            assert msg.text == "\u041f\u0440\u0438\u0432\u0435\u0442"
        else:
            assert msg.data == payload and msg.text == ""


# --- 3. alphanumeric originators ------------------------------------------------------------------
def _alnum_deliver(name: str, length: int | None = None, toa: int = 0xD0,
                   pad_cr: bool = False) -> str:
    septets = gsm7.require_septets(name)
    if pad_cr:
        septets += b"\r"
    body = gsm7.pack(septets)
    semi = (len(gsm7.require_septets(name)) * 7 + 3) // 4 if length is None else length
    return deliver(b"", gsm7.require_septets("Your code is 1234"),
                   oa=bytes([semi, toa]) + body, smsc=bytes.fromhex("07914497013000F0"))


NAMES = ["A", "O2", "SFR", "Amazon", "Telekom", "Google1", "abcdefg", "BANK 24", "Vodafone",
         "MTN Info", "InfoSMS1234", "PayPal", "T-Mobile", "{Euro}"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("toa", [0xD0, 0x50])
def test_alphanumeric_sender_lengths(codec: ModuleType, name: str, toa: int) -> None:
    """The length as the spec counts it (used semi-octets), as twice the octets (a common
    encoder habit) and rounded up: always the name, never a phantom trailing "@"."""
    octets = len(gsm7.pack(gsm7.require_septets(name)))
    for length in {None, 2 * octets, -(-len(gsm7.require_septets(name)) * 7 // 4)}:
        msg = codec.decode(_alnum_deliver(name, length, toa))
        assert (msg.number, msg.number_toa, msg.text) == (name, toa, "Your code is 1234")


def test_alphanumeric_sender_cr_padding_is_not_a_character(codec: ModuleType) -> None:
    # seven characters in 7 octets, length 14, the 7 spare bits filled with CR as USSD does
    msg = codec.decode(_alnum_deliver("Telekom", 14, pad_cr=True))
    assert msg.number == "Telekom"


@pytest.mark.parametrize("pdu, sender", [
    # "Telekom": 7 septets in 7 octets, length 0x0E (twice the octets): 8 septets, the last
    # one the zero fill bits
    ("07914497013000F0040ED0D432BBBC7EB7010000521012616582400" + "5C8329BFD06", "Telekom"),
    # the same name with the spec's length 0x0D
    ("07914497013000F0040DD0D432BBBC7EB7010000521012616582400" + "5C8329BFD06", "Telekom"),
    # "Vodafone": 8 septets exactly fill 7 octets, length 0x0E: the "e" is real
    ("07914497013000F0040ED0D637396C7EBBCB0000521012616582400" + "5C8329BFD06", "Vodafone"),
    # "InfoService": 11 septets in 10 octets, length 0x14, TOA 0x50 (bit 8 left clear)
    ("07914497013000F0041450" + "49B7F93D2DCBEDE97119" + "0000521012616582400" + "5C8329BFD06",
     "InfoService"),
])
def test_alphanumeric_real_world_captures(codec: ModuleType, pdu: str, sender: str) -> None:
    msg = codec.decode(pdu)
    assert (msg.number, msg.text) == (sender, "Hello")


def test_alphanumeric_length_counts_septets_from_semi_octets(codec: ModuleType) -> None:
    # length 5 semi-octets = 20 bits: floor(20 / 7) = 2 septets, though 3 octets are read
    msg = codec.decode(_alnum_deliver("SFR", 5))
    assert msg.number == "SF" and msg.text == "Your code is 1234"


# --- 4. malformed PDUs -----------------------------------------------------------------------------
GOOD = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
MALFORMED = {
    "UDL beyond the octets (GSM-7)": "00040B915121551532F4000011101171955140FF" + "C8329BFD06",
    "UDL beyond the octets (UCS2)": "00040B915121551532F4000811101171955140" + "0A00480065006C",
    "UDL beyond the octets (8-bit)": "00040B915121551532F4000411101171955140" + "0A010203",
    "UDL one septet beyond": GOOD[:-2],
    "UDH length beyond the UD": "00440B915121551532F4000411101171955140" + "04" + "0A000301",
    "UDH length beyond the UDL": "00440B915121551532F400001110117195514002" + "0500000000",
    "UDHI with UDL 0": "00440B915121551532F400001110117195514000",
    "IE beyond the UDH": "00440B915121551532F40004111011719551400606" + "0004010203FF",
    "address beyond the PDU": "00" + "04" + "FF91" + "1346",
    "alphanumeric address beyond": "00040ED0D432BB2C7E",
    "SMSC beyond the PDU": "FF" + GOOD[2:],
    "timestamp truncated": "00040B915121551532F40000111011719551",
    "no TP-UDL": "00040B915121551532F4000011101171955140",
    "no DCS": "00040B915121551532F400",
    "submit VP truncated": "0019000B915121551532F40000AA1101",
    "status report TP-DT truncated": "00062A0B915121551532F41110117195514011101171",
    "status report without TP-ST": "00062A0B915121551532F4111011719551401110117195514000"[:-2],
    "reserved TP-MTI": "0003",
}


@pytest.mark.parametrize("pdu", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_pdus_are_codec_errors_alike(pdu: str) -> None:
    verdicts = {mod.__name__: verdict(mod, pdu) for mod in BACKENDS}
    assert set(verdicts.values()) == {("error", CodecError)}, verdicts


@pytest.mark.parametrize("optional", ["04FF41", "4400", "0440050003", "0708"])
def test_status_report_keeps_its_status_past_a_broken_optional_part(optional: str) -> None:
    """TP-PI's optional user data that does not hold together counts as absent (as its
    missing fields do): the delivery status must not be lost to it."""
    pdu = "00062A0B915121551532F4" + "11101171955140" * 2 + "00" + optional
    verdicts = [verdict(mod, pdu) for mod in BACKENDS]
    assert all(v == verdicts[0] for v in verdicts)
    kind, msg = verdicts[0]
    assert kind == "ok" and (msg.kind, msg.mr, msg.status, msg.text) == ("status_report", 42, 0, "")


_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
_UDH_ELEMENT = st.sampled_from(list(IES.values()))


@st.composite
def _deliver_pdus(draw: st.DrawFn) -> bytes:
    """Valid DELIVERs with UDH elements, then mutated: a length field bent, octets changed,
    the end cut."""
    udh = b"".join(draw(st.lists(_UDH_ELEMENT, max_size=4)))
    text = draw(st.text(alphabet="".join(tables.GSM7_DEFAULT.values()) + "{}[]~\u20ac",
                        max_size=120))
    raw = bytearray.fromhex(deliver(udh, gsm7.require_septets(text)))
    lengths = [1, 13] + ([21, 22] if udh else [21])  # OA length, UDL, UDHL, first IE length
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.one_of(st.sampled_from(lengths), st.integers(0, len(raw) - 1)))
        if at < len(raw):
            raw[at] = draw(st.one_of(st.integers(0, 255),
                                     st.integers(-3, 3).map(lambda d, v=raw[at]: (v + d) % 256)))
    return bytes(raw[:draw(st.integers(0, len(raw)))]) if draw(st.booleans()) else bytes(raw)


@_SETTINGS
@given(pdu=_deliver_pdus())
def test_mutated_deliver_pdus_get_one_verdict(pdu: bytes) -> None:
    """Both backends refuse alike (same exception class) or decode to the same result."""
    verdicts = [verdict(mod, pdu) for mod in BACKENDS]
    assert all(v == verdicts[0] for v in verdicts), verdicts
    kind, msg = verdicts[0]
    if kind == "ok" and msg.encoding == "gsm7":
        assert "\x00" not in msg.text


@_SETTINGS
@given(data=st.binary(max_size=180), smsc=st.booleans())
def test_random_octets_get_one_verdict(data: bytes, smsc: bool) -> None:
    verdicts = [verdict(mod, data, smsc) for mod in BACKENDS]
    assert all(v == verdicts[0] for v in verdicts), verdicts


