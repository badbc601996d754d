"""Each upload route has its own body cap at the HTTP front (smsd.web.uploads), over real HTTP on
loopback: a 5 MiB backup reaches the restore page and is staged, a 5 MiB package reaches the
update page (and is refused there for its missing signature, not by the front), a body over its
route's cap gets a 413 in the route's own format, read to its end first for a browser, at once
for a client that waits for `100 Continue` and for an API request."""
from __future__ import annotations

import socket
import sqlite3
import uuid
from pathlib import Path

import pytest

from console_front import ADMIN_PW, Client, ConsoleFront
from fakes import wait_for
from smsd.web import uploads

MIB = 1 << 20


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One front for the module (a front costs 1 s); each test says what it expects changed."""
    with ConsoleFront(tmp_path_factory.mktemp("uploads")) as served:
        yield served


def form_body(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
              f'Content-Type: application/octet-stream\r\n\r\n'.encode() + data + b"\r\n"
              for k, (name, data) in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def post_raw(front: ConsoleFront, c: Client, target: str, body: bytes, boundary: str, *,
             expect: bool = False, declared: int | None = None, send_body: bool = True) -> bytes:
    """POST over a raw socket; the whole answer (the server closes or says its length)."""
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    head = (f"POST {target} HTTP/1.1\r\nHost: box\r\nCookie: {cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {declared if declared is not None else len(body)}\r\n"
            + ("Expect: 100-continue\r\n" if expect else "") + "Connection: close\r\n\r\n")
    with socket.create_connection((front.host, front.port), timeout=20) as sock:
        sock.sendall(head.encode())
        if send_body:
            sock.sendall(body)
        return b"".join(iter(lambda: sock.recv(1 << 16), b""))


def signed_in(front: ConsoleFront) -> Client:
    c = front.client()
    assert c.login("admin", ADMIN_PW).status == 303
    return c


def big_backup(front: ConsoleFront, tmp_path: Path, size: int) -> bytes:
    path = tmp_path / "big.db"
    front.store.backup(str(path))
    with sqlite3.connect(path) as conn:          # a busy box's backup: padded to `size`
        conn.execute("CREATE TABLE padding (b BLOB)")
        conn.execute("INSERT INTO padding VALUES (randomblob(?))", (size,))
    return path.read_bytes()


def test_a_5_mib_backup_is_uploaded_and_staged(front: ConsoleFront, tmp_path: Path) -> None:
    c = signed_in(front)
    data = big_backup(front, tmp_path, 5 * MIB)
    assert len(data) > 5 * MIB
    body, boundary = form_body({"csrf": c.csrf}, {"backup": ("big.db", data)})
    reply = post_raw(front, c, "/system/restore", body, boundary)
    assert reply.startswith(b"HTTP/1.1 303"), reply[:300]
    staged = front.svc.system.staged_restore()
    assert staged is not None and staged.kind == "full"
    assert (Path(front.svc.system.state_dir) / "restore-upload.db").stat().st_size == len(data)


def test_a_5_mib_package_reaches_the_update_check(front: ConsoleFront) -> None:
    c = signed_in(front)
    body, boundary = form_body({"csrf": c.csrf}, {"package": ("smsd.deb", b"!<arch>\n" * (
        5 * MIB // 8)), "signature": ("smsd.deb.sig", b"not a signature")})
    reply = post_raw(front, c, "/system/update", body, boundary)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert b'id="package-error"' in reply and b"413" not in reply.split(b"\r\n\r\n")[0]


def test_a_restore_over_its_cap_is_read_then_refused_with_a_page(front: ConsoleFront) -> None:
    c = signed_in(front)
    before = front.svc.system.staged_restore()
    data = b"SQLite format 3\x00" + bytes(uploads.RESTORE_CAP)
    body, boundary = form_body({"csrf": c.csrf}, {"backup": ("huge.db", data)})
    reply = post_raw(front, c, "/system/restore", body, boundary)   # sent whole, then read
    head, _, page = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"text/html" in head, head
    assert b"larger than this form takes (65 MiB)" in page and b'href="/system"' in page
    assert b"huge.db" not in page and front.svc.system.staged_restore() == before
    assert c.get("/system").status == 200          # the front serves on


def test_over_the_cap_with_expect_continue_is_answered_before_the_body(front: ConsoleFront
                                                                       ) -> None:
    c = signed_in(front)
    reply = post_raw(front, c, "/system/update", b"", "x", expect=True,
                     declared=uploads.UPDATE_CAP + 1, send_body=False)
    assert reply.startswith(b"HTTP/1.1 413") and b"100 Continue" not in reply


def test_csv_and_certificate_routes_have_their_own_caps(front: ConsoleFront) -> None:
    c = signed_in(front)
    for target, cap in (("/book/import", uploads.CSV_CAP),
                        ("/system/certificate", uploads.CERT_CAP)):
        over = post_raw(front, c, target, b"", "x", expect=True, declared=cap + 1,
                        send_body=False)
        assert over.startswith(b"HTTP/1.1 413"), (target, over[:200])
    # 3 MiB (a long column the import ignores): over the default cap, under the CSV route's.
    row = b"Somebody,+4917012345678," + b"x" * 4000 + b"\n"
    rows = b"Name,Number,Note\n" + row * (3 * MIB // len(row))
    assert uploads.DEFAULT_CAP < len(rows) < uploads.CSV_CAP
    body, boundary = form_body({"csrf": c.csrf, "kind": "contacts"}, {"file": ("c.csv", rows)})
    reply = post_raw(front, c, "/book/import", body, boundary)
    assert reply.startswith(b"HTTP/1.1 303"), reply[:300]
    assert [c.name for c in front.svc.book.contacts()] == ["Somebody"]   # one name, many rows


def test_other_routes_keep_the_small_cap(front: ConsoleFront) -> None:
    c = signed_in(front)
    for target in ("/book/contact", "/api/send_sms"):
        reply = post_raw(front, c, target, b"", "x", declared=uploads.DEFAULT_CAP + 1,
                         send_body=False)
        assert reply.startswith(b"HTTP/1.1 413"), (target, reply[:200])
    assert b'"error_code":413' in reply                  # the JSON API's own format


def read_to_close(sock: socket.socket) -> bytes:
    """The rest of an answer whose server closes after it (Connection: close)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_only_a_few_large_bodies_arrive_at_once(front: ConsoleFront) -> None:
    """A large upload spools to disk before anyone is signed in: a fifth one at once is refused
    at once, and a slot comes back when a connection closes mid-body."""
    head = (f"POST /system/restore HTTP/1.1\r\nHost: box\r\nContent-Length: {10 * MIB}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nExpect: 100-continue\r\n\r\n")

    def start() -> tuple[socket.socket, bytes]:
        sock = socket.create_connection((front.host, front.port), timeout=10)
        sock.sendall(head.encode())
        return sock, sock.recv(4096)

    held = [start() for _ in range(uploads.LARGE_BODIES_AT_ONCE)]
    try:
        assert all(got.startswith(b"HTTP/1.1 100 Continue") for _, got in held), held
        sock, got = start()
        got += read_to_close(sock)                     # the page may follow its headers later
        sock.close()
        assert got.startswith(b"HTTP/1.1 413") and b"other large uploads" in got, got
        held.pop()[0].close()                          # one gives up half way

        def admitted() -> bool:
            sock, got = start()
            sock.close()
            return got.startswith(b"HTTP/1.1 100 Continue")
        assert wait_for(admitted)                      # once the server saw the close
    finally:
        for sock, _ in held:
            sock.close()
