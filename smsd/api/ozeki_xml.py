"""Replies of the Ozeki NG HTTP API: the vendor's XML document, or a small HTML page.

Every reply is `<response><action>..</action><data>..</data></response>` after the XML
declaration and the vendor's DOCTYPE line. Items are flat elements with lower-case names, as the
vendor's examples show (`acceptreport`, `message`, `connection`, `error`).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence
from xml.sax.saxutils import escape

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<!DOCTYPE response PUBLIC "-//OZEKI//DTD XML 1.0//EN" '
          '"http://www.ozekisms.com/DTD/response.xml">\n')
ACCEPTED = "Message accepted for delivery"

# Our status codes (the vendor's manual numbers only success, 0).
OK = 0
AUTH = 1
RECIPIENT = 2
MESSAGE_TYPE = 3
MESSAGE_DATA = 4
CREDIT = 5
NO_CONNECTION = 6
UNKNOWN_ACTION = 7
NOT_FOUND = 8
BAD_PARAMETER = 9
DRIVER_TYPE = 10
SETTING = 11
INTERNAL = 99

# Service error reasons -> status code.
CODES = {"auth": AUTH, "forbidden": AUTH, "recipient": RECIPIENT, "too_large": MESSAGE_DATA,
         "too_many_parts": MESSAGE_DATA, "credit": CREDIT, "no_port": NO_CONNECTION,
         "not_found": NOT_FOUND, "bad_request": BAD_PARAMETER, "driver_type": DRIVER_TYPE,
         "setting": SETTING}


class OzekiError(Exception):
    """A request refused with an Ozeki status code."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


@dataclass(frozen=True)
class Item:
    """One element of <data>: a tag and its fields in order."""

    tag: str
    fields: tuple[tuple[str, str], ...]


def item(tag: str, **fields: object) -> Item:
    return Item(tag, tuple((k, "" if v is None else str(v)) for k, v in fields.items()))


def error_item(code: int, message: str) -> Item:
    return item("error", statuscode=code, statusmessage=message)


def _clean(text: str) -> str:
    # XML 1.0 cannot carry most control characters, not even as references.
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else "\ufffd" for c in text)


def render_xml(action: str, items: Sequence[Item]) -> str:
    out = [HEADER, "<response>\n", f"<action>{escape(_clean(action))}</action>\n", "<data>\n"]
    for it in items:
        out.append(f"<{it.tag}>\n")
        out += [f"<{k}>{escape(_clean(v))}</{k}>\n" for k, v in it.fields]
        out.append(f"</{it.tag}>\n")
    out.append("</data>\n</response>\n")
    return "".join(out)


def render_html(action: str, items: Sequence[Item]) -> str:
    rows = []
    for it in items:
        cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in it.fields)
        rows.append(f"<h2>{html.escape(it.tag)}</h2>\n<table>{cells}</table>\n")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(action)}"
            f"</title></head><body>\n<h1>{html.escape(action)}</h1>\n{''.join(rows)}"
            "</body></html>\n")


def render(action: str, items: Sequence[Item], fmt: str) -> tuple[str, str]:
    """(body, content type) for responseformat `fmt` (xml unless html)."""
    if fmt == "html":
        return render_html(action, items), "text/html; charset=utf-8"
    return render_xml(action, items), "application/xml; charset=utf-8"
