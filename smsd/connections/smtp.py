"""The `SMTP` connection: SMS to e-mail (outbound, smtplib) and e-mail to SMS (a small aiosmtpd
listener).

Outbound: each message is one e-mail to MAILTO from MAILFROM with MAILSUBJECT and MAILBODY, all
templates over $recipient, $originator, $messagetext, $messagedata, $messageid, sent through
SMTPSERVER:SMTPPORT (SMTPSSL: TLS from the first byte; SMTPAUTH: log in with USERNAMESMTP and
PASSWORDSMTP). The server's acceptance is the outcome.

Inbound (RECEIVE on and LISTEN = HOST:PORT, loopback when HOST is left out): mail to
`NUMBER@<MAILDOMAIN>` becomes an SMS to NUMBER. Who sends it: with MAILAUTH on (the default) the
client must log in (SMTP AUTH PLAIN or LOGIN) as an smsd user with the `email` permission, and
the SMS is that user's; SENDERS (`address=user, ...`), when set, further limits the envelope
sender to the addresses mapped to that user. The envelope sender alone proves nothing (anyone
can write any MAIL FROM), so MAILAUTH off -- SENDERS alone deciding -- is an explicit choice.
AUTH travels in the clear, so it is offered only on a loopback listener; on another address it
would need TLS, which this listener has not, so nothing is taken there with MAILAUTH on (put the
box's MTA in front, relaying to the loopback listener). Everything else is refused in the SMTP
dialogue: MAIL before AUTH (530), an unknown sender at MAIL (550), a recipient that is no number
or not of our domain at RCPT (550), a message the service refuses at DATA (554, with its
reason). The mail's text is its first text/plain part (else its subject).
"""
from __future__ import annotations

import email.policy
import ipaddress
import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Protocol

from smsd.connections.base import Inbound, Outcome, Outgoing, Status, number_or, on
from smsd.connections.http_client import fill

log = logging.getLogger(__name__)
_NUMBER = re.compile(r"\+?[0-9]{3,20}").fullmatch
MAX_MAIL = 256 * 1024
MAX_TEXT = 1600


class MailInbound(Inbound, Protocol):
    def mail(self, connection: str, user: str, numbers: list[str], text: str) -> None:
        """Send `text` to `numbers` as `user`; raises with the reason when refused."""

    def mail_login(self, user: str, password: str, remote: str) -> bool:
        """Whether `user` logs in with `password` and may send e-mail to SMS (throttled)."""


def senders_of(text: str) -> dict[str, str]:
    """SENDERS: "alice@example.com=alice, ops@example.com=ops" -> address -> user."""
    pairs = (p.split("=", 1) for p in text.split(",") if "=" in p)
    return {a.strip().lower(): u.strip() for a, u in pairs if a.strip() and u.strip()}


def mail_text(raw: bytes) -> str:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    body = message.get_body(preferencelist=("plain",)) if isinstance(message, EmailMessage) \
        else None
    text = ""
    if body is not None:
        try:
            text = str(body.get_content())
        except (LookupError, ValueError):
            text = ""
    text = text.strip() or str(message.get("Subject", "")).strip()
    return text[:MAX_TEXT]


class _Handler:
    """aiosmtpd's handler hooks: the checks of MAIL, RCPT and DATA."""

    def __init__(self, conn: SmtpConnection) -> None:
        self.conn = conn

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.conn.auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        senders = senders_of(self.conn.s.get("SENDERS", ""))
        if senders or not self.conn.auth:
            mapped = senders.get(address.strip().lower())
            if mapped is None or (self.conn.auth and mapped != session.auth_data):
                return "550 5.7.1 sender not permitted to send SMS through this box"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if not envelope.mail_from:
            return "503 5.5.1 MAIL first"
        local, _, domain = address.rpartition("@")
        wanted = self.conn.s.get("MAILDOMAIN", "").strip().lower()
        if not _NUMBER(local) or (wanted and domain.lower() != wanted):
            return "550 5.1.1 recipient must be NUMBER@" + (wanted or "this box")
        if len(envelope.rcpt_tos) >= 10:
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        user = session.auth_data if self.conn.auth else \
            senders_of(self.conn.s.get("SENDERS", "")).get(envelope.mail_from.lower())
        if not isinstance(user, str):
            return "550 5.7.1 sender not permitted"
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "replace")
        text = mail_text(raw)
        if not text:
            return "554 5.6.0 the mail has no text"
        numbers = [a.rpartition("@")[0] for a in envelope.rcpt_tos]
        try:
            self.conn.inbound.mail(self.conn.name, user, numbers, text)
        except Exception as exc:   # noqa: BLE001 - the service's refusal, told to the sender
            return f"554 5.7.0 refused: {str(exc)[:200]}"
        return "250 OK queued as SMS"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> Any:
        """aiosmtpd's authenticator: an smsd login with the `email` permission."""
        from aiosmtpd.smtp import AuthResult, LoginPassword
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = data.login.decode("utf-8", "replace")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        if self.conn.inbound.mail_login(user, data.password.decode("utf-8", "replace"), peer):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


