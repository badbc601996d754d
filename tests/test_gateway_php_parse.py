"""gateway.php dialect: parameter checks, number and sender rules, replies, report mapping."""
from __future__ import annotations

from dataclasses import replace

import pytest

from smsd.api import gateway_php as gw
from smsd.api.legacy import split_pairs
from smsd.errors import (AuthError, BadRequest, Forbidden, InsufficientCredit, NoPortAvailable,
                         TooLarge, TooManyParts)
from smsd.model import MessageState
from smsd.store import outbox

FULL = {"clientuser": "ann", "clientpwd": "pw", "message": "hi", "to": "447700900123",
        "sender": "Shop"}


def code_of(fn, *args):  # type: ignore[no-untyped-def]
    with pytest.raises(gw.GatewayError) as info:
        fn(*args)
    return info.value.code


@pytest.mark.parametrize("missing, code", [
    ("clientuser", 100), ("clientpwd", 101), ("message", 102), ("to", 103)])
def test_empty_fields_in_vendor_order(missing: str, code: int) -> None:
    for empty in ({k: v for k, v in FULL.items() if k != missing}, {**FULL, missing: "  "}):
        assert code_of(gw.send_params, empty) == code


def test_first_missing_field_wins() -> None:
    assert code_of(gw.send_params, {"message": "x"}) == 100
    assert code_of(gw.send_params, {"clientuser": "a", "to": "1"}) == 101
    assert code_of(gw.send_params, {"clientuser": "a", "clientpwd": "b"}) == 102


def test_to_of_only_commas_is_empty() -> None:
    assert code_of(gw.send_params, {**FULL, "to": " , ,"}) == 103


def test_flags_accept_yes_ja_1_in_any_case() -> None:
    for word in ("yes", "ja", "1", "YES", "Ja", "true"):
        p = gw.send_params({**FULL, "delivery": word, "test": word})
        assert p.delivery and p.test
    for word in ("no", "nee", "0", "", "yess"):
        p = gw.send_params({**FULL, "delivery": word, "test": word})
        assert not p.delivery and not p.test


def test_type_long_only_when_it_says_long() -> None:
    assert gw.send_params({**FULL, "type": "LONG"}).long
    assert not gw.send_params({**FULL, "type": "text"}).long
    assert not gw.send_params(FULL).long


def test_recipients_split_on_commas_with_plus_restored() -> None:
    # "+4477..." sent unencoded arrives as " 4477...".
    p = gw.send_params({**FULL, "to": " 447700900123, 447700900124;0044 7700 900125"})
    assert p.numbers == ("+447700900123", "+447700900124", "0044 7700 900125")


@pytest.mark.parametrize("given, want", [
    ("+447700900123", "+447700900123"),
    ("447700900123", "+447700900123"),
    ("00447700900123", "+447700900123"),
    ("+44 (0)7700-900.123".replace("(0)", ""), "+447700900123"),
    ("31612345678", "+31612345678"),
    ("6834321", "+6834321"),                 # 7 digits: Niue
    ("1" + "2" * 14, "+1" + "2" * 14),       # 15 digits: E.164 maximum
])
def test_numbers_normalise_to_international(given: str, want: str) -> None:
    assert gw.normalise_number(given) == want


@pytest.mark.parametrize("bad", [
    "07700900123",            # national: no country code
    "+07700900123", "000447700", "12345", "1" * 16, "+", "00", "44770090012a", "++44770090",
    "4477 0090 0123 4567 8",
])
def test_bad_numbers_are_106(bad: str) -> None:
    assert code_of(gw.normalise_number, bad) == 106


def test_number_or_address_book_name() -> None:
    assert gw.is_number("+44 7700-900123") and gw.is_number("0044")
    assert not gw.is_number("Sales team") and not gw.is_number("bob")


@pytest.mark.parametrize("given, want", [
    ("Shop", "Shop"), ("My Shop 24", "My Shop 24"), ("A" * 11, "A" * 11),
    ("+447700900123", "+447700900123"), (" 447700900123", "+447700900123"),
    ("+" + "1" * 15, "+" + "1" * 15), ("Shop1", "Shop1"),
])
def test_good_senders(given: str, want: str) -> None:
    assert gw.check_sender(given) == want


@pytest.mark.parametrize("bad, code", [
    ("", 109), ("   ", 109),
    ("447700900123", 110), ("0612345678", 110),
    ("A" * 12, 111), ("+" + "1" * 16, 111),
    ("Shop!", 113), ("Café", 113), ("Ann&Co", 113), ("+44-7700", 113), ("a_b", 113),
])
def test_bad_senders(bad: str, code: int) -> None:
    assert code_of(gw.check_sender, bad) == code


@pytest.mark.parametrize("exc, long, code", [
    (TooManyParts("x"), False, 105), (TooManyParts("x"), True, 118),
    (TooLarge("x"), False, 105), (TooLarge("x"), True, 118),
    (InsufficientCredit("x"), False, 108), (AuthError("x"), False, 104),
    (Forbidden("x"), False, 116), (NoPortAvailable("x"), False, 120),
    (BadRequest("x"), False, 120),
])
def test_service_refusals_map_to_vendor_codes(exc: Exception, long: bool, code: int) -> None:
    assert gw.service_code(exc, long) == code  # type: ignore[arg-type]


