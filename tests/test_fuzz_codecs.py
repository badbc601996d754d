"""Fuzzing the decoders where their own tests miss (issue 19 point 5):

- the SMPP decoder (smsd/smpp/pdus.py) on structured frames: tests/test_smpp_units.py feeds it
  random bodies, which stop at the first field; here whole submit_sm/bind/data_sm frames with
  fields at and past their bounds, TLVs that lie, then mutated and cut;
- the AT engine's final error results with a code of any bytes;
- the PDU decoder on both backends on what the differential tests do not build: multipart
  SMS-DELIVERs (concatenation, port and national language headers) and status reports, their
  headers mutated. Both backends must agree (the same value or the same error class).

Budget: Hypothesis's `ci` profile (tests/e2e/fuzz_support.py), `SMSD_FUZZ=long` for long runs.
"""
from __future__ import annotations

import datetime as dt
import struct

from hypothesis import example, given
from hypothesis import strategies as st

from e2e.fuzz_support import fuzz_settings
from smsd.at import AtEngine, Command
from smsd.pdu import _python
from smsd.smpp import pdus
from test_pdu_differential import same

SCTS = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


# --- SMPP ---------------------------------------------------------------------------------------
def cstr(draw: st.DrawFn, most: int) -> bytes:
    return draw(st.binary(max_size=most).map(lambda b: b.replace(b"\0", b"x"))) + b"\0"


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """A submit_sm, data_sm or bind frame, its strings drawn to and past their bounds."""
    kind = draw(st.sampled_from(["submit_sm", "data_sm", "bind"]))
    octet = st.integers(0, 255).map(lambda n: bytes([n]))
    if kind == "bind":
        command_id = draw(st.sampled_from([0x01, 0x02, 0x09]))
        body = cstr(draw, 20) + cstr(draw, 12) + cstr(draw, 16) + draw(octet) * 3 + cstr(draw, 44)
    else:
        command_id = 0x04 if kind == "submit_sm" else 0x103
        body = cstr(draw, 8) + draw(octet) + draw(octet) + cstr(draw, 24) + draw(octet) \
            + draw(octet) + cstr(draw, 24)
        if kind == "submit_sm":
            short = draw(st.binary(max_size=260))
            body += draw(octet) * 3 + cstr(draw, 20) + cstr(draw, 20) + draw(octet) * 4 \
                + bytes([draw(st.integers(0, 255))]) + short[:255]
        else:
            body += draw(octet) * 3
    for tag, value, extra in draw(st.lists(st.tuples(
            st.sampled_from([0x020C, 0x020E, 0x020F, 0x0424, 0x0204, 0x0005, 0x001E, 0x0427,
                             0x0019, 0x1400, 0xFFFF]),
            st.binary(max_size=24), st.sampled_from([0, 0, 1, 3, -1, 300])), max_size=4)):
        body += struct.pack(">HH", tag, max(0, len(value) + extra) & 0xFFFF) + value
    return struct.pack(">LLLL", 16 + len(body), command_id, 0, draw(st.integers(0, 1 << 31))) \
        + body


@st.composite
def broken(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(structured()))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(16, max(16, len(data) - 1)))
        if pos < len(data):
            data[pos] = draw(st.integers(0, 255))
    data = data[:draw(st.integers(16, len(data)))]
    data[:4] = struct.pack(">L", len(data))
    return bytes(data)


@fuzz_settings(400)
@given(frame=st.one_of(structured(), broken()))
def test_smpp_decoder_only_decodes_or_refuses(frame: bytes) -> None:
    """A whole frame decodes to a command whose strings are within their bounds, or is refused
    with an SMPP status; never another exception."""
    try:
        pdu = pdus.decode(frame)
    except pdus.PduError as exc:
        assert 0 < exc.status <= 0xFF, exc
        return
    for field, most in pdus._BOUNDS.items():
        value = getattr(pdu, field, None)
        assert not isinstance(value, bytes) or len(value) < most, (field, value)
    pdus.text(getattr(pdu, "destination_addr", None))      # what the server reads of it next


# --- PDUs ---------------------------------------------------------------------------------------
texts = st.one_of(st.text(max_size=400), st.just("é€" * 120), st.just("\u0939\u093f" * 150))


@fuzz_settings(200)
@given(text=texts, encoding=st.sampled_from(["auto", "gsm-7bit", "unicode"]),
       ref=st.integers(0, 0xFFFF), langs=st.sampled_from([(), (1,), (13,), (2, 3)]),
       muts=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 255)), max_size=4),
       cut=st.integers(0, 200))
def test_multipart_delivers_mutated_in_their_headers_agree(
        text: str, encoding: str, ref: int, langs: tuple[int, ...],
        muts: list[tuple[int, int]], cut: int) -> None:
    try:
        parts = _python.encode_deliver("+447700900123", text, scts=SCTS, encoding=encoding,
                                       concat_ref=ref, languages=langs)
    except Exception:       # noqa: BLE001 - a text the encoder refuses: nothing to decode
        return
    for hex_pdu in parts[:3]:
        raw = bytearray.fromhex(hex_pdu)
        head = raw[0] + 1 + 12                  # past the SMSC field and most of the header
        for offset, value in muts:
            raw[(head + offset) % len(raw)] = value
        same("decode", bytes(raw))
        same("decode", bytes(raw[:cut]))


@fuzz_settings(200)
@given(mr=st.integers(0, 255), status=st.integers(0, 255),
       muts=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=4),
       tail=st.binary(max_size=12))
def test_status_reports_mutated_agree(mr: int, status: int, muts: list[tuple[int, int]],
                                      tail: bytes) -> None:
    raw = bytearray.fromhex(_python.encode_status_report("+447700900123", mr, status,
                                                         scts=SCTS, discharge=SCTS))
    for pos, value in muts:
        raw[pos % len(raw)] = value
    same("decode", bytes(raw) + tail)
    same("decode", bytes(raw[:len(raw) // 2]))


# --- AT final results -----------------------------------------------------------------------------
@fuzz_settings(300)
@given(prefix=st.sampled_from([b"+CMS ERROR: ", b"+CME ERROR: ", b"+CMS ERROR:", b"+CME ERROR:"]),
       code=st.one_of(st.binary(max_size=12), st.sampled_from([b"\xb2", b"\xb9", b"9" * 5000,
                                                               b"-1", b" 500 ", b"\xbd"])))
@example(prefix=b"+CMS ERROR: ", code=b"\xb2")      # latin-1 '²': isdigit() yes, int() no
def test_at_error_codes_of_any_bytes(prefix: bytes, code: bytes) -> None:
    """A modem's final error result with any code (the engine reads lines as Latin-1, where
    0xB2 is '²'): the command ends with an error event, the engine never raises."""
    engine = AtEngine()
    engine.send(Command("AT+CMGS=3", prompt_payload="00"), 0)
    line = (prefix + code).replace(b"\r", b"").replace(b"\n", b"")
    engine.receive_data(b"\r\n" + line + b"\r\n", 0)
    engine.tick(10.0)
    assert not engine.busy
