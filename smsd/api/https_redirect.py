"""Plain HTTP sent to the HTTPS port: answered with a redirect to the same URL over https://.

A browser pointed at `http://box:443/` (or an old client configured with the wrong scheme) sends
a plain request where a TLS ClientHello belongs. Closing the connection leaves the user with
"connection reset" and no idea why; like nginx's 497 handling, smsd.api.server's TlsChannel
tells the two apart by the first byte (a TLS record starts with 0x16, an HTTP request with a
method's letter), reads the request head without TLS and answers it here:

* a well-formed request with a usable Host header: 301 (GET, HEAD) or 308 (any other method, so
  that a client repeats its POST as it was) to `https://<Host as sent><request target>`: the
  port in Host is the HTTPS port the request reached, so the URL is the same but for the scheme;
* anything else (no Host, a strange Host or target): 400 with a sentence saying to use https://.

Pure functions: bytes in, bytes out; the channel does the reading and writing.
"""
from __future__ import annotations

import re

HEAD_MAX = 8192               # bytes of request head read before answering whatever came
_REQUEST_LINE = re.compile(rb"([A-Z]{3,12}) (/[\x21-\x7e]{0,2000}) HTTP/1\.[01]")
_HOST = re.compile(rb"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])"
                   rb"(?::[0-9]{1,5})?")
USE_HTTPS = b"This port speaks HTTPS: use https:// in the address.\n"


def looks_like_plain_http(first: bytes) -> bool:
    """Is the first byte of a connection to the HTTPS port the start of a plain HTTP request?"""
    return first[:1].isalpha()


def complete(head: bytes) -> bool:
    """Has enough of the request head arrived to answer it?"""
    return b"\r\n\r\n" in head or b"\n\n" in head or len(head) >= HEAD_MAX


def answer(head: bytes) -> bytes:
    """The whole HTTP/1.1 response to a plain request head (the connection closes after it)."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    request = _REQUEST_LINE.fullmatch(lines[0])
    host = _host(lines[1:])
    if request is None or host is None:
        return _response(b"400 Bad Request", [], USE_HTTPS)
    method, target = request.groups()
    status = b"301 Moved Permanently" if method in (b"GET", b"HEAD") else \
        b"308 Permanent Redirect"
    location = b"https://" + host + target
    body = USE_HTTPS if method != b"HEAD" else b""
    return _response(status, [(b"Location", location)], body, length=len(USE_HTTPS))


def _host(header_lines: list[bytes]) -> bytes | None:
    hosts = [line.split(b":", 1)[1].strip() for line in header_lines
             if line[:5].lower() == b"host:"]
    if len(hosts) != 1 or not _HOST.fullmatch(hosts[0]):
        return None
    return hosts[0]


def _response(status: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
              length: int | None = None) -> bytes:
    lines = [b"HTTP/1.1 " + status, b"Content-Type: text/plain; charset=utf-8",
             b"Content-Length: " + str(len(body) if length is None else length).encode(),
             b"Connection: close", b"Cache-Control: no-store"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
