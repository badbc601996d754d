"""A bind's state machine (SMPP 3.4 section 2.3): which commands each state takes.

    OPEN --bind_transmitter--> BOUND_TX --unbind--> CLOSED
         --bind_receiver-----> BOUND_RX
         --bind_transceiver--> BOUND_TRX

No I/O here: the server asks `check(command)` for every request PDU and answers the status it
returns (ESME_ROK: serve it). A bind in a bound state is ESME_RALYBND; a command the state does
not take is ESME_RINVBNDSTS; a command we do not serve at all is ESME_RINVCMDID (generic_nack).
"""
from __future__ import annotations

from smpplib import consts

OPEN, BOUND_TX, BOUND_RX, BOUND_TRX, CLOSED = "open", "bound_tx", "bound_rx", "bound_trx", "closed"
BINDS = {"bind_transmitter": BOUND_TX, "bind_receiver": BOUND_RX,
         "bind_transceiver": BOUND_TRX}
ALWAYS = frozenset({"enquire_link", "enquire_link_resp", "generic_nack"})
TRANSMIT = frozenset({"submit_sm", "query_sm", "cancel_sm"})
RECEIVE = frozenset({"deliver_sm_resp"})
BOUND = frozenset({"unbind", "unbind_resp"})
TAKES: dict[str, frozenset[str]] = {
    OPEN: ALWAYS | frozenset(BINDS),
    BOUND_TX: ALWAYS | BOUND | TRANSMIT,
    BOUND_RX: ALWAYS | BOUND | RECEIVE,
    BOUND_TRX: ALWAYS | BOUND | TRANSMIT | RECEIVE,
    CLOSED: frozenset(),
}
SERVED = frozenset().union(*TAKES.values())


class Session:
    def __init__(self) -> None:
        self.state = OPEN
        self.user = ""
        self.system_type = ""

    @property
    def bound(self) -> bool:
        return self.state in (BOUND_TX, BOUND_RX, BOUND_TRX)

    @property
    def receives(self) -> bool:
        return self.state in (BOUND_RX, BOUND_TRX)

    def check(self, command: str) -> int:
        if command not in SERVED:
            return consts.SMPP_ESME_RINVCMDID
        if command in BINDS and self.bound:
            return consts.SMPP_ESME_RALYBND
        if command not in TAKES[self.state]:
            return consts.SMPP_ESME_RINVBNDSTS
        return consts.SMPP_ESME_ROK

    def bind(self, command: str, user: str, system_type: str) -> None:
        self.state = BINDS[command]
        self.user = user
        self.system_type = system_type

    def close(self) -> None:
        self.state = CLOSED
