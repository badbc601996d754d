"""Python-backend internals: septet packing against a bit-by-bit reference (python only)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smsd.pdu import gsm7, text


def reference_pack(septets: bytes, fill: int) -> bytes:
    bits = [0] * fill + [(s >> i) & 1 for s in septets for i in range(7)]
    bits += [0] * (-len(bits) % 8)
    return bytes(sum(bits[o + i] << i for i in range(8)) for o in range(0, len(bits), 8))


@given(septets=st.binary(max_size=300).map(lambda b: bytes(x & 0x7F for x in b)),
       fill=st.integers(0, 6))
def test_pack_and_unpack_match_the_reference(septets: bytes, fill: int) -> None:
    packed = gsm7.pack(septets, fill)
    assert packed == reference_pack(septets, fill)
    assert gsm7.unpack(packed, len(septets), fill) == septets


def test_unpack_never_reads_past_the_data() -> None:
    assert gsm7.unpack(b"\xff\xff", 100) == b"\x7f\x7f"
    assert gsm7.unpack(b"", 5) == b""


def test_capacities() -> None:
    assert text.capacity("gsm7", text.header_octets(False, False, 0)) == 160
    assert text.capacity("gsm7", text.header_octets(True, False, 0)) == 153
    assert text.capacity("gsm7", text.header_octets(True, True, 0)) == 152
    assert text.capacity("gsm7", text.header_octets(True, False, 2)) == 146
    assert text.capacity("ucs2", text.header_octets(True, False, 0)) == 67
    assert text.capacity("ucs2", text.header_octets(True, True, 0)) == 66
    assert text.capacity("8bit", text.header_octets(True, False, 0)) == 134
