"""The box's HTTPS certificate: made at first start, replaced by an upload, served live.

Where it comes from, in order:
1. `[daemon] tls_cert` / `tls_key` in the config file: the files are used as they are (an upload
   is then refused: the file names the certificate, not the page).
2. Otherwise `<state_dir>/tls/server.pem`: the private key and the certificate chain in one file
   (mode 0600), so that replacing the pair is one rename and a failure half-way keeps the old
   pair whole. At first start the daemon writes a self-signed certificate there (ECDSA P-256,
   valid VALID_DAYS) naming the hostname, `localhost`, loopback and the box's addresses; an
   upload (`TlsCertificate.install`) replaces it.

A self-signed certificate of ours is made again at start when it no longer names the hostname
or one of the box's current addresses, or expires within RENEW_BEFORE: browsers then warn once
more, but a certificate naming a stale address fails every client that checks it. An uploaded
certificate is never replaced nor changed by the daemon.

python3-cryptography (Debian 12: 38.x) makes and parses certificates; the TLS itself is
Python's ssl module (OpenSSL), whose contexts are swapped live: connections accepted after an
install get the new certificate, the open ones keep theirs.
"""
from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import re
import socket
import ssl
import struct
import tempfile
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Union

from smsd.errors import BadRequest, ConfigError, ServiceError

# cryptography is imported where it is used: it adds ~3 MB to the daemon's resident size, and a
# box without HTTPS (nor a visit to its certificate page) never needs it (issue 20).
if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

TLS_DIR = "tls"
PAIR_FILE = "server.pem"
TLS_PAIR_FILE = os.path.join(TLS_DIR, PAIR_FILE)   # in the state dir (a factory reset wipes it)
SELF_SIGNED_ORG = "smsd self-signed"     # marks a certificate the daemon made (and may remake)
VALID_DAYS = 3650
RENEW_BEFORE = datetime.timedelta(days=30)
UPLOAD_LIMIT = 64 * 1024                 # bytes per uploaded file: a chain of a few certificates
MAX_CHAIN = 8                            # certificates in one upload
MIN_RSA_BITS = 2048
SIOCGIFADDR = 0x8915                     # Linux ioctl: an interface's IPv4 address

IpAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)"
                        rb"-----END \1-----")


class CertificateError(BadRequest):
    """An uploaded certificate or key is refused (the message says why, for the user); the
    certificate in use stays."""

    reason = "certificate"


class TlsUnavailable(ServiceError):
    """HTTPS is not served (no tls_listen), so there is no certificate to show or replace."""

    reason = "tls_unavailable"


@dataclass(frozen=True)
class CertificateInfo:
    """What the System page shows of the certificate in use."""
    subject: str
    issuer: str
    names: tuple[str, ...]            # subject alternative names: DNS names and IP addresses
    not_before: datetime.datetime
    not_after: datetime.datetime
    sha256: str                       # fingerprint, hex pairs joined by ':'
    self_signed: bool                 # made by this daemon
    source: str                       # "self-signed", "uploaded" or "config"


