"""HTTP Basic and Digest checking against the real Service user checks (temp SQLite store).

Digest is an opt-in per user: "admin" and "web" have it, "plain" does not."""
from __future__ import annotations

import base64
import hashlib
import urllib.request
from typing import Any, Iterator

import pytest
from hypothesis import given, settings, strategies as st

from smsd.api.auth import REALM, HttpAuth, split_http_list
from smsd.errors import BadRequest
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store.db import Store


@pytest.fixture
def svc(tmp_path: Any) -> Iterator[Service]:
    store = Store(str(tmp_path / "smsd.db"))
    service = Service(store, Scheduler(store), {})
    service.users.add("admin", "s3cret", admin=True, digest=True)
    service.users.add("web", "pw", perms={"web"}, digest=True)
    service.users.add("plain", "pw2", perms={"api:json"})
    yield service
    store.close()


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def sha256(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def digest_header(auth: HttpAuth, user: str = "admin", pw: str = "s3cret", uri: str = "/api/x",
                  nonce: str = "", algorithm: str = "MD5") -> str:
    """An RFC 7616 answer computed here, independently of the code under test."""
    h = sha256 if algorithm == "SHA-256" else md5
    nonce = nonce or auth.new_nonce()
    ha1, ha2 = h(f"{user}:{REALM}:{pw}"), h(f"GET:{uri}")
    resp = h(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    return (f'Digest username="{user}", realm="{REALM}", nonce="{nonce}", uri="{uri}", '
            f'algorithm={algorithm}, qop=auth, nc=00000001, cnonce="abc", response="{resp}"')


def test_basic(svc: Service) -> None:
    auth = HttpAuth(svc.users)
    assert auth.check(basic("admin", "s3cret"), "GET", perm="api:json").user == "admin"
    assert auth.check(basic("admin", "nope"), "GET", perm="api:json").user is None
    assert auth.check("Basic !!!", "GET", perm="api:json").user is None
    assert auth.check(None, "GET", perm="api:json").user is None
    result = auth.check(basic("web", "pw"), "GET", perm="api:json")
    assert result.user is None and result.forbidden


def test_digest_good_bad_stale_and_forbidden(svc: Service) -> None:
    now = [1000.0]
    auth = HttpAuth(svc.users, clock=lambda: now[0])
    assert auth.check(digest_header(auth), "GET", perm="api:json").user == "admin"
    assert auth.check(digest_header(auth, pw="wrong"), "GET", perm="api:json").user is None
    assert auth.check(digest_header(auth, nonce="1000.000:forged"), "GET",
                      perm="api:json").user is None
    assert auth.check(digest_header(auth, user="web", pw="pw"), "GET", perm="api:json").forbidden
    old = digest_header(auth)
    now[0] += 3600
    result = auth.check(old, "GET", perm="api:json")
    assert result.user is None and result.stale
    assert any("stale=true" in c for c in auth.challenges(result.stale))



def test_a_digest_answer_without_key_value_pairs_is_no_credentials(svc: Service) -> None:
    """urllib's parse_keqv_list raises on an item with no '=' or an empty value: the check
    itself answers "no user" (a 401 with the challenges) whoever calls it."""
    auth = HttpAuth(svc.users)
    for header in ("Digest a", "Digest a=", 'Digest username="admin", x', "Digest ,=",
                   'Digest username="admin", realm="smsd", nonce="\xe9:\xe9"',
                   digest_header(auth).replace('response="', 'response="\xe9')):
        assert auth.check(header, "GET", perm="api:json").user is None, header

def test_throttled_logins_are_refused_unchecked_for_both_schemes(svc: Service) -> None:
    auth = HttpAuth(svc.users)
    for _ in range(5):
        result = auth.check(basic("admin", "nope"), "GET", perm="api:json", remote="10.0.0.1")
        assert result.user is None and result.throttled is None
    for header in (basic("admin", "s3cret"), digest_header(auth)):
        result = auth.check(header, "GET", perm="api:json", remote="10.0.0.1")
        assert result.user is None and result.throttled is not None
        assert result.throttled.retry_seconds == 1
    assert auth.check(digest_header(auth), "GET", perm="api:json", remote="10.0.0.2").user \
        == "admin"


def test_digest_sha256_is_offered_first_and_both_algorithms_work(svc: Service) -> None:
    auth = HttpAuth(svc.users)
    offered = auth.challenges()
    assert [c.split(",")[2].strip() for c in offered[:2]] == ["algorithm=SHA-256", "algorithm=MD5"]
    assert offered[2] == f'Basic realm="{REALM}"'
    for algorithm in ("SHA-256", "MD5"):
        header = digest_header(auth, algorithm=algorithm)
        assert auth.check(header, "GET", perm="api:json").user == "admin"
    # An answer made with the other algorithm's hash does not pass for this one.
    mixed = digest_header(auth, algorithm="MD5").replace("algorithm=MD5", "algorithm=SHA-256")
    assert auth.check(mixed, "GET", perm="api:json").user is None
    assert auth.check(digest_header(auth, algorithm="SHA-512"), "GET",
                      perm="api:json").user is None


def test_a_user_without_digest_is_led_down_to_basic(svc: Service) -> None:
    """The same answers, rung by rung, for no Digest, no such user and a wrong password."""
    auth = HttpAuth(svc.users)
    cases = [("plain", "pw2"), ("nobody", "x"), ("admin", "wrong")]
    for user, pw in cases:
        first = auth.check(digest_header(auth, user, pw, algorithm="SHA-256"), "GET",
                           perm="api:json")
        assert (first.user, first.stale, first.digest_from) == (None, True, 1), user
        offered = auth.challenges(first.stale, first.digest_from)
        assert len(offered) == 2 and "algorithm=MD5" in offered[0] and "stale=true" in offered[0]
        second = auth.check(digest_header(auth, user, pw), "GET", perm="api:json")
        assert (second.user, second.stale, second.digest_from) == (None, False, 2), user
        assert auth.challenges(second.stale, second.digest_from) == [f'Basic realm="{REALM}"']
    assert auth.check(basic("plain", "pw2"), "GET", perm="api:json").user == "plain"


def test_only_answers_checked_against_a_secret_count_as_failures(svc: Service) -> None:
    """A client walking down to Basic for a user without Digest is never throttled for it; a
    wrong Digest answer for a user with Digest is a failed login like a wrong Basic password."""
    auth = HttpAuth(svc.users)
    for _ in range(20):
        for algorithm in ("SHA-256", "MD5"):
            auth.check(digest_header(auth, "plain", "pw2", algorithm=algorithm), "GET",
                       perm="api:json", remote="10.0.0.3")
        assert auth.check(basic("plain", "pw2"), "GET", perm="api:json",
                          remote="10.0.0.3").user == "plain"
    for _ in range(5):
        result = auth.check(digest_header(auth, "admin", "guess", algorithm="SHA-256"), "GET",
                            perm="api:json", remote="10.0.0.4")
        assert result.throttled is None
    result = auth.check(digest_header(auth, algorithm="SHA-256"), "GET", perm="api:json",
                        remote="10.0.0.4")
    assert result.user is None and result.throttled is not None


def test_digest_off_and_on_again(svc: Service) -> None:
    auth = HttpAuth(svc.users)
    svc.users.set_digest("admin", None)
    assert svc.users.digest_algorithms("admin") == []
    assert auth.check(digest_header(auth), "GET", perm="api:json").user is None
    with pytest.raises(BadRequest):
        svc.users.set_digest("admin", "not the password")
    svc.users.set_digest("admin", "s3cret")
    assert svc.users.digest_algorithms("admin") == ["SHA-256", "MD5"]
    assert auth.check(digest_header(auth, algorithm="SHA-256"), "GET", perm="api:json").user \
        == "admin"
    svc.users.passwd("admin", "n3w")                  # Digest stays on, made from the new one
    assert auth.check(digest_header(auth, pw="n3w"), "GET", perm="api:json").user == "admin"
    svc.users.passwd("admin", "n4w", digest=False)
    assert svc.users.digest_algorithms("admin") == []
    svc.users.passwd("plain", "pw3", digest=True)
    assert auth.check(digest_header(auth, "plain", "pw3", algorithm="SHA-256"), "GET",
                      perm="api:json").user == "plain"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet='a=", \t\\', max_size=16) | st.text(max_size=40))
