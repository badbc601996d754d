"""A page of the navigation whose module has not been written yet: it exists (the permission
table guards it like any other) and says so."""
from __future__ import annotations

import bottle

from smsd.web.console import Console, PageRequest
from smsd.web.pages import PAGES


def mount_missing(console: Console, app: bottle.Bottle) -> None:
    for page in PAGES:
        if page.path not in console.routed:
            console.route(app, page.path, _coming, page=page)


def _coming(req: PageRequest) -> str:
    return req.render("placeholder.tpl")
