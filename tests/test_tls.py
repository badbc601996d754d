"""HTTPS for real on loopback: both listeners at once for every dialect, the self-signed
certificate, installing an uploaded one live (and refusing bad ones), and TLS clients that
misbehave (plain HTTP, silence, half a handshake, floods) not wedging the server."""
from __future__ import annotations

import datetime
import http.client
import os
import socket
import ssl
import stat
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from smsd import config
from smsd.api import server as http_server
from smsd.daemon import Daemon
from smsd.errors import ConfigError
from smsd.service.certificate import Certificate
from smsd.system.tls import CertificateError, TlsCertificate, TlsUnavailable
from smsd.system.watchdog import HttpCheck

from front import (PW, USERS, Front, Reply, login_request, refused_as_auth_error,
                   serves_the_user)
from fakes import wait_for
from test_watchdog_daemon import free_port


# --- helpers -------------------------------------------------------------------------------------
def client_context(cafile: str) -> ssl.SSLContext:
    """A client that checks the certificate and the name, as a browser would."""
    return ssl.create_default_context(cafile=cafile)


def https_get(port: int, target: str, context: ssl.SSLContext, *, host: str = "localhost",
              headers: dict[str, str] | None = None, source: str = "127.0.0.1") -> Reply:
    conn = http.client.HTTPSConnection(host, port, timeout=10, context=context,
                                       source_address=(source, 0))
    start = time.monotonic()
    try:
        conn.request("GET", target, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body,
                     time.monotonic() - start)
    finally:
        conn.close()


def served_certificate(port: int) -> bytes:
    """The DER certificate the server presents now (no verification: we compare bytes)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw) as sock:
        der = sock.getpeercert(binary_form=True)
    assert der is not None
    return der


def make_pair(cn: str = "uploaded.example", *, days: int = 365, key: Any = None,
              start: datetime.datetime | None = None) -> tuple[bytes, bytes]:
    """A certificate as a user would upload it (not one of ours: another organisation)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = start or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Ltd")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn),
                                                        x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes `sock` (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# --- fixtures ------------------------------------------------------------------------------------
class TlsFront(Front):
    """tests/front.py's Front (every dialect over a temp store), with an HTTPS listener beside
    the HTTP one, as the daemon wires them."""

    def __init__(self, path: str, tls: TlsCertificate) -> None:
        super().__init__(path)
        app = self.server.application           # the same app, on both listeners this time
        self.server.close()
        self.server.task_dispatcher.shutdown()
        self.server = http_server.create_server(app, ("127.0.0.1:0",), 8,
                                                tls_listen=("127.0.0.1:0",),
                                                tls_context=tls.context)
        (self.host, self.port), (_, self.tls_port) = http_server.listen_addresses(self.server)
        self._thread = threading.Thread(target=self.server.run, name="http", daemon=True)


@pytest.fixture
def tls(tmp_path: Path) -> TlsCertificate:
    cert = TlsCertificate(str(tmp_path / "state"), hostname="smsd-box",
                          addresses=("127.0.0.1:443",))
    cert.load()
    return cert


@pytest.fixture
def make_front(tmp_path: Path, tls: TlsCertificate,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TlsFront]]:
    started: list[TlsFront] = []

    def make(**limits: float) -> TlsFront:
        for name, value in limits.items():
            monkeypatch.setattr(http_server, name, value)
        front = TlsFront(str(tmp_path / f"smsd{len(started)}.db"), tls)
        front.start()
        started.append(front)
        return front
    yield make
    for f in started:
        f.close()


@pytest.fixture
def front(make_front: Callable[..., TlsFront]) -> TlsFront:
    return make_front(IDLE_TIMEOUT=1, CLEANUP_INTERVAL=1, REQUEST_DEADLINE=1.0)


@pytest.fixture
def trusting(tls: TlsCertificate) -> ssl.SSLContext:
    return client_context(tls.pair_path)     # the pair file: the key is ignored by a client


# --- both listeners ------------------------------------------------------------------------------
@pytest.mark.parametrize("dialect", sorted(USERS))
def test_every_dialect_answers_on_http_and_https_at_once(
        front: TlsFront, trusting: ssl.SSLContext, dialect: str) -> None:
    target, headers = login_request(dialect, PW)
    plain = front.get(target, headers)
    secure = https_get(front.tls_port, target, trusting, headers=headers)
    assert serves_the_user(dialect, plain), plain
    assert serves_the_user(dialect, secure), secure
    assert secure.body == plain.body or dialect in ("gw", "json")   # gw sends: ids differ


