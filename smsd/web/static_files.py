"""/static/<file>: the console's CSS and scripts (web/static), shipped in the package."""
from __future__ import annotations

import bottle

from smsd.web.console import Console

TYPES = {".css": "text/css; charset=utf-8", ".js": "application/javascript; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


def mount(console: Console, app: bottle.Bottle) -> None:
    root = str(console.root / "static")

    def static(name: str) -> bottle.HTTPResponse:
        suffix = name[name.rfind("."):] if "." in name else ""
        if suffix not in TYPES:
            answer = bottle.HTTPResponse("not found\n", status=404)
        else:       # static_file refuses paths outside root (`..`)
            answer = bottle.static_file(name, root=root, mimetype=TYPES[suffix],
                                        charset="utf-8")
        console.secure_headers(cache="max-age=300")
        for key, value in bottle.response.headerlist:
            if key not in ("Content-Type", "Content-Length", "Set-Cookie"):
                answer.set_header(key, value)
        return answer

    app.route("/static/<name:path>", method=["GET", "HEAD"], callback=static)