def test_accepted_bodies() -> None:
    assert gw.accepted_body((7,), delivery=False, test=False) == "OK"
    assert gw.accepted_body((7,), delivery=True, test=False) == "OK 7"
    assert gw.accepted_body((7, 9, 12), delivery=True, test=False) == "OK 7,9,12"
    assert gw.accepted_body((), delivery=True, test=True) == "OK 0"
    assert gw.accepted_body((), delivery=False, test=True) == "OK"


def test_credit_bodies_are_bare_numbers() -> None:
    assert gw.credits_body(476) == "476"
    assert gw.credits_body(0) == "0"
    assert gw.credits_body(None) == str(gw.UNLIMITED_CREDITS)
    assert gw.UNLIMITED_CREDITS < 2 ** 31


BASE = MessageState(message_id=5, task_id=1, port=0, number="+447700900123", user_id=None,
                    time="2026-01-01 00:00:00", status="SENDING", count=1, succ_count=0,
                    ref_id=None, imsi="")


@pytest.mark.parametrize("changes, word", [
    ({}, "NONE"),                                                       # queued
    ({"count": 2, "succ_count": 1}, "SUBMITTED"),                       # half on the air
    ({"status": "SENT_OK", "succ_count": 1}, "SUBMITTED"),
    ({"status": "SENT_OK", "succ_count": 1, "dr_status": 0x20}, "BUFFERED"),
    ({"status": "SENT_OK", "succ_count": 1, "dr_status": 0x3F}, "BUFFERED"),
    ({"status": "SENT_OK", "succ_count": 1, "dr_status": 0x40}, "NOT DELIVERED"),
    ({"status": "SENT_OK", "succ_count": 1, "dr_status": 0x65}, "NOT DELIVERED"),
    ({"status": "DELIVERED", "succ_count": 1, "dr_status": 0}, "DELIVERED"),
    ({"status": "SENT_OK", "count": 2, "succ_count": 2, "dr_status": 0}, "SUBMITTED"),
    ({"status": "FAILED", "reason": "CMS 500 unknown error"}, "REJECTED"),
    ({"status": "FAILED", "reason": "text cannot be encoded"}, "REJECTED"),
    ({"status": "FAILED", "reason": outbox.REASON_UNKNOWN}, "NONE"),
    ({"status": "FAILED", "reason": outbox.REASON_STOPPED}, "NONE"),
    ({"status": "FAILED", "count": 2, "succ_count": 1, "reason": "CMS 38"}, "SUBMITTED"),
])
def test_report_words(changes: dict[str, object], word: str) -> None:
    assert gw.report_word(replace(BASE, **changes)) == word  # type: ignore[arg-type]


def test_report_for_unknown_or_malformed_ids() -> None:
    assert gw.report_word(None) == "NONE"

    class Users:
        def authenticate(self, user: str, password: str, perm: str, remote: str) -> str:
            return user

    class Sending:
        def message(self, message_id: int, user: str | None = None) -> None:
            return None

    class NoMessages:                  # the two service subjects report() uses
        users = Users()
        sending = Sending()
    login = {"clientuser": "u", "clientpwd": "p"}
    for smsid in ("", "abc", "-1", "1.5", "9" * 40, "١٢", "5 OR 1=1"):
        assert gw.report(NoMessages(), {**login, "smsid": smsid}, "127.0.0.1") == "NONE"
    assert gw.report(NoMessages(), {**login, "smsid": " 42 "}, "127.0.0.1") == "NONE"


def test_no_verdict_reasons_are_the_stores_words() -> None:
    assert gw.NO_VERDICT_REASONS == {outbox.REASON_UNKNOWN, outbox.REASON_STOPPED}


def test_unencoded_message_as_last_parameter_keeps_everything() -> None:
    raw = "clientuser=a&clientpwd=b&to=447700900123&sender=S&message=R&D 100% done #1 a=b&c"
    params = split_pairs(raw, gw.TEXT_KEYS, gw.KNOWN)
    assert params["message"] == "R&D 100% done #1 a=b&c"
    assert gw.send_params(params).message == "R&D 100% done #1 a=b&c"


def test_case_insensitive_names() -> None:
    raw = "ClientUser=a&CLIENTPWD=b&To=447700900123&Sender=S&Message=hello+world&Delivery=JA"
    p = gw.send_params(split_pairs(raw, gw.TEXT_KEYS, gw.KNOWN))
    assert (p.user, p.password, p.message, p.delivery) == ("a", "b", "hello world", True)


def test_password_is_kept_as_given() -> None:
    assert gw.credentials({"clientuser": " ann ", "clientpwd": " pass word "}) == \
        ("ann", " pass word ")
    assert code_of(gw.credentials, {"clientuser": "ann", "clientpwd": "   "}) == 101
