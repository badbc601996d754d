"""Codec behaviour from the specs (TS 23.040 / TS 23.038), on every backend.

PDUs written out by hand here are built from the spec's field layouts so that each test states
the octets it expects.
"""
from __future__ import annotations

import datetime as dt
from types import ModuleType

import pytest

from pdu_backends import codec  # noqa: F401
from smsd.errors import CodecError, EncodingError
from smsd.pdu import tables

UTC = dt.timezone.utc
CET = dt.timezone(dt.timedelta(hours=1))
SCTS = "11101171955140"                         # 2011-01-11 17:59:15 +01:00 (4 quarters)


def deliver(ud_hex: str, udl: int, *, dcs: int = 0, first: int = 0x04, pid: int = 0) -> str:
    """SMS-DELIVER without SMSC, OA +15125551234."""
    return f"00{first:02X}0B915121551532F4{pid:02X}{dcs:02X}{SCTS}{udl:02X}{ud_hex}"


def pack_ref(septets: list[int], fill: int = 0) -> str:
    """Reference packer, bit by bit as TS 23.038 6.1.2.1.1 draws it (hex of the octets)."""
    bits = [0] * fill + [(s >> i) & 1 for s in septets for i in range(7)]
    bits += [0] * (-len(bits) % 8)
    return bytes(sum(bits[o + i] << i for i in range(8)) for o in range(0, len(bits), 8)).hex()


def first_octet(part_hex: str) -> int:
    smsc_len = int(part_hex[:2], 16)
    return int(part_hex[2 + 2 * smsc_len:4 + 2 * smsc_len], 16)


# --- SMS-SUBMIT ----------------------------------------------------------------------------------
@pytest.mark.parametrize("number, toa", [("+447911123456", 0x91), ("07911123456", 0x81),
                                         ("MyShop", 0xD0), ("*100#", 0x81)])
def test_submit_destination_types(codec: ModuleType, number: str, toa: int) -> None:
    msg = codec.decode(codec.encode_submit(number, "hi")[0].hex)
    assert (msg.kind, msg.number, msg.number_toa, msg.text) == ("submit", number, toa, "hi")


def test_submit_smsc_field_and_tpdu_len(codec: ModuleType) -> None:
    none = codec.encode_submit("+4479", "x")[0]
    assert none.hex.startswith("00") and none.tpdu_len == len(none.hex) // 2 - 1
    given = codec.encode_submit("+4479", "x", smsc="+447802000332")[0]
    assert given.hex.startswith("0791448720003023")
    assert given.tpdu_len == len(given.hex) // 2 - 8
    assert codec.decode(given.hex).smsc == "+447802000332"
    assert codec.decode(none.hex).smsc is None


def test_submit_flags_reach_the_first_octet(codec: ModuleType) -> None:
    plain = codec.encode_submit("+1", "x")[0].hex
    assert first_octet(plain) == 0x01
    flagged = codec.encode_submit("+1", "x", request_status_report=True, reject_duplicates=True,
                                  reply_path=True)[0].hex
    assert first_octet(flagged) == 0x01 | 0x04 | 0x20 | 0x80
    assert codec.decode(flagged).status_report_requested is True


def test_submit_mr_pid_and_flash(codec: ModuleType) -> None:
    msg = codec.decode(codec.encode_submit("+1", "x", mr=300, pid=0x41, flash=True)[0].hex)
    assert (msg.mr, msg.pid, msg.dcs, msg.message_class) == (300 & 0xFF, 0x41, 0x10, 0)
    ucs2 = codec.decode(codec.encode_submit("+1", "\u4e16", flash=True)[0].hex)
    assert (ucs2.dcs, ucs2.message_class, ucs2.encoding) == (0x18, 0, "ucs2")


@pytest.mark.parametrize("asked, expected", [
    (dt.timedelta(minutes=1), dt.timedelta(minutes=5)),          # VP 0: the shortest there is
    (dt.timedelta(minutes=31), dt.timedelta(minutes=35)),        # rounds up, never down
    (dt.timedelta(hours=12), dt.timedelta(hours=12)),            # VP 143
    (dt.timedelta(hours=13), dt.timedelta(hours=13)),            # VP 145
    (dt.timedelta(days=1, seconds=1), dt.timedelta(days=2)),     # VP 168
    (dt.timedelta(days=30), dt.timedelta(days=30)),              # VP 196
    (dt.timedelta(days=31), dt.timedelta(weeks=5)),              # VP 197
    (dt.timedelta(weeks=100), dt.timedelta(weeks=63)),           # VP 255: the longest
])
def test_relative_validity_rounds_up(codec: ModuleType, asked: dt.timedelta,
                                     expected: dt.timedelta) -> None:
    part = codec.encode_submit("+1", "x", validity=asked)[0]
    assert first_octet(part.hex) & 0x18 == 0x10
    assert codec.decode(part.hex).validity == expected


