"""Encoding choice, part limits and concatenation (TS 23.040 9.2.3.24), on every backend."""
from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdu_backends import codec  # noqa: F401
from smsd.errors import CodecError, EncodingError
from smsd.pdu import tables

TURKISH = "\u015f\u011f\u0131\u0130\u015e"          # in the Turkish tables, not in the default


def decode_all(codec: ModuleType, parts: list) -> list:   # type: ignore[type-arg]
    return [codec.decode(p.hex) for p in parts]


@pytest.mark.parametrize("text, encoding, parts, first_len", [
    ("a" * 160, "gsm7", 1, 160), ("a" * 161, "gsm7", 2, 153), ("a" * 306, "gsm7", 2, 153),
    ("a" * 307, "gsm7", 3, 153),
    ("\u4e16" * 70, "ucs2", 1, 70), ("\u4e16" * 71, "ucs2", 2, 67), ("\u4e16" * 134, "ucs2", 2, 67),
    ("\u4e16" * 135, "ucs2", 3, 67),
    ("a" * 140, "8bit", 1, 140), ("a" * 141, "8bit", 2, 134),
    ("{" * 80, "gsm7", 1, 80), ("{" * 81, "gsm7", 2, 76),   # 2 septets each, in no locking table
])
def test_part_limits(codec: ModuleType, text: str, encoding: str, parts: int,
                     first_len: int) -> None:
    encoded = codec.encode_submit("+1", text, encoding=encoding)
    assert len(encoded) == parts == codec.count_parts(text, encoding)
    assert len(encoded[0].text) == first_len
    msgs = decode_all(codec, encoded)
    assert "".join(m.text or m.data.decode("latin-1") for m in msgs) == text
    assert all(m.encoding == encoding for m in msgs)


def test_sixteen_bit_reference_costs_one_unit(codec: ModuleType) -> None:
    gsm = codec.encode_submit("+1", "a" * 400, concat16=True, concat_ref=0x1234)
    assert [len(p.text) for p in gsm] == [152, 152, 96]
    assert [codec.decode(p.hex).concat for p in gsm] == [(0x1234, 3, 1), (0x1234, 3, 2),
                                                        (0x1234, 3, 3)]
    assert codec.decode(gsm[0].hex).udh[0].iei == 0x08
    ucs2 = codec.encode_submit("+1", "\u4e16" * 133, concat16=True)
    assert [len(p.text) for p in ucs2] == [66, 66, 1]


def test_reference_is_taken_modulo_its_field(codec: ModuleType) -> None:
    parts = codec.encode_submit("+1", "a" * 200, concat_ref=0x1FF)
    assert codec.decode(parts[0].hex).concat == (0xFF, 2, 1)


def test_escape_sequence_never_split(codec: ModuleType) -> None:
    text = "a" * 152 + "\u20ac" + "b" * 10
    parts = codec.encode_submit("+1", text)
    assert [p.text for p in parts] == ["a" * 152, "\u20ac" + "b" * 10]
    assert [m.text for m in decode_all(codec, parts)] == [p.text for p in parts]


def test_surrogate_pair_never_split(codec: ModuleType) -> None:
    text = "\u4e16" * 66 + "\U0001F600" + "x" * 5       # 73 UTF-16 units: two parts
    parts = codec.encode_submit("+1", text)
    assert [p.text for p in parts] == ["\u4e16" * 66, "\U0001F600xxxxx"]
    assert [m.text for m in decode_all(codec, parts)] == [p.text for p in parts]


def test_too_many_parts(codec: ModuleType) -> None:
    assert codec.count_parts("a" * 153 * 255) == 255
    with pytest.raises(CodecError):
        codec.encode_submit("+1", "a" * (153 * 255 + 1))


def test_forced_encodings(codec: ModuleType) -> None:
    assert codec.decode(codec.encode_submit("+1", "abc", encoding="ucs2")[0].hex).encoding == "ucs2"
    with pytest.raises(EncodingError):
        codec.encode_submit("+1", "\u4e16", encoding="gsm7")
    with pytest.raises(EncodingError):
        codec.encode_submit("+1", "\u4e16", encoding="8bit")
    with pytest.raises(CodecError):
        codec.encode_submit("+1", "abc", encoding="utf8")
    with pytest.raises(EncodingError):
        codec.encode_submit("+1", "\ud800", encoding="ucs2")     # lone surrogate


