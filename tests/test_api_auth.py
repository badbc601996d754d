"""HTTP Basic and Digest checking against a credentials store (a small fake of the store)."""
from __future__ import annotations

import base64
import hashlib

from smsd.api.auth import REALM, HttpAuth, digest_ha1


class Creds:
    def __init__(self) -> None:
        self.users = {"admin": "s3cret"}

    def user_check(self, name: str, password: str) -> bool:
        return self.users.get(name) == password

    def user_digest_ha1(self, name: str, realm: str) -> str | None:
        pw = self.users.get(name)
        return None if pw is None else digest_ha1(name, realm, pw)


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def digest_header(auth: HttpAuth, pw: str = "s3cret", uri: str = "/api/x", nonce: str = "") -> str:
    nonce = nonce or auth.new_nonce()
    ha1, ha2 = md5(f"admin:{REALM}:{pw}"), md5(f"GET:{uri}")
    resp = md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    return (f'Digest username="admin", realm="{REALM}", nonce="{nonce}", uri="{uri}", '
            f'qop=auth, nc=00000001, cnonce="abc", response="{resp}"')


def test_basic() -> None:
    auth = HttpAuth(Creds())
    good = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"admin:nope").decode()
    assert auth.check(good, "GET").user == "admin"
    assert auth.check(bad, "GET").user is None
    assert auth.check("Basic !!!", "GET").user is None
    assert auth.check(None, "GET").user is None


def test_digest_good_bad_and_stale() -> None:
    now = [1000.0]
    auth = HttpAuth(Creds(), clock=lambda: now[0])
    assert auth.check(digest_header(auth), "GET").user == "admin"
    assert auth.check(digest_header(auth, pw="wrong"), "GET").user is None
    assert auth.check(digest_header(auth, nonce="1000.000:forged"), "GET").user is None
    old = digest_header(auth)
    now[0] += 3600
    result = auth.check(old, "GET")
    assert result.user is None and result.stale
    assert any("stale=true" in c for c in auth.challenges(result.stale))
