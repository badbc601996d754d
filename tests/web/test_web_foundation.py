"""The console's guard over real HTTP: sign-in, sessions, cookies, CSRF, page permissions,
security headers, escaping."""
from __future__ import annotations

from pathlib import Path

import pytest

from console_front import ADMIN_PW, PW, ConsoleFront
from smsd.web.files import candidates, web_root
from smsd.web.pages import PAGES

NAV = ["Dashboard", "Send", "Outbox", "Inbox", "Users", "Address book", "Ports", "Routing",
       "Network", "System"]


def test_root_leads_to_login(front: ConsoleFront) -> None:
    c = front.client()
    reply = c.get("/")
    assert reply.status == 303 and reply.location.endswith("/login")
    form = c.get("/login")
    assert 'name="username"' in form.body and 'name="password"' in form.body


def test_sign_in_sets_a_strict_httponly_session_cookie(front: ConsoleFront) -> None:
    c = front.client()
    reply = c.login("alice", PW)
    assert reply.status == 303, reply.body
    session = [line for line in reply.cookies if line.startswith("smsd_session=")]
    assert session and "HttpOnly" in session[0] and "SameSite=Strict" in session[0]
    assert "Secure" not in session[0]            # plain HTTP: a Secure cookie would never return
    assert c.get("/").location.endswith("/dashboard")


def test_secure_cookie_on_https(tmp_path: Path) -> None:
    with ConsoleFront(tmp_path, https=True) as front:
        c = front.client(https=True)
        reply = c.login("alice", PW)
        assert reply.status == 303, reply.body
        for line in reply.cookies:
            assert "Secure" in line and "HttpOnly" in line and "SameSite=Strict" in line
        assert c.get("/dashboard").status == 200
        plain = front.client()                 # the same console over HTTP: no Secure flag
        assert all("Secure" not in line for line in plain.login("bob", PW).cookies)


def test_navigation_has_exactly_the_pages_an_admin_may_use(front: ConsoleFront) -> None:
    c = front.client()
    c.login("admin", ADMIN_PW)
    page = c.get("/dashboard").body
    assert [p.title for p in PAGES] == NAV
    positions = [page.find(f">{title}</a>") for title in NAV]
    assert all(p > 0 for p in positions) and positions == sorted(positions)


def test_a_web_user_sees_no_admin_pages_and_gets_403_typing_them(front: ConsoleFront) -> None:
    c = front.client()
    c.login("alice", PW)
    page = c.get("/dashboard").body
    for title in ("Users", "Ports", "Routing", "Network", "System"):
        assert f">{title}</a>" not in page
    for title in ("Dashboard", "Send", "Outbox", "Inbox", "Address book"):
        assert f">{title}</a>" in page
    for path in ("/users", "/ports", "/routing", "/network", "/system"):
        assert c.get(path).status == 403, path


def test_a_user_without_web_permission_cannot_sign_in(front: ConsoleFront) -> None:
    c = front.client()
    assert c.login("api", PW).status == 403
    assert c.get("/dashboard").status == 303          # still sent to /login


def test_wrong_password_and_unknown_user_alike(front: ConsoleFront) -> None:
    a = front.client().login("alice", "nope")
    b = front.client().login("nobody", "nope")
    assert a.status == b.status == 401
    assert "Wrong user name or password" in a.body


def test_throttled_login_answers_429(front: ConsoleFront) -> None:
    c = front.client(source="127.0.0.9")
    statuses = [c.login("alice", f"guess{i}").status for i in range(12)]
    assert statuses[0] == 401 and statuses[-1] == 429
    reply = c.login("alice", PW)                       # even the right password: refused unchecked
    assert reply.status == 429 and reply.headers.get("retry-after")


def test_login_without_its_form_token_is_403(front: ConsoleFront) -> None:
    c = front.client()
    reply = c.request("POST", "/login", {"username": "alice", "password": PW})
    assert reply.status == 403 and "smsd_session" not in c.cookies


def test_session_expires_after_idle_time(tmp_path: Path) -> None:
    with ConsoleFront(tmp_path, idle=60) as front:
        c = front.client()
        c.login("alice", PW)
        front.clock.now += 59
        assert c.get("/dashboard").status == 200      # activity restarts the idle time
        front.clock.now += 59
        assert c.get("/dashboard").status == 200
        front.clock.now += 61
        reply = c.get("/dashboard")
        assert reply.status == 303 and "/login" in reply.location


def test_sign_out_needs_the_token_and_ends_the_session(front: ConsoleFront) -> None:
    c = front.client()
    c.login("alice", PW)
    stolen = dict(c.cookies)
    assert c.post("/logout", {}, csrf=False).status == 403
    assert c.get("/dashboard").status == 200          # still signed in
    assert c.post("/logout", {}).status == 303
    assert c.get("/dashboard").status == 303
    c.cookies = stolen                                 # the old cookie is dead on the server too
    assert c.get("/dashboard").status == 303


