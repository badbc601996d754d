"""C backend specifics: truncated and lying PDUs, buffer edges, generated tables, threads.

The known-answer tests of both backends live in test_pdu_vectors.py / test_pdu_codec.py; these
cover what can only go wrong in the C code and its wrapper (bounds, scratch buffers, the tables
generated at build time). Skipped when the extension is not built.
"""
from __future__ import annotations

import datetime as dt
import threading
from types import ModuleType

import pytest

from pdu_backends import C_BACKEND
from smsd.errors import CodecError, EncodingError
from smsd.pdu import _python, tables

pytestmark = pytest.mark.skipif(C_BACKEND is None, reason="C codec extension not built")
C: ModuleType = C_BACKEND  # type: ignore[assignment]

SCTS = dt.datetime(2026, 11, 23, 2, 25, tzinfo=dt.timezone(dt.timedelta(hours=1)))
DELIVER = "06917228195339040B917228214365F700003130805120618005D4F29C2E03"
SUBMIT_VP = "07911326040000F0310D0B911326880736F40000A90FF7FBDD454E87CDE1B0DB357EB701"
REPORT = "0006D60B911326880736F4111011719551401110117195714000"


def _header_end(pdu: str) -> int:
    """Octets before TP-UDL (everything a decoder must have), with the SMSC field."""
    raw = bytes.fromhex(pdu)
    d = C.decode(pdu)
    return len(raw) - 1 - len(d.data) if d.kind != "status_report" else len(raw)


@pytest.mark.parametrize("pdu", [DELIVER, SUBMIT_VP, REPORT])
def test_every_truncation_inside_the_header_raises(pdu: str) -> None:
    raw = bytes.fromhex(pdu)
    for cut in range(_header_end(pdu)):
        with pytest.raises(CodecError):
            C.decode(raw[:cut])
        with pytest.raises(CodecError):
            _python.decode(raw[:cut])


@pytest.mark.parametrize("lie", [
    "FF9172",                                        # SMSC length past the end
    "00040B9172282143",                              # OA length 11 digits, 3 octets present
    "0004FF91" + "21" * 20,                          # OA length 255 semi-octets
    "00440B917228214365F700003130805120618005" + "07" + "0003",   # UDHL 7 > UDL 5 septets
    "00440B917228214365F700043130805120618004" + "03" + "0005AA",  # IE length overruns UDH
    "00440B917228214365F700043130805120618000",      # UDHI set, UDL 0
    "0011000B917228214365F70000",                    # SUBMIT ends before TP-VP
    "0019000B917228214365F7000031700131",            # absolute VP cut short
    "0006D60B911326880736F411101171955140",          # status report without TP-DT
    "0003",                                          # reserved TP-MTI 11
])
def test_lying_lengths_raise_codec_error(lie: str) -> None:
    with pytest.raises(CodecError):
        C.decode(lie)
    with pytest.raises(CodecError):
        _python.decode(lie)


def test_overstated_udl_is_refused_alike() -> None:
    # TP-UDL says 160 septets, only "Test2" is there: a shorter text would pass for the whole
    # message, so both backends refuse it (issue 11; the daemon keeps the raw PDU)
    pdu = "06917228195339040B917228214365F7000031308051206180A0D4F29C2E03"
    with pytest.raises(CodecError):
        C.decode(pdu)
    with pytest.raises(CodecError):
        _python.decode(pdu)


def test_non_hex_and_odd_input_raise() -> None:
    for bad in ("0G", "012", "", "  ", "é0", "00\x00"):
        with pytest.raises(CodecError):
            C.decode(bad)
    with pytest.raises(CodecError):
        C.decode(12345)  # type: ignore[arg-type]


def test_hex_with_whitespace_and_lower_case_is_accepted_like_python() -> None:
    spaced = " " + " ".join(DELIVER[i:i + 2] for i in range(0, len(DELIVER), 2)).lower() + "\n"
    assert C.decode(spaced) == _python.decode(spaced) == C.decode(DELIVER)


