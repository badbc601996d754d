"""The box's side of the tunnel: one thread that keeps a TLS connection to the relay up and
serves the relay's HTTP/2 streams from the box's own HTTP listener.

Theory of operation: the thread runs an asyncio loop. `_main` dials the relay (TLS, ALPN h2),
checks the relay's certificate (pinned SHA-256 fingerprint, or a CA file and the host name),
and plays the HTTP/2 server (DeviceEnd). The relay's first stream is the hello, answered with
the serial and the secret; a PING carrying protocol.WELCOME says it was accepted (status
"connected"); a GOAWAY says why not. Every later stream is a client's request: device_stream.py
sends it to the local listener over loopback (so the box checks the client's own Basic/Digest
authorization as for any request) and streams the answer back. Any loss ends the connection;
the next attempt waits a jittered exponential back-off (protocol.backoff), reset once a
connection was accepted. The box opens no listening port for any of this.
"""
from __future__ import annotations

import asyncio
import datetime
import logging
import ssl
import threading
from dataclasses import dataclass

import h2.events
import h2.errors
import h2.settings

from smsd.drp import protocol
from smsd.drp.device_stream import LocalTarget, serve_stream
from smsd.drp.link import H2Link
from smsd.drp.settings import RemoteSettings

log = logging.getLogger("smsd.drp")
CONNECT_TIMEOUT = 15.0


