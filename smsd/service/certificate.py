"""The HTTPS certificate, for the System page: what is served, and installing an upload.

The daemon attaches the smsd.system.tls.TlsCertificate it serves HTTPS with; without HTTPS
(no tls_listen) every method raises TlsUnavailable, so the page can say why the form is missing.
"""
from __future__ import annotations

from smsd.system.tls import CertificateInfo, TlsCertificate, TlsUnavailable


class Certificate:
    def __init__(self, tls: TlsCertificate | None = None) -> None:
        self._tls = tls

    def attach(self, tls: TlsCertificate | None) -> None:
        self._tls = tls

    @property
    def served(self) -> bool:
        return self._tls is not None

    def info(self) -> CertificateInfo:
        return self._get().info()

    def pem(self) -> bytes:
        """The certificate chain served (no key): for a client to download and trust."""
        return self._get().certificate_pem()

    def install(self, cert_pem: bytes, key_pem: bytes) -> CertificateInfo:
        """Check the uploaded PEM certificate (chain) and private key and serve them from the
        next HTTPS connection on, no restart. CertificateError (a BadRequest saying why) leaves
        the certificate in use unchanged."""
        return self._get().install(cert_pem, key_pem)

    def _get(self) -> TlsCertificate:
        if self._tls is None:
            raise TlsUnavailable("HTTPS is not served (set tls_listen in the config file)")
        return self._tls
