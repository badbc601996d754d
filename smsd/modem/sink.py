"""How a worker reports upward; smsd.modem_events.ModemEventSink implements it (stores what the
modems raise, hands the fate of sent parts to the scheduler). Called from the worker thread."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from smsd.model import InboundPdu, PortInfo, SendResult, UssdReply

if TYPE_CHECKING:
    from .calls import CallRecord


class WorkerSink(Protocol):
    def part_starting(self, port: int, part_id: int) -> bool:
        """Durably mark the part "on air"; False = cancelled, the worker skips it."""

    def part_result(self, port: int, result: SendResult) -> None: ...

    def inbound(self, msg: InboundPdu) -> None:
        """Must be durable on return; only then does the worker delete it from the SIM."""

    def ussd_reply(self, reply: UssdReply) -> None: ...

    def port_changed(self, info: PortInfo) -> None: ...

    def call_ended(self, record: CallRecord) -> None:
        """A call the port saw is over (smsd/modem/calls.py); store it."""
