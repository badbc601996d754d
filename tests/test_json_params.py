"""The JSON API's parameter parsing: a lone surrogate is refused in every form a body can carry
it (the cheap pre-check must not let one through), and the recipients' short path reads a
`{"number": ...}` object exactly as the general one does."""
from __future__ import annotations

import json
from typing import Any

import pytest

from smsd.api.json_api import _recipient
from smsd.api.params import BadParam, Params
from smsd.model import Recipient

ESCAPED = b'{"text":"a\\ud800b","param":[{"number":"1"}]}'


@pytest.mark.parametrize("raw", [
    ESCAPED,
    ESCAPED.replace(b"\\ud800", b"\\uDFFF"),                      # upper case hex
    ESCAPED.replace(b"\\ud800", b"\\uDbff"),
    '{"text":"a\ud800b"}'.encode("utf-8", "surrogatepass"),     # raw bytes: json.loads passes them
    '{"text":"\u00e9\\ud800"}'.encode("utf-8"),                  # non-ASCII body, escaped surrogate
    ESCAPED.decode().encode("utf-16-le"),                        # UTF-16 (json.loads detects it)
    '{"text":"a\ud800"}'.encode("utf-16-be", "surrogatepass"),
    ESCAPED.decode().encode("utf-32"),
    b'{"param":[{"number":"1","text_param":["\\udc00"]}]}',      # nested
])
def test_a_lone_surrogate_is_refused_in_every_form(raw: bytes) -> None:
    with pytest.raises(BadParam, match="surrogate"):
        Params.parse(raw, {})


@pytest.mark.parametrize("raw, text", [
    (b'{"text":"a\\\\ud800"}', "a\\ud800"),                       # an escaped backslash: no escape
    (b'{"text":"\\ud83d\\ude00"}', "\U0001F600"),                  # a pair is one character
    (b'{"text":"\\u00e9"}', "\u00e9"),
    ('{"text":"\u00e9\U0001F600"}'.encode("utf-8"), "\u00e9\U0001F600"),
    (b'{"text":"plain"}', "plain"),
])
def test_bodies_without_a_lone_surrogate_pass(raw: bytes, text: str) -> None:
    assert Params.parse(raw, {}).string("text") == text


def _general(obj: dict[str, Any]) -> Recipient:
    """The general path of _recipient: what it makes of any object."""
    return _recipient({**obj, "unknown_key": None})     # a second key takes the general path


@pytest.mark.parametrize("obj", [
    {"number": "+447700900123"}, {"number": ""}, {"number": "12a"}, {"number": " 1 "},
])
def test_the_short_recipient_path_reads_as_the_general_one(obj: dict[str, Any]) -> None:
    short = _recipient(obj)
    assert short == _general(obj) == Recipient(obj["number"])
    assert short.text_param == () and short.user_id is None


@pytest.mark.parametrize("obj", [
    {"number": 447700900123},                # an integer: the general path converts it
    {"number": True}, {"number": None}, {"number": ["1"]}, {},
    {"number": "1", "text_param": ["a"]}, {"number": "1", "user_id": 3},
])
def test_other_objects_take_the_general_path(obj: dict[str, Any]) -> None:
    item = Params(obj, {})
    try:
        number = item.string("number", required=True, allow_int=True)
        expected: Recipient | type[BadParam] = Recipient(
            number or "", tuple(item.str_list("text_param") or []),
            item.integer("user_id", minimum=0))
    except BadParam:
        expected = BadParam
    if expected is BadParam:
        with pytest.raises(BadParam):
            _recipient(obj)
    else:
        assert _recipient(obj) == expected


def test_a_bulk_body_parses_to_its_recipients() -> None:
    body = json.dumps({"text": "x", "param": [{"number": f"+4477{i:08d}"} for i in range(128)]})
    p = Params.parse(body.encode(), {})
    assert [_recipient(o).number for o in p.objects("param")] == [
        f"+4477{i:08d}" for i in range(128)]