def test_the_digest_list_splits_as_urllib_does(text: str) -> None:
    """split_http_list is urllib's parse_http_list made faster: the same list for any text."""
    assert split_http_list(text) == urllib.request.parse_http_list(text)


def test_the_digest_list_of_a_real_answer() -> None:
    answer = ('username="ann", realm="smsd", nonce="1.000:ab", uri="/api/x?a=1,2", '
              'algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c,d", response="ff", '
              'opaque="smsd"')
    assert split_http_list(answer) == urllib.request.parse_http_list(answer)
    assert split_http_list('a="x\\",y", b=1,') == urllib.request.parse_http_list('a="x\\",y", b=1,')


def test_a_disabled_user_is_refused_by_digest_and_basic_alike(svc: Service) -> None:
    auth = HttpAuth(svc.users)
    svc.users.add("dee", "pw3", perms={"api:json"}, digest=True)
    for header in (digest_header(auth, user="dee", pw="pw3"), basic("dee", "pw3")):
        assert auth.check(header, "GET", perm="api:json").user == "dee"
    svc.users.set_disabled("dee", True)
    for header in (digest_header(auth, user="dee", pw="pw3"), basic("dee", "pw3")):
        result = auth.check(header, "GET", perm="api:json")
        assert result.user is None and result.forbidden
    svc.users.set_disabled("dee", False)
    assert auth.check(digest_header(auth, user="dee", pw="pw3"), "GET", perm="api:json").user \
        == "dee"