def test_absolute_validity(codec: ModuleType) -> None:
    until = dt.datetime(2031, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30)))
    part = codec.encode_submit("+1", "x", validity=until)[0]
    assert first_octet(part.hex) & 0x18 == 0x18
    decoded = codec.decode(part.hex).validity
    assert decoded == until and decoded.utcoffset() == until.utcoffset()


@pytest.mark.parametrize("vp, expected", [
    ("01A90000000000", dt.timedelta(days=3)),                    # format 1: relative octet
    ("02200000000000", dt.timedelta(seconds=32)),                # format 2: seconds
    ("03214365000000", dt.timedelta(hours=12, minutes=34, seconds=56)),   # format 3: hh mm ss
    ("00000000000000", None),                                    # no validity period
])
def test_enhanced_validity_decodes(codec: ModuleType, vp: str, expected: object) -> None:
    # first octet 0x09: SMS-SUBMIT with TP-VPF = 01 (enhanced); empty DA; 7-octet TP-VP.
    assert codec.decode(f"00090000810000{vp}00").validity == expected


# --- SMS-DELIVER ---------------------------------------------------------------------------------
def test_deliver_time_zones_and_year_window(codec: ModuleType) -> None:
    assert codec.decode(deliver("", 0)).scts == dt.datetime(2011, 1, 11, 17, 59, 15, tzinfo=CET)
    # TZ octet 0x69: sign bit set, 16 quarters -> -04:00; year 79 is 2079 in the 1980-2079 window.
    west = codec.decode(deliver("", 0).replace(SCTS, "97112280000069")).scts
    assert west == dt.datetime(2079, 11, 22, 8, 0, 0, tzinfo=dt.timezone(-dt.timedelta(hours=4)))
    assert west.utcoffset() == -dt.timedelta(hours=4)
    assert codec.decode(deliver("", 0).replace(SCTS, "08112280000000")).scts.year == 1980
    # A time stamp that is no time at all does not cost the message its text.
    bogus = codec.decode(deliver("C1", 1).replace(SCTS, "11F1117195514F"))
    assert (bogus.scts, bogus.text) == (None, "A")


@pytest.mark.parametrize("dcs, encoding, cls", [
    (0x00, "gsm7", None), (0x04, "8bit", None), (0x08, "ucs2", None),
    (0x0C, "gsm7", None),            # reserved alphabet: read as the default alphabet
    (0x10, "gsm7", 0), (0x15, "8bit", 1), (0x1A, "ucs2", 2), (0x13, "gsm7", 3),
    (0x20, "8bit", None), (0x38, "8bit", 0),   # compressed: handed over as data
    (0x40, "gsm7", None), (0x48, "ucs2", None), (0x51, "gsm7", 1),   # auto-deletion group
    (0x80, "gsm7", None), (0xB4, "gsm7", None),                     # reserved groups
    (0xC0, "gsm7", None), (0xD8, "gsm7", None), (0xE8, "ucs2", None),   # message waiting
    (0xF0, "gsm7", 0), (0xF4, "8bit", 0), (0xF6, "8bit", 2), (0xF3, "gsm7", 3),
])
def test_dcs_groups(codec: ModuleType, dcs: int, encoding: str, cls: int | None) -> None:
    msg = codec.decode(deliver("", 0, dcs=dcs))
    assert (msg.dcs, msg.encoding, msg.message_class) == (dcs, encoding, cls)


def test_8bit_and_compressed_user_data_is_data(codec: ModuleType) -> None:
    for dcs in (0x04, 0x24):
        msg = codec.decode(deliver("00FF41", 3, dcs=dcs))
        assert (msg.text, msg.data) == ("", b"\x00\xffA")


def test_udl_is_honoured_exactly(codec: ModuleType) -> None:
    # "AAAAAAA@" packs to 7 octets; UDL says whether the 8th septet (all zero) is a real "@".
    packed = pack_ref([0x41] * 7 + [0])
    assert len(packed) == 14
    assert codec.decode(deliver(packed, 8)).text == "AAAAAAA@"
    assert codec.decode(deliver(packed, 7)).text == "AAAAAAA"
    # Octets after TP-UDL are never read.
    assert codec.decode(deliver(packed + "C1C1C1", 7)).text == "AAAAAAA"


def test_escape_rules(codec: ModuleType) -> None:
    # ESC + undefined extension code -> default-table character (TS 23.038 6.2.1.1);
    # ESC ESC -> space (reserved for a further extension table); lone trailing ESC -> nothing.
    assert codec.decode(deliver(pack_ref([0x1B, 0x41]), 2)).text == "A"
    assert codec.decode(deliver(pack_ref([0x1B, 0x1B, 0x41]), 3)).text == " A"
    assert codec.decode(deliver(pack_ref([0x41, 0x1B]), 2)).text == "A"
    assert codec.decode(deliver(pack_ref([0x1B, 0x65, 0x1B, 0x0A]), 4)).text == "\u20ac\x0c"


