"""/book: the address book (contacts and groups), with CSV import and export.

The book is one for the whole box, as the service keeps it (`svc.book` has no owner: every
dialect expands every user's recipients against the same contacts and groups), so every user of
the console (the `web` permission) sees and edits the same book, as the permission table says.
Changes are written to the audit log, since they change where everybody's messages go.

A thin translator over `svc.book`: the same checks as the `smsd contacts` / `smsd groups`
commands; a refusal is shown next to its field. An import is parsed whole before anything is
written: a bad line imports nothing and the message names the line. Uploads are limited to
MAX_UPLOAD bytes and must be UTF-8 text (a byte-order mark is fine).

  GET  /book                      contacts, groups, the forms
  POST /book/contact              add or change a contact (name, number)
  POST /book/contact/delete       (name)
  POST /book/group                add or replace a group (name, members: one per line or ";")
  POST /book/group/delete         (name)
  POST /book/import               multipart: kind (contacts | groups), file
  GET  /book/contacts.csv         export (Name,Number,Groups)
  GET  /book/groups.csv           export (Group,Members)
"""
from __future__ import annotations

import re
import urllib.parse
from typing import Any

import bottle

from smsd.errors import NotFound, ServiceError
from smsd.web.console import Console, PageRequest

MAX_UPLOAD = 4 * 1024 * 1024     # bytes of a CSV file: some eighty thousand contacts
MAX_FIELD = 256
MAX_MEMBERS_TEXT = 64 * 1024
_MEMBERS = re.compile(r"[;\r\n]+")


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/book", show)
    console.route(app, "/book/contact", contact_set, method="POST")
    console.route(app, "/book/contact/delete", contact_delete, method="POST")
    console.route(app, "/book/group", group_set, method="POST")
    console.route(app, "/book/group/delete", group_delete, method="POST")
    console.route(app, "/book/import", import_csv, method="POST")
    console.route(app, "/book/contacts.csv", lambda req: _export(req, "contacts"))
    console.route(app, "/book/groups.csv", lambda req: _export(req, "groups"))


def show(req: PageRequest, contact: dict[str, str] | None = None,
         group: dict[str, str] | None = None, kind: str = "contacts") -> str:
    query = req.query()
    contacts, groups = req.svc.book.contacts(), req.svc.book.groups()
    if contact is None:
        wanted = _field(query, "contact")
        number = next((c.number for c in contacts if c.name == wanted), "")
        contact = {"name": wanted if number else "", "number": number}
    if group is None:
        wanted = _field(query, "group")
        members = next((g.members for g in groups if g.name == wanted), None)
        group = {"name": wanted if members is not None else "",
                 "members": "\n".join(members or ())}
    member_of: dict[str, list[str]] = {}
    for g in groups:
        for m in g.members:
            member_of.setdefault(m, []).append(g.name)
    return req.render("book.tpl", contacts=contacts, groups=groups, member_of=member_of,
                      contact=contact, group=group, kind=kind, max_upload=MAX_UPLOAD,
                      scripts=["confirm.js"], quote=_quote)


# --- contacts and groups ----------------------------------------------------------------------
def contact_set(req: PageRequest) -> str:
    form = req.form()
    entered = {"name": _field(form, "name"), "number": _field(form, "number")}
    try:
        req.svc.book.contact_set(entered["name"], entered["number"])
    except ServiceError as exc:
        field = "number" if exc.field == "number" else "name"
        return _refused(req, field, str(exc), contact=entered)
    name = entered["name"].strip()
    req.svc.audit.record(req.user, "book.contact_set", f"contact {name}")
    return req.redirect("/book", f"Contact {name} saved.")


def contact_delete(req: PageRequest) -> str:
    name = _field(req.form(), "name")
    try:
        req.svc.book.contact_delete(name)
    except NotFound as exc:
        return _refused(req, "contact_delete", str(exc), status=404)
    req.svc.audit.record(req.user, "book.contact_delete", f"contact {name}")
    return req.redirect("/book", f"Contact {name} deleted (and left its groups).")


def group_set(req: PageRequest) -> str:
    form = req.form()
    entered = {"name": _field(form, "name"),
               "members": str(form.get("members", ""))[:MAX_MEMBERS_TEXT]}
    members = [m.strip() for m in _MEMBERS.split(entered["members"]) if m.strip()]
    try:
        req.svc.book.group_set(entered["name"], members)
    except ServiceError as exc:
        field = "members" if exc.field == "members" else "group_name"
        return _refused(req, field, str(exc), group=entered)
    name = entered["name"].strip()
    req.svc.audit.record(req.user, "book.group_set", f"group {name}: {len(members)} members")
    return req.redirect("/book", f"Group {name} saved ({len(members)} members).")


def group_delete(req: PageRequest) -> str:
    name = _field(req.form(), "name")
    try:
        req.svc.book.group_delete(name)
    except NotFound as exc:
        return _refused(req, "group_delete", str(exc), status=404)
    req.svc.audit.record(req.user, "book.group_delete", f"group {name}")
    return req.redirect("/book", f"Group {name} deleted (its contacts stay).")


# --- CSV --------------------------------------------------------------------------------------
def import_csv(req: PageRequest) -> str:
    kind = _field(req.form(), "kind")
    if kind not in ("contacts", "groups"):
        return _refused(req, "file", "choose what the file holds: contacts or groups")
    if (bottle.request.content_length or 0) > MAX_UPLOAD + 4096:
        return _refused(req, "file", f"the file is larger than {MAX_UPLOAD // 1024} KiB: "
                        "nothing was imported", status=413, kind=kind)
    upload = bottle.request.files.get("file")
    if upload is None:
        return _refused(req, "file", "choose a CSV file", kind=kind)
    data = upload.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _refused(req, "file", f"the file is larger than {MAX_UPLOAD // 1024} KiB: "
                        "nothing was imported", status=413, kind=kind)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return _refused(req, "file", f"line {line}: not UTF-8 text (save the file as UTF-8 CSV):"
                        " nothing was imported", kind=kind)
    if "\0" in text:
        return _refused(req, "file", "not a text file: nothing was imported", kind=kind)
    try:
        count = (req.svc.book.contacts_import_csv(text) if kind == "contacts"
                 else req.svc.book.groups_import_csv(text))
    except ServiceError as exc:
        return _refused(req, "file", f"{exc}: nothing was imported", kind=kind)
    name = str(upload.raw_filename or "")[:80]
    req.svc.audit.record(req.user, "book.import", f"{count} {kind} from {name!r}")
    return req.redirect("/book", f"{count} {kind} imported.")


def _export(req: PageRequest, kind: str) -> str:
    text = (req.svc.book.contacts_export_csv() if kind == "contacts"
            else req.svc.book.groups_export_csv())
    bottle.response.content_type = "text/csv; charset=utf-8"
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{kind}.csv"')
    return text


# --- helpers --------------------------------------------------------------------------------------
def _refused(req: PageRequest, field: str, message: str, *, status: int = 400,
             **kwargs: Any) -> str:
    """The page again with `message` next to `field`, answered `status`; nothing was written."""
    req.errors[field] = message
    bottle.response.status = status
    return show(req, **kwargs)


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _field(form: bottle.FormsDict, name: str) -> str:
    value = form.get(name, "")
    return value[:MAX_FIELD + 1] if isinstance(value, str) else ""
