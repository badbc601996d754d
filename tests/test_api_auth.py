"""HTTP Basic and Digest checking against the real Service user checks (temp SQLite store)."""
from __future__ import annotations

import base64
import hashlib
from typing import Any, Iterator

import pytest

from smsd.api.auth import REALM, HttpAuth
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store.db import Store


@pytest.fixture
def svc(tmp_path: Any) -> Iterator[Service]:
    store = Store(str(tmp_path / "smsd.db"))
    service = Service(store, Scheduler(store), {})
    service.user_add("admin", "s3cret", admin=True)
    service.user_add("web", "pw", perms={"web"})
    yield service
    store.close()


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def digest_header(auth: HttpAuth, user: str = "admin", pw: str = "s3cret", uri: str = "/api/x",
                  nonce: str = "") -> str:
    nonce = nonce or auth.new_nonce()
    ha1, ha2 = md5(f"{user}:{REALM}:{pw}"), md5(f"GET:{uri}")
    resp = md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    return (f'Digest username="{user}", realm="{REALM}", nonce="{nonce}", uri="{uri}", '
            f'qop=auth, nc=00000001, cnonce="abc", response="{resp}"')


def test_basic(svc: Service) -> None:
    auth = HttpAuth(svc)
    assert auth.check(basic("admin", "s3cret"), "GET", perm="api:json").user == "admin"
    assert auth.check(basic("admin", "nope"), "GET", perm="api:json").user is None
    assert auth.check("Basic !!!", "GET", perm="api:json").user is None
    assert auth.check(None, "GET", perm="api:json").user is None
    result = auth.check(basic("web", "pw"), "GET", perm="api:json")
    assert result.user is None and result.forbidden


def test_digest_good_bad_stale_and_forbidden(svc: Service) -> None:
    now = [1000.0]
    auth = HttpAuth(svc, clock=lambda: now[0])
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


def test_throttled_logins_are_refused_unchecked_for_both_schemes(svc: Service) -> None:
    auth = HttpAuth(svc)
    for _ in range(5):
        result = auth.check(basic("admin", "nope"), "GET", perm="api:json", remote="10.0.0.1")
        assert result.user is None and result.throttled is None
    for header in (basic("admin", "s3cret"), digest_header(auth)):
        result = auth.check(header, "GET", perm="api:json", remote="10.0.0.1")
        assert result.user is None and result.throttled is not None
        assert result.throttled.retry_seconds == 1
    assert auth.check(digest_header(auth), "GET", perm="api:json", remote="10.0.0.2").user \
        == "admin"
