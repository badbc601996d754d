"""The Address book page over real HTTP: contacts and groups edited, CSV imported (the iSMS
export layout too) and exported, every form's bad input shown at its field with nothing written,
uploads size-limited and strict, CSRF, hostile names escaped."""
from __future__ import annotations

import secrets

import pytest

from console_front import ADMIN_PW, PW, Client, ConsoleFront, Reply
from smsd.model import Contact, Group
from smsd.web.book import MAX_UPLOAD

# The layout the MultiModem iSMS address book export writes (BOM, these headers, ";" groups).
ISMS_EXPORT = ("\ufeffGroup,Mobile Number,First Name,Last Name\r\n"
               "sales;vip,+1 (555) 010-0001,Ann,Lee\r\n"
               ",555.010.0002,Bob,\r\n")


@pytest.fixture
def alice(front: ConsoleFront) -> Client:
    c = front.client()
    assert c.login("alice", PW).status == 303
    return c


def upload(c: Client, kind: str, data: bytes, *, csrf: str | None = None,
           filename: str = "book.csv") -> Reply:
    """A multipart form post, as a browser's file input sends it."""
    boundary = "----smsd" + secrets.token_hex(8)
    parts = []
    for name, value in (("csrf", c.csrf if csrf is None else csrf), ("kind", kind)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode() + data
                 + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return c.request("POST", "/book/import", body=body.decode("latin-1"),  # type: ignore[arg-type]
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_contacts_and_groups_edited_by_any_web_user(front: ConsoleFront, alice: Client) -> None:
    assert alice.post("/book/contact", {"name": "Ann", "number": "+49 170 1234"}).status == 303
    assert alice.post("/book/contact", {"name": "Bob", "number": "0171-555"}).status == 303
    assert front.svc.book.contacts() == [Contact("Ann", "+491701234"), Contact("Bob", "0171555")]
    reply = alice.post("/book/group", {"name": "team", "members": "Ann\r\nBob"})
    assert reply.status == 303
    assert front.svc.book.groups() == [Group("team", ("Ann", "Bob"))]
    page = alice.get("/book").body
    assert ">Ann</a>" in page and "+491701234" in page and "Ann, Bob" in page
    edit = alice.get("/book?contact=Ann").body
    assert 'value="+491701234"' in edit
    assert alice.post("/book/contact", {"name": "Ann", "number": "+4999"}).status == 303
    assert Contact("Ann", "+4999") in front.svc.book.contacts()
    assert alice.post("/book/contact/delete", {"name": "Bob"}).status == 303
    assert front.svc.book.groups() == [Group("team", ("Ann",))]
    assert alice.post("/book/group/delete", {"name": "team"}).status == 303
    assert front.svc.book.groups() == []
    assert [a.action for a in front.svc.audit.entries()][:2] == ["book.group_delete",
                                                                 "book.contact_delete"]


@pytest.mark.parametrize("fields, field, message", [
    ({"name": "Ann", "number": "12x"}, "number", "bad number"),
    ({"name": "Ann", "number": ""}, "number", "bad number"),
    ({"name": "12345", "number": "+49"}, "name", "looks like a number"),
    ({"name": "", "number": "+49"}, "name", "1 to 64"),
    ({"name": "a;b", "number": "+49"}, "name", "no &#039;;&#039;"),
    ({"name": "x" * 65, "number": "+49"}, "name", "1 to 64"),
    ({"name": "tab\there", "number": "+49"}, "name", "printable"),
])
def test_bad_contacts_are_shown_at_their_field(front: ConsoleFront, alice: Client,
                                               fields: dict[str, str], field: str,
                                               message: str) -> None:
    reply = alice.post("/book/contact", fields)
    assert reply.status == 400 and f'id="{field}-error"' in reply.body, reply.body
    assert message in reply.body
    assert front.svc.book.contacts() == []


def test_bad_groups_and_deletes(front: ConsoleFront, alice: Client) -> None:
    front.svc.book.contact_set("Ann", "+1")
    reply = alice.post("/book/group", {"name": "team", "members": "Ann\nZed"})
    assert reply.status == 400 and 'id="members-error"' in reply.body and "Zed" in reply.body
    assert "Ann\nZed" in reply.body                             # what was typed is kept
    reply = alice.post("/book/group", {"name": "+123", "members": "Ann"})
    assert reply.status == 400 and 'id="group_name-error"' in reply.body
    assert front.svc.book.groups() == []
    assert alice.post("/book/contact/delete", {"name": "Nobody"}).status == 404
    assert alice.post("/book/group/delete", {"name": "nothing"}).status == 404


def test_import_the_isms_export_and_export_again(front: ConsoleFront, alice: Client) -> None:
    reply = upload(alice, "contacts", ISMS_EXPORT.encode("utf-8"))
    assert reply.status == 303, reply.body
    assert "2 contacts imported." in alice.get("/book").body
    assert front.svc.book.contacts() == [Contact("Ann Lee", "+15550100001"),
                                         Contact("Bob", "5550100002")]
    assert front.svc.book.groups() == [Group("sales", ("Ann Lee",)), Group("vip", ("Ann Lee",))]
    groups = upload(alice, "groups", b"Group,Members\nall,Ann Lee;Bob\n")
    assert groups.status == 303 and Group("all", ("Ann Lee", "Bob")) in front.svc.book.groups()
    exported = alice.get("/book/contacts.csv")
    assert exported.status == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.body == ("Name,Number,Groups\r\nAnn Lee,+15550100001,all;sales;vip\r\n"
                             "Bob,5550100002,all\r\n")
    assert alice.get("/book/groups.csv").body.startswith("Group,Members\r\n")
    # What was exported imports as it is, into an empty book.
    for name in ("Ann Lee", "Bob"):
        front.svc.book.contact_delete(name)
    for group in front.svc.book.groups():
        front.svc.book.group_delete(group.name)
    assert upload(alice, "contacts", exported.body.encode()).status == 303
    assert len(front.svc.book.contacts()) == 2 and len(front.svc.book.groups()) == 3
    assert ("alice", "book.import") in [(e.user, e.action) for e in front.svc.audit.entries()]


@pytest.mark.parametrize("kind, data, message", [
    ("contacts", b"Name,Number\nAnn,+1\nBob,12x\nCid,+3\n", "line 3: bad number"),
    ("contacts", b"Name,Number,Groups\nAnn,+1,1234\n", "looks like a number"),
    ("contacts", b"Foo,Number\nAnn,+1\n", "no name column"),
    ("contacts", "Name,Number\nAnn,+1\nB\u00f6b,+2\n".encode("latin-1"), "line 3: not UTF-8"),
    ("contacts", b"Name,Number\nAnn,+1\x00\n", "not a text file"),
    ("groups", b"Group,Members\nteam,Ann\nnew,Zed\n", "not contacts"),
    ("groups", b"Group,Members\nteam,Ann\n9999,Ann\n", "line 3"),
    ("phonebook", b"Name,Number\nAnn,+1\n", "contacts or groups"),
])
def test_a_bad_import_imports_nothing_and_says_why(front: ConsoleFront, alice: Client, kind: str,
                                                   data: bytes, message: str) -> None:
    before = (front.svc.book.contacts(), front.svc.book.groups())
    reply = upload(alice, kind, data)
    assert reply.status == 400 and 'id="file-error"' in reply.body, reply.body
    assert message in reply.body
    assert (front.svc.book.contacts(), front.svc.book.groups()) == before


def test_a_large_upload_is_refused_unread(front: ConsoleFront, alice: Client) -> None:
    row = b"Somebody,+4917012345678\n"
    data = b"Name,Number\n" + row * (MAX_UPLOAD // len(row) + 10)
    reply = upload(alice, "contacts", data)
    assert reply.status == 413 and 'id="file-error"' in reply.body
    assert front.svc.book.contacts() == []


def test_no_csrf_no_change(front: ConsoleFront, alice: Client) -> None:
    assert upload(alice, "contacts", ISMS_EXPORT.encode(), csrf="").status == 403
    assert upload(alice, "contacts", ISMS_EXPORT.encode(), csrf="forged").status == 403
    assert alice.post("/book/contact", {"name": "Ann", "number": "+1"}, csrf=False).status == 403
    front.svc.book.contact_set("Bob", "+2")
    assert alice.post("/book/contact/delete", {"name": "Bob"}, csrf=False).status == 403
    assert front.svc.book.contacts() == [Contact("Bob", "+2")]


def test_not_signed_in_and_users_without_web(front: ConsoleFront) -> None:
    c = front.client()
    assert c.get("/book").status == 303
    assert c.get("/book/contacts.csv").status == 303
    assert c.login("api", PW).status == 403
    admin = front.client()
    admin.login("admin", ADMIN_PW)
    assert admin.get("/book").status == 200


HOSTILE = '<img src=x onerror=alert(1)>"\''


def test_hostile_names_are_escaped(front: ConsoleFront, alice: Client) -> None:
    front.svc.book.contact_set(HOSTILE, "+1")
    front.svc.book.group_set("<b>grp</b>", [HOSTILE])
    page = alice.get("/book").body
    assert "<img src=x" not in page and "<b>grp" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    reply = alice.post("/book/contact", {"name": "<script>bad()</script>", "number": "<i>"})
    assert reply.status == 400 and "<script>bad" not in reply.body and "<i>" not in reply.body
    link = alice.get("/book?contact=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%22'").body
    assert 'value="+1"' in link
