"""The Send page resolves its `to` field through the service's one recipient resolution (the
`web` number policy): numbers as people type them, names, and every reject listed under the
field; the address book page puts a refusal next to the field the service names."""
from __future__ import annotations

from console_front import PW, ConsoleFront


def test_typed_numbers_and_names_resolve_once(front: ConsoleFront) -> None:
    front.svc.book.contact_set("ann", "+447700900011")
    c = front.client()
    assert c.login("alice", PW).status == 303
    reply = c.post("/send", {"to": "+44 7700-900 010, (0)7700 900012, ann, +447700900010",
                             "text": "hi", "port": ""})
    assert reply.status == 303, reply.body
    rows = front.svc.search.outbox(front.svc.search.query(), "alice").rows
    assert sorted(r.number for r in rows) == ["+447700900010", "+447700900011", "07700900012"]


def test_every_reject_is_listed_and_nothing_is_sent(front: ConsoleFront) -> None:
    c = front.client()
    assert c.login("alice", PW).status == 303
    reply = c.post("/send", {"to": "+447700900001, nobody, 1234567890123456789012345, "
                                   "<b>x</b>", "text": "hi", "port": ""})
    assert reply.status == 400
    assert 'id="to-rejects"' in reply.body and "(and 2 more)" in reply.body
    listed = reply.body.split('id="to-rejects"')[1].split("</ul>")[0]
    assert listed.count("<li>") == 3 and "nobody" in listed and "<b>" not in listed
    assert "&lt;b&gt;x&lt;/b&gt;" in listed
    assert front.svc.sending.query_results() == []


def test_a_text_error_goes_next_to_the_text_field(front: ConsoleFront) -> None:
    c = front.client()
    assert c.login("alice", PW).status == 303
    reply = c.post("/send", {"to": "+447700900001", "text": "", "port": ""})
    assert reply.status == 400 and 'id="text-error"' in reply.body
    assert 'id="to-error"' not in reply.body


def test_book_refusals_go_to_the_field_the_service_names(front: ConsoleFront) -> None:
    c = front.client()
    assert c.login("alice", PW).status == 303
    bad_number = c.post("/book/contact", {"name": "number one", "number": "12ab"})
    assert bad_number.status == 400 and 'id="number-error"' in bad_number.body
    bad_name = c.post("/book/contact", {"name": "+4477", "number": "+4477"})
    assert bad_name.status == 400 and 'id="name-error"' in bad_name.body
    bad_members = c.post("/book/group", {"name": "team", "members": "ghost"})
    assert bad_members.status == 400 and 'id="members-error"' in bad_members.body
    bad_group = c.post("/book/group", {"name": "", "members": ""})
    assert bad_group.status == 400 and 'id="group_name-error"' in bad_group.body
