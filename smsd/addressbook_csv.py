"""CSV formats of the address book (pure functions: text in, records out, and back).

Contacts file: a header row, then one contact per row. Export writes `Name,Number,Groups`.
Import finds its columns by header, case-insensitively and ignoring spaces, "_" and "-", so that
files exported by other SMS gateways and spreadsheets load as they are:

    name:    Name | Contact | Contact Name | Full Name   (or First Name + Last Name, joined)
    number:  Number | Phone | Phone Number | Mobile | Mobile Number | Cell | MSISDN | Tel
    groups:  Group | Groups | Group Name                  (optional; several separated by ";")

A file without a recognisable header is read as `name,number[,groups]`. Numbers may be written
with spaces, dashes, dots or parentheses; they are stored as "+" and digits.

Groups file: header `Group,Members`, one group per row, members (contact names) separated by
";". Import also accepts one row per member (`Group,Member` / `Group Name,Contact`): rows of
one group accumulate in file order.

Export writes a name that a spreadsheet would run as a formula (`=...`, `@...`, `+...`, `-...`)
with a leading `'`; import takes that quote off again, so an export loads back as it was.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from smsd.errors import BadRequest
from smsd.model import Contact, Group
from smsd.numbers import POLICIES, normalise_number

NAME_MAX_LEN = 64

NAME_HEADERS = {"name", "contact", "contactname", "fullname", "displayname"}
FIRST_HEADERS = {"firstname", "givenname"}
LAST_HEADERS = {"lastname", "surname", "familyname"}
NUMBER_HEADERS = {"number", "phone", "phonenumber", "mobile", "mobilenumber", "mobilephone",
                  "cell", "cellphone", "msisdn", "tel", "telephone"}
FORMULA_START = ("=", "+", "-", "@")
GROUPS_HEADERS = {"group", "groups", "groupname"}
MEMBER_HEADERS = {"member", "members", "contact", "contacts", "name", "contactname"}


@dataclass(frozen=True)
class ContactRow:
    contact: Contact
    groups: tuple[str, ...]


def normalize_number(text: str) -> str | None:
    """"+44 (0)20-7946 0000" style input -> "+4402079460000"; None when not a number."""
    return normalise_number(text, POLICIES["book"])


def check_name(name: str, what: str = "name") -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX_LEN or not name.isprintable() or ";" in name:
        raise BadRequest(f"{what} {name!r}: 1 to {NAME_MAX_LEN} printable characters, no ';'",
                         field="name")
    if normalize_number(name) is not None:
        raise BadRequest(f"{what} {name!r} looks like a number; names must not", field="name")
    return name


def _key(header: str) -> str:
    return re.sub(r"[\s_\-]", "", header.strip().lstrip("\ufeff").lower())


def _rows(text: str) -> list[list[str]]:
    # newline="": a lone CR ends a line as the csv module expects, instead of csv.Error (a
    # contacts file "name,number\r\n\r0" answered 500; found by tests/e2e/test_fuzz_surfaces.py)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return [row for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:            # a field over the csv module's limit, a NUL...
        raise BadRequest(f"CSV line {reader.line_num}: {exc}") from None


def _find(header: list[str], names: set[str]) -> int | None:
    for i, cell in enumerate(header):
        if _key(cell) in names:
            return i
    return None


def _cell(row: Sequence[str], index: int | None) -> str:
    return _unquote(row[index].strip()) if index is not None and index < len(row) else ""


def _split(cell: str) -> tuple[str, ...]:
    return tuple(_unquote(p.strip()) for p in cell.split(";") if p.strip())


def _safe(name: str) -> str:
    """A name as a CSV cell a spreadsheet will not run as a formula (names come from users)."""
    return "'" + name if name.startswith(FORMULA_START) else name


def _unquote(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_START and cell[1:2] else cell


# --- contacts -------------------------------------------------------------------------------------
def parse_contacts(text: str) -> list[ContactRow]:
    rows = _rows(text)
    if not rows:
        return []
    header = rows[0]
    number_col = _find(header, NUMBER_HEADERS)
    if number_col is None:                    # no header: name, number[, groups]
        return [_contact_row(r, n, lambda r: _cell(r, 0), 1, 2) for n, r in enumerate(rows, 1)]
    name_of = _name_getter(header)
    groups_col = _find(header, GROUPS_HEADERS)
    return [_contact_row(r, n, name_of, number_col, groups_col)
            for n, r in enumerate(rows[1:], 2)]


def _name_getter(header: list[str]) -> Callable[[Sequence[str]], str]:
    name_col = _find(header, NAME_HEADERS)
    if name_col is not None:
        return lambda row: _cell(row, name_col)
    first, last = _find(header, FIRST_HEADERS), _find(header, LAST_HEADERS)
    if first is None and last is None:
        raise BadRequest("contacts CSV: no name column (Name, or First Name / Last Name)")
    return lambda row: " ".join(p for p in (_cell(row, first), _cell(row, last)) if p)


def _contact_row(row: Sequence[str], line: int, name_of: Callable[[Sequence[str]], str],
                 number_col: int, groups_col: int | None) -> ContactRow:
    number = normalize_number(_cell(row, number_col))
    if number is None:
        raise BadRequest(f"contacts CSV line {line}: bad number {_cell(row, number_col)!r}")
    try:
        name = check_name(name_of(row))
    except BadRequest as exc:
        raise BadRequest(f"contacts CSV line {line}: {exc}") from exc
    return ContactRow(Contact(name, number), _split(_cell(row, groups_col)))


def format_contacts(contacts: Sequence[Contact], groups: Sequence[Group]) -> str:
    member_of: dict[str, list[str]] = {}
    for g in groups:
        for m in g.members:
            member_of.setdefault(m, []).append(g.name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Name", "Number", "Groups"])
    for c in contacts:
        writer.writerow([_safe(c.name), c.number,
                         ";".join(_safe(g) for g in member_of.get(c.name, ()))])
    return out.getvalue()


# --- groups ---------------------------------------------------------------------------------------
def parse_groups(text: str) -> list[Group]:
    rows = _rows(text)
    if not rows:
        return []
    group_col, member_col = _find(rows[0], GROUPS_HEADERS), _find(rows[0], MEMBER_HEADERS)
    if group_col is None:                    # no header: group, members
        group_col, member_col, body = 0, 1, list(enumerate(rows, 1))
    else:
        body = list(enumerate(rows[1:], 2))
    members: dict[str, list[str]] = {}
    for line, row in body:
        try:
            name = check_name(_cell(row, group_col), "group name")
        except BadRequest as exc:
            raise BadRequest(f"groups CSV line {line}: {exc}") from exc
        members.setdefault(name, []).extend(_split(_cell(row, member_col)))
    return [Group(name, tuple(dict.fromkeys(m))) for name, m in members.items()]


def format_groups(groups: Sequence[Group]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Group", "Members"])
    for g in groups:
        writer.writerow([_safe(g.name), ";".join(_safe(m) for m in g.members)])
    return out.getvalue()
