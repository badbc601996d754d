"""The Routing page's rule tables over real HTTP on loopback (docs/routing.md): port groups,
outbound rules in order, the "which route" test box (svc.routing.which, the scheduler's own
choice), forward-as-SMS rules; every bad field answered next to itself with nothing saved,
CSRF, the admin-only permission, escaping, the audit log."""
from __future__ import annotations

import html
import re

from console_front import Client, ConsoleFront


def field_error(body: str, name: str) -> str:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', body)
    return html.unescape(found.group(1)) if found else ""


def test_groups_rules_and_the_test_box(front: ConsoleFront, admin: Client) -> None:
    assert admin.post("/routing/group", {"group_name": "cheap", "group_ports": "0"}).status == 303
    assert admin.post("/routing/group", {"group_name": "spare", "group_ports": "1"}).status == 303
    reply = admin.post("/routing/rule", {"prefix": "+44", "rule_user": "", "dialect": "",
                                         "target1": "cheap", "target2": "spare", "target3": ""})
    assert reply.status == 303, reply.body
    page = admin.get("/routing").body
    assert 'id="group-cheap"' in page and 'id="rule-1"' in page and "cheap then spare" in page
    answer = admin.post("/routing/which", {"which_number": "+44 7700 900123", "which_user": "",
                                           "which_dialect": ""})
    assert answer.status == 200
    said = html.unescape(re.search(r'id="which-answer".*?</section>', answer.body, re.S).group(0))
    assert "Outbound rule 1: port(s) 1 then port(s) 2." in said
    assert "It would go out now on port(s) 1." in said
    other = admin.post("/routing/which", {"which_number": "+33612345678"})
    assert "No outbound rule matches" in html.unescape(other.body)
    # In use: the group stays; the rule goes, then the group can.
    refused = admin.post("/routing/group/delete", {"name": "cheap"})
    assert refused.status == 400 and "used by outbound rule 1" in field_error(refused.body,
                                                                                "group_name")
    assert admin.post("/routing/rule/delete", {"id": "1"}).status == 303
    assert admin.post("/routing/group/delete", {"name": "cheap"}).status == 303
    assert admin.post("/routing/group/delete", {"name": "cheap"}).status == 404
    actions = [e.action for e in front.svc.audit.entries(action="routing")]
    assert actions == ["routing.group.delete", "routing.rule.delete", "routing.rule.create",
                       "routing.group", "routing.group"]


def test_rules_move_up_and_down(front: ConsoleFront, admin: Client) -> None:
    front.svc.routing.set_group("g", [0])
    first = front.svc.routing.add_outbound(["g"], prefix="+44")
    second = front.svc.routing.add_outbound(["g"], prefix="+33")
    assert admin.post("/routing/rule/move", {"id": str(second), "to": "up"}).status == 303
    assert [r.id for r in front.svc.routing.outbound()] == [second, first]
    assert admin.post("/routing/rule/move", {"id": str(second), "to": "sideways"}).status == 404
    assert admin.post("/routing/rule/move", {"id": "99", "to": "up"}).status == 404


def test_bad_fields_are_shown_next_to_them_and_nothing_is_saved(front: ConsoleFront,
                                                               admin: Client) -> None:
    cases = [
        ("/routing/group", {"group_name": "<b>x</b>", "group_ports": "0"}, "group_name"),
        ("/routing/group", {"group_name": "ok", "group_ports": "9"}, "group_ports"),
        ("/routing/group", {"group_name": "ok", "group_ports": "x"}, "group_ports"),
        # '\u00b2' passes str.isdigit() but int() refuses it: it answered 500 (found by fuzzing)
        ("/routing/group", {"group_name": "ok", "group_ports": "\u00b2"}, "group_ports"),
        ("/routing/forward", {"fwd_numbers": "+4479", "fwd_rate": "\u00b2"}, "fwd_rate"),
        ("/routing/forward", {"fwd_numbers": "+4479", "fwd_rate": "5", "fwd_port": "\u00b2"},
         "fwd_port"),
        ("/routing/group", {"group_name": "ok"}, "group_ports"),
        ("/routing/rule", {"prefix": "+4x", "target1": "nope"}, "prefix"),
        ("/routing/rule", {"prefix": "+44", "target1": ""}, "targets"),
        ("/routing/rule", {"prefix": "+44", "target1": "nope"}, "targets"),
        ("/routing/rule", {"rule_user": "ghost", "target1": "nope"}, "rule_user"),
        ("/routing/which", {"which_number": "<script>"}, "which_number"),
        ("/routing/forward", {"fwd_numbers": "", "fwd_rate": "5"}, "fwd_numbers"),
        ("/routing/forward", {"fwd_numbers": "+4479", "fwd_rate": "0"}, "fwd_rate"),
        ("/routing/forward", {"fwd_numbers": "+4479", "fwd_rate": "x"}, "fwd_rate"),
        ("/routing/forward", {"fwd_numbers": "+4479", "fwd_rate": "5", "fwd_port": "7"},
         "fwd_port"),
        ("/routing/forward", {"fwd_numbers": "+4479", "fwd_rate": "5", "fwd_keyword": "a b"},
         "fwd_keyword"),
        ("/routing/forward", {"fwd_numbers": "+4479", "fwd_rate": "5", "fwd_owner": "ghost"},
         "fwd_owner"),
    ]
    for path, fields, name in cases:
        reply = admin.post(path, fields)
        assert reply.status == 400, (path, fields, reply.status)
        assert field_error(reply.body, name), (path, fields, reply.body[-2000:])
        assert "<script>" not in reply.body and "<b>x</b>" not in reply.body
    routing = front.svc.routing
    assert routing.groups() == [] and routing.outbound() == [] and routing.forwards() == []


def test_forward_rules_added_and_deleted(front: ConsoleFront, admin: Client) -> None:
    reply = admin.post("/routing/forward", {"fwd_numbers": "+447700900111, +447700900222",
                                            "fwd_port": "1", "fwd_sender": "+4479",
                                            "fwd_keyword": "ALARM", "fwd_owner": "admin",
                                            "fwd_rate": "3"})
    assert reply.status == 303, reply.body
    (rule,) = front.svc.routing.forwards()
    assert (rule.numbers, rule.port, rule.sender_prefix, rule.keyword, rule.owner,
            rule.max_per_hour) == (("+447700900111", "+447700900222"), 1, "+4479", "ALARM",
                                   "admin", 3)
    page = admin.get("/routing").body
    assert f'id="forward-{rule.id}"' in page and "+447700900222" in page
    assert admin.post("/routing/forward/delete", {"id": str(rule.id)}).status == 303
    assert front.svc.routing.forwards() == []
    assert admin.post("/routing/forward/delete", {"id": str(rule.id)}).status == 404


def test_csrf_and_permission(front: ConsoleFront, admin: Client) -> None:
    assert admin.post("/routing/group", {"group_name": "g", "group_ports": "0"},
                      csrf=False).status == 403
    front.svc.users.add("clerk", "pw-clerk-1234", perms=("web",))
    clerk = front.client()
    assert clerk.login("clerk", "pw-clerk-1234").status == 303
    assert clerk.get("/routing").status == 403
    assert clerk.post("/routing/group", {"group_name": "g", "group_ports": "0"}).status == 403
    assert clerk.post("/routing/which", {"which_number": "+44"}).status == 403
    assert front.svc.routing.groups() == []
