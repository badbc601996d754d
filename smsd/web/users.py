"""/users: the users of the box (admins only), and /users/password: anybody's own password.

A thin translator over `svc.users`: the forms' fields become the same calls the `smsd user`
commands make, checked by the same rules; the service's refusal is shown next to its field and
nothing is written (`svc.users.edit` checks every value before the first write). Every change is
written to the audit log (`svc.audit.record`), never with a password in it.

Paths (the user is the `name` query parameter or form field):
  GET  /users                       the list and the "new user" form
  POST /users                       create
  GET  /users/edit?name=N           the user's settings, password, disable, delete
  POST /users/edit                  save permissions, admin, credits, ports, routes
  POST /users/passwd                set a new password (Digest on or off with it)
  POST /users/disable               (and /users/enable, /users/delete)
  GET  /users/password              change one's own password (every signed-in user)
  POST /users/password

An admin cannot disable, delete or demote their own user here (they would lock themselves out
mid-session); another admin, or the `smsd user` command, can.
"""
from __future__ import annotations

import urllib.parse
from typing import Any

import bottle

from smsd.errors import AuthError, NotFound, ServiceError, Throttled
from smsd.model import DEFAULT_PERMISSIONS, PERMISSIONS, UserInfo
from smsd.web.console import Console, PageRequest
from smsd.web.pages import ACCOUNT

MAX_FIELD = 256                 # a name, password or list longer than this is not one
PERM_LABELS = {
    "web": "Web console", "api:json": "JSON API", "api:isms": "iSMS API",
    "api:gateway_php": "gateway.php API", "api:intelli": "IntelliSoftware API",
    "api:ozeki": "Ozeki API", "ports": "Port control",
    "metrics": "Metrics (GET /metrics from another host)",
    "smpp": "SMPP binds",
    "email": "E-mail to SMS (SMTP AUTH)",
}


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/users", listing)
    console.route(app, "/users", create, method="POST")
    console.route(app, "/users/password", own_password_form, page=ACCOUNT)
    console.route(app, "/users/password", own_password, method="POST", page=ACCOUNT)
    console.route(app, "/users/edit", lambda req: edit_form(req, _field(req.query(), "name")))
    console.route(app, "/users/edit", save, method="POST")
    console.route(app, "/users/passwd", set_password, method="POST")
    console.route(app, "/users/smpp-password", smpp_password, method="POST")
    for action in ("disable", "enable", "delete"):
        console.route(app, f"/users/{action}", _action(action), method="POST")


# --- the list and a new user ----------------------------------------------------------------------
def listing(req: PageRequest, new: dict[str, Any] | None = None) -> str:
    svc = req.svc
    rows = [(u, svc.users.digest_algorithms(u.name), svc.users.ports(u.name),
             svc.users.routes(u.name)) for u in svc.users.all()]
    values = new or {"name": "", "perms": list(DEFAULT_PERMISSIONS), "admin": False,
                     "credits": "", "digest": False}
    return req.render("users.tpl", rows=rows, new=values, perm_labels=PERM_LABELS,
                      permissions=PERMISSIONS, edit_path=_edit_path)


def create(req: PageRequest) -> str:
    form = req.form()
    values: dict[str, Any] = {"name": _field(form, "name").strip(),
                              "perms": _perms(form), "admin": bool(form.get("admin")),
                              "credits": _field(form, "credits").strip(),
                              "digest": bool(form.get("digest"))}
    try:
        password = _new_password(form)
        credits = _credits(values["credits"])
        req.svc.users.add(values["name"], password, perms=values["perms"],
                          admin=values["admin"], credits=credits, digest=values["digest"])
    except _FieldError as exc:
        return _refused(req, listing, exc.field, str(exc), new=values)
    except ServiceError as exc:
        return _refused(req, listing, _create_field(str(exc)), str(exc), new=values)
    req.svc.audit.record(req.user, "user.create", _describe(req, values["name"]))
    return req.redirect(_edit_path(values["name"]), f"User {values['name']} created.")


