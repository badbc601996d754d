"""The Users page and one's own password over real HTTP: create, edit, disable, delete, set a
password (Digest with it), every form's bad input shown at its field with nothing written, CSRF,
admins only, the audit log, and hostile names escaped."""
from __future__ import annotations


import pytest

from console_front import PW, Client, ConsoleFront

NEW_PW = "a-new-pass-2"


def _new(**over: str) -> dict[str, str]:
    fields = {"name": "shop", "password": "pw-shop-1", "password2": "pw-shop-1",
              "perm": "api:json", "credits": "500"}
    fields.update(over)
    return fields


def _actions(front: ConsoleFront) -> list[tuple[str, str, str]]:
    return [(e.user, e.action, e.detail) for e in front.svc.audit.entries()]


def test_create_edit_disable_enable_delete(front: ConsoleFront, admin: Client) -> None:
    reply = admin.post("/users", _new())
    assert reply.status == 303 and reply.location == "/users/edit?name=shop"
    info = front.svc.users.get("shop")
    assert info.perms == {"api:json"} and info.credits == 500 and not info.admin
    assert "User shop created." in admin.get(reply.location).body
    listing = admin.get("/users").body
    assert ">shop</a>" in listing and "JSON API" in listing and "500" in listing

    reply = admin.post("/users/edit", {"name": "shop", "perm": "web", "credits": "",
                                       "port": "2", "route": "x"})
    assert reply.status == 400                     # "x" is no route id: nothing saved
    assert front.svc.users.get("shop").credits == 500
    route = front.svc.routes.add("http://127.0.0.1:9/in")
    form = "name=shop&perm=web&perm=ports&credits=&port=2&route=%d&csrf=%s" % (route, admin.csrf)
    reply = admin.request("POST", "/users/edit", body=form,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 303, reply.body
    info = front.svc.users.get("shop")
    assert info.perms == {"web", "ports"} and info.credits is None
    assert front.svc.users.ports("shop") == [1] and front.svc.users.routes("shop") == [route]
    assert not front.svc.users.resend_unknown("shop")
    # the crash policy for messages whose outcome is unknown (docs/durability.md)
    assert admin.post("/users/edit", {"name": "shop", "perm": "web", "credits": "",
                                      "resend_unknown": "1"}).status == 303
    assert front.svc.users.resend_unknown("shop")
    assert 'name="resend_unknown" value="1" checked' in admin.get("/users/edit?name=shop").body
    assert admin.post("/users/edit", {"name": "shop", "perm": "web", "credits": ""}).status == 303
    assert not front.svc.users.resend_unknown("shop")

    shop = front.client()
    assert shop.login("shop", "pw-shop-1").status == 303
    assert admin.post("/users/disable", {"name": "shop"}).status == 303
    assert front.svc.users.get("shop").disabled
    assert shop.get("/dashboard").status == 303                 # its session ended
    assert front.client().login("shop", "pw-shop-1").status == 403
    assert admin.post("/users/enable", {"name": "shop"}).status == 303
    assert front.client().login("shop", "pw-shop-1").status == 303
    assert admin.post("/users/delete", {"name": "shop"}).status == 303
    assert "shop" not in [u.name for u in front.svc.users.all()]
    actions = [a for _, a, _ in _actions(front)]
    assert actions[:7] == ["user.delete", "user.enable", "user.disable", "user.edit",
                           "user.edit", "user.edit", "user.create"]
    assert all(u == "admin" for u, a, _ in _actions(front) if a.startswith("user."))
    assert not any("pw-shop-1" in d for _, _, d in _actions(front))     # never a password


@pytest.mark.parametrize("fields, field, message", [
    (_new(name="bad name"), "name", "user name: 1 to 64"),
    (_new(name="alice"), "name", "exists"),
    (_new(name=""), "name", "user name"),
    (_new(password="", password2=""), "password", "empty password"),
    (_new(password2="other"), "password2", "differ"),
    (_new(password="p" * 300, password2="p" * 300), "password", "at most 256"),
    (_new(credits="-3"), "credits", "whole number"),
    (_new(credits="1e9"), "credits", "whole number"),
    (_new(credits="１２"), "credits", "whole number"),             # full-width digits
    (_new(perm="api:fax"), "perms", "unknown permission"),
])
def test_new_user_bad_input_is_shown_at_its_field(front: ConsoleFront, admin: Client,
                                                  fields: dict[str, str], field: str,
                                                  message: str) -> None:
    before = front.svc.users.all()
    reply = admin.post("/users", fields)
    assert reply.status == 400
    assert f'id="{field}-error"' in reply.body and message in reply.body, reply.body
    assert front.svc.users.all() == before                          # nothing written


@pytest.mark.parametrize("fields, field", [
    ({"credits": "lots"}, "credits"),
    ({"port": "0"}, "ports"),                 # the page counts ports from 1
    ({"port": "99"}, "ports"),
    ({"port": "two"}, "ports"),
    ({"route": "77"}, "routes"),
    ({"perm": "root"}, "perms"),
])
def test_edit_bad_input_writes_nothing(front: ConsoleFront, admin: Client,
                                       fields: dict[str, str], field: str) -> None:
    front.svc.users.set_ports("alice", [0])
    before = (front.svc.users.get("alice"), front.svc.users.ports("alice"))
    reply = admin.post("/users/edit", {"name": "alice", "perm": "web", "credits": "7", **fields})
    assert reply.status == 400 and f'id="{field}-error"' in reply.body, reply.body
    assert (front.svc.users.get("alice"), front.svc.users.ports("alice")) == before


def test_unknown_user_and_self_lockout(front: ConsoleFront, admin: Client) -> None:
    assert admin.get("/users/edit?name=nobody").status == 404
    assert admin.post("/users/edit", {"name": "nobody", "perm": "web"}).status == 404
    assert admin.post("/users/delete", {"name": "nobody"}).status == 404
    assert admin.post("/users/passwd", {"name": "nobody", "password": "x",
                                        "password2": "x"}).status == 404
    for action in ("disable", "delete"):
        reply = admin.post(f"/users/{action}", {"name": "admin"})
        assert reply.status == 400 and f'id="{action}-error"' in reply.body
    reply = admin.post("/users/edit", {"name": "admin", "perm": "web"})       # admin unticked
    assert reply.status == 400 and 'id="admin-error"' in reply.body
    assert front.svc.users.get("admin").admin and not front.svc.users.get("admin").disabled


def test_admin_sets_a_password_with_digest_and_ends_the_users_sessions(
        front: ConsoleFront, admin: Client) -> None:
    alice = front.client()
    alice.login("alice", PW)
    assert alice.get("/dashboard").status == 200
    bad = admin.post("/users/passwd", {"name": "alice", "password": NEW_PW, "password2": "x"})
    assert bad.status == 400 and 'id="password2-error"' in bad.body
    empty = admin.post("/users/passwd", {"name": "alice", "password": "", "password2": ""})
    assert empty.status == 400 and 'id="password-error"' in empty.body
    long = admin.post("/users/passwd", {"name": "alice", "password": "x" * 257,
                                        "password2": "x" * 257})
    assert long.status == 400 and 'id="password-error"' in long.body
    assert alice.get("/dashboard").status == 200                 # nothing changed yet
    reply = admin.post("/users/passwd", {"name": "alice", "password": NEW_PW,
                                         "password2": NEW_PW, "digest": "on"})
    assert reply.status == 303
    assert front.svc.users.digest_algorithms("alice") == ["SHA-256", "MD5"]
    assert alice.get("/dashboard").status == 303                 # signed out
    assert front.svc.users.check("alice", NEW_PW)
    assert admin.get("/users").status == 200                     # the admin's session lives on
    assert ("admin", "user.password", "user alice: new password, HTTP Digest on") \
        in _actions(front)


def test_users_pages_are_for_admins_only(front: ConsoleFront) -> None:
    alice = front.client()
    alice.login("alice", PW)
    assert alice.get("/users").status == 403
    assert alice.get("/users/edit?name=bob").status == 403
    assert alice.post("/users", _new()).status == 403
    assert alice.post("/users/passwd", {"name": "bob", "password": "x",
                                        "password2": "x"}).status == 403
    assert alice.post("/users/delete", {"name": "bob"}).status == 403
    assert "shop" not in [u.name for u in front.svc.users.all()]
    assert front.svc.users.check("bob", PW)


def test_forms_without_csrf_change_nothing(front: ConsoleFront, admin: Client) -> None:
    assert admin.post("/users", _new(), csrf=False).status == 403
    assert admin.post("/users", {**_new(), "csrf": "forged"}).status == 403
    assert admin.post("/users/delete", {"name": "bob"}, csrf=False).status == 403
    assert admin.post("/users/disable", {"name": "bob"}, csrf=False).status == 403
    assert admin.post("/users/passwd", {"name": "bob", "password": "x", "password2": "x"},
                      csrf=False).status == 403
    assert "shop" not in [u.name for u in front.svc.users.all()]
    assert front.svc.users.check("bob", PW) and not front.svc.users.get("bob").disabled


def test_own_password_needs_the_old_one_and_ends_other_sessions(front: ConsoleFront) -> None:
    here, there = front.client(), front.client()
    here.login("alice", PW)
    there.login("alice", PW)
    page = here.get("/users/password")
    assert page.status == 200 and 'name="old"' in page.body
    assert 'href="/users/password"' in page.body           # reachable from the header
    assert "Users</a>" not in page.body                      # not an admin: no Users link
    wrong = here.post("/users/password", {"old": "guess", "password": NEW_PW,
                                          "password2": NEW_PW})
    assert wrong.status == 400 and 'id="old-error"' in wrong.body
    differ = here.post("/users/password", {"old": PW, "password": NEW_PW, "password2": "x"})
    assert differ.status == 400 and 'id="password2-error"' in differ.body
    empty = here.post("/users/password", {"old": PW, "password": "", "password2": ""})
    assert empty.status == 400 and 'id="password-error"' in empty.body
    assert front.svc.users.check("alice", PW)
    assert here.post("/users/password", {"old": PW, "password": NEW_PW, "password2": NEW_PW},
                     csrf=False).status == 403
    reply = here.post("/users/password", {"old": PW, "password": NEW_PW, "password2": NEW_PW})
    assert reply.status == 303 and front.svc.users.check("alice", NEW_PW)
    assert "Your password was changed" in here.get(reply.location).body    # this one goes on
    assert there.get("/dashboard").status == 303                           # the other ended
    assert ("alice", "user.password", "user alice: new password, HTTP Digest as it was") \
        in _actions(front)


def test_guessing_the_old_password_is_throttled(front: ConsoleFront) -> None:
    c = front.client()
    c.login("bob", PW)
    statuses = [c.post("/users/password", {"old": f"guess{i}", "password": NEW_PW,
                                           "password2": NEW_PW}).status for i in range(12)]
    assert statuses[0] == 400 and statuses[-1] == 429
    assert front.svc.users.check("bob", PW)


HOSTILE = '<script>alert(1)</script>"&'


def test_hostile_values_are_escaped(front: ConsoleFront, admin: Client) -> None:
    reply = admin.post("/users", _new(name=HOSTILE, credits=HOSTILE))
    assert reply.status == 400
    assert "<script>alert(1)" not in reply.body and "&lt;script&gt;" in reply.body
    front.svc.routes.add("http://127.0.0.1:9/<script>x</script>", sender_prefix="<b>")
    page = admin.get("/users/edit?name=alice").body
    assert "<script>x" not in page and "<b>" not in page
    assert admin.get("/users/edit?name=" + "%3Cscript%3E").status == 404
    plus = admin.post("/users", _new(name="a+b"))
    assert plus.location == "/users/edit?name=a%2Bb"
    assert ">a+b<" in admin.get(plus.location).body


def test_smpp_password_is_made_on_the_users_page_and_shown_once(front: ConsoleFront,
                                                                 admin: Client) -> None:
    front.svc.users.add("esme", "a-password-longer-than-8", perms=["smpp"])
    page = admin.get("/users/edit?name=esme").body
    assert "This user has none." in page and "smpp-password" not in page.split("<form")[0]
    reply = admin.post("/users/smpp-password", {"name": "esme"})
    assert reply.status == 200
    shown = reply.body.split('<code class="smpp-password">')[1].split("</code>")[0]
    assert len(shown) == 8 and front.svc.smpp.authenticate("esme", shown) == "esme"
    again = admin.get("/users/edit?name=esme").body
    assert shown not in again and "This user has one" in again      # shown only that once
    assert ("admin", "user.smpp_password", "user esme") in _actions(front)
    assert not any(shown in d for _, _, d in _actions(front))
    assert admin.post("/users/smpp-password", {"name": "nobody"}).status == 404
