"""The login throttle over real HTTP on loopback, every dialect: a throttled login is refused at
once with the dialect's own auth error, and other addresses are not affected (127.0.0.x source
addresses play the hosts)."""
from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Iterator

import pytest

from front import PW, USERS, Front, login_request, refused_as_auth_error, serves_the_user


@pytest.fixture
def front(tmp_path: Path) -> Iterator[Front]:
    f = Front(str(tmp_path / "smsd.db")).start()
    yield f
    f.close()


@pytest.mark.parametrize("dialect", sorted(USERS))
def test_a_throttled_address_gets_the_dialects_auth_error_at_once_others_get_in(
        front: Front, dialect: str) -> None:
    attacker, other = "127.0.0.2", "127.0.0.3"
    for _ in range(5):
        reply = front.get(*login_request(dialect, "guess"), source=attacker)
        assert refused_as_auth_error(dialect, reply), reply
    target, headers = login_request(dialect, PW)
    refused = front.get(target, headers=headers, source=attacker)   # the right password, too
    assert refused_as_auth_error(dialect, refused), refused
    assert refused.seconds < 1.0                 # answered, not slept on (it used to wait 5 s)
    if dialect == "json":
        assert refused.headers["retry-after"] == "1" and "too many failed logins" in refused.body
    assert serves_the_user(dialect, front.get(target, headers=headers, source=other))


def test_a_flood_of_bad_logins_leaves_other_addresses_served(front: Front) -> None:
    bad = login_request("json", "guess")
    good = login_request("json", PW)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        flood = [pool.submit(front.get, *bad, source="127.0.0.4") for _ in range(200)]
        served = [front.get(*good, source="127.0.0.5") for _ in range(20)]
        answers = [f.result() for f in flood]
    elapsed = time.monotonic() - started
    assert all(refused_as_auth_error("json", a) for a in answers)
    assert all(serves_the_user("json", r) for r in served)
    # Five guesses were checked, then one each time a block (1 s, 2 s, 4 s...) ran out while
    # the flood lasted; the rest were refused unchecked.
    checked = sum("too many failed logins" not in a.body for a in answers)
    assert checked <= 5 + blocks_ended_within(elapsed)
    # The user's name was guessed only five times: a new address still gets in.
    assert serves_the_user("json", front.get(*good, source="127.0.0.6"))


def blocks_ended_within(seconds: float) -> int:
    ended, at, block = 0, 0.0, 1.0
    while at + block <= seconds:
        at, block, ended = at + block, block * 2, ended + 1
    return ended