def test_choose_encoding_prefers_default_then_ucs2_on_ties(codec: ModuleType) -> None:
    assert codec.choose_encoding("Hello {world} \u20ac") == "gsm7"
    assert codec.choose_encoding("\u4e16\u754c") == "ucs2"
    # One part either way: UCS2 wins the tie (it displays on every handset).
    assert codec.choose_encoding("G\u00fczel " + TURKISH) == "ucs2"


def test_national_table_used_when_allowed_and_it_saves_parts(codec: ModuleType) -> None:
    text = ("Merhaba d\u00fcnya, bu bir deneme mesaj\u0131d\u0131r " + TURKISH) * 3
    assert codec.count_parts(text, "ucs2") > codec.count_parts(text, languages=(1,))
    assert codec.choose_encoding(text, languages=(1,)) == "gsm7"
    assert codec.choose_encoding(text) == "ucs2"            # not allowed: UCS2
    parts = codec.encode_submit("+90", text, languages=(1,))
    msgs = decode_all(codec, parts)
    assert "".join(m.text for m in msgs) == text
    ieis = {e.iei for e in msgs[0].udh}
    assert ieis & {0x24, 0x25}
    assert len(parts) == codec.count_parts(text, languages=(1,))


def test_forced_gsm7_may_use_an_allowed_national_table(codec: ModuleType) -> None:
    msg = codec.decode(codec.encode_submit("+90", "\u015fey", encoding="gsm7",
                                           languages=(1,))[0].hex)
    assert (msg.encoding, msg.text) == ("gsm7", "\u015fey")
    assert {e.iei for e in msg.udh} & {0x24, 0x25}
    with pytest.raises(EncodingError):
        codec.encode_submit("+90", "\u015fey", encoding="gsm7")


@pytest.mark.parametrize("ies, single, multi", [(1, 155, 149), (2, 152, 146)])
def test_national_ies_shrink_the_parts(codec: ModuleType, ies: int, single: int,
                                       multi: int) -> None:
    # Hindi letters need the Hindi locking table (one IE); "%" is in no locking table that has
    # them, so it adds a single shift table (two IEs) and costs two septets (ESC + code).
    extra = "" if ies == 1 else "%"
    text = "\u0915" * (single - 2 * len(extra)) + extra
    parts = codec.encode_submit("+91", text, encoding="gsm7", languages=(6,))
    msg = codec.decode(parts[0].hex)
    assert len(parts) == 1 and msg.text == text
    assert len([e for e in msg.udh if e.iei in (0x24, 0x25)]) == ies
    longer = codec.encode_submit("+91", "\u0915" + text, encoding="gsm7", languages=(6,))
    assert [len(p.text) for p in longer] == [multi, len(text) + 1 - multi]


_GSM_CHARS = "".join(tables.GSM7_DEFAULT.values()) + "".join(tables.GSM7_EXTENSION.values())
_texts = st.one_of(
    st.text(alphabet=_GSM_CHARS, max_size=700),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400),
    st.text(alphabet=_GSM_CHARS + TURKISH + "\u0915\u0916\u4e16\U0001F600", max_size=500),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_texts, concat16=st.booleans(), ref=st.integers(0, 0xFFFF),
       languages=st.sampled_from([(), (1,), (6,), (1, 2, 3), tuple(range(1, 14))]))
def test_round_trip(codec: ModuleType, text: str, concat16: bool, ref: int,
                    languages: tuple[int, ...]) -> None:
    parts = codec.encode_submit("+447700900123", text, concat_ref=ref, concat16=concat16,
                                languages=languages)
    assert len(parts) == codec.count_parts(text, languages=languages) or concat16
    msgs = decode_all(codec, parts)
    assert "".join(m.text for m in msgs) == text
    assert [p.text for p in parts] == [m.text for m in msgs]
    assert all(m.number == "+447700900123" for m in msgs)
    if len(parts) > 1:
        mask = 0xFFFF if concat16 else 0xFF
        assert [m.concat for m in msgs] == [(ref & mask, len(parts), i + 1)
                                            for i in range(len(parts))]
    for p in parts:
        octets = bytes.fromhex(p.hex)
        assert p.tpdu_len == len(octets) - 1
        assert len(octets) - 1 - 13 <= 140           # header fields + at most 140 octets of UD
