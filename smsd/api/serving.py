"""The HTTP server's thread, and a stop that logs no traceback.

waitress's own `close()` closes the listeners, every connection and the loop's wake-up pipe (its
"trigger") at once, from the calling thread. During a stop, requests are still being answered by
the worker pool; each one pulls the trigger to hand its answer to the loop, and with the pipe
closed that is `OSError: [Errno 9] Bad file descriptor`, logged by waitress with a traceback for
every request in flight (and the loop may be in poll() on the descriptors being closed). So:

1. `stop_listening()` (the drain: no new connections) closes only the listening sockets, from
   the loop's own thread (a thunk passed through the trigger);
2. `close()` lets the worker pool finish the requests it holds (they still reach the loop), then
   closes everything that is left from the loop's thread, which ends the loop, and joins it.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from waitress import wasyncore
from waitress.server import BaseWSGIServer
from waitress.trigger import trigger as Trigger

log = logging.getLogger("smsd.http")

POOL_TIMEOUT = 5.0           # seconds for the requests in flight to be answered at a stop
LOOP_TIMEOUT = 2.0           # seconds for the loop to run a thunk, else we act from here


class HttpService:
    def __init__(self, server: Any) -> None:
        self.server = server
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except Exception:           # noqa: BLE001 - the loop must not die unheard
            if self._stopping:
                log.debug("HTTP loop ended during the stop", exc_info=True)
            else:
                log.exception("HTTP server loop failed")

    def stop_listening(self) -> None:
        """No new connections; those open are still served."""
        self._stopping = True
        self._in_loop(self._close_listeners)

    def close(self) -> None:
        """Answer the requests in flight, then close every connection and end the loop."""
        self.stop_listening()
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=POOL_TIMEOUT)
        self._in_loop(lambda: wasyncore.close_all(self._map()))
        if self._thread is not None:
            self._thread.join(LOOP_TIMEOUT)

    def _map(self) -> dict[int, Any]:
        """The loop's socket map (a MultiSocketServer's `map`, one listener's `_map`)."""
        found = getattr(self.server, "map", None)
        if found is None:
            found = getattr(self.server, "_map", {})
        return dict(found) if not isinstance(found, dict) else found

    def _close_listeners(self) -> None:
        for dispatcher in list(self._map().values()):
            if isinstance(dispatcher, BaseWSGIServer) and dispatcher.accepting:
                wasyncore.dispatcher.close(dispatcher)   # its own close() would take the trigger

    def _in_loop(self, thunk: Callable[[], None]) -> None:
        """Run `thunk` in the loop's thread (directly when the loop is not running)."""
        trigger = next((d for d in list(self._map().values()) if isinstance(d, Trigger)), None)
        alive = self._thread is not None and self._thread.is_alive()
        if trigger is None or not alive or threading.current_thread() is self._thread:
            thunk()
            return
        done = threading.Event()

        def run() -> None:
            try:
                thunk()
            finally:
                done.set()
        trigger.pull_trigger(run)
        if not done.wait(LOOP_TIMEOUT):
            log.warning("HTTP loop did not answer within %g s; closing from here", LOOP_TIMEOUT)
            thunk()
