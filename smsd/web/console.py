"""The web console's request handling: sessions, page permissions, CSRF, security headers.

Every page handler is registered through `Console.route`, which, before the handler runs:
- finds the session from the `smsd_session` cookie (none, or idle too long: a page GET is sent to
  /login, anything else answers 401);
- checks the user still has the `web` permission (a user deleted or demoted loses the session)
  and may use the page (pages.PAGES: else 403, nothing done);
- for a state-changing method (POST), checks the session's CSRF token (form field `csrf`, or the
  `X-CSRF-Token` header of a script's fetch): a missing or wrong one answers 403, nothing done;
and after it, sets the security headers (CSP without inline script, frame denial, no-store).

Handlers are thin translators: form fields -> a service call -> a template. The service's own
errors (BadRequest, NotFound, Forbidden) are the handlers' to show next to their fields; anything
else is logged and answered with a plain 500 page, never a traceback.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import bottle

from smsd.service import Service
from smsd.service.access import Access
from smsd.web import pages, uploads
from smsd.web.files import web_root
from smsd.web.pages import Page
from smsd.web.sessions import DEFAULT_IDLE, Session, SessionStore

log = logging.getLogger("smsd.web")

COOKIE = "smsd_session"
PRE_COOKIE = "smsd_login"        # the login form's CSRF token, before there is a session
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM = 1 << 20               # bytes of a form body; uploads set their own smaller limits
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SAFE_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class WebSettings:
    session_idle: float = DEFAULT_IDLE      # seconds ([web] session_idle, in minutes, in the file)


@dataclass
class PageRequest:
    """What a page handler gets: who asks, for which page, and the helpers to answer."""

    console: "Console"
    session: Session
    access: Access
    page: Page
    errors: dict[str, str] = field(default_factory=dict)    # field -> message, for the template

    @property
    def user(self) -> str:
        return self.session.user

    @property
    def svc(self) -> Service:
        return self.console.svc

    def form(self) -> bottle.FormsDict:
        """The POST form, decoded as UTF-8 (bottle leaves it latin-1)."""
        return utf8(bottle.request.forms)

    def query(self) -> bottle.FormsDict:
        return utf8(bottle.request.query)

    def render(self, template: str, **values: Any) -> str:
        return self.console.render(template, self, **values)

    def redirect(self, path: str, message: str | None = None) -> str:
        """303 to `path` (a local path), with a message shown once on the page it leads to."""
        if message:
            self.session.flash.append(message)
        return self.console.see_other(path)

    def refuse(self, status: int, message: str) -> str:
        bottle.response.status = status
        return self.render("error.tpl", status=status, message=message)


Handler = Callable[[PageRequest], str]


def is_number(text: str, digits: int = 9) -> bool:
    """`text` is 1 to `digits` ASCII digits, so int() takes it (str.isdigit() alone also says
    yes to '²', which int() refuses: POST /ports/block port=² answered 500; found by
    tests/e2e/test_fuzz_surfaces.py; and to 5,000 digits, over int()'s limit)."""
    return text.isascii() and text.isdigit() and len(text) <= digits


class NotUtf8(Exception):
    """A form or query that is not UTF-8: refused with a 400 page, nothing done."""


def utf8(fields: bottle.FormsDict) -> bottle.FormsDict:
    """`fields` decoded as UTF-8, or NotUtf8 (bottle's decode() raises UnicodeDecodeError: a
    form field of bytes such as %80 made every console page answer 500; found by
    tests/e2e/test_fuzz_surfaces.py)."""
    try:
        return fields.decode()
    except UnicodeError:
        raise NotUtf8() from None


class Console:
    def __init__(self, svc: Service, settings: WebSettings = WebSettings(), *,
                 clock: Callable[[], float] = time.monotonic, root: Path | None = None) -> None:
        self.svc = svc
        self.settings = settings
        self.sessions = SessionStore(clock, settings.session_idle)
        self.root = root if root is not None else web_root()
        self.lookup = [str(self.root / "templates")]
        self.routed: set[str] = set()
        # A changed password (any front end, the commands too) ends the user's sessions; a page
        # where users change their own calls renew() to carry on in a new one.
        svc.users.on_password_change(self._password_changed)

    # --- registration ---------------------------------------------------------------------------
    def route(self, app: bottle.Bottle, path: str, handler: Handler, *,
              method: str = "GET", page: Page | None = None, poll: bool = False) -> None:
        """Serve `handler` at `path` for users who may use `page` (the table's entry for the
        path's first segment when not given). `poll`: a page's script asks it by itself every
        few seconds, which must not keep an unattended session alive."""
        owner = page if page is not None else pages.page_at(path)
        methods = ["GET", "HEAD"] if method == "GET" else [method]
        self.routed.add(path)
        app.route(path, method=methods, callback=self._guarded(handler, owner, poll))

    def _guarded(self, handler: Handler, page: Page, poll: bool) -> Callable[..., str]:
        def callback(**_: Any) -> str:
            self.secure_headers()
            try:
                return self._serve(handler, page, poll)
            except Exception:   # noqa: BLE001 - a browser gets a page, never a traceback
                log.exception("web console: internal error on %s", bottle.request.path)
                bottle.response.status = 500
                bottle.response.content_type = "text/plain; charset=utf-8"
                return "internal error (see the log)\n"
        return callback

    def _serve(self, handler: Handler, page: Page, poll: bool) -> str:
        session = self.current_session(touch=not poll)
        if session is None:
            return self.not_signed_in()
        access = self.svc.access.of(session.user)
        if access is None or not pages.may_use_console(access):
            self.sessions.end(session.id)
            return self.not_signed_in()
        req = PageRequest(self, session, access, page)
        if not pages.may_use(access, page):
            return req.refuse(403, f"{page.title}: your user may not use this page")
        if bottle.request.method not in SAFE_METHODS and not self.csrf_ok(session):
            return req.refuse(403, "the form was stale or not from this console (no valid CSRF "
                                   "token): nothing was changed; reload the page and try again")
        try:
            return handler(req)
        except NotUtf8:
            return req.refuse(400, "the form or address was not valid UTF-8: nothing was done")

    # --- sessions -------------------------------------------------------------------------------
    def current_session(self, *, touch: bool = True) -> Session | None:
        return self.sessions.get(bottle.request.get_cookie(COOKIE), touch=touch)

    def not_signed_in(self) -> str:
        """A page (or a form posted after the session ended: nothing is done) leads to the
        login; a script's request gets 401."""
        if not _wants_json() and not bottle.request.get_header(CSRF_HEADER):
            return self.see_other("/login?next=" + urllib.parse.quote(bottle.request.path))
        bottle.response.status = 401
        bottle.response.content_type = "text/plain; charset=utf-8"
        return "not signed in, or the session expired: sign in again\n"

    def csrf_ok(self, session: Session) -> bool:
        sent = bottle.request.get_header(CSRF_HEADER) or _form_field(CSRF_FIELD)
        return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())

    def set_cookie(self, name: str, value: str, *, expire: bool = False) -> None:
        """HttpOnly, SameSite=Strict, Secure when this request came over HTTPS; a session cookie
        (no Max-Age): the idle limit is the server's."""
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
        if bottle.request.environ.get("wsgi.url_scheme") == "https":
            parts.append("Secure")
        if expire:
            parts.append("Max-Age=0")
        bottle.response.add_header("Set-Cookie", "; ".join(parts))

    def start_session(self, user: str) -> Session:
        session = self.sessions.new(user)
        self.set_cookie(COOKIE, session.id)
        return session

    def _password_changed(self, user: str) -> None:
        self.sessions.end_user(user)

    def renew(self, req: PageRequest) -> Session:
        """A fresh session for the signed-in user (after they changed their own password, which
        ended all of theirs); `req` carries on with it."""
        req.session = self.start_session(req.user)
        return req.session

    def end_session(self, session: Session) -> None:
        self.sessions.end(session.id)
        self.set_cookie(COOKIE, "", expire=True)

    def pre_token(self) -> str:
        """The login form's CSRF token (double submit: a cookie and the form's field)."""
        token = bottle.request.get_cookie(PRE_COOKIE)
        if not token or len(token) != 43:
            token = secrets.token_urlsafe(32)
            self.set_cookie(PRE_COOKIE, token)
        return token

    def pre_token_ok(self) -> bool:
        cookie = bottle.request.get_cookie(PRE_COOKIE) or ""
        sent = _form_field(CSRF_FIELD)
        return bool(cookie) and bool(sent) and hmac.compare_digest(cookie.encode(), sent.encode())

    # --- answers --------------------------------------------------------------------------------
    @staticmethod
    def secure_headers(cache: str = "no-store") -> None:
        headers = bottle.response
        headers.set_header("Content-Security-Policy", CSP)
        headers.set_header("X-Frame-Options", "DENY")
        headers.set_header("X-Content-Type-Options", "nosniff")
        headers.set_header("Referrer-Policy", "same-origin")
        headers.set_header("Cache-Control", cache)

    def render(self, template: str, req: PageRequest | None, **values: Any) -> str:
        bottle.response.content_type = "text/html; charset=utf-8"
        base: dict[str, Any] = {"nav": [], "user": None, "csrf": "", "current": None,
                                "flash": [], "errors": {}, "title": "smsd"}
        if req is not None:
            base.update(nav=pages.navigation(req.access), user=req.user, csrf=req.session.csrf,
                        current=req.page, title=req.page.title, errors=req.errors,
                        flash=_take(req.session.flash))
        base.update(values)
        return str(bottle.template(template, template_lookup=self.lookup, **base))

    @staticmethod
    def see_other(path: str) -> str:
        bottle.response.status = 303
        bottle.response.set_header("Location", local_path(path))
        return ""


def local_path(path: str) -> str:
    """`path` when it is a path on this box, else the home page: a `next=` parameter must not
    send the browser elsewhere (`//evil.example`, `https://...`, `/\\evil`)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path \
            or any(ord(c) < 33 for c in path):
        return pages.HOME
    return path


def _form_field(name: str) -> str:
    if (bottle.request.content_length or 0) > max(MAX_FORM, uploads.cap_for(
            bottle.request.method, bottle.request.path)):
        return ""
    value = bottle.request.forms.get(name)
    return value if isinstance(value, str) else ""


def _wants_json() -> bool:
    return "application/json" in (bottle.request.get_header("Accept") or "")


def _take(items: list[str]) -> list[str]:
    taken = list(items)
    items.clear()
    return taken
