"""Plain HTTP sent to the HTTPS port gets a redirect to the same URL over https:// (301 for GET
and HEAD, 308 otherwise) or a 400 saying to use https://, over a raw socket on loopback; TLS
clients on the same port are served as before."""
from __future__ import annotations

import socket
import pytest

from console_front import ConsoleFront
from smsd.api import https_redirect


@pytest.fixture(scope="module")
def tls_front(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One front for the module: the requests here change nothing (and a front costs 1 s)."""
    with ConsoleFront(tmp_path_factory.mktemp("tls"), https=True) as served:
        yield served


def plain(front: ConsoleFront, request: bytes) -> bytes:
    with socket.create_connection((front.host, front.tls_port), timeout=10) as sock:
        sock.sendall(request)
        return b"".join(iter(lambda: sock.recv(65536), b""))    # until the server closes


def test_a_get_is_redirected_to_the_same_url_over_https(tls_front: ConsoleFront) -> None:
    port = tls_front.tls_port
    reply = plain(tls_front, f"GET /system?level=INFO HTTP/1.1\r\nHost: box.lan:{port}\r\n"
                             f"User-Agent: test\r\n\r\n".encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 301 "), reply
    assert f"\r\nLocation: https://box.lan:{port}/system?level=INFO".encode() in head
    assert b"Connection: close" in head and body == https_redirect.USE_HTTPS


def test_a_post_is_redirected_with_308_and_a_bad_request_gets_400(tls_front: ConsoleFront
                                                                  ) -> None:
    reply = plain(tls_front, b"POST /api/send_sms HTTP/1.1\r\nHost: 10.0.0.5\r\n"
                             b"Content-Length: 0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 308 ") and b"Location: https://10.0.0.5/api/send_sms" \
        in reply
    for bad in (b"GET / HTTP/1.1\r\n\r\n",                                # no Host
                b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",                  # not a host
                b"GET http://evil/ HTTP/1.1\r\nHost: box\r\n\r\n",        # not a path
                b"GET / HTTP/1.1\r\nHost: box\r\nHost: evil\r\n\r\n"):    # two Hosts
        got = plain(tls_front, bad)
        assert got.startswith(b"HTTP/1.1 400 ") and b"use https://" in got, (bad, got)
        assert b"Location" not in got


def test_a_head_split_across_packets_and_tls_still_work(tls_front: ConsoleFront) -> None:
    with socket.create_connection((tls_front.host, tls_front.tls_port), timeout=10) as sock:
        sock.sendall(b"GET /lo")
        sock.sendall(b"gin HTTP/1.1\r\nHost: box\r\n\r\n")
        reply = b"".join(iter(lambda: sock.recv(65536), b""))
    assert reply.startswith(b"HTTP/1.1 301 ") and b"Location: https://box/login" in reply
    assert tls_front.client(https=True).get("/login").status == 200
    assert tls_front.client().get("/login").status == 200                # plain HTTP port


def test_garbage_that_is_not_http_is_still_just_closed(tls_front: ConsoleFront) -> None:
    try:
        got = plain(tls_front, b"\x00\x01\x02 not tls, not http\r\n\r\n")
    except ConnectionResetError:          # closed with the garbage unread: a reset
        got = b""
    assert b"HTTP/" not in got