class TlsCertificate:
    """The certificate HTTPS serves and the SSL context made of it (see the module docstring)."""

    def __init__(self, state_dir: str, *, cert_path: str | None = None,
                 key_path: str | None = None, hostname: str | None = None,
                 addresses: Iterable[str] = ()) -> None:
        if (cert_path is None) != (key_path is None):
            raise CertificateError("tls_cert and tls_key go together: set both or neither")
        self._configured = (cert_path, key_path) if cert_path and key_path else None
        self._pair = os.path.join(state_dir, TLS_DIR, PAIR_FILE)
        self._hostname = hostname or socket.gethostname()
        self._addresses = tuple(addresses)
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None

    @property
    def pair_path(self) -> str:
        return self._pair

    def load(self) -> None:
        """Make the self-signed certificate when needed, then the context (raises on a broken
        configured pair: the daemon refuses to start rather than serve no HTTPS)."""
        if self._configured is None:
            self._ensure_self_signed()
            context = server_context(self._pair)
        else:
            try:
                context = server_context(*self._configured)
            except (ssl.SSLError, OSError) as exc:    # one line, and no restart loop
                raise ConfigError(f"tls_cert {self._configured[0]}, tls_key "
                                  f"{self._configured[1]}: cannot use them: "
                                  f"{getattr(exc, 'strerror', None) or exc}") from None
        with self._lock:
            self._context = context

    def context(self) -> ssl.SSLContext:
        """The context new connections are wrapped with (the server asks at every accept)."""
        with self._lock:
            if self._context is None:
                raise RuntimeError("TlsCertificate.load() first")
            return self._context

    def info(self) -> CertificateInfo:
        chain = self._chain()
        if self._configured:
            source = "config"
        else:
            source = "self-signed" if _made_by_us(chain[0]) else "uploaded"
        return describe(chain[0], source)

    def certificate_pem(self) -> bytes:
        """The certificate chain in use, without the key (to download and trust)."""
        return b"".join(_pem(c) for c in self._chain())

    def _chain(self) -> list[x509.Certificate]:
        chain = _read_chain(self._configured[0] if self._configured else self._pair)
        if chain is None:
            raise CertificateError("the certificate in use cannot be read")
        return chain

    def install(self, cert_pem: bytes, key_pem: bytes,
                now: datetime.datetime | None = None) -> CertificateInfo:
        """Check an uploaded certificate (chain) and its private key, then serve them from the
        next connection on. On any refusal (CertificateError) the pair in use stays."""
        if self._configured:
            raise CertificateError("the certificate is set in the configuration file "
                                   "(tls_cert, tls_key); change it there")
        chain, key = check_pair(cert_pem, key_pem, now)
        text = b"".join(_pem(c) for c in chain) + _key_pem(key)
        with self._lock:      # one install at a time; connections keep using the old context
            try:
                written = _write_private(self._pair, text, keep_on_failure=True)
            except OSError as exc:      # a full or read-only disk: the old pair stays
                raise TlsUnavailable(f"cannot save the certificate: {exc.strerror}") from None
            try:
                context = server_context(written)
            except (ssl.SSLError, OSError) as exc:
                os.unlink(written)
                raise CertificateError(f"the TLS library refuses the pair: {exc}") from None
            os.replace(written, self._pair)
            self._context = context
        return describe(chain[0], "uploaded")

    # --- the self-signed certificate ----------------------------------------------------------
    def wanted_names(self) -> tuple[set[str], set[IpAddress]]:
        """The DNS names and addresses the self-signed certificate must name."""
        dns = {self._hostname.lower(), "localhost"}
        ips: set[IpAddress] = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
        ips.update(interface_addresses())
        for address in self._addresses:
            host = address.rpartition(":")[0].strip("[]")
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                if host:
                    dns.add(host.lower())
                continue
            if not ip.is_unspecified:
                ips.add(ip)
        return dns, ips

    def _ensure_self_signed(self, now: datetime.datetime | None = None) -> None:
        now = now or _now()
        dns, ips = self.wanted_names()
        current = _read_chain(self._pair)
        if current is not None:
            if not _made_by_us(current[0]):
                return                      # uploaded: the user's choice, never replaced
            names = set(_san_strings(current[0]))
            fresh = _not_after(current[0]) - RENEW_BEFORE > now
            if fresh and names >= {*dns, *(str(ip) for ip in ips)}:
                return
        cert_pem, key_pem = make_self_signed(self._hostname, dns, ips, now)
        os.makedirs(os.path.dirname(self._pair), mode=0o700, exist_ok=True)
        os.replace(_write_private(self._pair, cert_pem + key_pem), self._pair)


