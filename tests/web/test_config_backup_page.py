"""The System page's configuration backup over real HTTP: downloaded beside the full one, no
message in it, uploaded to another box's page it is staged as a configuration backup, and the
start that applies it keeps that box's messages."""
from __future__ import annotations

import http.client
import sqlite3
import urllib.parse
from pathlib import Path

from console_front import ADMIN_PW, ConsoleFront
from smsd.service.system import PENDING, restore_pending
from smsd.store import backup
from test_uploads_http import form_body, post_raw


def test_configuration_backup_download_and_restore(front: ConsoleFront, tmp_path: Path) -> None:
    front.svc.book.contact_set("Ann", "+447700900001")
    front.svc.book.group_set("team", ["Ann"])
    c = front.client()
    assert c.login("admin", ADMIN_PW).status == 303
    assert 'id="backup-config"' in c.get("/system").body
    sent = c.post("/send", {"to": "Ann", "text": "a message of this box", "port": ""})
    assert sent.status == 303
    got = c.request("POST", "/system/backup", {"csrf": c.csrf, "kind": "config"})
    assert got.status == 200 and "smsd-configuration-" in got.headers["content-disposition"]
    path = tmp_path / "config.smsdbak"        # the client decodes bodies as text: fetch the bytes
    path.write_bytes(_download(front, c.cookies, c.csrf))
    info = backup.read_info(str(path))
    assert info.kind == "config"
    assert b"a message of this box" not in path.read_bytes()
    assert front.svc.audit.entries()[0].detail.endswith("configuration only")
    # Uploaded back (as to another box's page): staged and announced as a configuration backup.
    body, boundary = form_body({"csrf": c.csrf}, {"backup": ("config.smsdbak",
                                                             path.read_bytes())})
    reply = post_raw(front, c, "/system/restore", body, boundary)
    assert reply.startswith(b"HTTP/1.1 303"), reply[:300]
    assert "An uploaded configuration backup is ready" in c.get("/system").body
    # What the next start does on a box with a history of its own.
    target = tmp_path / "box-b"
    target.mkdir()
    with sqlite3.connect(target / "smsd.db") as conn:
        front.store.db.conn().backup(conn)
        conn.execute("DELETE FROM contacts")
    staged = Path(front.svc.system.state_dir) / "restore-upload.db"
    (target / PENDING).write_bytes(staged.read_bytes())
    assert restore_pending(str(target), "smsd.db") is not None
    with sqlite3.connect(target / "smsd.db") as conn:
        assert conn.execute("SELECT name FROM contacts").fetchall() == [("Ann",)]
        assert conn.execute("SELECT text FROM tasks").fetchall() == [("a message of this box",)]


def _download(front: ConsoleFront, cookies: dict[str, str], csrf: str) -> bytes:
    conn = http.client.HTTPConnection(front.host, front.port, timeout=10)
    try:
        conn.request("POST", "/system/backup", urllib.parse.urlencode(
            {"csrf": csrf, "kind": "config"}), {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
        reply = conn.getresponse()
        assert reply.status == 200
        return reply.read()
    finally:
        conn.close()