def test_the_app_sees_https_and_the_clients_own_address(tls: TlsCertificate,
                                                         trusting: ssl.SSLContext) -> None:
    def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = f"{environ['wsgi.url_scheme']} {environ['REMOTE_ADDR']}".encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    server = http_server.create_server(echo, ("127.0.0.1:0",), 2, tls_listen=("127.0.0.1:0",),
                                       tls_context=tls.context)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        (_, port), (_, tls_port) = http_server.listen_addresses(server)
        assert https_get(tls_port, "/", trusting, source="127.0.0.9").body == "https 127.0.0.9"
        # A client cannot claim https (or another address) through proxy headers.
        spoof = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.2.3"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                          source_address=("127.0.0.8", 0))
        conn.request("GET", "/", headers=spoof)
        assert conn.getresponse().read() == b"http 127.0.0.8"
        conn.close()
    finally:
        server.close()
        server.task_dispatcher.shutdown()


def test_failed_logins_over_https_count_for_the_clients_address(
        front: TlsFront, trusting: ssl.SSLContext) -> None:
    attacker, other = "127.0.0.44", "127.0.0.45"
    for _ in range(5):
        reply = https_get(front.tls_port, login_request("isms", "guess")[0], trusting,
                          source=attacker)
        assert refused_as_auth_error("isms", reply), reply
    good = login_request("isms", PW)[0]
    blocked = https_get(front.tls_port, good, trusting, source=attacker)
    assert refused_as_auth_error("isms", blocked)     # throttled, the right password too
    assert serves_the_user("isms", https_get(front.tls_port, good, trusting, source=other))
    # The same address over plain HTTP is the same client.
    assert refused_as_auth_error("isms", front.get(good, source=attacker))


def test_the_watchdog_probe_can_ask_over_tls(front: TlsFront) -> None:
    assert HttpCheck("127.0.0.1", front.tls_port, http_server.HEALTH_PATH, tls=True)() is None
    assert HttpCheck("127.0.0.1", front.tls_port, http_server.HEALTH_PATH)() is not None


# --- the self-signed certificate -----------------------------------------------------------------
def test_the_self_signed_certificate_names_the_box_and_its_key_is_owner_only(
        tls: TlsCertificate, front: TlsFront, trusting: ssl.SSLContext) -> None:
    info = tls.info()
    assert info.source == "self-signed" and info.self_signed
    assert "CN=smsd-box" in info.subject
    assert {"smsd-box", "localhost", "127.0.0.1", "::1"} <= set(info.names)
    lifetime = info.not_after - info.not_before
    assert datetime.timedelta(days=3600) < lifetime < datetime.timedelta(days=3700)
    assert stat.S_IMODE(os.stat(tls.pair_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(tls.pair_path)).st_mode) == 0o700
    # A verifying client accepts it by name and by address.
    assert https_get(front.tls_port, "/health", trusting).body == "ok\n"
    assert https_get(front.tls_port, "/health", trusting, host="127.0.0.1").body == "ok\n"
    assert b"PRIVATE KEY" not in tls.certificate_pem()