def server_context(cert_file: str, key_file: str | None = None) -> ssl.SSLContext:
    """A server context: TLS 1.2 or later, no renegotiation (a client could make the event loop
    thread do handshakes at will), OpenSSL's default ciphers."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    context.load_cert_chain(cert_file, key_file)
    return context


def make_self_signed(hostname: str, dns: Iterable[str], ips: Iterable[IpAddress],
                     now: datetime.datetime) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM): ECDSA P-256 (a handshake costs a fraction of an RSA 2048 one
    in the event loop), CN = hostname, SANs = `dns` and `ips`, valid VALID_DAYS."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64] or "smsd"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, SELF_SIGNED_ORG)])
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(dns)]
    sans += [x509.IPAddress(ip) for ip in sorted(ips, key=lambda a: (a.version, a))]
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))    # a box whose clock lags
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return _pem(cert), _key_pem(key)


# --- checking an upload --------------------------------------------------------------------------
PrivateKey = Union["rsa.RSAPrivateKey", "ec.EllipticCurvePrivateKey"]


def check_pair(cert_pem: bytes, key_pem: bytes, now: datetime.datetime | None = None
               ) -> tuple[list[x509.Certificate], PrivateKey]:
    """Parse strictly: PEM only, sizes bounded, the key unencrypted RSA >= 2048 or EC, matching
    the first certificate, which is valid now. Raises CertificateError saying what is wrong."""
    for what, data in (("certificate", cert_pem), ("key", key_pem)):
        if len(data) > UPLOAD_LIMIT:
            raise CertificateError(f"the {what} file is larger than {UPLOAD_LIMIT // 1024} KiB")
        if not data.strip():
            raise CertificateError(f"the {what} file is empty")
    chain = _certificates(cert_pem)
    key = _private_key(key_pem)
    if _public_der(key.public_key()) != _public_der(chain[0].public_key()):
        raise CertificateError("the private key does not belong to the certificate")
    now = now or _now()
    if _not_after(chain[0]) <= now:
        raise CertificateError(f"the certificate expired on {_not_after(chain[0]):%Y-%m-%d}")
    if _not_before(chain[0]) > now:
        raise CertificateError(f"the certificate is valid only from "
                               f"{_not_before(chain[0]):%Y-%m-%d}")
    return chain, key


def _certificates(data: bytes) -> list[x509.Certificate]:
    from cryptography import x509
    blocks = _pem_blocks(data, "certificate")
    if any(kind != b"CERTIFICATE" for kind, _ in blocks):
        raise CertificateError("the certificate file holds something else than certificates "
                               "(a key belongs in the key file)")
    if len(blocks) > MAX_CHAIN:
        raise CertificateError(f"more than {MAX_CHAIN} certificates in the chain")
    try:
        return [x509.load_pem_x509_certificate(block) for _, block in blocks]
    except ValueError:
        raise CertificateError("a certificate in the file cannot be read") from None


def _private_key(data: bytes) -> PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    blocks = _pem_blocks(data, "key")
    if len(blocks) != 1 or not blocks[0][0].endswith(b"PRIVATE KEY"):
        raise CertificateError("the key file must hold exactly one PEM private key")
    if blocks[0][0] == b"ENCRYPTED PRIVATE KEY" or b"ENCRYPTED" in blocks[0][1]:
        raise CertificateError("the key is protected by a password: upload it without one")
    try:
        key = serialization.load_pem_private_key(blocks[0][1], password=None)
    except (ValueError, TypeError):
        raise CertificateError("the private key cannot be read") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise CertificateError(f"an RSA key needs at least {MIN_RSA_BITS} bits")
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key
    raise CertificateError("only RSA and EC (ECDSA) keys are supported")


def _pem_blocks(data: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """(kind, whole block) of every PEM block; anything but whitespace between them refuses."""
    blocks, rest, pos = [], [], 0
    for match in _PEM_BLOCK.finditer(data):
        rest.append(data[pos:match.start()])
        blocks.append((match.group(1), match.group(0) + b"\n"))
        pos = match.end()
    rest.append(data[pos:])
    if not blocks or any(part.strip() for part in rest):
        raise CertificateError(f"the {what} file is not in PEM format (-----BEGIN ...)")
    return blocks


# --- helpers -------------------------------------------------------------------------------------
def describe(cert: x509.Certificate, source: str) -> CertificateInfo:
    from cryptography.hazmat.primitives import hashes
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        names=tuple(_san_strings(cert)), not_before=_not_before(cert),
        not_after=_not_after(cert), sha256=":".join(re.findall("..", digest)),
        self_signed=_made_by_us(cert), source=source)


def reference(info: CertificateInfo) -> str:
    """How a configuration backup names a certificate: subject, fingerprint, source."""
    return f"{info.subject}; SHA-256 {info.sha256}; {info.source}"


def stored_reference(state_dir: str) -> str:
    """reference() of the certificate in the state dir's pair file, "" when there is none
    (`smsd backup --config-only` runs beside the daemon, without its TlsCertificate)."""
    chain = _read_chain(os.path.join(state_dir, TLS_PAIR_FILE))
    if not chain:
        return ""
    return reference(describe(chain[0], "self-signed" if _made_by_us(chain[0]) else "uploaded"))


def interface_addresses() -> set[IpAddress]:
    """The addresses of the box's interfaces: IPv4 by ioctl, IPv6 (not link-local) from /proc;
    what cannot be read is left out (a container may hide some)."""
    found: set[IpAddress] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                reply = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:               # no IPv4 address on it
                continue
            found.add(ipaddress.IPv4Address(reply[20:24]))
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            for line in f:
                ip = ipaddress.IPv6Address(bytes.fromhex(line.split()[0]))
                if not ip.is_link_local:
                    found.add(ip)
    except (OSError, ValueError, IndexError):
        pass
    return found


def _san_strings(cert: x509.Certificate) -> list[str]:
    from cryptography import x509
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return ([str(d).lower() for d in sans.get_values_for_type(x509.DNSName)]
            + [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)])


def _made_by_us(cert: x509.Certificate) -> bool:
    from cryptography.x509.oid import NameOID
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return cert.subject == cert.issuer and any(o.value == SELF_SIGNED_ORG for o in orgs)


def _read_chain(path: str) -> list[x509.Certificate] | None:
    """The certificates of a pair file, or None when missing or unreadable (then remade)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        return _certificates(b"".join(b for k, b in _pem_blocks(data, "pair")
                                      if k == b"CERTIFICATE"))
    except (OSError, CertificateError):
        return None


def _write_private(path: str, data: bytes, keep_on_failure: bool = False) -> str:
    """Write `data` to a new 0600 file beside `path`, synced; its name is returned for the
    caller to rename over `path` (one rename: a reader sees the old pair or the new one)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-" if keep_on_failure else ".new-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _pem(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_der(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization
    public_bytes = getattr(key, "public_bytes")
    return bytes(public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo))


def _not_after(cert: x509.Certificate) -> datetime.datetime:
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)   # naive UTC in 38


def _not_before(cert: x509.Certificate) -> datetime.datetime:
    return cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
