"""`smsd drp-server`: the relay between API clients and boxes behind NAT (docs/remote.md).

Two TLS listeners on one asyncio loop: the client port speaks HTTP/1.1 to API clients
(relay_client.py: `/doLogin`, `/remoteWeb`, then forwarding) and the device port takes the boxes'
HTTP/2 connections, on which the relay is the client. A device is admitted after its hello (serial
and secret checked against the state file's hash in constant time); a second connection of the
same serial replaces the first. Every client request becomes one stream on its device's link, so
a device can only ever receive requests of sessions that chose it.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import time
from dataclasses import dataclass, field

import h2.events
import h2.exceptions
import h2.settings

from smsd.drp import protocol
from smsd.drp.link import H2Link, LinkClosed
from smsd.drp.relay_state import RelayState
from smsd.drp.settings import RelaySettings
from smsd.system.heap import fixed_mmap_threshold   # the 16 MiB scrypt buffers: see there

log = logging.getLogger("smsd.drp")
MAX_UNADMITTED = 256        # device connections between the TLS handshake and the hello


class DeviceBusy(Exception):
    """The device's HTTP/2 limit of concurrent requests is reached (its SETTINGS)."""


@dataclass
class Pending:
    """What a client's request waits for on its stream: the events of the answer, in order."""
    events: asyncio.Queue[tuple[str, object]] = field(default_factory=asyncio.Queue)