def test_pdu_longer_than_the_scratch_buffer() -> None:
    # trailing junk after TP-UD is never read, however long
    junk = DELIVER + "AB" * 5000
    assert C.decode(junk) == C.decode(DELIVER)
    assert C.decode(bytes.fromhex(junk)) == _python.decode(junk)


def test_long_ussd_uses_bigger_buffers() -> None:
    text = "€" * 3000 + "x" * 1001
    packed = C.ussd_encode(text)
    assert packed == _python.ussd_encode(text)
    assert C.ussd_decode(packed) == text


def test_255_parts_and_one_more() -> None:
    per_part = 153
    assert C.count_parts("a" * per_part * 255) == 255
    parts = C.encode_submit("+4912345", "a" * per_part * 255, concat_ref=7)
    assert [p.seq for p in parts] == list(range(1, 256))
    assert "".join(p.text for p in parts) == "a" * per_part * 255
    with pytest.raises(CodecError):
        C.encode_submit("+4912345", "a" * (per_part * 255 + 1))


def test_error_classes_match_the_python_backend() -> None:
    with pytest.raises(EncodingError):
        C.encode_submit("+4912345", "\U0001F600", encoding="gsm7")
    with pytest.raises(EncodingError):
        C.encode_submit("ThisIsTooLongForAnAddress", "hi")
    with pytest.raises(EncodingError):
        C.encode_submit("+4912345", "\ud800")          # lone surrogate
    with pytest.raises(CodecError):
        C.encode_submit("", "hi")
    with pytest.raises(CodecError):
        C.encode_submit("+4912345", "hi", encoding="latin9")


def _deliver_with_national(lock: int, shift: int, septets: bytes) -> str:
    """A DELIVER whose UDH selects the given national tables, carrying `septets`."""
    from smsd.pdu import gsm7
    udh = bytes([6, 0x25, 1, lock, 0x24, 1, shift])
    skip = (len(udh) * 8 + 6) // 7
    ud = udh + gsm7.pack(septets, skip * 7 - len(udh) * 8)
    tpdu = bytes.fromhex("440B917228214365F70000") + bytes.fromhex("31308051206180") + \
        bytes([skip + len(septets)]) + ud
    return "00" + tpdu.hex()


@pytest.mark.parametrize("lang", sorted(set(tables.LOCKING_SHIFT) | set(tables.SINGLE_SHIFT)))
def test_generated_tables_match_tables_py(lang: int) -> None:
    codes = bytes(c for c in range(128) if c != 0x1B)
    lock = lang if lang in tables.LOCKING_SHIFT else 0
    main = tables.LOCKING_SHIFT.get(lock, tables.GSM7_DEFAULT)
    assert C.decode(_deliver_with_national(lock, lang, codes)).text == \
        "".join(main.get(c, " ") for c in codes)
    shift = tables.SINGLE_SHIFT.get(lang, tables.GSM7_EXTENSION)
    for half in (codes[:64], codes[64:]):
        escaped = b"".join(bytes([0x1B, c]) for c in half)
        assert C.decode(_deliver_with_national(lock, lang, escaped)).text == \
            "".join(shift.get(c, main.get(c, " ")) for c in half)


