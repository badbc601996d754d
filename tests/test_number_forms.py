"""smsd.numbers' helpers for numbers already normalised, subscription keys and subscriber
matches: the one place the code base shapes a phone number."""
from __future__ import annotations

import pytest

from smsd.numbers import POLICIES, is_normal, msisdn, normalise_number, same_subscriber


@pytest.mark.parametrize("text,ok", [
    ("+447700900001", True), ("07700900001", True), ("1", True), ("+" + "9" * 24, True),
    ("+" + "9" * 25, False), ("", False), ("+", False), ("44 77", False), ("٤٤٧", False),
    ("²", False), ("+-1", False), ("1\n", False),
])
def test_is_normal(text: str, ok: bool) -> None:
    assert is_normal(text) is ok


def test_is_normal_bounds() -> None:
    assert is_normal("+12", 20, 3) is False and is_normal("+123", 20, 3)
    assert is_normal("9" * 40, None) and not is_normal("9" * 40)


@pytest.mark.parametrize("text,key", [
    ("+44 7700-900123", "447700900123"), ("0044 7700 900123", "447700900123"),
    ("447700900123", "447700900123"), ("07700900123", "07700900123"),
    ("abc12345", None), ("", None), ("+", None),
])
def test_msisdn(text: str, key: str | None) -> None:
    assert msisdn(text) == key


@pytest.mark.parametrize("a,b,same", [
    ("+447911123456", "447911123456", True), ("07911123456", "+447911123456", True),
    ("0044 7911 123456", "+447911123456", True), ("10086", "20086", False),
    ("+447911123456", "+447911123457", False), ("Vodafone", "Vodafone", True),
    ("ABC1234567", "XYZ1234567", False), ("", "+447911123456", False),
])
def test_same_subscriber(a: str, b: str, same: bool) -> None:
    assert same_subscriber(a, b) is same and same_subscriber(b, a) is same


def test_web_policy_takes_numbers_as_typed() -> None:
    web = POLICIES["web"]
    assert normalise_number("+44 (0)7700-900.001", web) == "+4407700900001"
    assert normalise_number("07700 900001", web) == "07700900001"
    assert normalise_number("ann", web) is None and normalise_number("1" * 25, web) is None


@pytest.mark.parametrize("text,number", [
    ("+447700900000", "+447700900000"), (" 447700900000", "+447700900000"), ("123", "123"),
    ("12", None), ("+1" + "9" * 30, None), ("+44 7700", None), ("abc", None),
])
def test_smsc_policy(text: str, number: str | None) -> None:
    assert normalise_number(text, POLICIES["smsc"]) == number