class DeviceLink(H2Link):
    """A connected device; the relay plays the HTTP/2 client on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 peer: str, rate: float) -> None:
        super().__init__(reader, writer, client_side=True)
        self.peer = peer
        self.sn = ""
        self.owner = ""
        self.since = time.time()
        self.bucket = protocol.TokenBucket(rate, 2 * rate)
        self.streams: dict[int, Pending] = {}

    def on_event(self, event: h2.events.Event) -> None:
        sid = getattr(event, "stream_id", None)
        pending = self.streams.get(sid) if sid else None
        if pending is None:
            if isinstance(event, h2.events.DataReceived) and sid:
                self.consumed(sid, event.flow_controlled_length)    # a cancelled stream's tail
            return
        if isinstance(event, h2.events.ResponseReceived):
            pending.events.put_nowait(("headers", event.headers))
        elif isinstance(event, h2.events.DataReceived):
            pending.events.put_nowait(("data", (event.data, event.flow_controlled_length)))
        elif isinstance(event, h2.events.StreamEnded):
            pending.events.put_nowait(("end", None))
        elif isinstance(event, h2.events.StreamReset):
            pending.events.put_nowait(("reset", f"the device reset the stream ({event.error_code})"))

    def on_closed(self) -> None:
        for pending in self.streams.values():
            pending.events.put_nowait(("reset", f"device connection lost: {self.close_reason}"))

    def open(self, headers: protocol.Headers, end: bool) -> tuple[int, Pending]:
        if self.closed.is_set():
            raise LinkClosed(self.close_reason)
        try:
            sid = self.conn.get_next_available_stream_id()
        except h2.exceptions.NoAvailableStreamIDError:   # after 2^30 requests: start afresh
            self.close("stream ids used up", goaway=b"stream ids used up; reconnect")
            raise LinkClosed(self.close_reason) from None
        try:
            self.conn.send_headers(sid, headers, end_stream=end)
        except h2.exceptions.TooManyStreamsError:
            raise DeviceBusy(f"device {self.sn} has {self.open_streams} requests open") from None
        pending = self.streams[sid] = Pending()
        self.flush()
        return sid, pending

    def forget(self, sid: int, finished: bool) -> None:
        """The request is over (answered, or its client gone): drop it, cancel it if unfinished."""
        self.streams.pop(sid, None)
        if not finished:
            self.reset(sid)

    @property
    def open_streams(self) -> int:
        return len(self.streams)


class Relay:
    def __init__(self, settings: RelaySettings, client_ctx: ssl.SSLContext,
                 device_ctx: ssl.SSLContext) -> None:
        self.settings = settings
        self.state = RelayState(settings.state_dir)
        self.links: dict[str, DeviceLink] = {}
        self._client_ctx, self._device_ctx = client_ctx, device_ctx
        self._servers: list[asyncio.AbstractServer] = []
        self._unadmitted = 0        # device connections still before their hello
        from smsd.drp.relay_client import ClientFront
        self.front = ClientFront(self)

    async def start(self) -> None:
        self.front.start()
        self._servers.append(await _serve(self.front.serve, self.settings.listen,
                                          self._client_ctx))
        self._servers.append(await _serve(self._serve_device, self.settings.device_listen,
                                          self._device_ctx))

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for link in list(self.links.values()):
            link.close("relay stopping", goaway=b"relay stopping")
        self.front.close()
        for server in self._servers:
            await server.wait_closed()

    # --- devices -----------------------------------------------------------------------------
    async def _serve_device(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        tls = writer.get_extra_info("ssl_object")
        if tls is None or tls.selected_alpn_protocol() != protocol.ALPN:
            log.info("device port: %s did not offer HTTP/2 (ALPN h2); closed", peer)
            writer.close()
            return
        if self._unadmitted >= MAX_UNADMITTED:
            writer.close()          # a flood of hellos that never come
            return
        link = DeviceLink(reader, writer, peer, self.settings.device_rate)
        link.start({h2.settings.SettingCodes.ENABLE_PUSH: 0})
        runner = asyncio.create_task(link.run())
        try:
            self._unadmitted += 1
            try:
                admitted = await self._admit(link)
            finally:
                self._unadmitted -= 1
            if admitted:
                await link.closed.wait()
        finally:
            if self.links.get(link.sn) is link:
                del self.links[link.sn]
                log.info("device %s (%s) disconnected: %s", link.sn, peer, link.close_reason)
            link.close(link.close_reason or "closed")
            await runner

    async def _admit(self, link: DeviceLink) -> bool:
        """The hello: ask the device who it is; refuse it (GOAWAY) unless serial and secret
        match the state file."""
        hello = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"relay"),
                 (b":path", protocol.HELLO_PATH.encode()),
                 (protocol.VERSION_HEADER.encode(), protocol.VERSION.encode())]
        try:
            sid, pending = link.open(hello, end=True)
            kind, value = await asyncio.wait_for(pending.events.get(), protocol.HELLO_TIMEOUT)
        except (asyncio.TimeoutError, LinkClosed):
            link.close("no hello")
            log.info("device port: %s sent no hello; closed", link.peer)
            return False
        link.forget(sid, finished=True)
        headers = dict(value) if kind == "headers" and isinstance(value, list) else {}
        sn = protocol.normal_serial(headers.get(protocol.SERIAL_HEADER.encode(), b"")
                                    .decode("utf-8", "replace")) or ""
        secret = headers.get(protocol.SECRET_HEADER.encode(), b"").decode("utf-8", "replace")
        device = self.state.device(sn) if sn else None
        if device is None or not protocol.secret_matches(secret, device.secret_hash):
            log.warning("device port: refused %s from %s: %s", sn or "(no serial)", link.peer,
                        "wrong secret" if device else "unknown serial")
            link.close("refused", goaway=protocol.REFUSED)
            return False
        link.sn, link.owner = device.sn, device.owner
        old = self.links.get(device.sn)
        self.links[device.sn] = link
        if old is not None:
            old.close("replaced", goaway=protocol.REPLACED)
        link.ping(protocol.WELCOME)
        log.info("device %s (account %s) connected from %s", device.sn, device.owner, link.peer)
        return True


async def _serve(handler: object, address: str, ctx: ssl.SSLContext) -> asyncio.AbstractServer:
    host, _, port = address.rpartition(":")
    return await asyncio.start_server(handler, host.strip("[]") or None, int(port),  # type: ignore[arg-type]
                                      ssl=ctx, ssl_handshake_timeout=15, backlog=1024)


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    return f"{name[0]}:{name[1]}" if isinstance(name, tuple) else str(name)


# --- running it ------------------------------------------------------------------------------
def contexts(settings: RelaySettings) -> tuple[ssl.SSLContext, ssl.SSLContext, str]:
    """The client port's and the device port's TLS contexts, and the certificate's SHA-256
    (made self-signed in the state dir unless tls_cert/tls_key are given)."""
    from smsd.system.tls import TlsCertificate, server_context
    tls = TlsCertificate(settings.state_dir, cert_path=settings.tls_cert,
                         key_path=settings.tls_key,
                         addresses=(settings.listen, settings.device_listen))
    tls.load()
    files = (settings.tls_cert, settings.tls_key) if settings.tls_cert else (tls.pair_path, None)
    client, device = server_context(*files), server_context(*files)
    client.set_alpn_protocols(["http/1.1"])
    device.set_alpn_protocols([protocol.ALPN])
    der = ssl.PEM_cert_to_DER_cert(tls.certificate_pem().decode("ascii").split(
        "-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    return client, device, protocol.fingerprint_of(der)


def run(settings: RelaySettings) -> int:
    fixed_mmap_threshold()
    client_ctx, device_ctx, fingerprint = contexts(settings)
    return asyncio.run(_main(settings, client_ctx, device_ctx, fingerprint))


async def _main(settings: RelaySettings, client_ctx: ssl.SSLContext,
                device_ctx: ssl.SSLContext, fingerprint: str) -> int:
    relay = Relay(settings, client_ctx, device_ctx)
    from smsd.system.memory import HeapTrimmer
    trimmer = HeapTrimmer()     # freed answers and login hashes go back to the system
    trimmer.start()
    try:
        await relay.start()
    except OSError as exc:
        print(f"smsd drp-server: cannot listen: {exc}", flush=True)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"smsd drp-server ready: clients at https://{settings.listen}/, devices at "
          f"{settings.device_listen}, certificate sha256 {fingerprint}", flush=True)
    await stop.wait()
    log.info("stopping")
    await relay.close()
    trimmer.stop()
    return 0
