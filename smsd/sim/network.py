"""The simulated mobile network shared by every port of a board.

Every SIM (port x slot) has its own number, IMSI and ICCID, all derived from the seed so that a
run can be repeated. The network holds what a real SMSC holds: messages for a SIM that cannot take
them now (module off, SIM in an inactive slot, storage full) wait here and are offered again when
the SIM's modem says it can receive (registration, a deletion freeing space).
"""
from __future__ import annotations

import json
import os
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from smsd.sim.callstate import Forward

STAT_REC_UNREAD = 0
STAT_REC_READ = 1
STORAGE_CAPACITY = 30
SMSC_NUMBER = "+447990000001"
OPERATOR_NAME = "SIMNET"
OPERATOR_CODE = "23410"
DEFAULT_PIN = "1234"
DEFAULT_PUK = "12345678"


@dataclass
class Stored:
    """One occupied location of SIM message storage."""

    stat: int
    pdu_hex: str            # with SMSC field, as +CMGR prints it
    tpdu_len: int


@dataclass
class Pending:
    """A message the network still has to hand to a SIM."""

    pdu_hex: str
    report: bool = False                                  # True: SMS-STATUS-REPORT
    on_delivered: Callable[[], None] | None = None        # e.g. schedule the sender's report


@dataclass
class SimCard:
    port: int
    slot: int
    number: str
    imsi: str
    iccid: str
    capacity: int = STORAGE_CAPACITY
    pin: str = DEFAULT_PIN
    puk: str = DEFAULT_PUK
    pin_enabled: bool = False
    pin_tries: int = 3
    denied: bool = False          # the network refuses its registration (+CREG stat 3)
    storage: list[Stored | None] = field(default_factory=list)
    waiting: deque[Pending] = field(default_factory=deque)
    forwards: dict[int, Forward] = field(default_factory=dict)   # call forwarding by reason

    def __post_init__(self) -> None:
        if not self.storage:
            self.storage = [None] * self.capacity

    def store(self, pdu_hex: str, tpdu_len: int) -> int | None:
        """Write into the first free location; None when storage is full."""
        for idx, slot in enumerate(self.storage):
            if slot is None:
                self.storage[idx] = Stored(STAT_REC_UNREAD, pdu_hex, tpdu_len)
                return idx
        return None

    def used(self) -> int:
        return sum(1 for s in self.storage if s is not None)


class Receiver(Protocol):
    """The modem side of delivery: takes a message for `card` now, or says it cannot."""

    def accept(self, card: SimCard, item: Pending) -> bool: ...


def normalise(number: str) -> str:
    """Digits in international form, so "+4479..", "004479.." and "079.." compare equal."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return "44" + digits[1:]
    return digits


def luhn_digit(body: str) -> str:
    """Check digit of IMEI and ICCID (Luhn, ISO/IEC 7812)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


class Network:
    def __init__(self, ports: int, slots: int, seed: int, tacs: list[str],
                 call_later: Callable[[float, Callable[[], None]], object]) -> None:
        rng = random.Random(seed)
        self.call_later = call_later            # network-side delays outlive any modem reset
        base = rng.randrange(10000)
        self.smsc = SMSC_NUMBER
        self.operator = OPERATOR_NAME
        self.operator_code = OPERATOR_CODE
        self.imeis = [_imei(tacs[p], rng) for p in range(ports)]
        self.cards: dict[tuple[int, int], SimCard] = {}
        imsis: set[str] = set()
        for p in range(ports):
            for s in range(slots):
                self.cards[(p, s)] = _new_card(p, s, base, rng, imsis)
        self._by_number = {normalise(c.number): c for c in self.cards.values()}
        self._receivers: dict[int, Receiver] = {}
        self._concat_ref = rng.randrange(256)
        self._journal_fd: int | None = None

    def open_journal(self, path: str) -> None:
        """Record every accepted SUBMIT as one JSON line (for tests that count what went out)."""
        self._journal_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def close_journal(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def journal(self, record: dict[str, object]) -> None:
        # One write() per record on an O_APPEND descriptor: the line is in the kernel before
        # the modem answers +CMGS, so even a kill -9 of the process cannot lose it.
        if self._journal_fd is not None:
            os.write(self._journal_fd, (json.dumps(record) + "\n").encode())

    def attach(self, port: int, receiver: Receiver) -> None:
        self._receivers[port] = receiver

    def card(self, port: int, slot: int) -> SimCard:
        return self.cards[(port, slot)]

    def card_for(self, number: str) -> SimCard | None:
        return self._by_number.get(normalise(number))

    def renumber(self, card: SimCard, number: str) -> None:
        """A new own number written to the SIM: messages to it reach this card from now on."""
        self._by_number.pop(normalise(card.number), None)
        card.number = number
        self._by_number[normalise(number)] = card

    def next_concat_ref(self) -> int:
        self._concat_ref = (self._concat_ref + 1) % 256
        return self._concat_ref

    def deliver(self, card: SimCard, item: Pending) -> None:
        """Hand a message to the SIM's modem now if it can take it, else keep it waiting."""
        if card.waiting or not self._offer(card, item):
            card.waiting.append(item)

    def flush(self, card: SimCard) -> None:
        """Offer waiting messages again, oldest first, until the modem refuses one."""
        while card.waiting and self._offer(card, card.waiting[0]):
            card.waiting.popleft()

    def _offer(self, card: SimCard, item: Pending) -> bool:
        receiver = self._receivers.get(card.port)
        if receiver is None or not receiver.accept(card, item):
            return False
        if item.on_delivered is not None:
            item.on_delivered()
        return True


def _new_card(port: int, slot: int, base: int, rng: random.Random, imsis: set[str]) -> SimCard:
    # The last digit is never 0 or 9, so no simulated SIM falls under the "0000"/"9999" rules.
    number = f"+4479{base:04d}{port:02d}{slot}{1 + (port + slot) % 8}"
    imsi = ""
    while not imsi or imsi in imsis:
        imsi = OPERATOR_CODE + f"{rng.randrange(10 ** 10):010d}"
    imsis.add(imsi)
    body = f"894410{rng.randrange(10 ** 12):012d}"
    return SimCard(port, slot, number, imsi, body + luhn_digit(body))


def _imei(tac: str, rng: random.Random) -> str:
    body = tac + f"{rng.randrange(10 ** 6):06d}"
    return body + luhn_digit(body)
