"""Address book: contacts, groups, recipient expansion, CSV round trips and foreign CSV layouts."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from smsd.admin_cli import Admin
from smsd.errors import BadRequest, NotFound, UnknownRecipient
from smsd.model import Contact, Group
from smsd.store import Store


@pytest.fixture()
def book(tmp_path: Path) -> Iterator[Admin]:
    store = Store(str(tmp_path / "book.db"))
    yield Admin(store)          # the Service's address-book methods over a bare store
    store.close()


def fill(book: Admin) -> None:
    book.book.contact_set("Ann", "+441111")
    book.book.contact_set("Bob", "2222")
    book.book.contact_set("Cid", "+44 (0) 33-33")
    book.book.group_set("team", ["Bob", "Ann"])
    book.book.group_set("all", ["Ann", "Bob", "Cid"])


def test_contacts_and_groups(book: Admin) -> None:
    fill(book)
    assert book.book.contacts() == [Contact("Ann", "+441111"), Contact("Bob", "2222"),
                                    Contact("Cid", "+4403333")]
    assert book.book.groups() == [Group("all", ("Ann", "Bob", "Cid")), Group("team", ("Bob", "Ann"))]
    book.book.contact_set("Bob", "9999")                          # same name: updated
    book.book.contact_delete("Ann")                               # and gone from its groups
    assert book.book.groups() == [Group("all", ("Bob", "Cid")), Group("team", ("Bob",))]
    book.book.group_delete("team")
    assert [g.name for g in book.book.groups()] == ["all"]
    with pytest.raises(NotFound):
        book.book.contact_delete("Ann")
    with pytest.raises(NotFound):
        book.book.group_delete("team")


@pytest.mark.parametrize("name, number", [
    ("", "123"), ("12345", "123"), ("a;b", "123"), ("Ann", "12a"), ("Ann", "1" * 25),
    ("x" * 65, "1"),
])
def test_bad_contacts(book: Admin, name: str, number: str) -> None:
    with pytest.raises(BadRequest):
        book.book.contact_set(name, number)
    assert book.book.contacts() == []


def test_group_members_must_be_contacts(book: Admin) -> None:
    book.book.contact_set("Ann", "1")
    with pytest.raises(BadRequest):
        book.book.group_set("g", ["Ann", "Zed"])
    assert book.book.groups() == []


def test_expand_recipients(book: Admin) -> None:
    fill(book)
    assert book.book.expand(["555", "team", "Cid", "+441111", "all", "555"]) == \
        ["555", "2222", "+441111", "+4403333"]
    with pytest.raises(UnknownRecipient) as err:
        book.book.expand(["555", "Zed"])
    assert err.value.reason == "recipient" and isinstance(err.value, BadRequest)
    book.book.group_set("Ann", ["Bob"])                            # a contact wins over a group
    assert book.book.expand(["Ann"]) == ["+441111"]


def test_contacts_csv_round_trip(book: Admin, tmp_path: Path) -> None:
    fill(book)
    text = book.book.contacts_export_csv()
    assert text.splitlines()[0] == "Name,Number,Groups"
    assert "Bob,2222,all;team" in text.splitlines()
    other = Admin(Store(str(tmp_path / "other.db")))
    assert other.book.contacts_import_csv(text) == 3
    assert other.book.contacts() == book.book.contacts()
    assert other.book.groups() == [Group("all", ("Ann", "Bob", "Cid")), Group("team", ("Ann", "Bob"))]
    assert other.book.contacts_export_csv() == text


def test_groups_csv_round_trip(book: Admin, tmp_path: Path) -> None:
    fill(book)
    book.book.group_set("empty", [])
    text = book.book.groups_export_csv()
    assert text.splitlines() == ["Group,Members", "all,Ann;Bob;Cid", "empty,", "team,Bob;Ann"]
    other = Admin(Store(str(tmp_path / "other.db")))
    other.book.contacts_import_csv(book.book.contacts_export_csv())
    other.book.group_delete("team")
    assert other.book.groups_import_csv(text) == 3
    assert other.book.groups() == book.book.groups()


def test_foreign_contact_layouts(book: Admin) -> None:
    # Headers in another order, other names, first/last names, a BOM, spaced numbers.
    text = ("\ufeffGroup,Mobile Number,First Name,Last Name\r\n"
            "sales;vip,+1 (555) 010-0001,Ann,Lee\r\n"
            ",555.010.0002,Bob,\r\n")
    assert book.book.contacts_import_csv(text) == 2
    assert book.book.contacts() == [Contact("Ann Lee", "+15550100001"), Contact("Bob", "5550100002")]
    assert book.book.groups() == [Group("sales", ("Ann Lee",)), Group("vip", ("Ann Lee",))]
    assert book.book.contacts_import_csv("Dan,+4912\nEve,+4913,sales\n") == 2   # no header
    assert book.book.expand(["sales"]) == ["+15550100001", "+4913"]


def test_group_file_one_row_per_member(book: Admin) -> None:
    fill(book)
    assert book.book.groups_import_csv("Group Name,Contact\nnew,Cid\nnew,Ann\nnew,Cid\n") == 1
    assert Group("new", ("Cid", "Ann")) in book.book.groups()


@pytest.mark.parametrize("text", [
    "Name,Number\nAnn,12x\n",
    "Name,Number\n12345,12\n",
    "Foo,Number\nAnn,12\n",
    "Name,Number,Groups\nAnn,12,9999\n",
])
def test_bad_contact_files_write_nothing(book: Admin, text: str) -> None:
    with pytest.raises(BadRequest):
        book.book.contacts_import_csv(text)
    assert book.book.contacts() == [] and book.book.groups() == []


def test_bad_group_file_writes_nothing(book: Admin) -> None:
    fill(book)
    before = book.book.groups()
    with pytest.raises(BadRequest):
        book.book.groups_import_csv("Group,Members\nteam,Cid\nnew,Zed\n")
    assert book.book.groups() == before


def test_export_defuses_formula_names_and_import_restores_them(book: Admin) -> None:
    book.book.contact_set("=HYPERLINK(\"http://x\")", "+1")
    book.book.contact_set("@cmd", "+2")
    book.book.group_set("-grp", ["@cmd"])
    text = book.book.contacts_export_csv()
    assert "\r\n\"'=HYPERLINK" in text and "\r\n'@cmd,+2,'-grp\r\n" in text
    groups = book.book.groups_export_csv()
    assert groups == "Group,Members\r\n'-grp,'@cmd\r\n"
    contacts, grouped = book.book.contacts(), book.book.groups()
    for c in contacts:
        book.book.contact_delete(c.name)
    book.book.group_delete("-grp")
    assert book.book.contacts_import_csv(text) == 2 and book.book.groups_import_csv(groups) == 1
    assert book.book.contacts() == contacts and book.book.groups() == grouped
