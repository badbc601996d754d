"""The web console: server-rendered pages over the service layer (docs/web-console.md).

`mount(app, svc, settings)` adds the pages to the daemon's bottle app, beside the API dialects.
One module per page, each a thin translator: form fields -> a `svc.<subject>.<verb>` call -> a
template from web/templates. The request guard (session, page permission, CSRF, headers) is
smsd.web.console; the permission table is smsd.web.pages.
"""
from __future__ import annotations

import time
from types import ModuleType
from typing import Callable

import bottle

from smsd.service import Service
from smsd.web import (book, dashboard, login, messages, network, placeholder, ports, routing, send,
                      static_files, system, users)
from smsd.web.console import Console, WebSettings

# Page modules, each with mount(console, app). A page helper adds its module here.
PAGE_MODULES: list[ModuleType] = [dashboard, send, messages, network, ports, routing, system, users,
                                  book]


def mount(app: bottle.Bottle, svc: Service, settings: WebSettings = WebSettings(), *,
          clock: Callable[[], float] = time.monotonic) -> Console:
    """`clock` times session idleness (monotonic: a clock step neither ends nor stretches one)."""
    console = Console(svc, settings, clock=clock)
    static_files.mount(console, app)
    login.mount(console, app)
    for module in PAGE_MODULES:
        module.mount(console, app)
    placeholder.mount_missing(console, app)
    return console


__all__ = ["Console", "WebSettings", "mount"]
