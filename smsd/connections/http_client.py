"""The `HTTPClient` connection: each message is an HTTP request to the provider, built from the
TARGETURL template (text) or TARGETURLBIN (binary: 8-bit data, and as CBUNICODEASBIN /
CBTEXTASBIN / CBMULTIPARTASBIN say, Unicode, text or long messages, one request per segment).

Template variables (the document's, and the Ozeki manual's names beside them):

    $recipient $originator $messagedata $messagetext $messageid $messagetype
    $udhHEX $udHEX $dcsHEX $pidHEX

Values are URL-encoded in ENCODINGCHARSET unless NOURLENCODING is on. A template whose scheme,
host or port holds a variable is refused: a sender's recipient or text must never choose where
the box connects (with NOURLENCODING on, a text such as "x@10.0.0.1/" could otherwise).
REQUESTMETHOD Get requests the URL; Post posts the URL's query string as the body (POSTDATACONTENTTYPE) to the URL before
it. The answer decides: RESPFAILED found in the body -> failed; RESPSUCCESS set -> accepted only
when found (a regular expression; its first group, if any, is the provider's message id);
neither set -> any 2xx. A request that could not be made at all leaves the message waiting.
"""
from __future__ import annotations

import base64
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Mapping

from smsd.connections import segments
from smsd.connections.base import Idle, Outcome, Outgoing, Status, number_or, on

VARIABLES = ("recipient", "originator", "messagedata", "messagetext", "messageid", "messagetype",
             "udhHEX", "udHEX", "dcsHEX", "pidHEX")
_VARIABLE = re.compile(r"\$(" + "|".join(sorted(VARIABLES, key=len, reverse=True)) + r")")
MAX_ANSWER = 64 * 1024


