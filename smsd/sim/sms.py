"""SMS handlers of the simulated modems (27.005, PDU mode) and the submit/receive paths.

Submit: AT+CMGS=<n> prints the prompt; the modem collects the PDU and calls `submit()`, which
validates it at once (bad PDU or length -> +CMS ERROR: 304; no SIM/network -> 310/311/331) and
answers `+CMGS: <mr>` after `latency` seconds. The network then routes the message: to another
simulated SIM as an SMS-DELIVER, or to the outside world, where only a status report comes back
(if TP-SRR asked for one): ST 0, ST 0x41 for numbers ending in 0000, none for numbers ending in
9999. An alphanumeric or empty destination is refused by the network with RP cause 1
("unassigned number", a permanent error) as +CMS ERROR: 1.

Receive: `receive()` is the modem's side of a network delivery, following AT+CNMI: <mt> 2 routes
a DELIVER straight to the host (+CMT), otherwise it is stored (+CMTI when <mt> is 1 or 3); <ds> 1
routes a STATUS-REPORT as +CDS, 2 stores it (+CDSI: "SR",<idx>; it shares the SIM's index space,
so AT+CMGR reads it). Full storage refuses and the network keeps the message waiting.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from smsd import pdu
from smsd.errors import CodecError
from smsd.pdu.types import Decoded
from smsd.sim.atcmd import DEFERRED, AtCmd, Reply, cms, int_arg, ok, unquote
from smsd.sim.handler import Handler, Module, by_op
from smsd.sim.network import (STAT_REC_READ, STAT_REC_UNREAD, Network, Pending, SimCard,
                              normalise)
from smsd.sim.tpdu import smsc_field, submit_to_deliver, tpdu_len, user_data_fits

CMS_UNASSIGNED_NUMBER = 1
CMS_OP_NOT_ALLOWED = 302
CMS_INVALID_PDU = 304
CMS_SIM_NOT_INSERTED = 310
CMS_SIM_PIN = 311
CMS_SIM_PUK = 316
CMS_INVALID_INDEX = 321
CMS_NO_NETWORK = 331
ST_DELIVERED = 0x00
ST_PERMANENT_FAILURE = 0x41
MAX_TPDU = 180


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def sms_gate(m: Module) -> Reply | None:
    """The +CMS error of an SMS command on a module whose SIM is not usable, else None."""
    return {"ABSENT": cms(CMS_SIM_NOT_INSERTED), "SIM PIN": cms(CMS_SIM_PIN),
            "SIM PUK": cms(CMS_SIM_PUK)}.get(m.sim_state())


def _pdu_mode_gate(m: Module) -> Reply | None:
    return sms_gate(m) or (cms(CMS_OP_NOT_ALLOWED) if m.cmgf != 0 else None)


# --- settings ---------------------------------------------------------------------------------
def _cmgf_set(m: Module, cmd: AtCmd) -> Reply:
    m.cmgf = int_arg(cmd, 0, 0, 0, 1)
    return ok()


def _cnmi_set(m: Module, cmd: AtCmd) -> Reply:
    limits = (3, 3, 3, 2, 1)
    m.cnmi = tuple(int_arg(cmd, i, m.cnmi[i], 0, hi)           # type: ignore[assignment]
                   for i, hi in enumerate(limits))
    return ok()


def _cpms_counts(card: SimCard) -> str:
    return f"{card.used()},{card.capacity}"


def _cpms_set(m: Module, cmd: AtCmd) -> Reply:
    gate = sms_gate(m)
    if gate is not None:
        return gate
    if any(unquote(a).upper() != "SM" for a in cmd.args):
        return cms(CMS_OP_NOT_ALLOWED)
    counts = _cpms_counts(m.card)
    return ok(f"+CPMS: {counts},{counts},{counts}")


def _cpms_read(m: Module, cmd: AtCmd) -> Reply:
    gate = sms_gate(m)
    counts = _cpms_counts(m.card)
    return gate or ok(f'+CPMS: "SM",{counts},"SM",{counts},"SM",{counts}')


def _csca_read(m: Module, cmd: AtCmd) -> Reply:
    return sms_gate(m) or ok(f'+CSCA: "{m.network.smsc}",145')


# --- storage ----------------------------------------------------------------------------------
def _index(m: Module, cmd: AtCmd) -> int | None:
    raw = cmd.args[0] if cmd.args else ""
    if not raw.isdigit() or int(raw) >= m.card.capacity:
        return None
    return int(raw)


def _cmgr(m: Module, cmd: AtCmd) -> Reply:
    gate = _pdu_mode_gate(m)
    if gate is not None:
        return gate
    idx = _index(m, cmd)
    stored = m.card.storage[idx] if idx is not None else None
    if stored is None:
        return cms(CMS_INVALID_INDEX)
    line = f"+CMGR: {stored.stat},,{stored.tpdu_len}"
    if stored.stat == STAT_REC_UNREAD:
        stored.stat = STAT_REC_READ
    return ok(line, stored.pdu_hex)


def _cmgl(m: Module, cmd: AtCmd) -> Reply:
    gate = _pdu_mode_gate(m)
    if gate is not None:
        return gate
    raw = cmd.args[0] if cmd.args else "0"
    if not raw.isdigit() or int(raw) > 4:
        return cms(CMS_INVALID_PDU)
    wanted = int(raw)
    lines: list[str] = []
    for idx, stored in enumerate(m.card.storage):
        if stored is not None and wanted in (4, stored.stat):
            lines += [f"+CMGL: {idx},{stored.stat},,{stored.tpdu_len}", stored.pdu_hex]
            if stored.stat == STAT_REC_UNREAD:
                stored.stat = STAT_REC_READ
    return ok(*lines)


# <delflag> of AT+CMGD -> the <stat> values it deletes besides the given index (27.005 3.5.4).
_DELFLAG_STATS = {1: (1,), 2: (1, 3), 3: (1, 2, 3), 4: (0, 1, 2, 3)}


def _cmgd(m: Module, cmd: AtCmd) -> Reply:
    gate = sms_gate(m)
    if gate is not None:
        return gate
    flag = int_arg(cmd, 1, 0, 0, 4)
    idx = _index(m, cmd)
    card = m.card
    if flag == 0:
        if idx is None:
            return cms(CMS_INVALID_INDEX)
        card.storage[idx] = None
    else:
        stats = _DELFLAG_STATS[flag]
        card.storage = [s if s is None or s.stat not in stats else None for s in card.storage]
    return ok(then=lambda: m.network.flush(card))


# --- submit -----------------------------------------------------------------------------------
def _cmgs(m: Module, cmd: AtCmd) -> Reply:
    gate = _pdu_mode_gate(m)
    if gate is not None:
        return gate
    return Reply((), "PROMPT", int_arg(cmd, 0, None, 1, MAX_TPDU))


def submit(m: Module, length: int, pdu_hex: str) -> Reply:
    """The PDU typed after the prompt: validate now, answer after the submit time (the board's
    `latency`, or the port's own submit time)."""
    gate = sms_gate(m)
    if gate is not None:
        return gate
    try:
        raw = bytes.fromhex(pdu_hex)
        if not raw or len(raw) - 1 - raw[0] != length:
            raise CodecError("TPDU length does not match AT+CMGS")
        if not user_data_fits(raw[1 + raw[0]:]):
            raise CodecError("TP-UDL does not match the user data")
        decoded = pdu.decode(pdu_hex, smsc=True)
    except (ValueError, CodecError):
        return cms(CMS_INVALID_PDU)
    if decoded.kind != "submit":
        return cms(CMS_INVALID_PDU)
    if not m.registered:
        return cms(CMS_NO_NETWORK)
    mr = m.next_mr()
    sender = m.card
    m.later(m.submit_delay(), lambda: _submitted(m, sender, mr, raw[1 + raw[0]:], decoded))
    return DEFERRED


def _valid_destination(decoded: Decoded) -> bool:
    alphanumeric = decoded.number_toa & 0x70 == 0x50
    return not alphanumeric and bool(normalise(decoded.number))


def _submitted(m: Module, sender: SimCard, mr: int, tpdu: bytes,
               decoded: Decoded) -> None:
    m.link.answered(m.now(), m.timing)          # AT+CMMS: held open from this answer on
    if not _valid_destination(decoded):
        m.complete(cms(CMS_UNASSIGNED_NUMBER))
        return
    m.network.journal({"time": _now().isoformat(), "port": m.port, "slot": sender.slot,
                       "from": sender.number, "to": decoded.number, "mr": mr,
                       "text": decoded.text, "concat": decoded.concat,
                       "status_report": decoded.status_report_requested,
                       "tpdu": tpdu.hex().upper()})      # binary payloads are checked from it
    m.complete(ok(f"+CMGS: {mr}"))
    route(m, sender, mr, tpdu, decoded)


def route(m: Module, sender: SimCard, mr: int, tpdu: bytes, decoded: Decoded) -> None:
    """What the network does with an accepted submit."""
    net = m.network
    submitted = _now()
    # late_report / no_report (faults.py) change the delay; None: no report at all
    delay = m.faults.report_delay(m.timing.report) if decoded.status_report_requested else None
    dest = net.card_for(decoded.number)
    if dest is None:
        digits = normalise(decoded.number)
        if delay is not None and not digits.endswith("9999"):
            status = ST_PERMANENT_FAILURE if digits.endswith("0000") else ST_DELIVERED
            net.call_later(delay, lambda: _report(m, sender, decoded.number, mr,
                                                  status, submitted))
        return
    deliver = smsc_field(net.smsc) + submit_to_deliver(tpdu, sender.number,
                                                       submitted).hex().upper()
    on_delivered = None
    if delay is not None:
        def on_delivered() -> None:
            net.call_later(delay, lambda: _report(m, sender, decoded.number, mr,
                                                  ST_DELIVERED, submitted))
    item = Pending(deliver, on_delivered=on_delivered)
    net.call_later(m.timing.deliver, lambda: net.deliver(dest, item))


def _report(m: Module, sender: SimCard, recipient: str, mr: int, status: int,
            submitted: dt.datetime) -> None:
    net = m.network
    hex_pdu = pdu.encode_status_report(recipient, mr, status, scts=submitted,
                                       discharge=_now(), smsc=net.smsc)
    net.deliver(sender, Pending(hex_pdu, report=True))


def inject(net: Network, card: SimCard, sender: str, text: str,
           shape: Callable[[list[str]], list[str]] = list) -> int:
    """An SMS from the outside world to `card`; returns the number of parts. `shape`: the
    order (and repeats) in which the network hands them over (faults.Faults.shape_inbound)."""
    parts = pdu.encode_deliver(sender, text, scts=_now(), smsc=net.smsc,
                               concat_ref=net.next_concat_ref())
    for part in shape(parts):
        net.deliver(card, Pending(part))
    return len(parts)


MAX_RAW_OCTETS = 200            # a PDU line of +CMGR is at most 176 octets; junk may be longer


def inject_pdu(net: Network, card: SimCard, pdu_hex: str) -> None:
    """A PDU exactly as given (SMSC field first), however corrupt: what a faulty network or
    SIM hands the modem. ValueError when it is not hex of 1..MAX_RAW_OCTETS octets."""
    text = pdu_hex.strip().upper()
    if not 2 <= len(text) <= 2 * MAX_RAW_OCTETS or len(text) % 2 or \
            any(c not in "0123456789ABCDEF" for c in text):
        raise ValueError(f"pdu must be hex of 1 to {MAX_RAW_OCTETS} octets")
    net.deliver(card, Pending(text))


# --- receive ----------------------------------------------------------------------------------
def receive(m: Module, item: Pending) -> bool:
    """Take one message from the network per AT+CNMI; False when storage is full."""
    length = tpdu_len(item.pdu_hex)
    route_mode = m.cnmi[3] if item.report else m.cnmi[1]
    if item.report and route_mode == 0:
        return True                     # the host did not ask for reports: the module drops it
    if route_mode == (1 if item.report else 2):
        m.urc(f"+CDS: {length}" if item.report else f"+CMT: ,{length}", item.pdu_hex)
        return True
    idx = m.card.store(item.pdu_hex, length)
    if idx is None:
        return False
    if item.report:
        m.urc(f'+CDSI: "SR",{idx}')
    elif route_mode in (1, 3):
        m.urc(f'+CMTI: "SM",{idx}')
    return True


HANDLERS: dict[str, Handler] = {
    "+CMGF": by_op(set=_cmgf_set, read=lambda m, cmd: ok(f"+CMGF: {m.cmgf}"),
                   test=lambda m, cmd: ok("+CMGF: (0-1)")),
    "+CSMS": by_op(set=lambda m, cmd: ok("+CSMS: 1,1,1"),
                   read=lambda m, cmd: ok("+CSMS: 0,1,1,1")),
    "+CNMI": by_op(set=_cnmi_set, read=lambda m, cmd: ok("+CNMI: " + ",".join(map(str, m.cnmi))),
                   test=lambda m, cmd: ok("+CNMI: (0-3),(0-3),(0-3),(0-2),(0-1)")),
    "+CPMS": by_op(set=_cpms_set, read=_cpms_read,
                   test=lambda m, cmd: ok('+CPMS: ("SM"),("SM"),("SM")')),
    "+CSCA": by_op(read=_csca_read, set=lambda m, cmd: ok()),
    "+CMGS": by_op(set=_cmgs),
    "+CMGR": by_op(set=_cmgr),
    "+CMGL": by_op(set=_cmgl, exec=_cmgl, test=lambda m, cmd: ok("+CMGL: (0-4)")),
    "+CMGD": by_op(set=_cmgd, test=lambda m, cmd: ok("+CMGD: (0-29),(0-4)")),
}
