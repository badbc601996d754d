"""Request parameters as the JSON gateway API's clients send them.

Clients use both forms the vendor documents: POST with a JSON body (lists as JSON arrays) and GET
with query parameters (lists comma separated: `port=1,2,3`, `info_type=imei,imsi`). One `Params`
object reads both, checks types, and raises `BadParam` with a message an operator can act on.

Hostile input is a bad request like any other: JSON nested deeper than the parser's recursion
limit, integers the store cannot hold (beyond 64 bits), digits that are not ASCII.
"""
from __future__ import annotations

import json
import re
from typing import Any, Literal, Mapping, overload

from smsd.errors import BadRequest


class BadParam(BadRequest):
    """A parameter is missing or of the wrong type (vendor code 400)."""


_MISSING = object()


class Params:
    """Typed access to one request's parameters (JSON body first, then query/form fields)."""

    def __init__(self, body: Mapping[str, Any], query: Mapping[str, str]) -> None:
        self._body = body
        self._query = query
        self.user = ""          # the authenticated user, set by the HTTP layer

    @classmethod
    def parse(cls, raw_body: bytes, query: Mapping[str, str], *, body_required: bool = False) -> "Params":
        body: Any = {}
        text = raw_body.strip()
        if text:
            try:
                body = json.loads(text)
            except (ValueError, UnicodeDecodeError) as exc:
                raise BadParam(f"request body is not valid JSON: {exc}") from None
            except RecursionError:      # 100,000 nested brackets: nothing we would ever read
                raise BadParam("request body is not valid JSON: nested too deeply") from None
            if not isinstance(body, dict):
                raise BadParam("request body must be a JSON object")
            if _may_hold_surrogate(text) and not _encodable(body):
                raise BadParam("request body holds an unpaired surrogate (\\ud800-\\udfff)")
        elif body_required and not query:
            raise BadParam("request body is empty")
        return cls(body, query)

    def _raw(self, name: str) -> Any:
        if name in self._body:
            return self._body[name]
        return self._query.get(name, _MISSING)

    def has(self, name: str) -> bool:
        return self._raw(name) is not _MISSING

    def string(self, name: str, default: str | None = None, *, required: bool = False,
               allow_int: bool = False) -> str | None:
        """A string; `allow_int` also takes a JSON integer (phone numbers sent as numbers)."""
        value = self._raw(name)
        if value is _MISSING or value is None:
            if required:
                raise BadParam(f"'{name}' is required")
            return default
        if isinstance(value, str) or (allow_int and type(value) is int):
            return str(value)
        raise BadParam(f"'{name}' must be a string")

    # A default or `required=True` makes the answer an int (the service's signatures need it).
    @overload
    def integer(self, name: str, default: int, *, required: bool = False,
                minimum: int | None = None, maximum: int | None = None) -> int: ...
    @overload
    def integer(self, name: str, default: None = None, *, required: Literal[True],
                minimum: int | None = None, maximum: int | None = None) -> int: ...
    @overload
    def integer(self, name: str, default: None = None, *, required: bool = False,
                minimum: int | None = None, maximum: int | None = None) -> int | None: ...

    def integer(self, name: str, default: int | None = None, *, required: bool = False,
                minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self._raw(name)
        if value is _MISSING or value is None:
            if required:
                raise BadParam(f"'{name}' is required")
            return default
        number = to_int(value, name)
        check_range(number, name, minimum, maximum)
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise BadParam(f"'{name}' must be true or false")

    def items(self, name: str) -> list[Any] | None:
        """A list parameter: JSON array, a single JSON scalar, or a comma separated string."""
        value = self._raw(name)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            # `port=` left empty in a query or form counts as absent (a JSON [] does not).
            parts = [part.strip() for part in value.split(",") if part.strip()]
            return parts or None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [value]
        raise BadParam(f"'{name}' must be an array")

    def int_list(self, name: str, *, minimum: int | None = None,
                 maximum: int | None = None) -> list[int] | None:
        values = self.items(name)
        if values is None:
            return None
        numbers = [to_int(v, name) for v in values]
        for n in numbers:
            check_range(n, name, minimum, maximum)
        return numbers

    def str_list(self, name: str) -> list[str] | None:
        values = self.items(name)
        if values is None:
            return None
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (str, int)):
                raise BadParam(f"'{name}' must be an array of strings")
            out.append(str(v))
        return out

    def objects(self, name: str) -> list[Mapping[str, Any]]:
        value = self._raw(name)
        if value is _MISSING or value is None:
            raise BadParam(f"'{name}' is required")
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise BadParam(f"'{name}' must be an array of objects")
        return value


def _may_hold_surrogate(raw: bytes) -> bool:
    """Could the parsed body hold a lone surrogate? json.loads decodes bytes with
    "surrogatepass", so raw surrogate bytes pass, and a \\uD800-\\uDFFF escape makes one.
    An ASCII body without a NUL (which a UTF-16/32 body has) cannot hold raw ones, and without
    a "\\ud"/"\\uD" no escape can make one: it skips the re-encoding of the whole body that
    _encodable needs (a bulk request's 128 recipients paid it on every request)."""
    if not raw.isascii() or b"\x00" in raw:
        return True
    return b"\\ud" in raw or b"\\uD" in raw


def _encodable(body: Any) -> bool:
    """No lone surrogate (JSON `"\\ud800"`): UTF-8, so the store and replies, cannot hold one."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1     # what SQLite's INTEGER holds
_INT_TEXT = re.compile(r"-?[0-9]{1,40}").fullmatch    # longer is not worth int()


def to_int(value: Any, name: str) -> int:
    """A JSON integer or a decimal string of ASCII digits, within 64 bits."""
    if isinstance(value, bool):
        raise BadParam(f"'{name}' must be an integer")
    if isinstance(value, str) and _INT_TEXT(value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise BadParam(f"'{name}' must be an integer")
    if not INT_MIN <= value <= INT_MAX:
        raise BadParam(f"'{name}' is out of range (64-bit integers)")
    return value


def check_range(n: int, name: str, minimum: int | None, maximum: int | None) -> None:
    if minimum is not None and n < minimum:
        raise BadParam(f"'{name}' must be at least {minimum}")
    if maximum is not None and n > maximum:
        raise BadParam(f"'{name}' must be at most {maximum}")
