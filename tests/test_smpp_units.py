"""The SMPP server's pure parts: the PDU decoder's refusals (and a fuzz of it), the session's
state table, the receipt text, the smpp number policy and the [smpp] config section."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smpplib import consts as C

from smsd import config
from smsd.errors import ConfigError
from smsd.numbers import smpp_number
from smsd.smpp import pdus, receipts
from smsd.smpp.session import Session


def frame(name: str, **fields: object) -> bytes:
    return pdus.encode(pdus.make(name, sequence=3, **fields))


def test_round_trip_keeps_sequence_and_tlvs() -> None:
    pdu = pdus.decode(frame("submit_sm", destination_addr="4479", short_message=b"hi",
                            sar_msg_ref_num=7, sar_total_segments=2, sar_segment_seqnum=1))
    assert (pdu.sequence, pdu.destination_addr, pdu.short_message) == (3, b"4479", b"hi")
    assert (pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum) == (7, 2, 1)
    assert pdus.decode(frame("cancel_sm", message_id="12")).message_id == b"12"


@pytest.mark.parametrize("data, status", [
    (struct.pack(">LLLL", 16, 0x99, 0, 1), C.SMPP_ESME_RINVCMDID),
    # a destination_addr with no NUL before the end
    (struct.pack(">LLLL", 24, 4, 0, 1) + b"\0\0\0" + b"12345", C.SMPP_ESME_RINVSRCADR),
    # a TLV whose length runs past the end
    (frame("query_sm", message_id="1") + b"\x02\x0c\x00\x09\x00", C.SMPP_ESME_RINVOPTPARSTREAM),
    # an integer TLV of the wrong size
    (frame("submit_sm", destination_addr="1") + b"\x02\x0e\x00\x02\x00\x01",
     C.SMPP_ESME_RINVPARLEN),
])
def test_malformed_bodies_get_their_status(data: bytes, status: int) -> None:
    data = struct.pack(">L", len(data)) + data[4:]
    with pytest.raises(pdus.PduError) as err:
        pdus.decode(data)
    assert err.value.status == status


def test_over_long_system_id_is_refused() -> None:
    body = b"a" * 20 + b"\0" + b"pw\0\0" + bytes(3) + b"\0"
    data = struct.pack(">LLLL", 16 + len(body), 9, 0, 1) + body
    with pytest.raises(pdus.PduError) as err:
        pdus.decode(data)
    assert err.value.status == C.SMPP_ESME_RINVSYSID


@settings(max_examples=3000, deadline=None)
@given(st.integers(0, 0x110), st.binary(max_size=200))
def test_decoder_fuzz_only_decodes_or_refuses(command_id: int, body: bytes) -> None:
    for cid in (command_id, command_id | 0x80000000):
        data = struct.pack(">LLLL", 16 + len(body), cid, 0, 1) + body
        try:
            pdus.decode(data)
        except pdus.PduError as exc:
            assert 0 < exc.status <= 0xFF


def test_session_states() -> None:
    s = Session()
    assert s.check("submit_sm") == C.SMPP_ESME_RINVBNDSTS
    assert s.check("replace_sm") == C.SMPP_ESME_RINVCMDID
    s.bind("bind_receiver", "u", "")
    assert s.check("submit_sm") == C.SMPP_ESME_RINVBNDSTS
    assert s.check("bind_transmitter") == C.SMPP_ESME_RALYBND
    assert s.check("deliver_sm_resp") == s.check("unbind") == C.SMPP_ESME_ROK


def test_receipt_text() -> None:
    text = receipts.receipt_text({"message_id": 42, "status": "FAILED", "count": 2,
                                  "submitted": 0, "done": 0, "text": "x" * 30,
                                  "dr_status": 0x41})
    assert text.startswith("id:42 sub:002 dlvrd:000 submit date:")
    assert text.endswith(" stat:UNDELIV err:065 text:" + "x" * 20)
    assert receipts.message_state("FAILED", "stopped") == receipts.DELETED


@pytest.mark.parametrize("address, ton, npi, number", [
    ("447700900123", 1, 1, "+447700900123"), ("+447700900123", 0, 1, "+447700900123"),
    ("07700900123", 2, 1, "07700900123"), ("07700 900123", 0, 0, "07700900123"),
    ("shop", 5, 0, None), ("447700900123", 1, 9, None), ("+4477", 2, 1, None),
    ("1" * 21, 1, 1, None),
])
def test_smpp_number_policy(address: str, ton: int, npi: int, number: str | None) -> None:
    assert smpp_number(address, ton, npi) == number


def test_smpp_config_section(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "smsd.conf"
    path.write_text("[smpp]\nlisten = :2775\nmax_queue = 50\n")
    values = config.load_file(str(path))
    assert values["smpp_listen"] == "0.0.0.0:2775" and values["smpp_max_queue"] == 50
    assert config.Config().smpp_listen is None          # off unless configured
    path.write_text("[smpp]\nlisten = nowhere\n")
    with pytest.raises(ConfigError):
        config.load_file(str(path))


@pytest.mark.parametrize("dc, coding", [(0, 0), (8, 8), (4, 4), (0xF1, 0), (0xF5, 4), (0x30, 0x30)])
def test_data_coding_alphabets(dc: int, coding: int) -> None:
    from smsd.smpp.submit import piece
    pdu = pdus.decode(frame("submit_sm", destination_addr="1", data_coding=dc, short_message=b"x"))
    assert piece(pdu, "u").coding == coding