# --- one user ---------------------------------------------------------------------------------
def edit_form(req: PageRequest, name: str, values: dict[str, Any] | None = None,
              smpp_password: str = "") -> str:
    try:
        info = req.svc.users.get(name)
    except NotFound:
        return req.refuse(404, f"no user {name!r}")
    if values is None:
        values = {"perms": sorted(info.perms), "admin": info.admin,
                  "credits": "" if info.credits is None else str(info.credits),
                  "ports": [p + 1 for p in req.svc.users.ports(name)],
                  "routes": req.svc.users.routes(name),
                  "resend_unknown": req.svc.users.resend_unknown(name)}
    return req.render("users_edit.tpl", info=info, values=values, perm_labels=PERM_LABELS,
                      permissions=PERMISSIONS, digest=req.svc.users.digest_algorithms(name),
                      box_ports=[p + 1 for p in sorted(req.svc.ports.all)],
                      routes=req.svc.routes.all(), myself=name == req.user,
                      smpp_set=req.svc.smpp.has_password(name), smpp_password=smpp_password,
                      scripts=["confirm.js"])


def save(req: PageRequest) -> str:
    form = req.form()
    name = _field(form, "name")
    values: dict[str, Any] = {"perms": _perms(form), "admin": bool(form.get("admin")),
                              "credits": _field(form, "credits").strip(),
                              "ports": form.getall("port"), "routes": form.getall("route"),
                              "resend_unknown": bool(form.get("resend_unknown"))}
    if name == req.user and not values["admin"] and req.access.admin:
        return _refused(req, edit_form, "admin", "you cannot take your own admin rights away "
                        "here (another admin can)", name=name, values=values)
    try:
        ports, routes = _numbers(values["ports"], "ports"), _numbers(values["routes"], "routes")
        values.update(ports=ports, routes=routes)
        strange = sorted(set(ports) - {p + 1 for p in req.svc.ports.all})
        if strange:           # the form offers the box's ports, numbered from 1 as shown
            raise _FieldError("ports", f"this box has no port {strange[0]}")
        req.svc.users.edit(name, perms=values["perms"], admin=values["admin"],
                           credits=_credits(values["credits"]),
                           ports=[p - 1 for p in ports], routes=routes)
        req.svc.users.set_resend_unknown(name, values["resend_unknown"])
    except _FieldError as exc:
        return _refused(req, edit_form, exc.field, str(exc), name=name, values=values)
    except NotFound:
        return req.refuse(404, f"no user {name!r}")
    except ServiceError as exc:
        return _refused(req, edit_form, _edit_field(str(exc)), str(exc), name=name,
                        values=values)
    req.svc.audit.record(req.user, "user.edit", _describe(req, name))
    return req.redirect(_edit_path(name), f"User {name}: saved.")


def set_password(req: PageRequest) -> str:
    form = req.form()
    name = _field(form, "name")
    digest = {"on": True, "off": False}.get(_field(form, "digest"))
    try:
        req.svc.users.passwd(name, _new_password(form), digest=digest)   # ends their sessions
    except _FieldError as exc:
        return _refused(req, edit_form, exc.field, str(exc), name=name)
    except NotFound:
        return req.refuse(404, f"no user {name!r}")
    except ServiceError as exc:
        return _refused(req, edit_form, "password", str(exc), name=name)
    req.svc.audit.record(req.user, "user.password", _digest_note(name, digest))
    if name == req.user:
        req.console.renew(req)
    return req.redirect(_edit_path(name),
                        f"User {name}: new password set; their other sessions ended.")


def smpp_password(req: PageRequest) -> str:
    """A new SMPP bind password (docs/smpp.md), shown on this one page and nowhere else: it is
    rendered, not redirected to (a redirect would carry it in the session's messages)."""
    name = _field(req.form(), "name")
    try:
        password = req.svc.smpp.new_password(name)
    except NotFound:
        return req.refuse(404, f"no user {name!r}")
    req.svc.audit.record(req.user, "user.smpp_password", f"user {name}")
    return edit_form(req, name, smpp_password=password)


def _action(action: str) -> Any:
    def act(req: PageRequest) -> str:
        name = _field(req.form(), "name")
        if name == req.user and action != "enable":
            return _refused(req, edit_form, action, f"you cannot {action} your own user here "
                            "(another admin can)", name=name)
        try:
            if action == "delete":
                req.svc.users.delete(name)
            else:
                req.svc.users.set_disabled(name, action == "disable")
        except NotFound:
            return req.refuse(404, f"no user {name!r}")
        req.svc.audit.record(req.user, f"user.{action}", f"user {name}")
        if action == "delete":
            return req.redirect("/users", f"User {name} deleted.")
        return req.redirect(_edit_path(name), f"User {name} {action}d.")
    act.__name__ = action
    return act


# --- one's own password -------------------------------------------------------------------------
def own_password_form(req: PageRequest) -> str:
    return req.render("users_password.tpl", title="Your password",
                      digest=req.svc.users.digest_algorithms(req.user))


