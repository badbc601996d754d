"""Connection builders that import their client library only when a box has such a connection.

The SMPP client (smpplib, 32 modules) and the SMTP connection (smtplib, the e-mail parser and
policy) were loaded by every daemon at start through the manager's table of builders, with no
connection configured: resident memory a box without them pays for nothing (issue 20). The
manager keeps one table; these entries import on the first build."""
from __future__ import annotations

from typing import TYPE_CHECKING

from smsd.connections.base import Connection

if TYPE_CHECKING:
    from smsd.connections.smtp import MailInbound


def smpp(name: str, settings: dict[str, str], inbound: MailInbound) -> Connection:
    from smsd.connections.smpp_client import SmppConnection
    return SmppConnection(name, settings, inbound)


def smtp(name: str, settings: dict[str, str], inbound: MailInbound) -> Connection:
    from smsd.connections.smtp import SmtpConnection
    return SmtpConnection(name, settings, inbound)
