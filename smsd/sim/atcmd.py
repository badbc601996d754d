"""Command-line parsing and reply values of the simulated modems (V.250 / 27.007 syntax).

A command line is "AT" followed by basic commands (`E0`, `I`, `&F`, `Z`) and/or extended commands
(`+CMGF=0`), extended ones separated by `;`. Names are case-insensitive; arguments keep their case
because quoted strings (USSD) are data.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

OP_EXEC = ""
OP_READ = "?"
OP_SET = "="
OP_TEST = "=?"


@dataclass(frozen=True)
class AtCmd:
    name: str                       # "+CMGS", "I", "E", "&F" or "" for a bare "AT"
    op: str = OP_EXEC
    args: tuple[str, ...] = ()      # raw arguments, quotes kept (see unquote)
    value: str = ""                 # the digits of a basic command ("0" in E0)


@dataclass(frozen=True)
class Reply:
    """What a handler answers.

    final: "OK", "ERROR", "CME", "CMS" (with code), "DEFERRED" (the handler completes later through
    the modem) or "PROMPT" (AT+CMGS: print "> " and collect a PDU of `code` octets).
    `then` runs right after the final result code is written (e.g. the reset after CFUN=1,1's OK).
    """

    lines: tuple[str, ...] = ()
    final: str = "OK"
    code: int = 0
    then: Callable[[], None] | None = None


def ok(*lines: str, then: Callable[[], None] | None = None) -> Reply:
    return Reply(tuple(lines), "OK", then=then)


def error() -> Reply:
    return Reply((), "ERROR")


def cme(code: int) -> Reply:
    return Reply((), "CME", code)


def cms(code: int) -> Reply:
    return Reply((), "CMS", code)


DEFERRED = Reply((), "DEFERRED")


class BadArgs(ValueError):
    """A handler could not understand its arguments."""


def parse_line(line: str) -> list[AtCmd] | None:
    """Split one command line (without its CR) into commands; None when it is malformed."""
    if line[:2].upper() != "AT":
        return None
    body = line[2:]
    if not body.strip():
        return [AtCmd("")]
    cmds: list[AtCmd] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in " ;":
            i += 1
        elif ch in "+^$":
            end = _extended_end(body, i)
            cmds.append(_parse_extended(body[i:end]))
            i = end
        elif ch.isalpha() or ch == "&":
            width = 2 if ch == "&" else 1
            end = i + width
            while end < len(body) and body[end].isdigit():
                end += 1
            cmds.append(AtCmd(body[i:i + width].upper(), value=body[i + width:end]))
            i = end
        else:
            return None
    return cmds


def _extended_end(body: str, start: int) -> int:
    """Index of the ';' ending the extended command at `start` (quotes may hide ';')."""
    quoted = False
    for i in range(start, len(body)):
        if body[i] == '"':
            quoted = not quoted
        elif body[i] == ";" and not quoted:
            return i
    return len(body)


def _parse_extended(text: str) -> AtCmd:
    if text.endswith("=?"):
        return AtCmd(text[:-2].upper(), OP_TEST)
    if text.endswith("?"):
        return AtCmd(text[:-1].upper(), OP_READ)
    if "=" in text:
        name, rest = text.split("=", 1)
        return AtCmd(name.upper(), OP_SET, split_args(rest))
    return AtCmd(text.upper(), OP_EXEC)


def split_args(text: str) -> tuple[str, ...]:
    """Split on commas outside quotes; surrounding blanks are dropped."""
    args: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    args.append("".join(cur).strip())
    return tuple(args)


def unquote(arg: str) -> str:
    if len(arg) >= 2 and arg[0] == '"' and arg[-1] == '"':
        return arg[1:-1]
    return arg


def int_arg(cmd: AtCmd, index: int, default: int | None = None, lo: int = 0,
            hi: int = 255) -> int:
    """An integer argument within [lo, hi]; BadArgs when missing (and no default) or invalid."""
    raw = cmd.args[index] if index < len(cmd.args) else ""
    if raw == "":
        if default is None:
            raise BadArgs(cmd.name)
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BadArgs(cmd.name)
    return int(raw)