def fill(template: str, values: Mapping[str, str], charset: str = "utf-8",
         encode: bool = True) -> str:
    """The template with each $variable replaced (URL-encoded unless `encode` is False).
    Literal spaces of a template are dropped: a URL has none (the document's own examples
    carry stray ones)."""
    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        if not encode:
            return value
        try:
            return urllib.parse.quote(value, safe="", encoding=charset, errors="replace")
        except LookupError:
            return urllib.parse.quote(value, safe="")
    return _VARIABLE.sub(one, template.replace(" ", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A provider's 3xx is its answer, not a hop: followed, it would take the request (and its
    Basic authorization, which urllib keeps) to any host the answer names, the box's own
    loopback services included."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fixed_authority(template: str) -> bool:
    """No $variable before the path: the request goes where the template says, whatever the
    message holds."""
    scheme, sep, rest = template.replace(" ", "").partition("://")
    head = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else scheme
    return not _VARIABLE.search(scheme + head)


def matches(pattern: str, body: str) -> re.Match[str] | bool:
    try:
        return re.search(pattern, body) or False
    except re.error:
        return pattern in body


class HttpClientConnection(Idle):
    kind = "HTTPClient"

    def status(self) -> Status:
        if not self._running:
            return Status(False, "stopped")
        return Status(True, "ready: one HTTP request per message")

    # --- requests ---------------------------------------------------------------------------
    def as_binary(self, message: Outgoing, enc: segments.Encoded) -> bool:
        if message.data is not None or message.udh:
            return True
        if enc.dcs == segments.DC_UCS2 and on(self.s.get("CBUNICODEASBIN", "on")):
            return True
        if len(enc.segments) > 1 and on(self.s.get("CBMULTIPARTASBIN", "off")):
            return True
        return on(self.s.get("CBTEXTASBIN", "off"))

    def requests(self, message: Outgoing) -> list[tuple[str, str | None]]:
        """(url, body or None) of each request `message` takes."""
        enc = segments.split(message.text, message.encoding, message.data, message.udh,
                             ref=message.id)
        values = {"recipient": message.number, "messageid": str(message.id),
                  "originator": message.sender or self.s.get("PHONENUMBER", ""),
                  "messagedata": message.text, "messagetext": message.text,
                  "pidHEX": "00", "dcsHEX": f"{enc.dcs:02X}"}
        if not self.as_binary(message, enc):
            values.update(messagetype="SMS:TEXT", udhHEX="", udHEX=enc.whole.hex().upper())
            return [self._request(self.s.get("TARGETURL", ""), values)]
        values["messagetype"] = "SMS:BINARY"
        if not on(self.s.get("CBSEGMENT", "on")) and len(enc.segments) > 1:
            head = bytes([len(message.udh)]) + message.udh if message.udh else b""
            return [self._request(self.s.get("TARGETURLBIN", ""),
                                  dict(values, udhHEX=head.hex().upper(),
                                       udHEX=enc.whole.hex().upper()))]
        return [self._request(self.s.get("TARGETURLBIN", ""),
                              dict(values, udhHEX=seg.udh.hex().upper(),
                                   udHEX=seg.ud.hex().upper())) for seg in enc.segments]

    def _request(self, template: str, values: Mapping[str, str]) -> tuple[str, str | None]:
        if not fixed_authority(template):
            raise ValueError("the URL template's scheme, host and port must hold no variable")
        url = fill(template, values, self.s.get("ENCODINGCHARSET", "utf-8") or "utf-8",
                   not on(self.s.get("NOURLENCODING", "off")))
        if self.s.get("REQUESTMETHOD", "Get").strip().lower() != "post":
            return url, None
        base, _, query = url.partition("?")
        return base, query

    def submit(self, message: Outgoing) -> Outcome:
        if not self._running:
            return Outcome(False, reason=f"connection {self.name} is stopped", on_air=False)
        try:
            requests = self.requests(message)
        except ValueError as exc:
            return Outcome(False, reason=f"connection {self.name}: {exc}")
        last = ""
        for i, (url, body) in enumerate(requests):
            outcome = self._one(url, body, first=i == 0)
            if not outcome.ok:
                return outcome
            last = outcome.remote_id or last
        return Outcome(True, remote_id=last or str(message.id))

    def _one(self, url: str, body: str | None, first: bool) -> Outcome:
        if not url.lower().startswith(("http://", "https://")):
            return Outcome(False, reason=f"TARGETURL {url[:60]!r} is no http(s) URL")
        request = urllib.request.Request(url, data=None if body is None else body.encode("ascii"),
                                         method="GET" if body is None else "POST")
        request.add_header("User-Agent", self.s.get("USERAGENT", "smsd"))
        if body is not None:
            request.add_header("Content-Type", self.s.get(
                "POSTDATACONTENTTYPE", "application/x-www-form-urlencoded"))
        self._authorize(request)
        timeout = float(number_or(self.s.get("SUBMITTIMEOUT", "60"), 60, 1, 600))
        try:
            with _OPENER.open(request, timeout=timeout) as answer:
                text = answer.read(MAX_ANSWER).decode("utf-8", "replace")
                code = int(answer.status)
        except urllib.error.HTTPError as exc:
            text = exc.read(MAX_ANSWER).decode("utf-8", "replace")
            code = exc.code
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # Nothing reached the provider when the connection itself failed; a timeout may
            # have: a first request that could not connect leaves the message waiting.
            refused = isinstance(getattr(exc, "reason", exc), ConnectionRefusedError)
            return Outcome(False, reason=f"HTTP request failed: {exc}",
                           on_air=not (first and refused))
        return self.judge(code, text)

    def judge(self, code: int, text: str) -> Outcome:
        failed, success = self.s.get("RESPFAILED", ""), self.s.get("RESPSUCCESS", "")
        if failed and matches(failed, text):
            return Outcome(False, reason=f"provider answered {code}: {text[:80]!r}")
        if success:
            found = matches(success, text)
            if not found:
                return Outcome(False, reason=f"provider answered {code}: {text[:80]!r}")
            rid = found.group(1) if isinstance(found, re.Match) and found.groups() else ""
            return Outcome(True, remote_id=rid or "")
        if 200 <= code < 300:
            return Outcome(True)
        return Outcome(False, reason=f"provider answered HTTP {code}")

    def _authorize(self, request: urllib.request.Request) -> None:
        method = self.s.get("HTTPAUTHORIZATIONMETHOD", "").strip().lower()
        if method in ("", "none"):
            return
        pair = f"{self.s.get('HTTPAUTHORIZATIONUSER', '')}:" \
               f"{self.s.get('HTTPAUTHORIZATIONPASSWORD', '')}"
        request.add_header("Authorization",
                           "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii"))
