"""The AT engine: a sans-I/O state machine for one modem's command channel.

Theory of operation. The caller owns the serial port and the clock; the engine owns framing.
`send(command, now)` returns the bytes to write and arms a deadline. Bytes read from the modem go
to `receive_data(data, now)`, which splits them into lines (CR or LF ends a line; a line may be
split across reads at any byte) and classifies each line with the table-driven rule of `urc.py`:
information line of the pending command, final result of it, echo, URC, or noise. Events come
back in the order the lines arrived, so a URC printed in the middle of a response is reported
before the response that surrounds it, and never inside it. `tick(now)` turns an expired
deadline into a `Timeout` and frees the engine for the next command.

A command with `prompt_payload` (AT+CMGS=<len>) has two phases: the modem prints `> ` without a
line terminator; the engine then queues payload + Ctrl-Z, which the caller fetches with
`pending_output()` right after `receive_data` returned, and restarts the deadline.

States: IDLE (no command) and PENDING (command sent, final result awaited; sub-flag
`awaiting_prompt`). A URC that owns further lines (+CMT and +CDS carry their PDU on the next
line; a +CUSD whose quoted string spans lines) is kept open across reads until complete.
"""
from __future__ import annotations

from .events import Command, CommandError, Discarded, Event, Response, Timeout, Urc
from .fields import split_fields, split_prefix
from .urc import BARE_URCS, CALL_RESULTS, WITH_PDU_LINE, claimed

CTRL_Z = b"\x1a"
_MAX_URC_LINES = 8


class AtProtocolError(Exception):
    """The caller broke the engine's contract (e.g. sent while a command is pending)."""


