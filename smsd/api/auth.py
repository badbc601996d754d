"""HTTP Basic and Digest authentication for the API dialects that use HTTP auth.

The JSON gateway API documents `curl --anyauth`, which answers whichever challenge it likes best;
older clients only speak Basic. One 401 offers Digest with SHA-256 (RFC 7616), then Digest with
MD5 (the algorithm every deployed Digest client speaks), then Basic; any of them is accepted.

Digest is an opt-in per user (smsd/store/users.py keeps its HA1s only for those users): the
challenge goes out before the user is known, so a Digest answer the store cannot check is met
with the next way in, as a ladder: a failed SHA-256 answer gets a 401 offering MD5 with
stale=true (clients retry without asking for the password again), a failed MD5 answer a 401
offering Basic alone, which `curl --anyauth` then uses. Every failure on a rung gets the same
answer whatever the reason (no such user, no Digest, wrong password), so the answers do not tell
which names exist; only an answer checked against a stored HA1 counts as a failed login, so a
client walking down the ladder to Basic is not throttled for it.

Nonces are stateless: "<issue time>:<hmac>" under a per-process secret, so no table of issued
nonces is needed and a nonce expires by age.
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
# The Digest algorithms offered, in order of preference (RFC 7616 section 3.7).
DIGEST_ALGORITHMS = ("SHA-256", "MD5")
_HASHES = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}


class Credentials(Protocol):
    """The service's user checks (`svc.users`, smsd/service/users.py): throttle and permissions
    live there."""

    def authenticate(self, name: str, password: str, perm: str, *, remote: str = "") -> str: ...
    def throttle_check(self, name: str, *, remote: str = "") -> None: ...
    def digest_user(self, name: str, realm: str, algorithm: str,
                    perm: str) -> tuple[str, bool] | None: ...
    def failed(self, name: str, *, remote: str = "") -> None: ...
    def succeeded(self, name: str, *, remote: str = "") -> None: ...


@dataclass(frozen=True)
class AuthResult:
    user: str | None
    stale: bool = False      # Digest nonce too old: client should retry with the new one
    forbidden: bool = False  # good credentials, but the user lacks the permission
    throttled: Throttled | None = None   # refused unchecked: too many failed logins
    digest_from: int = 0     # the 401 offers DIGEST_ALGORITHMS[digest_from:] (then Basic)


def _hash(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode("utf-8")).hexdigest()


def _algorithm(fields: dict[str, str]) -> str | None:
    """The answer's algorithm as DIGEST_ALGORITHMS spells it (absent means MD5), else None."""
    wanted = fields.get("algorithm", "MD5").upper()
    return next((a for a in DIGEST_ALGORITHMS if a == wanted), None)


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
    def check(self, header: str | None, method: str, *, perm: str, remote: str = "",
              uri: str | None = None) -> AuthResult:
        """`uri`: the request-target as received; a Digest answer made for another one is
        refused (else an answer overheard on one call would pass for another for the nonce's
        lifetime). None: not checked."""
        if not header:
            return AuthResult(None)
        scheme, _, rest = header.strip().partition(" ")
        scheme = scheme.lower()
        try:
            if scheme == "basic":
                return self._check_basic(rest.strip(), perm, remote)
            if scheme == "digest":
                return self._check_digest(rest, method, perm, remote, uri)
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

    def _check_digest(self, rest: str, method: str, perm: str, remote: str,
                      uri: str | None) -> AuthResult:
        if not rest.isascii():
            # Waitress hands headers over as Latin-1; a non-ASCII nonce or response made
            # hmac.compare_digest raise TypeError (a bare 500). No valid answer holds one.
            return AuthResult(None)
        try:
            fields = urllib.request.parse_keqv_list(split_http_list(rest))
        except (ValueError, IndexError):    # "Digest a" or "Digest a=": no credentials at all
            return AuthResult(None)
        name, nonce = fields.get("username", ""), fields.get("nonce", "")
        algorithm = _algorithm(fields)
        if not name or not nonce or fields.get("realm") != REALM or algorithm is None:
            return AuthResult(None)
        state = self._nonce_state(nonce)
        if state == "stale":
            return AuthResult(None, stale=True)     # not a failed guess: not counted
        self._creds.throttle_check(name, remote=remote)     # Throttled while blocked
        rung = DIGEST_ALGORITHMS.index(algorithm) + 1
        # The next way in; stale=true makes clients retry at once with the algorithm offered.
        refused = AuthResult(None, stale=rung < len(DIGEST_ALGORITHMS), digest_from=rung)
        found = self._creds.digest_user(name, REALM, algorithm, perm)
        if found is None:
            return refused            # no such user, or no Digest (with it): nothing guessed
        ha1, granted = found
        expected = _digest_response(ha1, method, fields, algorithm)
        if state != "ok" or not expected or (uri is not None and fields.get("uri") != uri) \
                or not hmac.compare_digest(fields.get("response", ""), expected):
            try:
                self._creds.failed(name, remote=remote)     # counts, raises AuthError
            except AuthError:
                return refused
        self._creds.succeeded(name, remote=remote)
        if not granted:
            raise Forbidden(f"user {name!r} lacks permission {perm}")
        return AuthResult(name)

    def challenges(self, stale: bool = False, digest_from: int = 0) -> list[str]:
        """The WWW-Authenticate values of a 401: Digest per algorithm from `digest_from` on,
        best first, then Basic."""
        nonce = self.new_nonce()
        tail = ", stale=true" if stale else ""
        return [f'Digest realm="{REALM}", qop="auth", algorithm={algorithm}, nonce="{nonce}", '
                f'opaque="{REALM}"{tail}' for algorithm in DIGEST_ALGORITHMS[digest_from:]] \
            + [f'Basic realm="{REALM}"']


def split_http_list(text: str) -> list[str]:
    """urllib.request.parse_http_list, the same list for every text: it reads one character at a
    time in Python (14 us for a Digest answer, on every Digest request); without a backslash
    (no escaped quote) a comma splits wherever the quotes before it are balanced, which
    str.split and a count find (4 us). tests/test_api_auth.py compares the two."""
    if "\\" in text:
        return urllib.request.parse_http_list(text)
    parts: list[str] = []
    part: str | None = None                       # a part whose quote is still open
    for piece in text.split(","):
        part = piece if part is None else f"{part},{piece}"
        if part.count('"') % 2 == 0:
            parts.append(part)
            part = None
    if part is None:
        if not parts[-1]:                         # like parse_http_list: no empty last part
            parts.pop()
    elif part:
        parts.append(part)
    return [p.strip() for p in parts]


def _digest_response(ha1: str, method: str, f: dict[str, str], algorithm: str) -> str:
    ha2 = _hash(algorithm, f"{method}:{f.get('uri', '')}")
    qop = f.get("qop")
    if qop == "auth":
        return _hash(algorithm,
                     f"{ha1}:{f['nonce']}:{f.get('nc', '')}:{f.get('cnonce', '')}:{qop}:{ha2}")
    if qop is None:           # RFC 2069 clients
        return _hash(algorithm, f"{ha1}:{f['nonce']}:{ha2}")
    return ""                 # auth-int (a digest of the body) is not offered: never matches
