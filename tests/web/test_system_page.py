"""The System page over real HTTP on loopback: status, logs with a level filter, the audit log,
backup download and a checked, confirmed restore, restart/reboot/factory reset through the
controls the daemon attaches (a recording stand-in here: the daemon's own are tested with the
daemon), certificate and update uploads refused on bad input, CSRF and permissions."""
from __future__ import annotations

import logging
import sqlite3
import uuid
from pathlib import Path

import pytest

from console_front import ADMIN_PW, PW, Client, ConsoleFront, Reply
from smsd.service.system import PENDING, UPLOADED, SystemUnavailable, restore_pending
from smsd.system.logbuffer import LogBuffer


class Controls:
    """Records what the page asked for (the daemon's own controls stop the process)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def restart(self) -> None:
        self.asked.append("restart")

    def reboot(self) -> None:
        raise SystemUnavailable("simulate mode: a simulated box does not reboot")

    def factory_reset(self) -> None:
        self.asked.append("factory_reset")


def admin(front: ConsoleFront) -> Client:
    c = front.client()
    c.login("admin", ADMIN_PW)
    return c


def multipart(c: Client, target: str, files: dict[str, tuple[str, bytes]],
              fields: dict[str, str] | None = None, *, csrf: bool = True) -> Reply:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    values = dict(fields or {})
    if csrf:
        values.setdefault("csrf", c.csrf)
    for name, value in values.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f'{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return c.request("POST", target, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"},
        body=body.decode("latin-1"))


def test_status_logs_and_audit(front: ConsoleFront) -> None:
    logs = LogBuffer(capacity=50)
    front.svc.system.attach(logs=logs)
    logger = logging.getLogger("smsd.test-system")
    logger.addHandler(logs)
    try:
        logger.warning("port 1 <b>lost</b> its network")
        logger.error("boom")
    finally:
        logger.removeHandler(logs)
    front.svc.audit.record("admin", "user.create", "carol <script>")
    c = admin(front)
    page = c.get("/system")
    assert page.status == 200
    assert "smsd 0." in page.body and "free of" in page.body
    assert "port 1 &lt;b&gt;lost&lt;/b&gt; its network" in page.body
    assert "carol &lt;script&gt;" in page.body and "<script>" not in page.body.split("</head>")[1]
    errors_only = c.get("/system?level=ERROR").body
    assert "boom" in errors_only and "lost" not in errors_only
    bad = c.get("/system?level=<x>")
    assert bad.status == 200 and "choose one of" in bad.body and "&lt;x&gt;" not in bad.body


def test_the_ring_buffer_is_bounded() -> None:
    buf = LogBuffer(capacity=10)
    logger = logging.getLogger("smsd.test-ring")
    logger.addHandler(buf)
    logger.setLevel(logging.DEBUG)
    try:
        for i in range(100):
            logger.info("line %d", i)
    finally:
        logger.removeHandler(buf)
    lines = buf.lines(level="INFO", limit=100)
    assert [ln.message for ln in lines] == [f"line {i}" for i in range(90, 100)]
    assert buf.lines(level="WARNING") == []


def test_backup_downloads_an_smsd_backup_and_is_audited(front: ConsoleFront,
                                                         tmp_path: Path) -> None:
    c = admin(front)
    assert c.post("/system/backup", {}, csrf=False).status == 403
    conn_reply = c.request("POST", "/system/backup", {"csrf": c.csrf})
    assert conn_reply.status == 200
    assert "attachment" in conn_reply.headers["content-disposition"]
    assert conn_reply.body.startswith("SQLite format 3")
    assert int(conn_reply.headers["content-length"]) > 4096
    assert [e.action for e in front.svc.audit.entries()] == ["system.backup"]
    assert not [p for p in Path(front.svc.system.state_dir).iterdir()
                if p.name.startswith(".backup-")]


def backup_bytes(front: ConsoleFront, tmp_path: Path) -> bytes:
    path = tmp_path / "made.db"
    front.store.backup(str(path))
    return path.read_bytes()


def test_restore_is_checked_confirmed_and_applied_at_the_next_start(front: ConsoleFront,
                                                                    tmp_path: Path) -> None:
    controls = Controls()
    front.svc.system.attach(controls)
    data = backup_bytes(front, tmp_path)
    c = admin(front)
    reply = multipart(c, "/system/restore", {"backup": ("b.db", data)})
    assert reply.status == 303, reply.body
    page = c.get("/system").body
    assert 'id="restore-staged"' in page
    unticked = c.post("/system/restore/confirm", {})
    assert unticked.status == 400 and "tick the box" in unticked.body
    assert controls.asked == []
    done = c.post("/system/restore/confirm", {"confirm": "yes"})
    assert done.status == 200 and 'id="restarting"' in done.body
    assert controls.asked == ["restart"]
    state = Path(front.svc.system.state_dir)
    assert (state / PENDING).exists() and not (state / UPLOADED).exists()
    assert front.svc.audit.entries()[0].action == "system.restore"
    # What the daemon's start does before it opens the database.
    target = tmp_path / "restored"
    target.mkdir()
    (target / PENDING).write_bytes((state / PENDING).read_bytes())
    info = restore_pending(str(target), "smsd.db")
    assert info is not None and not (target / PENDING).exists()
    users = sqlite3.connect(target / "smsd.db").execute("SELECT name FROM users").fetchall()
    assert ("alice",) in users


@pytest.mark.parametrize("data, shown", [
    (b"", "the file is empty"),
    (b"not a database at all", "not an smsd backup"),
    (b"SQLite format 3\x00" + b"\x00" * 100, "not an smsd backup"),
])
def test_restore_refuses_what_is_not_a_backup(front: ConsoleFront, data: bytes,
                                              shown: str) -> None:
    c = admin(front)
    reply = multipart(c, "/system/restore", {"backup": ("b.db", data)})
    assert reply.status == 400 and shown in reply.body and 'id="backup-error"' in reply.body
    assert front.svc.system.staged_restore() is None


def test_restore_of_another_sqlite_database_is_refused(front: ConsoleFront,
                                                       tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    c = admin(front)
    reply = multipart(c, "/system/restore", {"backup": ("o.db", other.read_bytes())})
    assert reply.status == 400 and "not an smsd backup" in reply.body
    assert str(tmp_path) not in reply.body


def test_restore_without_a_file_or_without_the_token(front: ConsoleFront,
                                                     tmp_path: Path) -> None:
    c = admin(front)
    assert multipart(c, "/system/restore", {}).status == 400
    data = backup_bytes(front, tmp_path)
    assert multipart(c, "/system/restore", {"backup": ("b.db", data)}, csrf=False).status == 403
    assert front.svc.system.staged_restore() is None


def test_power_actions_need_the_box_ticked_and_say_when_they_cannot(front: ConsoleFront) -> None:
    c = admin(front)
    nobody = c.post("/system/restart", {"confirm": "yes"})
    assert nobody.status == 409 and "not run by smsd.service" in nobody.body
    controls = Controls()
    front.svc.system.attach(controls)
    assert c.post("/system/factory-reset", {}).status == 400
    assert controls.asked == []
    assert c.post("/system/factory-reset", {"confirm": "yes"}, csrf=False).status == 403
    assert controls.asked == []
    assert c.post("/system/factory-reset", {"confirm": "yes"}).status == 200
    assert c.post("/system/restart", {"confirm": "yes"}).status == 200
    refused = c.post("/system/reboot", {"confirm": "yes"})
    assert refused.status == 409 and "does not reboot" in refused.body
    assert controls.asked == ["factory_reset", "restart"]
    assert [e.action for e in front.svc.audit.entries()] == ["system.restart", "system.reset"]


def test_certificate_upload_without_https_and_with_bad_files(front: ConsoleFront) -> None:
    c = admin(front)
    assert "HTTPS is not served" in c.get("/system").body
    reply = multipart(c, "/system/certificate", {"certificate": ("c.pem", b"junk"),
                                                 "key": ("k.pem", b"junk")})
    assert reply.status == 400 and "HTTPS is not served" in reply.body
    big = multipart(c, "/system/certificate", {"certificate": ("c.pem", b"x" * 70000),
                                               "key": ("k.pem", b"junk")})
    assert big.status == 400 and "larger than" in big.body


def test_certificate_upload_is_checked(front: ConsoleFront, tmp_path: Path) -> None:
    from smsd.system.tls import TlsCertificate
    tls = TlsCertificate(str(tmp_path / "tls"), addresses=("127.0.0.1:8443",))
    tls.load()
    front.svc.certificate.attach(tls)
    c = admin(front)
    assert 'id="certificate"' in c.get("/system").body
    reply = multipart(c, "/system/certificate", {"certificate": ("c.pem", b"-----BEGIN x"),
                                                 "key": ("k.pem", b"junk")})
    assert reply.status == 400 and 'id="certificate-error"' in reply.body
    assert front.svc.audit.entries() == []


def test_update_upload_refuses_an_unsigned_package(front: ConsoleFront) -> None:
    c = admin(front)
    reply = multipart(c, "/system/update", {"package": ("smsd.deb", b"!<arch>\nnot really"),
                                            "signature": ("smsd.deb.sig", b"nope")})
    assert reply.status == 400 and 'id="package-error"' in reply.body
    assert multipart(c, "/system/update", {"package": ("smsd.deb", b"x")}).status == 400
    assert front.svc.audit.entries() == []


def test_a_web_user_may_not_use_the_page(front: ConsoleFront) -> None:
    alice = front.client()
    alice.login("alice", PW)
    controls = Controls()
    front.svc.system.attach(controls)
    assert alice.get("/system").status == 403
    assert alice.post("/system/restart", {"confirm": "yes"}).status == 403
    assert alice.post("/system/backup", {}).status == 403
    assert controls.asked == []


def test_a_good_certificate_is_installed_and_audited(front: ConsoleFront, tmp_path: Path) -> None:
    from test_tls import make_pair
    from smsd.system.tls import TlsCertificate
    tls = TlsCertificate(str(tmp_path / "tls"), addresses=("127.0.0.1:8443",))
    tls.load()
    front.svc.certificate.attach(tls)
    cert, key = make_pair("sms.example.org")
    c = admin(front)
    assert multipart(c, "/system/certificate", {"certificate": ("c.pem", cert),
                                                "key": ("k.pem", b"x")}).status == 400
    reply = multipart(c, "/system/certificate", {"certificate": ("c.pem", cert),
                                                 "key": ("k.pem", key)})
    assert reply.status == 303, reply.body
    page = c.get("/system").body
    assert "sms.example.org" in page and "uploaded" in page
    entry = front.svc.audit.entries()[0]
    assert entry.action == "system.certificate" and "BEGIN" not in entry.detail
