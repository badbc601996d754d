"""A blocking command channel: one serial port, one AT engine, one clock.

The worker thread calls `run(command)` and gets the final result back like a function call;
URCs that arrive meanwhile (or while `pump` idles) go to the `on_urc` callback, which must not
issue commands itself (it queues follow-up work instead). A command that gets no answer raises
`ModemHung`, which is what starts the recovery ladder.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from smsd.at import AtEngine, Command, CommandError, Discarded, Event, Response, Timeout, Urc
from smsd.errors import AtTimeout

from .port import SerialPort, Waker

MAX_WAIT = 1.0   # longest single select(); bounds how late a stop request is seen


class ModemHung(AtTimeout):
    def __init__(self, command: Command, prompt_seen: bool) -> None:
        super().__init__(f"{command.text!r}: no answer")
        self.command = command
        self.prompt_seen = prompt_seen


class WorkerStopped(Exception):
    """Unwinds the worker thread when stop() was requested."""


class Channel:
    def __init__(self, port: SerialPort, clock: Callable[[], float],
                 on_urc: Callable[[Urc], None], should_stop: Callable[[], bool],
                 log: logging.Logger) -> None:
        self.port = port
        self.engine = AtEngine()
        self._clock = clock
        self._on_urc = on_urc
        self._should_stop = should_stop
        self._log = log
        self._final: Response | CommandError | Timeout | None = None

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def run(self, command: Command) -> Response | CommandError:
        self._final = None
        try:
            self.port.write(self.engine.send(command, self._clock()))
            while self._final is None:
                self.pump(self._until_deadline())
        except BaseException:
            self.engine.reset()      # the port failed or we are stopping: nothing is pending
            raise
        final, self._final = self._final, None
        if isinstance(final, Timeout):
            raise ModemHung(command, final.prompt_seen)
        return final

    def ok(self, text: str, timeout: float = 5.0, expect: tuple[str, ...] = ()) -> bool:
        """Run a command whose failure is tolerable; True when it answered OK."""
        return isinstance(self.run(Command(text, timeout, expect=expect)), Response)

    def pump(self, timeout: float, waker: Waker | None = None) -> None:
        """Wait up to `timeout` for bytes, feed them to the engine, dispatch what comes out."""
        if self._should_stop():
            raise WorkerStopped
        data = self.port.read(min(timeout, MAX_WAIT), waker)
        now = self._clock()
        events = self.engine.receive_data(data, now) if data else []
        pending = self.engine.pending_output()
        if pending:
            self.port.write(pending)
        events += self.engine.tick(now)
        for event in events:
            self._dispatch(event)

    def wait_urc(self, match: Callable[[Urc], bool], timeout: float) -> bool:
        """Pump until a URC satisfying `match` went by (it is still dispatched), or timeout."""
        seen: list[Urc] = []
        original = self._on_urc

        def spy(urc: Urc) -> None:
            if match(urc):
                seen.append(urc)
            original(urc)

        self._on_urc = spy
        try:
            deadline = self._clock() + timeout
            while not seen and self._clock() < deadline:
                self.pump(deadline - self._clock())
        finally:
            self._on_urc = original
        return bool(seen)

    def _until_deadline(self) -> float:
        deadline = self.engine.deadline
        return MAX_WAIT if deadline is None else max(0.0, deadline - self._clock())

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Urc):
            self._on_urc(event)
        elif isinstance(event, Discarded):
            self._log.debug("discarded %r (%s)", event.line, event.reason)
        else:
            self._final = event