def test_concurrent_calls_do_not_share_buffers() -> None:
    texts = [f"worker {i} " + "xyz€" * (i * 7) for i in range(8)]
    expected = {t: [C.decode(p.hex).text for p in C.encode_submit("+4912345", t)] for t in texts}
    failures: list[str] = []

    def work(text: str) -> None:
        for _ in range(300):
            got = [C.decode(p.hex).text for p in C.encode_submit("+4912345", text)]
            if got != expected[text]:
                failures.append(text)
                return

    threads = [threading.Thread(target=work, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert all("".join(v) == k for k, v in expected.items())


def test_deliver_and_status_report_round_trip() -> None:
    [pdu] = C.encode_deliver("+4912345", "hello €", scts=SCTS, smsc="+4900")
    d = C.decode(pdu)
    assert (d.kind, d.number, d.text, d.scts, d.smsc) == ("deliver", "+4912345", "hello €",
                                                          SCTS, "+4900")
    rep = C.encode_status_report("+4912345", 42, 0x30, scts=SCTS, discharge=SCTS)
    r = C.decode(rep)
    assert (r.kind, r.mr, r.status, r.discharge) == ("status_report", 42, 0x30, SCTS)
    assert C.status_category(r.status) == "pending"


# --- the fast paths: SWAR hex, the one-pointer decode summary, pdu_submit ---------------------
_JUNK = "Gg:@`/ \x00\xff"


@pytest.mark.parametrize("junk", list(_JUNK))
def test_one_bad_hex_digit_anywhere_is_rejected(junk: str) -> None:
    """The eight-digit SWAR check must see junk in every lane, and the scalar tail too."""
    pdu = C.encode_deliver("+447700900123", "Hello there, 8 digits at a time!", scts=SCTS)[0]
    for i in range(len(pdu)):
        bad = pdu[:i] + junk + pdu[i + 1:]
        if junk == " ":
            continue                     # whitespace is tolerated by the slow path, see below
        with pytest.raises(CodecError):
            C.decode(bad)
        with pytest.raises(CodecError):
            _python.decode(bad)


def test_every_hex_digit_in_every_lane_decodes_like_python() -> None:
    body = bytes(range(256))
    tpdu = bytes.fromhex("040B917228214365F7000431308051206180") + bytes([140]) + body[:140]
    for smsc in ("00", "0191", "029112", "03911232"):       # move the digits across lanes
        pdu = smsc + tpdu.hex()
        for case in (pdu.upper(), pdu.lower()):
            assert C.decode(case) == _python.decode(case)
        raw = bytes.fromhex(pdu)
        assert C.decode(raw).data == body[:140]


def test_submit_hex_covers_every_octet_value() -> None:
    """Hex output (four octets per SWAR step) checked against Python for all 256 values."""
    text = "".join(chr(c) for c in [*range(0xA0, 0x100), *range(0x400, 0x460)])
    for n in range(1, len(text), 7):
        assert C.encode_submit("+447700900123", text[:n]) == \
            _python.encode_submit("+447700900123", text[:n])


@pytest.mark.parametrize("text", ["ж", "жx", "x\u0800y", "\U0001F600ж", "ж" * 70, "ж" * 71,
                                  "aж" * 40, "\u07ff\u0080\u0800", "\u20ac" * 70])
def test_ucs2_fast_path_matches_python(text: str) -> None:
    """ASCII and two-byte UTF-8 are converted inline; three- and four-byte ones are not."""
    assert C.encode_submit("+447700900123", text) == _python.encode_submit("+447700900123", text)


def test_binary_input_offsets_point_into_the_callers_bytes() -> None:
    """Binary input is read in place, so data and UDH slices come from the caller's bytes."""
    for pdu in C.encode_deliver("+447700900123", "x" * 300, scts=SCTS, smsc="+447700900000"):
        raw = bytes.fromhex(pdu)
        via_c = C.decode(raw)
        assert via_c == C.decode(pdu) == _python.decode(pdu)
        assert via_c.udh and via_c.concat is not None


def test_results_are_immutable_named_values() -> None:
    d = C.decode(DELIVER)
    with pytest.raises(AttributeError):
        d.text = "changed"  # type: ignore[misc]
    assert d._replace(text="other").text == "other" and d.text == _python.decode(DELIVER).text
    part = C.encode_submit("+447700900123", "hi")[0]
    with pytest.raises(AttributeError):
        part.hex = ""  # type: ignore[misc]
    assert "tpdu_len=" in repr(part) and "number='+27" in repr(d)
