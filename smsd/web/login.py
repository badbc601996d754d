"""/, /login and /logout: signing in and out of the console.

The login goes through `svc.users.authenticate(..., "web", remote=...)`, the same check with the
same throttle as every API dialect: a throttled login answers 429 with Retry-After, unchecked.
"""
from __future__ import annotations

import urllib.parse

import bottle

from smsd.errors import AuthError, Forbidden, Throttled
from smsd.web.console import COOKIE, Console, NotUtf8, local_path, utf8
from smsd.web.pages import HOME

MAX_FIELD = 256         # a user name or password longer than this is not one


def mount(console: Console, app: bottle.Bottle) -> None:
    def home() -> str:
        console.secure_headers()
        return console.see_other(HOME if console.current_session() else "/login")

    def login_form() -> str:
        console.secure_headers()
        if console.current_session() is not None:
            return console.see_other(_next())
        return _form(console, "")

    def login() -> str:
        console.secure_headers()
        if not console.pre_token_ok():
            bottle.response.status = 403
            return _form(console, "The form was stale: nothing was sent. Please sign in again.")
        try:
            form = utf8(bottle.request.forms)
        except NotUtf8:
            bottle.response.status = 400
            return _form(console, "Enter a user name and a password.")
        name, password = form.get("username", ""), form.get("password", "")
        if not name or not password or len(name) > MAX_FIELD or len(password) > MAX_FIELD:
            bottle.response.status = 400
            return _form(console, "Enter a user name and a password.", name[:MAX_FIELD])
        try:
            user = console.svc.users.authenticate(name, password, "web",
                                                  remote=bottle.request.remote_addr or "")
        except Throttled as exc:
            bottle.response.status = 429
            bottle.response.set_header("Retry-After", str(exc.retry_seconds))
            return _form(console, f"Too many failed sign-ins: try again in {exc.retry_seconds} s.",
                         name)
        except Forbidden:
            bottle.response.status = 403
            return _form(console, "This user may not use the web console.", name)
        except AuthError:
            bottle.response.status = 401
            return _form(console, "Wrong user name or password.", name)
        old = console.current_session()
        if old is not None:
            console.sessions.end(old.id)
        console.start_session(user)
        return console.see_other(_next())

    def logout() -> str:
        console.secure_headers()
        session = console.current_session()
        if session is not None:
            if not console.csrf_ok(session):
                bottle.response.status = 403
                bottle.response.content_type = "text/plain; charset=utf-8"
                return "no valid CSRF token: still signed in\n"
            console.end_session(session)
        else:
            console.set_cookie(COOKIE, "", expire=True)
        return console.see_other("/login")

    app.route("/", method=["GET", "HEAD"], callback=home)
    app.route("/login", method=["GET", "HEAD"], callback=login_form)
    app.route("/login", method="POST", callback=login)
    app.route("/logout", method="POST", callback=logout)


def _next() -> str:
    wanted = bottle.request.query.get("next") or HOME
    return local_path(wanted if wanted not in ("/", "/login") else HOME)


def _form(console: Console, error: str, name: str = "") -> str:
    return console.render("login.tpl", None, title="Sign in", error=error, username=name,
                          pre_csrf=console.pre_token(), next=urllib.parse.quote(_next()))
