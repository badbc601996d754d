"""Parameters and replies for old, odd HTTP clients (iSMS, gateway.php, IntelliSoftware, Ozeki).

What the field sends, and what we do about it:
- parameters by GET query or POST form, names in any case -> one dict with lower-case names;
- text that is not URL-encoded, so a raw `&`, `%` or `#` appears in it -> we read the raw request
  URI (a `#` would otherwise be cut off as a fragment), decode `%XX` only where it is valid, and
  when the text parameter is the LAST one, everything after `text=` is the text;
- `+` in numbers not encoded, so it arrives as a space -> `plus_number()` restores it;
- bytes that are not UTF-8 -> decoded as Latin-1 rather than refused;
- a multipart body that cannot be read (no boundary) -> no fields from it, rather than an error;
- HTTP/1.1 without a Host header that reads until the server closes -> `close_connection()`
  makes waitress close after the reply.
"""
from __future__ import annotations

import logging
import re
from typing import Mapping

import bottle

log = logging.getLogger("smsd.api")

_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")


def lenient_unquote(raw: str, *, plus_is_space: bool = True) -> str:
    """Percent-decode what is valid, keep a stray `%` as it is, then decode UTF-8 or Latin-1."""
    if raw.isascii() and "%" not in raw and (not plus_is_space or "+" not in raw):
        return raw      # nothing to decode: ASCII reads the same in UTF-8 (most names, many values)
    data = raw.encode("latin-1", "replace")
    if plus_is_space:
        data = data.replace(b"+", b" ")
    data = _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_pairs(raw: str, text_keys: frozenset[str], known: frozenset[str]) -> dict[str, str]:
    """Parse `a=1&b=2`; a text parameter swallows any `&` not followed by a known name."""
    out: dict[str, str] = {}
    pieces = raw.split("&")
    i = 0
    while i < len(pieces):
        name, _, value = pieces[i].partition("=")
        key = lenient_unquote(name).strip().lower()
        i += 1
        if key in text_keys:
            # Join following pieces back while they do not look like one of our parameters.
            while i < len(pieces) and pieces[i].partition("=")[0].strip().lower() not in known:
                value += "&" + pieces[i]
                i += 1
        if key:
            out.setdefault(key, lenient_unquote(value))
    return out


def raw_query(environ: Mapping[str, object]) -> str:
    uri = str(environ.get("REQUEST_URI") or "")
    if "?" in uri:
        return uri.split("?", 1)[1]
    return str(environ.get("QUERY_STRING") or "")


def request_params(text_keys: frozenset[str], known: frozenset[str],
                   max_body: int = 1 << 20) -> dict[str, str]:
    """All parameters of the current bottle request: query first, then a urlencoded body."""
    params = split_pairs(raw_query(bottle.request.environ), text_keys, known)
    if bottle.request.method == "POST":
        ctype = (bottle.request.content_type or "").lower()
        if not ctype or "x-www-form-urlencoded" in ctype or ctype.startswith("text/plain"):
            body = bottle.request.body.read(max_body).decode("latin-1")
            for key, value in split_pairs(body.strip(), text_keys, known).items():
                params.setdefault(key, value)
        elif "multipart/form-data" in ctype:
            for key, value in multipart_fields():
                params.setdefault(key.lower(), value)
    return params


def multipart_fields() -> list[tuple[str, str]]:
    """The fields of a multipart/form-data body; none when it cannot be read (no boundary,
    names that are not UTF-8): the request then lacks them, as a lenient reader would see it."""
    try:
        return list(bottle.request.forms.decode().allitems())
    except ValueError as exc:
        log.info("multipart body from %s ignored: %s", bottle.request.remote_addr, exc)
        return []


def restore_plus(value: str) -> str:
    """' 4479...' (a `+` decoded as a space) -> '+4479...'."""
    stripped = value.strip().strip('"')
    if value[:1] == " " and stripped[:1].isdigit():
        return "+" + stripped
    return stripped


def close_connection() -> None:
    """Answer and close: some clients read until the server closes the connection.

    PEP 3333 forbids an application to send this hop-by-hop header itself; the daemon wraps the
    app in `smsd.api.closing.honour_connection_close`, which takes the header out and tells the
    server to close after the reply."""
    bottle.response.set_header("Connection", "close")


def text_reply(body: str, content_type: str = "text/plain; charset=utf-8") -> str:
    close_connection()
    bottle.response.content_type = content_type
    return body
