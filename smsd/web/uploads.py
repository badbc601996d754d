"""Request body caps per route: the console's upload forms get their own, every other request
(every API dialect's too) the small one. The console's pages and the HTTP front (smsd.api.server,
smsd.api.refusals) both read this table; it lives with the pages that own the routes.

The HTTP front refuses a body over its cap before the app reads it (waitress would otherwise
take up to 1 GiB of it, to a temporary file). One cap does not fit: an API request never needs
more than a couple of MiB, while a signed package update or a backup to restore is tens of MiB.
So each upload route names its cap here, and smsd.api.server's parser applies the cap of the
request's path as soon as its headers are in:

    POST /system/update        UPDATE_CAP    a signed .deb and its signature
    POST /system/restore       RESTORE_CAP   a backup (whole database or configuration only)
    POST /book/import          CSV_CAP       a contacts or groups CSV file
    POST /system/certificate   CERT_CAP      a PEM certificate chain and its key
    anything else              DEFAULT_CAP   (the JSON API refuses over 1 MiB itself)

At most LARGE_BODIES_AT_ONCE bodies over DEFAULT_CAP are received at once: the caps apply before
anyone has signed in, and each such body takes disk in a temporary file until it is in.

A body under its cap is read by waitress to a temporary file past 512 KiB (its inbuf_overflow)
and by bottle to another past 100 KiB (MEMFILE_MAX): an upload never sits in memory whole. The
pages then copy the file part they want in chunks, up to their own per-file limit.

A body over its cap is answered 413 in the route's own format: a dialect's (smsd.api.refusals),
or for a console page the short HTML page of `too_large_page`. An API client gets the answer at
once, before the body is read. So does an upload that announced its body with `Expect:
100-continue` (the body is then never sent) or announced more than DRAIN_MAX; any other upload's
body is read and thrown away (within the request deadline) before the answer, because a browser
still sending when the server closes reads a reset, not the 413 (nginx's lingering close).
"""
from __future__ import annotations

import html

MIB = 1 << 20
DEFAULT_CAP = 2 * MIB
UPDATE_CAP = 65 * MIB          # a package of up to 64 MiB (smsd.web.system), its signature, form
RESTORE_CAP = 65 * MIB         # a backup of up to 64 MiB (smsd.service.system.MAX_RESTORE), form
CSV_CAP = 5 * MIB              # a CSV file of up to 4 MiB (smsd.web.book.MAX_UPLOAD), form
CERT_CAP = 1 * MIB             # two PEM files of up to 64 KiB each (smsd.web.system.MAX_CERT)
UPLOAD_CAPS = {
    "/system/update": UPDATE_CAP,
    "/system/restore": RESTORE_CAP,
    "/book/import": CSV_CAP,
    "/system/certificate": CERT_CAP,
}
LARGEST_CAP = max(DEFAULT_CAP, *UPLOAD_CAPS.values())
DRAIN_MAX = 2 * LARGEST_CAP    # an upload body over its cap read and dropped before the 413
LARGE_BODIES_AT_ONCE = 4       # bodies over DEFAULT_CAP received at once (the others: 413 at once)
# A request must arrive whole within the front's deadline plus this long per byte of its body:
# a 64 MiB upload gets 512 s more (at least 128 KiB/s), an API request a few seconds.
MIN_UPLOAD_RATE = 128 * 1024


def cap_for(method: str, path: str) -> int:
    """The most body bytes a request to `path` may carry."""
    if method == "POST":
        return UPLOAD_CAPS.get(path, DEFAULT_CAP)
    return DEFAULT_CAP


def drains(path: str, content_length: int) -> bool:
    """Is a body over its cap read (and dropped) before the 413, rather than answered at once?"""
    return is_upload_route(path) and content_length <= DRAIN_MAX


def deadline_extra(content_length: int) -> float:
    """Seconds a request with this body gets beyond the front's request deadline."""
    return min(max(content_length, 0), LARGEST_CAP) / MIN_UPLOAD_RATE


def too_large_page(path: str, why: str) -> str:
    """The console's answer to an upload over its route's cap (the stand-in request carries no
    session, so a plain page that links back)."""
    cap = cap_for("POST", path)
    back = path.rsplit("/", 1)[0] or "/"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>413 Request too large</title></head><body>\n"
            f"<h1>413 Request too large</h1>\n<p>The upload is larger than this form takes "
            f"({cap // MIB} MiB): nothing was saved.</p>\n<p class=\"muted\">{html.escape(why)}"
            f"</p>\n<p><a href=\"{html.escape(back, quote=True)}\">Back</a></p>\n</body></html>\n")


def is_upload_route(path: str) -> bool:
    return path in UPLOAD_CAPS
