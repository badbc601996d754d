"""What comes up from the modems, and where it goes: the workers' `WorkerSink`.

Every call arrives on a port's worker thread. The events a modem raises on its own -- received
SMS and status reports, USSD replies, registration changes -- are stored here, in the store's inbox;
what people wait for is then woken by the store's commit (the push worker) or by a kick (the
scheduler). The outcome of the parts the scheduler handed out (part_starting, part_result) is the
scheduler's own business, its leases: those calls pass straight on to it.

An inbound PDU must be durable when `inbound` returns: only then does the worker delete it from
the SIM. A PDU nobody can read is kept aside (bad_pdus) rather than refused, so it does not come
back from the SIM on every drain.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import replace
from typing import Any, Callable

from smsd.errors import CodecError
from smsd.model import REG_OK, InboundPdu, PortInfo, SendResult, UssdReply
from smsd.modem.calls import CallRecord
from smsd.scheduler import Scheduler
from smsd.store.db import Store

log = logging.getLogger("smsd.modem_events")


def _default_codec() -> Any:
    from smsd import pdu
    return pdu


def _epoch(value: dt.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class ModemEventSink:
    """Stores what the modems report and tells the scheduler what concerns its dispatching."""

    def __init__(self, store: Store, scheduler: Scheduler, *, codec: Any = None,
                 clock: Callable[[], float] = time.time,
                 report_window: float = 3 * 86400.0) -> None:
        self._inbox = store.inbox               # received SMS, reports, USSD, registrations
        self._cdr = store.cdr                   # the calls the ports saw
        self._scheduler = scheduler
        self._codec = codec if codec is not None else _default_codec()
        self._clock = clock
        self.report_window = report_window      # how old a sent part a status report may match

    # --- the parts the scheduler handed out: its leases -------------------------------------------
    def part_starting(self, port: int, part_id: int) -> bool:
        return self._scheduler.part_starting(port, part_id)

    def part_result(self, port: int, result: SendResult) -> None:
        # A SIM the network bars is the SIM's fault, not the message's (smsd/rotation.py).
        result = self._scheduler.sims.part_result(port, self._scheduler.last_info(port), result)
        self._scheduler.part_result(port, result)

    # --- received SMS and status reports -------------------------------------------------------
    def inbound(self, msg: InboundPdu) -> None:
        now = self._clock()
        try:
            decoded = self._codec.decode(msg.pdu_hex, smsc=True)
            if decoded.kind == "submit":     # TP-MTI 01 in a received slot is nobody's SMS
                raise CodecError("an SMS-SUBMIT is not a received message")
        except (CodecError, ValueError) as exc:
            log.warning("port %d: undecodable %s PDU kept aside: %s", msg.port, msg.kind, exc)
            self._inbox.add_bad_pdu(port=msg.port, slot=msg.slot, kind=msg.kind, pdu=msg.pdu_hex,
                                    error=str(exc), now=now)
            return
        imsi = msg.imsi or self._imsi(msg.port)
        if decoded.kind == "status_report":
            self._status_report(msg, decoded, imsi, now)
        else:
            self._inbox.add_inbound(port=msg.port, slot=msg.slot, imsi=imsi, sender=decoded.number,
                                    smsc=decoded.smsc or "", scts=_epoch(decoded.scts),
                                    text=decoded.text, concat=decoded.concat, now=now)

    def _imsi(self, port: int) -> str:
        """The SIM the port last said it holds (a worker that has not read it yet says "")."""
        info = self._scheduler.last_info(port)
        return info.imsi if info is not None else ""

    def _status_report(self, msg: InboundPdu, decoded: Any, imsi: str, now: float) -> None:
        st = int(decoded.status or 0)
        category = self._codec.status_category(st)
        message_id = self._inbox.record_status_report(
            port=msg.port, slot=msg.slot, imsi=imsi, recipient=decoded.number,
            mr=int(decoded.mr or 0), st=st, category=category,
            scts=_epoch(decoded.scts), discharge=_epoch(decoded.discharge), now=now,
            window=self.report_window)
        # A message's life in the log (docs/logs.md): a report that is no "delivered" is its
        # "failed with cause" (or a pending); a delivered one shows in the message's own line.
        log.log(logging.DEBUG if category == "delivered" else logging.INFO,
                "message %s: status report on port %d, reference %s: TP-ST %d (%s)",
                "?" if message_id is None else message_id, msg.port, decoded.mr, st, category)

    # --- USSD ----------------------------------------------------------------------------------
    def ussd_reply(self, reply: UssdReply) -> None:
        self._inbox.add_ussd_reply(reply.port, reply.text, reply.status, self._clock())

    # --- calls ----------------------------------------------------------------------------------
    def call_ended(self, record: CallRecord) -> None:
        self._cdr.add(port=record.port, slot=record.slot, imsi=record.imsi,
                      source_number=record.source_number,
                      destination_number=record.destination_number, started=record.started,
                      answered=record.answered, ended=record.ended, duration=record.duration,
                      direction=record.direction, hangup=record.hangup,
                      gsm_code=record.gsm_code, policy=record.policy, now=self._clock())

    # --- registration and port state -----------------------------------------------------------
    def port_changed(self, info: PortInfo) -> None:
        # The scheduler sees the new state first, the registration event is stored next, and only
        # then does a port that stopped sending give back its parts (so the event is on record
        # before another port may send them).
        old = self._scheduler.update_port(info)
        self._registration(old, info)
        self._scheduler.sims.port_changed(old, info)      # exceptions, SIM rotation
        self._scheduler.port_state_changed(old, info)

    def _registration(self, old: PortInfo | None, info: PortInfo) -> None:
        """Store a registration event when the port comes up on the network or goes off it."""
        was_up = old is not None and old.reg == REG_OK
        if (info.reg == REG_OK) == was_up:
            return
        # "down" names the SIM that went away, which the new snapshot may no longer know.
        shown = info if info.reg == REG_OK or old is None else replace(
            info, iccid=info.iccid or old.iccid, imsi=info.imsi or old.imsi,
            number=info.number or old.number)
        self._inbox.register_event(shown, info.reg == REG_OK, self._clock())
