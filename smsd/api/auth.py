"""HTTP Basic and Digest authentication for the API dialects that use HTTP auth.

The JSON gateway API documents `curl --anyauth`, which answers whichever challenge the server
offers first; older clients only speak Basic. We offer both in one 401 (Digest first, as the vendor
boxes do) and accept either.

Digest (RFC 7616 with MD5, the algorithm every deployed client speaks; qop=auth or none) needs
HA1 = MD5(user:realm:password), which the store keeps beside the slow password hash. Nonces are
stateless: "<issue time>:<hmac>" under a per-process secret, so no table of issued nonces is needed
and a nonce expires by age.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import urllib.request
from dataclasses import dataclass
from typing import Callable, Protocol

from smsd.errors import AuthError, Forbidden, Throttled

REALM = "smsd"
NONCE_LIFETIME = 300.0


class Credentials(Protocol):
    """The service's user checks (smsd/service_users.py): throttle and permissions live there."""

    def authenticate(self, name: str, password: str, perm: str, *, remote: str = "") -> str: ...
    def auth_throttle_check(self, name: str, *, remote: str = "") -> None: ...
    def user_digest_ha1(self, name: str, realm: str) -> str | None: ...
    def user_has_perm(self, name: str, perm: str) -> bool: ...
    def auth_failed(self, name: str, *, remote: str = "") -> None: ...
    def auth_succeeded(self, name: str, *, remote: str = "") -> None: ...


@dataclass(frozen=True)
class AuthResult:
    user: str | None
    stale: bool = False      # Digest nonce too old: client should retry with the new one
    forbidden: bool = False  # good credentials, but the user lacks the permission
    throttled: Throttled | None = None   # refused unchecked: too many failed logins


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class HttpAuth:
    """Checks an Authorization header; builds the 401 challenge."""

    def __init__(self, creds: Credentials, *, clock: Callable[[], float] = time.time) -> None:
        self._creds = creds
        self._clock = clock
        self._secret = secrets.token_bytes(32)

    # --- nonces ---------------------------------------------------------------------------------
    def _nonce_mac(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def new_nonce(self) -> str:
        stamp = f"{self._clock():.3f}"
        return f"{stamp}:{self._nonce_mac(stamp)}"

    def _nonce_state(self, nonce: str) -> str:
        """'ok', 'stale' or 'bad'."""
        stamp, _, mac = nonce.partition(":")
        if not hmac.compare_digest(mac, self._nonce_mac(stamp)):
            return "bad"
        try:
            age = self._clock() - float(stamp)
        except ValueError:
            return "bad"
        # The stamp is rounded to the millisecond, so a nonce used at once can look a little
        # younger than zero.
        return "ok" if -1.0 <= age <= NONCE_LIFETIME else "stale"

    # --- checking -------------------------------------------------------------------------------
    def check(self, header: str | None, method: str, *, perm: str,
              remote: str = "") -> AuthResult:
        if not header:
            return AuthResult(None)
        scheme, _, rest = header.strip().partition(" ")
        scheme = scheme.lower()
        try:
            if scheme == "basic":
                return self._check_basic(rest.strip(), perm, remote)
            if scheme == "digest":
                return self._check_digest(rest, method, perm, remote)
        except Forbidden:
            return AuthResult(None, forbidden=True)
        except Throttled as exc:
            return AuthResult(None, throttled=exc)
        except AuthError:
            pass
        return AuthResult(None)

    def _check_basic(self, token: str, perm: str, remote: str) -> AuthResult:
        try:
            raw = base64.b64decode(token, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return AuthResult(None)
        name, sep, password = raw.partition(":")
        if not sep:
            return AuthResult(None)
        return AuthResult(self._creds.authenticate(name, password, perm, remote=remote))

    def _check_digest(self, rest: str, method: str, perm: str, remote: str) -> AuthResult:
        fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))
        name, nonce = fields.get("username", ""), fields.get("nonce", "")
        if not name or not nonce or fields.get("realm") != REALM:
            return AuthResult(None)
        state = self._nonce_state(nonce)
        if state == "stale":
            return AuthResult(None, stale=True)     # not a failed guess: not counted
        self._creds.auth_throttle_check(name, remote=remote)     # Throttled while blocked
        ha1 = self._creds.user_digest_ha1(name, REALM)
        expected = "" if ha1 is None else _digest_response(ha1, method, fields)
        if state != "ok" or not hmac.compare_digest(fields.get("response", ""), expected) \
                or not expected:
            self._creds.auth_failed(name, remote=remote)     # counts, raises AuthError
        self._creds.auth_succeeded(name, remote=remote)
        if not self._creds.user_has_perm(name, perm):
            raise Forbidden(f"user {name!r} lacks permission {perm}")
        return AuthResult(name)

    def challenges(self, stale: bool = False) -> list[str]:
        digest = (f'Digest realm="{REALM}", qop="auth", algorithm=MD5, '
                  f'nonce="{self.new_nonce()}", opaque="{REALM}"')
        if stale:
            digest += ", stale=true"
        return [digest, f'Basic realm="{REALM}"']


def _digest_response(ha1: str, method: str, f: dict[str, str]) -> str:
    ha2 = _md5(f"{method}:{f.get('uri', '')}")
    qop = f.get("qop")
    if qop in ("auth", "auth-int"):
        return _md5(f"{ha1}:{f['nonce']}:{f.get('nc', '')}:{f.get('cnonce', '')}:{qop}:{ha2}")
    return _md5(f"{ha1}:{f['nonce']}:{ha2}")


def digest_ha1(name: str, realm: str, password: str) -> str:
    """HA1 as the store keeps it (computed once when a password is set)."""
    return _md5(f"{name}:{realm}:{password}")
