"""What the relay and the device agree on, with no I/O: the hello, which headers travel, how
secrets are kept and compared, the back-off and the rate limit.

Transport (why HTTP/2): the device dials one TLS connection (ALPN "h2") to the relay's device
port and plays the HTTP/2 *server* there; the relay is the *client*. Each API client request
becomes one stream the relay opens, so many requests share the connection, HTTP/2 flow control
gives back-pressure both ways, and h2 (sans-I/O, in Debian 12) does all the framing. The first
stream is the hello: the relay asks `GET /_drp/hello` and the device answers with its serial and
secret in headers; a refused device gets a GOAWAY saying why.
"""
from __future__ import annotations

import hashlib
import hmac
import random
import re
import secrets
from dataclasses import dataclass

ALPN = "h2"
HELLO_PATH = "/_drp/hello"
SERIAL_HEADER = "x-drp-serial"
SECRET_HEADER = "x-drp-secret"
VERSION_HEADER = "x-drp-version"
VERSION = "1"
REFUSED = b"refused: unknown serial or wrong secret"
REPLACED = b"replaced by a newer connection of the same device"

PING_EVERY = 15.0            # seconds between keep-alive PINGs, both ends
PING_TIMEOUT = 10.0          # no PING ack (or any frame) within this: the link is dead
HELLO_TIMEOUT = 10.0
MAX_BODY = 2 << 20           # a forwarded request body: the box's own cap (api/server.py)
MAX_HEADER_BYTES = 64 << 10
MAX_STREAMS = 100            # concurrent requests per device (the device's SETTINGS)

# Hop-by-hop headers (RFC 9110 7.6.1) and the ones HTTP/2 forbids: never forwarded.
# Content-Length travels: the relay sets its own on a request (it has the whole body), the box's
# goes back to the client.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding",
                        b"te", b"upgrade", b"trailer", b"proxy-authenticate",
                        b"proxy-authorization", b"host"})
WELCOME = b"DRPWELC1"        # the opaque data of the PING the relay sends once it accepted a device

_SERIAL = re.compile(r"^[0-9a-z][0-9a-z-]{0,62}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def normal_serial(text: str) -> str | None:
    """A serial as the relay keys it: spaces dropped (19.3 writes `Product_sns= 0123-...`),
    lower case (the box prints hex in lower case); None when it is not a serial at all."""
    sn = "".join(text.split()).lower()
    return sn if _SERIAL.match(sn) else None


def normal_fingerprint(text: str) -> str | None:
    """A SHA-256 fingerprint as 64 hex digits; colons, spaces and case are forgiven."""
    fp = re.sub(r"[\s:]", "", text).lower()
    if fp.startswith("sha256"):
        fp = fp[len("sha256"):].lstrip("=")
    return fp if _FINGERPRINT.match(fp) else None


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """"salt$hash": a device secret is random (144 bits), so one salted SHA-256 suffices;
    an account password is a person's and gets scrypt (hash_password)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.sha256(salt + secret.encode("utf-8")).hexdigest()
    return f"{salt.hex()}${digest}"


def secret_matches(secret: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    try:
        again = hash_secret(secret, bytes.fromhex(salt))
    except ValueError:
        return False
    return hmac.compare_digest(again.encode(), stored.encode())


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2 ** 14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    kind, _, rest = stored.partition("$")
    salt, _, _ = rest.partition("$")
    if kind != "scrypt":
        return False
    try:
        again = hash_password(password, bytes.fromhex(salt))
    except ValueError:
        return False
    return hmac.compare_digest(again.encode(), stored.encode())


def backoff(attempt: int, base: float = 1.0, cap: float = 60.0,
            rand: random.Random | None = None) -> float:
    """Seconds before reconnect attempt `attempt` (0 = the first after a loss): exponential,
    capped, "full jitter" over its upper half so a relay restart is not met by every box at the
    same instant."""
    top = min(cap, base * (2 ** min(attempt, 16)))
    return top * (0.5 + 0.5 * (rand or random).random())


@dataclass
class TokenBucket:
    """`rate` requests per second on average, bursts of `burst`; time is an argument."""
    rate: float
    burst: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


Headers = list[tuple[bytes, bytes]]


def forwardable(headers: Headers) -> Headers:
    """The end-to-end headers of a request or answer (names lower case, as HTTP/2 wants)."""
    return [(k.lower(), v) for k, v in headers
            if k.lower() not in HOP_BY_HOP and not k.startswith(b":")]


def without_cookie(headers: Headers, name: bytes) -> Headers:
    """Drop the relay's own session cookie from Cookie headers; the box never sees it."""
    out = []
    for key, value in headers:
        if key == b"cookie":
            kept = [c for c in value.split(b";") if c.strip().partition(b"=")[0] != name]
            if not any(c.strip() for c in kept):
                continue
            value = b";".join(kept).strip()
        out.append((key, value))
    return out
