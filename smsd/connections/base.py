"""What every connection is: `Connection` (submit, start/stop, status) and the data it trades.

A connection is handed an `Outgoing` message and answers an `Outcome`: accepted by the provider
(with the provider's id, which its receipts name), refused, or never handed over (`on_air`
False: the connection was down; the message then waits for it or for the rule's next tier).
What a provider sends back (a received SMS, a delivery receipt) goes to the `Inbound` callback.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    id: int                        # the smsd message id ($messageid)
    number: str                    # recipient as the outbox holds it (+digits or national)
    text: str
    sender: str                    # "" : the connection's PHONENUMBER
    encoding: str = "auto"         # the task's: auto | gsm7 | ucs2 | 8bit
    srr: bool = True               # a delivery report was asked for
    data: bytes | None = None      # 8-bit user data (binary message)
    udh: bytes = b""               # extra UDH information elements (no UDHL)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    remote_id: str = ""            # the provider's message id
    reason: str = ""
    on_air: bool = True            # False: never reached the provider, may be sent again


@dataclass(frozen=True)
class Received:
    """A message a provider hands the box (an MO SMS, an HTTP post, an e-mail)."""

    sender: str
    recipient: str
    text: str
    sent: float | None = None      # when the provider says it was sent
    concat: tuple[int, int, int] | None = None     # (reference, total, sequence) of a part


@dataclass(frozen=True)
class Receipt:
    remote_id: str
    delivered: bool
    state: str                     # the provider's word (DELIVRD, UNDELIV, ...)


@dataclass(frozen=True)
class Status:
    up: bool                       # can take a message now
    detail: str                    # "bound (transceiver)", "reconnecting in 4 s: ...", ...


class Inbound(Protocol):
    """Where a connection's traffic from the provider goes (the manager, then the service)."""

    def received(self, connection: str, message: Received) -> None: ...

    def receipt(self, connection: str, receipt: Receipt) -> None: ...


class Connection(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> Status: ...

    def submit(self, message: Outgoing) -> Outcome: ...


class Idle:
    """The common part of a connection with nothing running between requests (HTTPClient,
    HTTPServer): its settings, its callback, started or stopped."""

    def __init__(self, name: str, settings: dict[str, str], inbound: Inbound) -> None:
        self.name = name
        self.s = settings
        self.inbound = inbound
        self._running = False

    def start(self) -> None:
        self._running = True

    def stop(self) -> None:
        self._running = False


def on(value: str) -> bool:
    """An Ozeki on/off setting."""
    return value.strip().lower() in ("on", "yes", "true", "1")


def number_or(value: str, default: int, low: int = 0, high: int = 1 << 30) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        return default
    return n if low <= n <= high else default
