"""One HTTP/2 connection over an asyncio stream pair, either side: the reading loop, writes,
flow-controlled sends, keep-alive PINGs. The relay (client side) and the device (server side)
subclass it and say what each h2 event means to them.

Theory of operation: h2 is sans-I/O, so everything that touches the connection runs on the one
event loop thread; `flush()` writes what h2 has queued. Inbound flow control is split on purpose:
the connection's window is given back as soon as a frame arrives, a stream's only once its bytes
have been passed on (`consumed`), so one slow reader stalls its own stream and never the others.
"""
from __future__ import annotations

import asyncio
import logging
import ssl

import h2.config
import h2.errors
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from smsd.drp import protocol

log = logging.getLogger("smsd.drp")

STREAM_WINDOW = 256 << 10         # what one stream may have in flight towards a slow reader
CONNECTION_WINDOW = 16 << 20


class LinkClosed(Exception):
    """The connection went away while a stream still needed it."""


class H2Link:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 client_side: bool) -> None:
        self.reader, self.writer = reader, writer
        config = h2.config.H2Configuration(client_side=client_side, header_encoding=None,
                                           validate_inbound_headers=True)
        self.conn = h2.connection.H2Connection(config=config)
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._window = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.last_heard = self._loop.time()

    def start(self, settings: dict[int, int]) -> None:
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                                   h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE:
                                   protocol.MAX_HEADER_BYTES, **settings})
        self.conn.increment_flow_control_window(CONNECTION_WINDOW)
        self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    # --- the loops ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Read until the peer or a keep-alive failure ends the connection."""
        pinger = asyncio.create_task(self._keep_alive())
        try:
            while not self.closed.is_set():
                data = await self.reader.read(65536)
                if not data:
                    self.close("connection closed by the peer")
                    break
                self.last_heard = self._loop.time()
                self._receive(data)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
            self.close(f"connection lost: {exc}")
        finally:
            pinger.cancel()
            self.close(self.close_reason or "closed")

    def _receive(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self.flush()                        # h2 queued a GOAWAY saying why
            self.close(f"HTTP/2 protocol error: {exc}")
            return
        for event in events:
            if isinstance(event, h2.events.DataReceived) and event.flow_controlled_length:
                # Given back at once on the connection; the stream's when it is passed on.
                self.conn.increment_flow_control_window(event.flow_controlled_length)
            if isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self._window.set()
            if isinstance(event, h2.events.ConnectionTerminated):
                why = (event.additional_data or b"").decode("utf-8", "replace")
                self.close(why or f"GOAWAY from the peer (error {event.error_code})")
            self.on_event(event)
        self.flush()

    async def _keep_alive(self) -> None:
        while not self.closed.is_set():
            await asyncio.sleep(protocol.PING_EVERY)
            if self._loop.time() - self.last_heard > protocol.PING_EVERY + protocol.PING_TIMEOUT:
                self.close("keep-alive: no answer from the peer")
                return
            self.ping(b"keepaliv")

    def ping(self, data: bytes) -> None:
        try:
            self.conn.ping(data)
            self.flush()
        except h2.exceptions.ProtocolError:
            pass

    def close(self, reason: str, goaway: bytes | None = None) -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        try:
            self.conn.close_connection(additional_data=goaway)
            self.flush()
        except h2.exceptions.ProtocolError:
            pass
        self.closed.set()
        self._window.set()
        self.writer.close()
        self.on_closed()

    # --- sending -----------------------------------------------------------------------------
    async def send_data(self, stream_id: int, data: bytes, end: bool,
                        timeout: float) -> None:
        """Send `data` on a stream as its windows allow (back-pressure), then END_STREAM if
        asked; LinkClosed if the connection ends, TimeoutError if the peer never reads."""
        view = memoryview(data)
        deadline = self._loop.time() + timeout
        while len(view):
            if self.closed.is_set():
                raise LinkClosed(self.close_reason)
            window = self.conn.local_flow_control_window(stream_id)
            if window <= 0:
                self._window.clear()
                left = deadline - self._loop.time()
                if left <= 0:
                    raise TimeoutError("the peer does not read")
                await asyncio.wait_for(self._window.wait(), left)
                continue
            size = min(window, self.conn.max_outbound_frame_size, len(view))
            self.conn.send_data(stream_id, bytes(view[:size]))
            view = view[size:]
            self.flush()
            await self.drain(deadline)
        if end:
            self.conn.end_stream(stream_id)
            self.flush()

    async def drain(self, deadline: float) -> None:
        left = max(0.1, deadline - self._loop.time())
        try:
            await asyncio.wait_for(self.writer.drain(), left)
        except (OSError, ssl.SSLError) as exc:
            self.close(f"connection lost: {exc}")
            raise LinkClosed(self.close_reason) from None

    def consumed(self, stream_id: int, size: int) -> None:
        """A stream's received bytes were passed on: the peer may send that much more."""
        if size and not self.closed.is_set():
            try:
                self.conn.increment_flow_control_window(size, stream_id=stream_id)
                self.flush()
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError):
                pass

    def reset(self, stream_id: int, code: int = h2.errors.ErrorCodes.CANCEL) -> None:
        if self.closed.is_set():
            return
        try:
            self.conn.reset_stream(stream_id, error_code=code)
            self.flush()
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError):
            pass

    # --- what each side does -----------------------------------------------------------------
    def on_event(self, event: h2.events.Event) -> None:
        raise NotImplementedError

    def on_closed(self) -> None:
        pass
