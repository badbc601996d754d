"""A WorkerSink that passes everything on and lets the board's LEDs follow the ports."""
from __future__ import annotations

from smsd.model import InboundPdu, PortInfo, SendResult, UssdReply
from smsd.modem.calls import CallRecord
from smsd.modem.sink import WorkerSink

from .board import Board


class LedSink:
    """Sits between the workers and their ModemEventSink; the LEDs never hold up a report."""

    def __init__(self, sink: WorkerSink, board: Board) -> None:
        self._sink = sink
        self._board = board

    def part_starting(self, port: int, part_id: int) -> bool:
        going = self._sink.part_starting(port, part_id)
        if going:
            self._board.sending(port, True)
        return going

    def part_result(self, port: int, result: SendResult) -> None:
        self._board.sending(port, False)
        self._sink.part_result(port, result)

    def inbound(self, msg: InboundPdu) -> None:
        self._sink.inbound(msg)

    def ussd_reply(self, reply: UssdReply) -> None:
        self._sink.ussd_reply(reply)

    def port_changed(self, info: PortInfo) -> None:
        self._sink.port_changed(info)
        self._board.show(info)

    def call_ended(self, record: CallRecord) -> None:
        self._sink.call_ended(record)