@dataclass
class TunnelStatus:
    server: str = ""
    connected: bool = False
    since: str = ""               # ISO time of the last change of `connected`
    last_error: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"server": self.server, "connected": self.connected, "since": self.since,
                "last_error": self.last_error}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class DeviceEnd(H2Link):
    """The device's HTTP/2 server end on its connection to the relay."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 tunnel: RemoteTunnel) -> None:
        super().__init__(reader, writer, client_side=False)
        self.tunnel = tunnel
        self.welcomed = False
        self.bodies: dict[int, asyncio.Queue[bytes | None]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self._request(event)
        elif isinstance(event, h2.events.DataReceived):
            body = self.bodies.get(event.stream_id)
            size = event.flow_controlled_length
            if body is not None:
                # The data itself is given back once the box took it (device_stream.py), so a
                # slow box holds the relay back instead of filling this queue.
                body.put_nowait(event.data)
                size -= len(event.data)
            self.consumed(event.stream_id, size)
        elif isinstance(event, h2.events.StreamEnded):
            if event.stream_id in self.bodies:
                self.bodies[event.stream_id].put_nowait(None)
        elif isinstance(event, h2.events.StreamReset):
            task = self.tasks.pop(event.stream_id, None)
            if task is not None:
                task.cancel()
        elif isinstance(event, h2.events.PingReceived) and event.ping_data == protocol.WELCOME:
            self.welcomed = True
            self.tunnel.accepted()

    def _request(self, event: h2.events.RequestReceived) -> None:
        headers = list(event.headers)
        path = dict(headers).get(b":path", b"")
        sid = event.stream_id
        if path == protocol.HELLO_PATH.encode() and not self.welcomed:
            self.conn.send_headers(sid, [
                (b":status", b"200"), (protocol.VERSION_HEADER.encode(), protocol.VERSION.encode()),
                (protocol.SERIAL_HEADER.encode(), self.tunnel.serial.encode()),
                (protocol.SECRET_HEADER.encode(), self.tunnel.settings.secret.encode())],
                end_stream=True)
            return
        if not self.welcomed:      # nothing but the hello before the relay accepted us
            self.reset(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
            return
        body: asyncio.Queue[bytes | None] = asyncio.Queue()
        if event.stream_ended is not None:
            body.put_nowait(None)
        self.bodies[sid] = body
        task = asyncio.create_task(serve_stream(self, sid, headers, body, self.tunnel.local))
        self.tasks[sid] = task
        task.add_done_callback(lambda _: self._done(sid))

    def _done(self, sid: int) -> None:
        self.tasks.pop(sid, None)
        self.bodies.pop(sid, None)

    def on_closed(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()


class RemoteTunnel:
    """Start with start(settings); status() from any thread; stop() at shutdown."""

    def __init__(self, serial: str, local: LocalTarget) -> None:
        self.serial = serial
        self.local = local
        self.settings = RemoteSettings("", "")
        self._status = TunnelStatus()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._attempt = 0

    # --- control (any thread) ----------------------------------------------------------------
    def start(self, settings: RemoteSettings) -> None:
        self.stop()
        self.settings = settings
        with self._lock:
            self._status = TunnelStatus(server=settings.server, since=_now())
        if not settings.enabled:
            return
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="drp", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(10)
        self._thread = self._loop = self._stop = None

    def status(self) -> dict[str, object]:
        with self._lock:
            return self._status.as_dict()

    # --- the thread --------------------------------------------------------------------------
    def _run(self, ready: threading.Event) -> None:
        asyncio.run(self._main(ready))

    async def _main(self, ready: threading.Event) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        log.info("remote tunnel: connecting to %s as %s", self.settings.server, self.serial)
        while not self._stop.is_set():
            session = asyncio.create_task(self._session())
            stopper = asyncio.create_task(self._stop.wait())
            await asyncio.wait({session, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not session.done():
                session.cancel()
            error = await _outcome(session)
            if self._stop.is_set():
                break
            self._lost(error)
            delay = protocol.backoff(self._attempt)
            self._attempt += 1
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
        self._set(connected=False, error="stopped")

    async def _session(self) -> str:
        reader, writer = await asyncio.wait_for(self._dial(), CONNECT_TIMEOUT)
        end = DeviceEnd(reader, writer, self)
        end.start({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: protocol.MAX_STREAMS})
        try:
            await end.run()
        finally:
            end.close(end.close_reason or "closed")
        return end.close_reason

    async def _dial(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        s = self.settings
        ctx = client_context(s)
        reader, writer = await asyncio.open_connection(
            s.host, s.port, ssl=ctx, server_hostname=s.host if s.ca_file else None,
            ssl_handshake_timeout=CONNECT_TIMEOUT)
        tls = writer.get_extra_info("ssl_object")
        problem = check_peer(tls, s)
        if problem:
            writer.close()
            raise ConnectionError(problem)
        return reader, writer

    # --- status --------------------------------------------------------------------------------
    def accepted(self) -> None:
        self._attempt = 0
        log.info("remote tunnel: connected to %s", self.settings.server)
        self._set(connected=True, error=None)

    def _lost(self, error: str) -> None:
        was = self.status()["connected"]
        (log.warning if was else log.info)("remote tunnel: %s: %s (next attempt %d)",
                                           self.settings.server, error, self._attempt + 1)
        self._set(connected=False, error=error)

    def _set(self, *, connected: bool, error: str | None) -> None:
        with self._lock:
            if connected != self._status.connected:
                self._status.since = _now()
            self._status.connected = connected
            if error is not None:
                self._status.last_error = error


async def _outcome(task: asyncio.Task[str]) -> str:
    try:
        return await task or "connection closed"
    except asyncio.CancelledError:
        return "stopped"
    except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - the tunnel must outlive any one failure
        log.exception("remote tunnel: unexpected failure")
        return f"{type(exc).__name__}: {exc}"


def client_context(s: RemoteSettings) -> ssl.SSLContext:
    """TLS towards the relay: with a pinned fingerprint the chain is not checked (the pin is
    stronger); with a CA file the chain and the host name are."""
    if s.ca_file:
        ctx = ssl.create_default_context(cafile=s.ca_file)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols([protocol.ALPN])
    return ctx


def check_peer(tls: ssl.SSLObject | None, s: RemoteSettings) -> str:
    """Why this relay must not be used ('' when it may)."""
    if tls is None:
        return "no TLS"
    if s.fingerprint:
        der = tls.getpeercert(binary_form=True) or b""
        import hmac
        if not hmac.compare_digest(protocol.fingerprint_of(der), s.fingerprint):
            return "the relay's certificate does not match the pinned fingerprint"
    if tls.selected_alpn_protocol() != protocol.ALPN:
        return "the relay does not speak HTTP/2 (ALPN h2)"
    return ""