class AtEngine:
    _buffer: bytearray
    _out: bytearray
    _urc: list[str]                     # an open multi-line URC
    _urc_need: int                      # lines it still needs (0 = balanced-quote rule)
    _pending: Command | None
    _deadline: float | None
    _lines: list[str]
    _awaiting_prompt: bool
    _prompt_seen: bool
    _now: float

    def __init__(self) -> None:
        self.reset()

    # --- caller side --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._pending is not None

    @property
    def deadline(self) -> float | None:
        return self._deadline

    def send(self, command: Command, now: float) -> bytes:
        if self._pending is not None:
            raise AtProtocolError(f"{command.text!r} sent while {self._pending.text!r} pending")
        self._pending = command
        self._awaiting_prompt = command.prompt_payload is not None
        first_wait = command.prompt_timeout if self._awaiting_prompt else None
        self._deadline = now + (command.timeout if first_wait is None else first_wait)
        return command.text.encode("ascii") + b"\r"

    def pending_output(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def tick(self, now: float) -> list[Event]:
        if self._pending is None or self._deadline is None or now < self._deadline:
            return []
        event = Timeout(self._pending, self._prompt_seen)
        self._clear_command()
        return [event]

    def reset(self) -> None:
        """Forget everything in flight (after the port was reopened or the modem rebooted)."""
        self._buffer = bytearray()
        self._out = bytearray()
        self._urc = []
        self._urc_need = 0
        self._pending = None
        self._deadline = None
        self._lines = []
        self._awaiting_prompt = False
        self._prompt_seen = False
        self._now = 0.0

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        self._now = now
        self._buffer += data
        events: list[Event] = []
        while True:
            end = _first_line_end(self._buffer)
            if end < 0:
                self._check_prompt(now)
                return events
            raw = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            events.extend(self._line(raw.decode("latin-1").strip()))

    # --- internals ----------------------------------------------------------------------------
    def _clear_command(self) -> None:
        self._pending = None
        self._deadline = None
        self._lines = []
        self._awaiting_prompt = False
        self._prompt_seen = False

    def _check_prompt(self, now: float) -> None:
        if not self._awaiting_prompt or self._buffer.lstrip(b" ")[:1] != b">":
            return
        self._buffer.clear()
        self._take_prompt(now)

    def _take_prompt(self, now: float) -> None:
        assert self._pending is not None and self._pending.prompt_payload is not None
        self._awaiting_prompt = False
        self._prompt_seen = True
        self._out += self._pending.prompt_payload.encode("ascii") + CTRL_Z
        self._deadline = now + self._pending.timeout

    def _line(self, text: str) -> list[Event]:
        if not text:
            return []
        if self._urc:
            return self._continue_urc(text)
        if text == ">" and self._awaiting_prompt:
            self._take_prompt(self._now)     # a prompt that got a line end after all
            return []
        if not text.isprintable() or not text.isascii():
            return [Discarded(text, "noise")]
        if self._is_echo(text):
            return []
        final = self._final(text)
        if final is not None:
            return [final]
        return self._information(text)

    def _is_echo(self, text: str) -> bool:
        pending = self._pending
        if pending is None:
            return text[:2].upper() == "AT"
        upper = text.upper()
        return upper == pending.text.upper() or upper == (pending.prompt_payload or "").upper()

    def _final(self, text: str) -> Event | None:
        if self._pending is None:
            return Discarded(text, "late") if _is_final_word(text) else None
        if text == "OK":
            return self._finish(Response(self._pending, tuple(self._lines)))
        if text in CALL_RESULTS and not _is_call_command(self._pending):
            return None      # a call ended while we ran something else: URC, not our answer
        error = _parse_error(text)
        if error is None:
            return None
        cme, cms = error
        return self._finish(CommandError(self._pending, tuple(self._lines), cme, cms, text,
                                         self._prompt_seen))

    def _finish(self, event: Event) -> Event:
        self._clear_command()
        return event

    def _information(self, text: str) -> list[Event]:
        name, rest = split_prefix(text)
        fields = split_fields(rest) if name else ()
        if claimed(self._pending, text, fields):
            self._lines.append(text)
            return []
        if name or text in BARE_URCS or text in CALL_RESULTS:
            return self._open_urc(text, name)
        return [Discarded(text, "unsolicited")]

    def _open_urc(self, text: str, name: str) -> list[Event]:
        self._urc = [text]
        self._urc_need = 1 if name in WITH_PDU_LINE else 0
        return self._close_urc_if_complete()

    def _continue_urc(self, text: str) -> list[Event]:
        if self._urc_need and not _is_hex(text):
            # The promised PDU line never came; report the URC bare, then the line itself.
            self._urc_need = 0
            return self._close_urc_if_complete() + self._line(text)
        self._urc.append(text)
        self._urc_need = max(0, self._urc_need - 1)
        return self._close_urc_if_complete()

    def _close_urc_if_complete(self) -> list[Event]:
        if self._urc_need or _open_quote(self._urc):
            return []
        lines, self._urc = tuple(self._urc), []
        name, rest = split_prefix(lines[0])
        if not name:
            return [Urc(lines[0], (), lines)]
        return [Urc(name, split_fields(" ".join((rest, *lines[1:])) if _quoted_tail(lines)
                                       else rest), lines)]


def _open_quote(lines: list[str]) -> bool:
    """Only +CUSD strings may legally carry line breaks; cap them so noise cannot swallow
    the channel."""
    return (lines[0].startswith("+CUSD") and len(lines) < _MAX_URC_LINES
            and "\n".join(lines).count('"') % 2 == 1)


def _quoted_tail(lines: tuple[str, ...]) -> bool:
    """A +CUSD string broken over lines: fields span them; a PDU line is not a field."""
    return len(lines) > 1 and lines[0].count('"') % 2 == 1


def _is_call_command(command: Command) -> bool:
    """ATD/ATA/ATO: the only commands whose final result may be NO CARRIER, BUSY, ..."""
    return command.text[:3].upper() in ("ATD", "ATA", "ATO")


def _first_line_end(buffer: bytearray) -> int:
    ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
    return min(ends) if ends else -1


def _is_final_word(text: str) -> bool:
    return text == "OK" or (text not in CALL_RESULTS and _parse_error(text) is not None)


def _parse_error(text: str) -> tuple[int | None, int | None] | None:
    """(cme, cms) for a final error line, None for anything else."""
    if text == "ERROR" or text in CALL_RESULTS:
        return None, None
    for prefix, slot in (("+CME ERROR:", 0), ("+CMS ERROR:", 1)):
        if text.startswith(prefix):
            value = text[len(prefix):].strip()
            code = int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None
            return (code, None) if slot == 0 else (None, code)
    return None


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789ABCDEFabcdef" for c in text)