def test_the_self_signed_certificate_is_kept_until_the_names_change(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    first = TlsCertificate(state, hostname="box-a", addresses=("127.0.0.1:443",))
    first.load()
    pem = Path(first.pair_path).read_bytes()
    again = TlsCertificate(state, hostname="box-a", addresses=("0.0.0.0:443",))
    again.load()
    assert Path(first.pair_path).read_bytes() == pem          # same names: kept
    renamed = TlsCertificate(state, hostname="box-b", addresses=("127.0.0.1:443",))
    renamed.load()
    assert Path(first.pair_path).read_bytes() != pem          # a new hostname: made again
    assert "box-b" in renamed.info().names and "box-a" not in renamed.info().names
    listen = TlsCertificate(state, hostname="box-b", addresses=("127.0.0.77:443",))
    listen.load()
    assert "127.0.0.77" in listen.info().names                 # a listen address it lacked


def test_an_uploaded_certificate_is_never_replaced_by_a_self_signed_one(
        tls: TlsCertificate, tmp_path: Path) -> None:
    tls.install(*make_pair())
    uploaded = Path(tls.pair_path).read_bytes()
    after = TlsCertificate(str(tmp_path / "state"), hostname="another-name")
    after.load()
    assert Path(tls.pair_path).read_bytes() == uploaded
    assert after.info().source == "uploaded"


# --- installing an upload ------------------------------------------------------------------------
def test_an_installed_certificate_is_served_from_the_next_connection(
        front: TlsFront, tls: TlsCertificate, tmp_path: Path) -> None:
    before = served_certificate(front.tls_port)
    # A keep-alive connection opened before the install.
    old = http.client.HTTPSConnection("localhost", front.tls_port, timeout=10,
                                      context=client_context(tls.pair_path))
    old.request("GET", "/health")
    assert old.getresponse().read() == b"ok\n"
    cert_pem, key_pem = make_pair()
    info = tls.install(cert_pem, key_pem)
    assert info.source == "uploaded" and "uploaded.example" in info.names
    served = served_certificate(front.tls_port)
    assert served != before
    assert served == x509.load_pem_x509_certificate(cert_pem).public_bytes(
        serialization.Encoding.DER)
    (tmp_path / "new.pem").write_bytes(cert_pem)
    with_new = client_context(str(tmp_path / "new.pem"))
    assert https_get(front.tls_port, "/health", with_new).body == "ok\n"
    old.request("GET", "/health")                         # the open one keeps its session
    assert old.getresponse().read() == b"ok\n"
    old.close()
    assert stat.S_IMODE(os.stat(tls.pair_path).st_mode) == 0o600
    assert tls.info().source == "uploaded"


def test_an_rsa_key_and_a_chain_are_accepted(tls: TlsCertificate) -> None:
    cert_pem, key_pem = make_pair(key=rsa.generate_private_key(65537, 2048))
    intermediate, _ = make_pair("ca.example")
    info = tls.install(cert_pem + intermediate, key_pem)
    assert "CN=uploaded.example" in info.subject
    assert tls.certificate_pem() == cert_pem + intermediate


def _bad_uploads() -> dict[str, tuple[bytes, bytes]]:
    cert_pem, key_pem = make_pair()
    other_cert, other_key = make_pair("other.example")
    expired = make_pair(start=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
                        days=30)
    future = make_pair(start=datetime.datetime.now(datetime.timezone.utc)
                       + datetime.timedelta(days=10))
    weak = make_pair(key=rsa.generate_private_key(65537, 1024))
    encrypted = ec.generate_private_key(ec.SECP256R1())
    locked_pem = make_pair(key=encrypted)[0], encrypted.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"))
    body = cert_pem.split(b"\n")
    return {
        "garbage": (b"\x00\xffnot a certificate" * 10, key_pem),
        "garbage key": (cert_pem, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        "empty": (b"", key_pem),
        "key mismatch": (cert_pem, other_key),
        "swapped files": (key_pem, cert_pem),
        "oversize": (cert_pem + b"\n" * (64 * 1024), key_pem),
        "oversize key": (cert_pem, key_pem + b" " * (64 * 1024)),
        "text around": (b"hello\n" + cert_pem, key_pem),
        "key in the certificate file": (cert_pem + key_pem, key_pem),
        "two keys": (cert_pem, key_pem + key_pem),
        "corrupt base64": (b"\n".join(body[:2] + [b"A" * 64] + body[3:]), key_pem),
        "expired": expired,
        "not yet valid": future,
        "weak rsa": weak,
        "password protected": locked_pem,
        "der not pem": (x509.load_pem_x509_certificate(other_cert).public_bytes(
            serialization.Encoding.DER), key_pem),
    }


BAD = _bad_uploads()


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_upload_is_refused_and_the_old_pair_kept(
        front: TlsFront, tls: TlsCertificate, trusting: ssl.SSLContext, case: str) -> None:
    before_file = Path(tls.pair_path).read_bytes()
    before_served = served_certificate(front.tls_port)
    with pytest.raises(CertificateError) as refused:
        tls.install(*BAD[case])
    assert str(refused.value) and refused.value.reason == "certificate"
    assert Path(tls.pair_path).read_bytes() == before_file
    assert served_certificate(front.tls_port) == before_served
    assert https_get(front.tls_port, "/health", trusting).body == "ok\n"
    assert [p for p in os.listdir(os.path.dirname(tls.pair_path))] == ["server.pem"]


def test_the_service_says_when_https_is_not_served(tls: TlsCertificate) -> None:
    with pytest.raises(TlsUnavailable):
        Certificate().install(*make_pair())
    attached = Certificate(tls)
    assert attached.served and attached.info().source == "self-signed"
    assert attached.install(*make_pair()).source == "uploaded"


def test_a_configured_pair_is_served_and_uploads_are_refused(tmp_path: Path) -> None:
    cert_pem, key_pem = make_pair()
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    tls = TlsCertificate(str(tmp_path / "state"), cert_path=str(tmp_path / "c.pem"),
                         key_path=str(tmp_path / "k.pem"))
    tls.load()
    assert tls.info().source == "config"
    assert not (tmp_path / "state" / "tls").exists()          # nothing self-signed made
    with pytest.raises(CertificateError):
        tls.install(*make_pair("other.example"))
    broken = TlsCertificate(str(tmp_path / "state"), cert_path=str(tmp_path / "c.pem"),
                            key_path=str(tmp_path / "c.pem"))
    with pytest.raises(ConfigError, match="cannot use them"):
        broken.load()
    missing = TlsCertificate(str(tmp_path / "state"), cert_path=str(tmp_path / "none.pem"),
                             key_path=str(tmp_path / "k.pem"))
    with pytest.raises(ConfigError, match="No such file"):
        missing.load()


# --- misbehaving TLS clients ---------------------------------------------------------------------
def test_plain_http_on_the_https_port_is_closed_at_once(front: TlsFront,
                                                        trusting: ssl.SSLContext) -> None:
    with socket.create_connection(("127.0.0.1", front.tls_port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed_within(sock, 0.9)                    # before any idle timeout (1 s)
    assert https_get(front.tls_port, "/health", trusting).body == "ok\n"


@pytest.mark.parametrize("sends", [b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"],
                         ids=["silent", "half a hello"])
def test_a_stalled_handshake_is_closed_by_the_idle_timeout(
        front: TlsFront, trusting: ssl.SSLContext, sends: bytes) -> None:
    with socket.create_connection(("127.0.0.1", front.tls_port), timeout=10) as sock:
        sock.sendall(sends)
        started = time.monotonic()
        assert https_get(front.tls_port, "/health", trusting).body == "ok\n"   # not blocked
        assert closed_within(sock, 8)
        assert time.monotonic() - started < 8


def test_an_idle_https_connection_is_closed_by_the_idle_timeout(
        front: TlsFront, trusting: ssl.SSLContext) -> None:
    with socket.create_connection(("127.0.0.1", front.tls_port), timeout=10) as raw, \
            trusting.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while not reply.endswith(b"ok\n"):
            reply += sock.recv(4096)
        sock.settimeout(8)
        started = time.monotonic()
        try:
            assert sock.recv(4096) == b""
        except (ConnectionResetError, ssl.SSLError):
            pass
        assert time.monotonic() - started < 8


def tls_channels(front: TlsFront) -> int:
    return sum(isinstance(d, http_server.TlsChannel) for d in list(front.server.map.values()))


def test_a_handshake_flood_does_not_wedge_the_server(
        make_front: Callable[..., TlsFront], trusting: ssl.SSLContext) -> None:
    front = make_front(IDLE_TIMEOUT=2, CLEANUP_INTERVAL=1, PER_ADDRESS=20)
    flood: list[socket.socket] = []
    try:
        for i in range(300):        # silent and half hellos from 20 addresses, held open
            sock = socket.create_connection(("127.0.0.1", front.tls_port), timeout=10,
                                            source_address=(f"127.0.1.{i % 20 + 1}", 0))
            sock.sendall([b"", b"\x16\x03\x01\x02\x00\x01"][i % 2])
            flood.append(sock)
        garbage = []
        for i in range(100):        # and garbage, closed at its first bytes
            sock = socket.create_connection(("127.0.0.1", front.tls_port), timeout=10,
                                            source_address=(f"127.0.5.{i + 1}", 0))
            sock.sendall(b"\xff" * 300)
            garbage.append(sock)
        assert all(closed_within(sock, 1.5) for sock in garbage)
        for sock in garbage:
            sock.close()
        # Meanwhile, real clients over both schemes are served.
        for source in ("127.0.2.1", "127.0.2.2"):
            assert https_get(front.tls_port, "/health", trusting, source=source).body == "ok\n"
            assert front.get("/health", source=source).body == "ok\n"
        # One address holds 15 of the flood's connections, under the limit of 20 per address
        # (HTTP and HTTPS count together): 5 more get in, the next one is closed at once.
        extra = [socket.create_connection(("127.0.0.1", front.tls_port), timeout=10,
                                          source_address=("127.0.1.1", 0)) for _ in range(6)]
        flood += extra
        assert closed_within(extra[-1], 0.9)
        assert not closed_within(extra[0], 0.2)
        # Every held connection is gone within the idle timeout and a cleanup turn or two.
        assert wait_for(lambda: tls_channels(front) == 0, timeout=10)
        assert all(closed_within(sock, 1) for sock in flood)
    finally:
        for sock in flood:
            sock.close()
    assert https_get(front.tls_port, "/health", trusting).body == "ok\n"


def test_a_connection_the_client_closes_is_gone_at_once(
        make_front: Callable[..., TlsFront], trusting: ssl.SSLContext) -> None:
    front = make_front(IDLE_TIMEOUT=30)
    for _ in range(3):
        assert https_get(front.tls_port, "/health", trusting).body == "ok\n"
    with socket.create_connection(("127.0.0.1", front.tls_port), timeout=10) as raw, \
            trusting.wrap_socket(raw, server_hostname="localhost"):
        assert wait_for(lambda: tls_channels(front) == 1, timeout=5)
    assert wait_for(lambda: tls_channels(front) == 0, timeout=1)   # not after 30 s idle
    busy = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - busy < 0.25          # and no loop spinning on an EOF


def test_full_handshakes_from_many_clients_are_all_served(
        front: TlsFront, trusting: ssl.SSLContext) -> None:
    results: list[str] = []

    def one(i: int) -> None:
        try:
            results.append(https_get(front.tls_port, "/health", trusting,
                                     source=f"127.0.3.{i % 50 + 1}").body)
        except OSError as exc:
            results.append(repr(exc))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["ok\n"] * 100


def test_a_large_response_over_tls_arrives_whole(tls: TlsCertificate,
                                                 trusting: ssl.SSLContext) -> None:
    """Written from a worker thread past the socket buffer: OpenSSL's would-block retries."""
    blob = bytes(range(256)) * 20_000     # 5 MB

    def big(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", str(len(blob)))])
        return [blob[i:i + 70_000] for i in range(0, len(blob), 70_000)]
    server = http_server.create_server(big, (), 2, tls_listen=("127.0.0.1:0",),
                                       tls_context=tls.context)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        port = http_server.listen_addresses(server)[0][1]
        conn = http.client.HTTPSConnection("localhost", port, timeout=20, context=trusting)
        for _ in range(2):                                   # and again on the same connection
            conn.request("GET", "/", body=b"x" * 300_000)
            assert conn.getresponse().read() == blob
        conn.close()
    finally:
        server.close()
        server.task_dispatcher.shutdown()


# --- configuration and the daemon ----------------------------------------------------------------
def test_config_reads_the_tls_keys(tmp_path: Path) -> None:
    conf = tmp_path / "smsd.conf"
    conf.write_text("[daemon]\nlisten = 127.0.0.1:80\ntls_listen = 0.0.0.0:443, [::1]:8443\n"
                    "tls_cert = /etc/smsd/c.pem\ntls_key = /etc/smsd/k.pem\n")
    values = config.load_file(str(conf))
    assert values["tls_listen"] == ("0.0.0.0:443", "[::1]:8443")
    cfg = config.build(values, {"simulate": 1})
    assert (cfg.tls_cert, cfg.tls_key) == ("/etc/smsd/c.pem", "/etc/smsd/k.pem")
    with pytest.raises(ConfigError, match="together"):
        config.build({"tls_cert": "/c.pem"}, {"simulate": 1})
    with pytest.raises(ConfigError, match="both a listen and a tls_listen"):
        config.build({"listen": ("127.0.0.1:8443",), "tls_listen": ("127.0.0.1:8443",)},
                     {"simulate": 1})


def test_the_daemon_serves_both_and_its_service_installs_live(tmp_path: Path) -> None:
    listen, tls_listen = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    cfg = config.build({}, {"simulate": 1, "sim_latency": 0.05, "listen": (listen,),
                            "tls_listen": (tls_listen,), "state_dir": str(tmp_path / "state"),
                            "admin_password": "pw"})
    daemon = Daemon(cfg)
    daemon.start()
    try:
        pair = tmp_path / "state" / "tls" / "server.pem"
        assert stat.S_IMODE(os.stat(pair).st_mode) == 0o600
        port = int(tls_listen.rpartition(":")[2])
        assert https_get(port, "/health", client_context(str(pair))).body == "ok\n"
        cert_pem, key_pem = make_pair()
        daemon.service.certificate.install(cert_pem, key_pem)
        fresh = tmp_path / "uploaded.pem"
        fresh.write_bytes(cert_pem)
        assert https_get(port, "/health", client_context(str(fresh))).body == "ok\n"
    finally:
        daemon.stop()
    daemon.factory_reset = True                  # confirmed on the box: the uploaded key goes
    daemon.after_stop()
    assert not pair.exists()