def own_password(req: PageRequest) -> str:
    form = req.form()
    old = _field(form, "old")
    try:
        new = _new_password(form)
    except _FieldError as exc:
        return _refused(req, own_password_form, exc.field, str(exc))
    try:
        # Through the login check, throttle and all: a stolen session cannot guess the old one.
        req.svc.users.authenticate(req.user, old, "web",
                                   remote=bottle.request.remote_addr or "")
    except Throttled as exc:
        bottle.response.set_header("Retry-After", str(exc.retry_seconds))
        return _refused(req, own_password_form, "old", f"too many wrong passwords: try again in "
                        f"{exc.retry_seconds} s", status=429)
    except AuthError:
        return _refused(req, own_password_form, "old", "that is not your current password")
    digest = {"on": True, "off": False}.get(_field(form, "digest"))
    try:
        req.svc.users.passwd(req.user, new, digest=digest)     # ends every session of the user
    except ServiceError as exc:
        return _refused(req, own_password_form, "password", str(exc))
    req.console.renew(req)                                       # ... but this one carries on
    req.svc.audit.record(req.user, "user.password", _digest_note(req.user, digest))
    return req.redirect("/users/password", "Your password was changed; your other sessions "
                                           "ended.")


# --- helpers --------------------------------------------------------------------------------------
class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _refused(req: PageRequest, page: Any, field: str, message: str, *, status: int = 400,
             **kwargs: Any) -> str:
    """`page` again with `message` next to `field`, answered `status`; nothing was written."""
    req.errors[field] = message
    bottle.response.status = status
    return str(page(req, **kwargs))


def _edit_path(name: str) -> str:
    return "/users/edit?name=" + urllib.parse.quote(name, safe="")


def _field(form: bottle.FormsDict, name: str) -> str:
    value = form.get(name, "")
    return value[:MAX_FIELD + 1] if isinstance(value, str) else ""


def _new_password(form: bottle.FormsDict) -> str:
    """The new password typed twice; the service judges it further (not empty)."""
    password = _field(form, "password")
    if len(password) > MAX_FIELD:
        raise _FieldError("password", f"a password of at most {MAX_FIELD} characters (the sign-in "
                          "form takes no more)")
    if password != _field(form, "password2"):
        raise _FieldError("password2", "the two passwords differ")
    return password


def _perms(form: bottle.FormsDict) -> list[str]:
    """The ticked permissions as sent (an unknown one is the service's to refuse)."""
    return [p[:MAX_FIELD] for p in form.getall("perm")][:len(PERMISSIONS) + 1]


def _credits(text: str) -> int | None:
    if text in ("", "unlimited"):
        return None
    if not text.isdigit() or not text.isascii() or len(text) > 9:
        raise _FieldError("credits", "credits: a whole number >= 0, or empty for unlimited")
    return int(text)


def _numbers(items: list[str], field: str) -> list[int]:
    """Ticked port numbers or route ids (their range is the service's to check)."""
    out: list[int] = []
    for item in items[:64]:
        if not item.isdigit() or not item.isascii() or len(item) > 9:
            raise _FieldError(field, f"{field}: {item[:20]!r} is not a number")
        out.append(int(item))
    return out


def _create_field(message: str) -> str:
    if message.startswith("user name") or message.startswith("user "):
        return "name"
    if "password" in message:
        return "password"
    if "credits" in message:
        return "credits"
    return "perms"


def _edit_field(message: str) -> str:
    for key, field in (("credits", "credits"), ("port", "ports"), ("route", "routes")):
        if message.startswith(key) or message.startswith(f"no {key}"):
            return field
    return "perms"


def _describe(req: PageRequest, name: str) -> str:
    info: UserInfo = req.svc.users.get(name)
    credits = "unlimited" if info.credits is None else str(info.credits)
    ports = ",".join(str(p) for p in req.svc.users.ports(name)) or "-"
    routes = ",".join(str(r) for r in req.svc.users.routes(name)) or "-"
    perms = ",".join(p for p in PERMISSIONS if p in info.perms) or "-"
    resend = "yes" if req.svc.users.resend_unknown(name) else "no"
    return (f"user {name}: admin {'yes' if info.admin else 'no'}, perms {perms}, credits "
            f"{credits}, ports {ports}, routes {routes}, resend_unknown {resend}")


def _digest_note(name: str, digest: bool | None) -> str:
    said = {None: "as it was", True: "on", False: "off"}[digest]
    return f"user {name}: new password, HTTP Digest {said}"
