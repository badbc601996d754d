"""Binary SMS-SUBMIT parts with custom UDH (smsd.pdu.binary) and WAP Push SI (smsd.pdu.wap_push),
checked by decoding with the codec on both backends."""
from __future__ import annotations

import pytest

from smsd.errors import CodecError, EncodingError
from smsd.pdu import binary, wap_push
from smsd.pdu import _python as py_codec

from pdu_backends import BACKENDS

PORTS = wap_push.ports_ie()          # 05 04 0B 84 23 F0


@pytest.fixture(params=BACKENDS)
def codec(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return request.param


def test_one_part_keeps_data_udh_and_flash(codec) -> None:  # type: ignore[no-untyped-def]
    parts = binary.encode_submit("+447700900123", b"\x00\x01\xff", udh=PORTS, flash=True,
                                 request_status_report=True, mr=9)
    assert len(parts) == 1
    d = codec.decode(parts[0].hex)
    assert (d.kind, d.number, d.encoding, d.data) == ("submit", "+447700900123", "8bit",
                                                       b"\x00\x01\xff")
    assert d.ports == (2948, 9200) and d.concat is None
    assert d.message_class == 0 and d.dcs == 0x14 and d.status_report_requested and d.mr == 9
    assert parts[0].tpdu_len == len(bytes.fromhex(parts[0].hex)) - 1


def test_no_udh_means_no_udhi_and_full_140_octets(codec) -> None:  # type: ignore[no-untyped-def]
    parts = binary.encode_submit("447700900123", bytes(range(140)))
    d = codec.decode(parts[0].hex)
    assert len(parts) == 1 and d.udh == [] and d.data == bytes(range(140)) and d.dcs == 0x04


def test_long_payload_is_concatenated_with_the_udh_in_every_part(codec) -> None:  # type: ignore[no-untyped-def]
    data = bytes(i % 251 for i in range(400))
    parts = binary.encode_submit("+447700900123", data, udh=PORTS, concat_ref=0x1A7)
    decoded = [codec.decode(p.hex) for p in parts]
    assert [d.concat for d in decoded] == [(0xA7, 4, 1), (0xA7, 4, 2), (0xA7, 4, 3), (0xA7, 4, 4)]
    assert all(d.ports == (2948, 9200) for d in decoded)
    assert b"".join(d.data for d in decoded) == data
    # 140 - UDHL - concat IE (5) - ports IE (6) = 128 octets per part.
    assert [len(d.data) for d in decoded] == [128, 128, 128, 16]
    assert binary.count_parts(data, PORTS) == 4


def test_concat16_reference(codec) -> None:  # type: ignore[no-untyped-def]
    parts = binary.encode_submit("+447700900123", bytes(300), concat_ref=0x1234, concat16=True)
    assert [codec.decode(p.hex).concat for p in parts] == [(0x1234, 3, 1), (0x1234, 3, 2),
                                                            (0x1234, 3, 3)]


def test_exactly_full_part_boundaries() -> None:
    assert binary.count_parts(bytes(140)) == 1
    assert binary.count_parts(bytes(141)) == 2                    # 134 + 7
    assert binary.count_parts(bytes(140 - 7), PORTS) == 1         # 133 after UDHL + ports IE
    assert binary.count_parts(bytes(134), PORTS) == 2


def test_bad_udh_and_oversize_are_refused() -> None:
    with pytest.raises(CodecError):
        binary.check_ies(bytes.fromhex("0504AB"))                # IE overruns the header
    with pytest.raises(CodecError):
        binary.check_ies(bytes.fromhex("00030A0201"))            # concat is the codec's job
    with pytest.raises(EncodingError):
        binary.count_parts(bytes(140 * 300))
    with pytest.raises(EncodingError):
        binary.count_parts(b"x", bytes([0x70, 137]) + bytes(137))  # no room left for data


def test_strip_udhl_accepts_both_forms() -> None:
    assert binary.strip_udhl(bytes.fromhex("06050415820000")) == bytes.fromhex("050415820000")
    assert binary.strip_udhl(bytes.fromhex("050415820000")) == bytes.fromhex("050415820000")
    assert binary.strip_udhl(b"") == b""


def test_uintvar() -> None:
    assert wap_push.uintvar(0) == b"\x00"
    assert wap_push.uintvar(0x7F) == b"\x7f"
    assert wap_push.uintvar(0x80) == b"\x81\x00"
    assert wap_push.uintvar(0x3FFF) == b"\xff\x7f"


def test_si_document_tokens() -> None:
    # WAP-167 Appendix: <si><indication href="http://www.xyz.com/email/123/abc.wml"
    # action="signal-medium">You have 4 new emails</indication></si>, tokens written out here.
    doc = wap_push.si_document("http://www.xyz.com/email/123/abc.wml", "You have 4 new emails")
    expected = (bytes([0x02, 0x05, 0x6A, 0x00, 0x45, 0xC6, 0x0D, 0x03])
                + b"xyz.com/email/123/abc.wml" + bytes([0x00, 0x07, 0x01, 0x03])
                + b"You have 4 new emails" + bytes([0x00, 0x01, 0x01]))
    assert doc == expected


@pytest.mark.parametrize("href,token,rest", [
    ("https://www.a.b/", 0x0F, b"a.b/"), ("http://x.y/z", 0x0C, b"x.y/z"),
    ("https://x.y", 0x0E, b"x.y"), ("HTTP://WWW.A.B", 0x0D, b"A.B")])
def test_href_scheme_is_folded_into_the_attribute_token(href: str, token: int, rest: bytes) -> None:
    doc = wap_push.si_document(href, "")
    assert doc[6] == token and doc[7] == 0x03 and doc[8:8 + len(rest)] == rest
    assert doc.endswith(bytes([0x00, 0x07, 0x01, 0x01, 0x01]))      # no content, END END


def test_push_pdu_and_service_indication() -> None:
    udh, data = wap_push.service_indication("http://www.example.com/", "Hi", tid=0x25)
    assert udh == bytes.fromhex("05040B8423F0")
    assert data[:6] == bytes([0x25, 0x06, 0x03, 0xAE, 0xAF, 0x84])
    assert data[6:] == wap_push.si_document("http://www.example.com/", "Hi")
    part = binary.encode_submit("+447700900123", data, udh=udh)[0]
    assert py_codec.decode(part.hex).data == data


def test_nul_in_push_text_is_refused() -> None:
    with pytest.raises(EncodingError):
        wap_push.si_document("http://a.b/", "x\x00y")
