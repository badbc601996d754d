"""Lenient parameter parsing for legacy HTTP clients."""
from __future__ import annotations

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
