"""iSMS dialect: parameter parsing, text encodings, status codes and the recvmsg line format."""
from __future__ import annotations

import pytest

from smsd.api.isms import (IsmsError, decode_text, encode_type, inbox_filter, job_status,
                           number, recipient_items, render_messages, small_int, split_list)
from smsd.model import InboundSms, InboxFilter, MessageState


def code_of(fn, *args):  # type: ignore[no-untyped-def]
    with pytest.raises(IsmsError) as info:
        fn(*args)
    return info.value.code


# --- text ---------------------------------------------------------------------------------------
def test_plain_text_is_kept_as_sent() -> None:
    assert decode_text("Disk 95% full & rising #3", None) == "Disk 95% full & rising #3"
    assert decode_text("café", 1) == "café"


def test_hex_values_separated_by_semicolons() -> None:
    assert decode_text("0645;41;646", 2) == "\u0645A\u0646"
    assert decode_text("48;49;", 2) == "HI"                 # a trailing separator is tolerated
    assert decode_text("d83d;de00", 2) == "\U0001F600"      # a surrogate pair is one character


def test_decimal_values_separated_by_semicolons() -> None:
    assert decode_text("1605;65;65300", 3) == "\u0645A\uff14"
    assert decode_text("72; 73", 3) == "HI"


@pytest.mark.parametrize("raw, enc", [
    ("", None), (None, 0), ("", 2),
    ("12345", 2), ("zz", 2), ("41;;42", 2), ("41 42", 2), (";", 2),
    ("65536", 3), ("123456", 3), ("-5", 3), ("0x41", 3),
    ("d83d", 2), ("de00;41", 2),                           # lone surrogates
    ("0", 3), ("a\x00b", 0),                               # NUL
])
def test_invalid_text_is_621(raw: str | None, enc: int | None) -> None:
    assert code_of(decode_text, raw, enc) == 621


# --- small integers -----------------------------------------------------------------------------
@pytest.mark.parametrize("raw, code", [("2", 603), ("x", 603), ("-1", 603), ("1.0", 603),
                                       ("9" * 30, 603), ("１", 603)])
def test_bad_small_int_gets_its_code(raw: str, code: int) -> None:
    assert code_of(small_int, {"cat": raw}, "cat", 1, 603, lambda v: v == 1) == code


def test_small_int_default_and_quotes() -> None:
    assert small_int({}, "priority", 2, 620, lambda v: 1 <= v <= 3) == 2
    assert small_int({"priority": '"3"'}, "priority", 2, 620, lambda v: 1 <= v <= 3) == 3


# --- recipients ---------------------------------------------------------------------------------
def test_quoted_and_unquoted_lists() -> None:
    assert split_list('"Bob","Ann Lee", ,""') == ["Bob", "Ann Lee"]
    assert split_list("admin,rd") == ["admin", "rd"]


def test_numbers_with_plus_lost_to_a_space_and_separators() -> None:
    params = {"to": ' 447700900123,"0170-555 12",%s' % '"+4915"'}
    assert recipient_items(params) == ["+447700900123", "017055512", "+4915"]
    assert recipient_items({"to": '" 4477"," 4478"'}) == ["+4477", "+4478"]


def test_names_and_groups_follow_numbers() -> None:
    params = {"to": "123", "ton": '"Bob","Ann"', "group": '"Engineering"'}
    assert recipient_items(params) == ["123", "Bob", "Ann", "Engineering"]


@pytest.mark.parametrize("raw", ["12a4", "++12", "+", "1" * 25, "abc"])
def test_invalid_number_is_606(raw: str) -> None:
    assert code_of(number, raw) == 606


def test_overlong_name_is_606() -> None:
    assert code_of(recipient_items, {"ton": "x" * 51}) == 606


# --- querymsg status ----------------------------------------------------------------------------
def state(status: str, *, port: int | None = 0, succ: int = 0, task: int = 1) -> MessageState:
    return MessageState(message_id=1, task_id=task, port=port, number="1", user_id=None,
                        time="2026-01-01 00:00:00", status=status, count=1, succ_count=succ,
                        ref_id=None, imsi="")


@pytest.mark.parametrize("statuses, code", [
    ([], 5),
    (["SENT_OK"], 0), (["DELIVERED", "SENT_OK"], 0),
    (["FAILED", "SENT_OK"], 1), (["DELIVERED", "FAILED"], 1),
    (["FAILED"], 4), (["FAILED", "FAILED"], 4),
    (["SENDING", "SENT_OK"], 2),
])
def test_job_status(statuses: list[str], code: int) -> None:
    assert job_status([state(s) for s in statuses]) == code


def test_queued_but_not_started_is_request_received() -> None:
    assert job_status([state("SENDING", port=None), state("SENDING", port=None)]) == 3
    assert job_status([state("SENDING", port=2)]) == 2


# --- recvmsg ------------------------------------------------------------------------------------
def inbound(text: str, ident: int = 1) -> InboundSms:
    return InboundSms(ident, 0, "+447700900123", "", "2026-11-23 02:36:20", text)


def test_recvmsg_lines() -> None:
    body = render_messages([inbound("ACK host"), inbound("café", 2), inbound("Привет\nx", 3)],
                           more=False)
    assert body.split("\n") == [
        "1", "1", "3",
        "1", "+447700900123", "26/11/23", "02:36:20", "ASCII", "ACK host",
        "2", "+447700900123", "26/11/23", "02:36:20", "Extended ASCII", "café",
        "3", "+447700900123", "26/11/23", "02:36:20", "Unicode",
        "041F04400438043204350442000A0078"]


def test_recvmsg_empty_and_more_to_come() -> None:
    assert render_messages([], more=False) == "1\n0\n0"
    assert render_messages([inbound("a")], more=True).split("\n")[:3] == ["0", "1", "1"]


def test_unicode_hex_round_trips_through_enc_2() -> None:
    kind, body = encode_type("Ωmega 😀")
    assert kind == "Unicode"
    assert decode_text(";".join(body[i:i + 4] for i in range(0, len(body), 4)), 2) == "Ωmega 😀"


@pytest.mark.parametrize("params, code", [
    ({"fdate": "2026-11-23"}, 616), ({"fdate": "26/02/30"}, 616), ({"tdate": "26/13/01"}, 616),
    ({"ttime": "2pm"}, 616), ({"ftime": "24:00:00"}, 616), ({"from": "abc"}, 619),
    ({"text": "x" * 281}, 604),
])
def test_recvmsg_filter_refusals(params: dict[str, str], code: int) -> None:
    assert code_of(inbox_filter, params) == code


def test_recvmsg_filters_as_the_manual_writes_them() -> None:
    match = inbox_filter({"from": " 447700900123", "fdate": "26/11/01", "tdate": "26/11/30",
                          "ftime": "08:00:00", "ttime": "17:30:00", "text": "ACK web01"})
    assert match == InboxFilter(sender="+447700900123", day_from="2026-11-01",
                                day_to="2026-11-30", time_from="08:00:00", time_to="17:30:00",
                                text="ACK web01")
    assert inbox_filter({"fdate": "28/02/29"}) == InboxFilter(day_from="2028-02-29")


def test_no_filter_is_none() -> None:
    assert inbox_filter({"user": "u", "passwd": "p", "count": "3", "text": ""}) is None