def test_next_parameter_never_leaves_the_box(front: ConsoleFront) -> None:
    c = front.client()
    form = c.get("/login?next=//evil.example/x")
    import re
    token = re.search(r'name="csrf" value="([^"]+)"', form.body).group(1)
    reply = c.request("POST", "/login?next=//evil.example/x",
                      {"csrf": token, "username": "alice", "password": PW})
    assert reply.status == 303 and reply.location.endswith("/dashboard")


def test_security_headers_on_pages_and_static(front: ConsoleFront) -> None:
    c = front.client()
    for reply in (c.get("/login"), c.get("/static/console.css")):
        assert reply.status == 200
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert reply.headers["x-frame-options"] == "DENY"
    assert c.get("/login").headers["cache-control"] == "no-store"
    assert c.get("/static/../smsd/web/console.py").status in (400, 403, 404)


def test_a_deleted_user_loses_the_session(front: ConsoleFront) -> None:
    c = front.client()
    c.login("bob", PW)
    front.svc.users.delete("bob")
    assert c.get("/dashboard").status == 303


def test_the_web_folder_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = web_root()
    assert (root / "templates" / "base.tpl").is_file()
    assert (root / "static" / "console.css").is_file()
    # An installed package: <prefix>/share/smsd/web (setup.cfg data_files, the .deb's
    # /usr/share/smsd/web); the override names another copy.
    assert any(str(p).endswith("share/smsd/web") for p in candidates())
    copy = tmp_path / "web" / "templates"
    copy.mkdir(parents=True)
    (copy / "base.tpl").write_text("x")
    monkeypatch.setenv("SMSD_WEB_DIR", str(tmp_path / "web"))
    assert web_root() == tmp_path / "web"


def test_a_pages_own_polling_does_not_keep_the_session_alive(tmp_path: Path) -> None:
    with ConsoleFront(tmp_path, idle=60) as front:
        c = front.client()
        c.login("alice", PW)
        for _ in range(3):
            front.clock.now += 20
            assert c.get("/dashboard/data", {"Accept": "application/json"}).status == 200
        front.clock.now += 1                   # 61 s since the user last did something
        assert c.get("/dashboard/data", {"Accept": "application/json"}).status == 401


def test_the_installed_package_carries_every_file_of_web(tmp_path: Path) -> None:
    """setup.cfg's data_files (what pip and the .deb's pybuild install) hold every template and
    static file, where smsd/web/files.py looks for an installed package."""
    import subprocess
    import sys
    repo = Path(__file__).resolve().parents[2]
    prefix = tmp_path / "prefix"
    subprocess.run([sys.executable, "setup.py", "-q", "install_data", "-d", str(prefix)],
                   cwd=repo, check=True, capture_output=True, timeout=120)
    installed = prefix / "share" / "smsd" / "web"
    assert web_root([tmp_path / "nothing", installed]) == installed
    shipped = {p.relative_to(repo / "web") for p in (repo / "web").rglob("*") if p.is_file()}
    got = {p.relative_to(installed) for p in installed.rglob("*") if p.is_file()}
    assert shipped and got == shipped
    with pytest.raises(FileNotFoundError):
        web_root([tmp_path / "nothing"])


def test_a_form_posted_after_the_session_ended_leads_to_login_and_does_nothing(
        tmp_path: Path) -> None:
    with ConsoleFront(tmp_path, idle=60) as front:
        c = front.client()
        c.login("alice", PW)
        front.clock.now += 61
        reply = c.post("/send", {"to": "+447700900001", "text": "late"})
        assert reply.status == 303 and reply.location.endswith("/login?next=/send")
        assert front.svc.sending.query_results() == []
        script = c.request("POST", "/send", {"to": "+447700900001", "text": "late"},
                           headers={"X-CSRF-Token": c.csrf})
        assert script.status == 401


def test_dashboard_cards_and_their_data(front: ConsoleFront) -> None:
    import json
    from smsd.web.dashboard import points
    c = front.client()
    c.login("alice", PW)
    page = c.get("/dashboard").body
    assert "Port 1" in page and "Port 2" in page and "<polyline" in page
    data = json.loads(c.get("/dashboard/data", {"Accept": "application/json"}).body)
    assert [p["title"] for p in data["ports"]] == ["Port 1", "Port 2"]
    assert data["events"] == []                 # events name everybody's numbers: not for alice
    assert points([]) == "" and len(points([10]).split()) == 2
    assert points([0, 31]) == "0.0,28.0 120.0,0.0"