class SmtpConnection:
    kind = "SMTP"

    def __init__(self, name: str, settings: dict[str, str], inbound: MailInbound) -> None:
        self.name = name
        self.s = settings
        self.inbound = inbound
        self._controller: Any = None
        self._running = False
        self._detail = "stopped"

    # --- e-mail to SMS ----------------------------------------------------------------------
    @property
    def auth(self) -> bool:
        """MAILAUTH: senders log in as smsd users (the default), else SENDERS alone decides."""
        return on(self.s.get("MAILAUTH", "on"))

    def start(self) -> None:
        self._running = True
        self._detail = "ready to send e-mail"
        listen = self.s.get("LISTEN", "").strip()
        if listen and on(self.s.get("RECEIVE", "on")):
            self._listen(listen)

    def _listen(self, listen: str) -> None:
        from aiosmtpd.controller import Controller
        host, _, port = listen.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        handler = _Handler(self)
        try:
            # AUTH in the clear only where it cannot be overheard; elsewhere aiosmtpd offers
            # it over TLS alone, which this listener has not: nothing is taken there.
            controller = Controller(handler, hostname=host,
                                    port=number_or(port, 25, 1, 65535), data_size_limit=MAX_MAIL,
                                    ready_timeout=5.0, authenticator=handler.authenticate,
                                    auth_require_tls=not loopback(host))
            # (MAIL itself refuses a client that has not logged in: handle_MAIL)
            controller.start()
        except (OSError, RuntimeError, TimeoutError) as exc:
            self._detail = f"cannot listen on {listen}: {exc}"
            log.warning("connection %s: %s", self.name, self._detail)
            return
        self._controller = controller
        self._detail += f"; e-mail to SMS on {listen}"
        if self.auth and not loopback(host):
            self._detail += " (refusing all: SMTP AUTH needs TLS off loopback; relay to 127.0.0.1)"

    def stop(self) -> None:
        self._running = False
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._detail = "stopped"

    def status(self) -> Status:
        return Status(self._running, self._detail)

    # --- SMS to e-mail ----------------------------------------------------------------------
    def compose(self, message: Outgoing) -> EmailMessage:
        values = {"recipient": message.number.lstrip("+"), "messageid": str(message.id),
                  "originator": message.sender or self.s.get("PHONENUMBER", ""),
                  "messagetext": message.text, "messagedata": message.text}
        mail = EmailMessage()
        mail["From"] = fill(self.s.get("MAILFROM", ""), values, encode=False)
        mail["To"] = fill(self.s.get("MAILTO", ""), values, encode=False)
        subject = _fill_text(self.s.get("MAILSUBJECT", ""), values)
        mail["Subject"] = " ".join(subject.split())[:200]
        mail.set_content(_fill_text(self.s.get("MAILBODY", ""), values))
        return mail

    def submit(self, message: Outgoing) -> Outcome:
        if not self._running:
            return Outcome(False, reason=f"connection {self.name} is stopped", on_air=False)
        try:
            mail = self.compose(message)
        except (ValueError, TypeError) as exc:
            return Outcome(False, reason=f"cannot build the e-mail: {exc}")
        host = self.s.get("SMTPSERVER", "").strip()
        port = number_or(self.s.get("SMTPPORT", "25"), 25, 1, 65535)
        timeout = float(number_or(self.s.get("SUBMITTIMEOUT", "60"), 60, 1, 600))
        try:
            with self._smtp(host, port, timeout) as smtp:
                if on(self.s.get("SMTPAUTH", "off")):
                    smtp.login(self.s.get("USERNAMESMTP", ""), self.s.get("PASSWORDSMTP", ""))
                refused = smtp.send_message(mail)
        except (smtplib.SMTPConnectError, ConnectionRefusedError) as exc:
            return Outcome(False, reason=f"SMTP server {host}:{port}: {exc}", on_air=False)
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            return Outcome(False, reason=f"SMTP: {exc}")
        if refused:
            return Outcome(False, reason=f"SMTP server refused {', '.join(refused)}")
        return Outcome(True, remote_id=str(mail.get("Message-ID", "") or message.id))

    def _smtp(self, host: str, port: int, timeout: float) -> smtplib.SMTP:
        if on(self.s.get("SMTPSSL", "off")):
            return smtplib.SMTP_SSL(host, port, timeout=timeout,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(host, port, timeout=timeout)


def _fill_text(template: str, values: dict[str, str]) -> str:
    """A template for text (subject, body): variables replaced, spaces kept."""
    out = template
    for name in sorted(values, key=len, reverse=True):
        out = out.replace("$" + name, values[name])
    return out
