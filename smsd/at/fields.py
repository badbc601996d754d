"""Splitting AT result lines into prefix and fields (shared by the engine and the parsers)."""
from __future__ import annotations


def split_prefix(line: str) -> tuple[str, str]:
    """`+CREG: 1,2` -> (`+CREG`, `1,2`); a line without `+X:`/`^X:` prefix -> ("", line)."""
    if line[:1] in "+^" and ":" in line:
        name, _, rest = line.partition(":")
        if name[1:].replace("_", "").isalnum():
            return name, rest.strip()
    return "", line


def split_fields(text: str) -> tuple[str, ...]:
    """Split on commas outside double quotes; quotes are kept so callers can tell
    `"1A2B"` (a quoted string) from `1` (a bare number)."""
    if not text:
        return ()
    fields: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    fields.append("".join(current).strip())
    return tuple(fields)


def unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1]
    return field


def to_int(field: str, default: int | None = None) -> int | None:
    try:
        return int(unquote(field))
    except ValueError:
        return default
