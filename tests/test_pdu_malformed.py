"""Malformed input: every failure is a CodecError with a message, never another exception."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdu_backends import codec  # noqa: F401
from smsd.errors import CodecError, EncodingError
from smsd.pdu.types import Decoded

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
GOOD = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
VECTORS = json.loads((Path(__file__).parent / "vectors" / "pdu_vectors.json").read_text())
WHOLE = [v for v in VECTORS if v["kind"] in ("deliver", "submit", "status_report")
         and "refused" not in v["expected"]]


@pytest.mark.parametrize("pdu", ["", "   ", b"", "0", "0G", "07911326040000F", "zz" * 20,
                                 "00", "0004", "000B", "FF" * 3])
def test_garbage_is_a_codec_error(codec: ModuleType, pdu: str | bytes) -> None:
    with pytest.raises(CodecError) as info:
        codec.decode(pdu)
    assert str(info.value)


def test_wrong_types_are_codec_errors(codec: ModuleType) -> None:
    for bad in (None, 12, 1.5, ["00"]):
        with pytest.raises(CodecError):
            codec.decode(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("pdu", [
    "FF" + GOOD[2:],                                        # SMSC length past the end
    "00" + "04" + "FF91" + "1346",                          # OA length past the end
    "0003",                                                 # TP-MTI 11 is reserved
    "00440B915121551532F400001110117195514005" + "0A000301",   # UDHL 10 > UD of 5 octets
    "00440B915121551532F400001110117195514002" + "0500",    # UDH does not fit the UDL
    "00440B915121551532F40004111011719551400606" + "0004010203",   # IE overruns the UDH
    "00060B915121551532F4111011719551401110117195",         # status report cut in TP-DT
])
def test_lying_lengths(codec: ModuleType, pdu: str) -> None:
    with pytest.raises(CodecError):
        codec.decode(pdu)


@pytest.mark.parametrize("vec", WHOLE, ids=lambda v: v["pdu_hex"][:20])
def test_every_truncation(codec: ModuleType, vec: dict) -> None:   # type: ignore[type-arg]
    """Cutting a valid PDU anywhere gives a CodecError; only a status report's optional TP-PI
    part may go (its announced fields count as absent)."""
    full = codec.decode(vec["pdu_hex"], smsc=vec.get("smsc_included", True))
    for cut in range(0, len(vec["pdu_hex"]) - 1, 2):
        try:
            msg = codec.decode(vec["pdu_hex"][:cut], smsc=vec.get("smsc_included", True))
        except CodecError:
            continue
        assert full.kind == "status_report" and msg.status == full.status, cut


@pytest.mark.parametrize("call, error", [
    (lambda c: c.encode_submit("", "x"), CodecError),
    (lambda c: c.encode_submit("+" + "1" * 21, "x"), EncodingError),
    (lambda c: c.encode_submit("TwelveLetter", "x"), EncodingError),     # 12 septets > 11
    (lambda c: c.encode_submit("\u4e16\u754c", "x"), EncodingError),     # not GSM-7 at all
    (lambda c: c.encode_submit("+1", "x", smsc="Operator"), EncodingError),
    (lambda c: c.encode_submit("+1", "x", validity=30), CodecError),
    (lambda c: c.encode_status_report("+1", 1, 256, scts=NOW, discharge=NOW), CodecError),
])
def test_bad_encoder_arguments(codec: ModuleType, call: object, error: type) -> None:
    with pytest.raises(error):
        call(codec)  # type: ignore[operator]


def test_udl_longer_than_data_is_refused(codec: ModuleType) -> None:
    with pytest.raises(CodecError):
        codec.decode("00040B915121551532F4000011101171955140FF" + "C8329BFD06")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), smsc=st.booleans())
def test_fuzz_random_octets(codec: ModuleType, data: bytes, smsc: bool) -> None:
    try:
        result = codec.decode(data, smsc=smsc)
    except CodecError:
        return
    assert isinstance(result, Decoded)
    if result.encoding == "gsm7":
        assert "\x00" not in result.text       # septet 0x00 is "@", never NUL


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from([v["pdu_hex"] for v in WHOLE]), tail=st.binary(max_size=40),
       cut=st.integers(0, 200))
def test_fuzz_mutated_vectors(codec: ModuleType, prefix: str, tail: bytes, cut: int) -> None:
    data = bytes.fromhex(prefix)[:cut] + tail
    try:
        codec.decode(data.hex())
    except CodecError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_fuzz_ussd_decode(codec: ModuleType, data: bytes) -> None:
    assert isinstance(codec.ussd_decode(data), str)
