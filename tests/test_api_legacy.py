"""Lenient parameter parsing for legacy HTTP clients."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsd.api.legacy import lenient_unquote, restore_plus, split_pairs

KNOWN = frozenset({"user", "passwd", "to", "text", "cat", "enc"})
TEXT = frozenset({"text"})


def test_well_formed() -> None:
    got = split_pairs("User=a&PASSWD=b%20c&to=%2B4477&text=hello%20world", TEXT, KNOWN)
    assert got == {"user": "a", "passwd": "b c", "to": "+4477", "text": "hello world"}


def test_unencoded_text_keeps_ampersand_percent_and_hash() -> None:
    got = split_pairs("user=a&to=1&text=Disk 95% full & rising #3", TEXT, KNOWN)
    assert got["text"] == "Disk 95% full & rising #3"
    got = split_pairs("user=a&text=R&D at 100%&to=1", TEXT, KNOWN)
    assert got["text"] == "R&D at 100%" and got["to"] == "1"


def test_plus_that_arrived_as_space() -> None:
    got = split_pairs("to=+447700900123,+447700900124", TEXT, KNOWN)
    assert [restore_plus(n) for n in got["to"].split(",")] == ["+447700900123", "+447700900124"]
    assert restore_plus('"447700900123"') == "447700900123"


def test_non_utf8_falls_back_to_latin1() -> None:
    assert lenient_unquote("caf%E9") == "café"
    assert lenient_unquote("caf%C3%A9") == "café"


def _unquote_reference(raw: str, plus_is_space: bool) -> str:
    """lenient_unquote's rule written out without its short cut for plain ASCII."""
    data = raw.encode("latin-1", "replace")
    if plus_is_space:
        data = data.replace(b"+", b" ")
    data = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@given(st.text(alphabet=st.sampled_from("ab+% 2Fé\u00c3\u00a9&=\x00~"), max_size=12),
       st.booleans())
def test_unquote_short_cut_reads_as_the_rule(raw: str, plus_is_space: bool) -> None:
    assert lenient_unquote(raw, plus_is_space=plus_is_space) == _unquote_reference(
        raw, plus_is_space)


@pytest.mark.parametrize("raw, plus, want", [
    ("admin", True, "admin"), ("a+b", True, "a b"), ("a+b", False, "a+b"),
    ("caf\u00c3\u00a9", True, "café"), ("100%", True, "100%"), ("%41", True, "A"),
])
def test_unquote_plain_and_encoded(raw: str, plus: bool, want: str) -> None:
    assert lenient_unquote(raw, plus_is_space=plus) == want