def test_extension_table_round_trip(codec: ModuleType) -> None:
    text = "^{}\\[~]|\u20ac\x0c plain"
    parts = codec.encode_submit("+1", text)
    assert codec.decode(parts[0].hex).text == text


def test_ucs2_outside_the_bmp(codec: ModuleType) -> None:
    text = "smile \U0001F600 \U00020BB7"
    msg = codec.decode(codec.encode_submit("+1", text)[0].hex)
    assert (msg.encoding, msg.text) == ("ucs2", text)


def test_udh_ports_16bit_and_concat16(codec: ModuleType) -> None:
    udh = "0C" + "050423F40000" + "08040102" + "0302"
    msg = codec.decode(deliver(udh + "41", 14, dcs=0x04, first=0x44))
    assert msg.ports == (0x23F4, 0)
    assert msg.concat == (0x0102, 3, 2)
    assert msg.data == b"A"


def test_concat_ie_with_impossible_numbers_is_ignored(codec: ModuleType) -> None:
    for ie in ("0003010000", "0003010203", "0003010001"):   # total 0, seq > total, seq 0
        msg = codec.decode(deliver("05" + ie + "41", 7, dcs=0x04, first=0x44))
        assert msg.concat is None and msg.udh[0].iei == 0


def test_national_language_decode(codec: ModuleType) -> None:
    # UDH of 4 octets = 32 bits: the text starts at septet 5 after 3 fill bits.
    shift = {ch: code for code, ch in tables.SINGLE_SHIFT[1].items()}["\u015f"]
    single = codec.decode(deliver("03240101" + pack_ref([0x1B, shift, 0x41], 3), 8, first=0x44))
    assert single.text == "\u015fA"
    lock = codec.decode(deliver("03250101" + pack_ref([0x07, 0x1B, 0x65], 3), 8, first=0x44))
    assert lock.text == "\u0131\u20ac"          # Turkish locking 0x07, default extension
    # 7-octet UDH = 56 bits = 8 septets exactly: no fill bits.
    both = codec.decode(deliver("06250106240106" + pack_ref([0x15, 0x1B, 0x1C]), 11,
                                first=0x44))
    assert both.text == "\u0915\u0966"           # Hindi KA (locking) + digit zero (single)
    unknown = codec.decode(deliver("03250163" + pack_ref([0x07], 3), 6, first=0x44))
    assert unknown.text == "\u00ec"             # unsupported id 0x63: default alphabet


# --- SMS-DELIVER / STATUS-REPORT encoders -----------------------------------------------------
def test_encode_deliver_round_trip(codec: ModuleType) -> None:
    when = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45)))
    text = "Your code is 1234. " * 12
    pdus = codec.encode_deliver("Bank", text, scts=when, smsc="+4479", concat_ref=7,
                                status_report_indication=True)
    msgs = [codec.decode(p) for p in pdus]
    assert len(msgs) == 2 == codec.count_parts(text)
    assert "".join(m.text for m in msgs) == text
    assert [m.concat for m in msgs] == [(7, 2, 1), (7, 2, 2)]
    assert all((m.kind, m.number, m.number_toa, m.smsc, m.scts, m.status_report_requested)
               == ("deliver", "Bank", 0xD0, "+4479", when, True) for m in msgs)


def test_encode_status_report_round_trip(codec: ModuleType) -> None:
    sent = dt.datetime(2023, 12, 31, 23, 0, 0, tzinfo=UTC)
    done = dt.datetime(2024, 1, 1, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    msg = codec.decode(codec.encode_status_report("+447700900000", 42, 0x41, scts=sent,
                                                  discharge=done))
    assert (msg.kind, msg.number, msg.mr, msg.status, msg.scts, msg.discharge) == \
        ("status_report", "+447700900000", 42, 0x41, sent, done)
    assert msg.discharge.utcoffset() == dt.timedelta(hours=-3)


@pytest.mark.parametrize("st, category", [(0x00, "delivered"), (0x1F, "delivered"),
                                          (0x20, "pending"), (0x3F, "pending"),
                                          (0x40, "failed"), (0x63, "failed"), (0xFF, "failed")])
def test_status_category(codec: ModuleType, st: int, category: str) -> None:
    assert codec.status_category(st) == category


def test_status_category_rejects_non_octets(codec: ModuleType) -> None:
    with pytest.raises(CodecError):
        codec.status_category(256)


# --- USSD --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "*100#", "1234567", "12345678", "1234567\r", "abc\r",
                                  "{balance} \u20ac5", "x" * 182])
def test_ussd_round_trip(codec: ModuleType, text: str) -> None:
    assert codec.ussd_decode(codec.ussd_encode(text)) == text


def test_ussd_pads_seven_spare_bits_with_cr(codec: ModuleType) -> None:
    assert codec.ussd_encode("1234567") == bytes.fromhex("31D98C56B3DD1A")
    with pytest.raises(EncodingError):
        codec.ussd_encode("\u4e16")
