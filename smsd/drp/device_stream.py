"""One relayed request on the box: the HTTP/2 stream goes to the box's own HTTP listener over
loopback as an HTTP/1.1 request (h11), and its answer streams back on the stream."""
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import h11
import h2.errors
import h2.exceptions

from smsd.drp import protocol
from smsd.drp.link import LinkClosed

if TYPE_CHECKING:
    from smsd.drp.device import DeviceEnd

log = logging.getLogger("smsd.drp")
LOCAL_TIMEOUT = 120.0     # the box's answer, and each piece of it
SEND_TIMEOUT = 60.0       # the relay must take each piece within this (its client is slow)


@dataclass(frozen=True)
class LocalTarget:
    """Where the box's own HTTP front listens, as seen from the box."""
    host: str
    port: int
    tls: bool = False

    @classmethod
    def of(cls, listen: tuple[str, ...], tls_listen: tuple[str, ...]) -> LocalTarget:
        address, tls = (listen[0], False) if listen else (tls_listen[0], True)
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "127.0.0.1"}.get(host, host)
        return cls(host, int(port), tls)

    @property
    def source(self) -> tuple[str, int] | None:
        """Where relayed requests come from: 127.0.0.2, never 127.0.0.1. The box trusts
        exactly 127.0.0.1 and ::1 as itself (/metrics without a password, the watchdog's
        probe exempt from connection limits); a client through the relay is a stranger."""
        return ("127.0.0.2", 0) if self.host == "127.0.0.1" else None

    def context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # our own listener, over loopback
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx


async def serve_stream(end: DeviceEnd, sid: int, headers: protocol.Headers,
                       body: asyncio.Queue[bytes | None], local: LocalTarget) -> None:
    writer: asyncio.StreamWriter | None = None
    answered: list[bool] = []        # one element once the status line went to the relay
    try:
        reader, local_writer = await asyncio.wait_for(
            asyncio.open_connection(local.host, local.port, ssl=local.context(),
                                    local_addr=local.source), 10)
        writer = local_writer
        conn = h11.Connection(h11.CLIENT)
        await _send_request(conn, local_writer, headers, body, lambda n: end.consumed(sid, n))
        await _relay_answer(end, sid, conn, reader, answered)
    except asyncio.CancelledError:       # the relay reset the stream: its client is gone
        raise
    except (OSError, asyncio.TimeoutError, h11.ProtocolError, LinkClosed) as exc:
        log.info("remote tunnel: stream %d failed: %s", sid, exc or type(exc).__name__)
        _fail(end, sid, bool(answered))
    finally:
        if writer is not None:
            writer.close()


def _request_headers(headers: protocol.Headers, chunked: bool) -> protocol.Headers:
    pseudo = dict((k, v) for k, v in headers if k.startswith(b":"))
    out = [(b"host", pseudo.get(b":authority", b"localhost"))]
    out += protocol.forwardable(headers)
    if chunked:
        out.append((b"transfer-encoding", b"chunked"))
    out.append((b"connection", b"close"))
    return out


async def _send_request(conn: h11.Connection, writer: asyncio.StreamWriter,
                        headers: protocol.Headers, body: asyncio.Queue[bytes | None],
                        consumed: Callable[[int], None]) -> None:
    pseudo = dict((k, v) for k, v in headers if k.startswith(b":"))
    has_length = any(k == b"content-length" for k, _ in headers)
    first = await asyncio.wait_for(body.get(), LOCAL_TIMEOUT)
    chunked = first is not None and not has_length
    request = h11.Request(method=pseudo.get(b":method", b"GET"),
                          target=pseudo.get(b":path", b"/"),
                          headers=_request_headers(headers, chunked))
    writer.write(conn.send(request) or b"")
    piece = first
    while piece is not None:
        writer.write(conn.send(h11.Data(data=piece)) or b"")
        await asyncio.wait_for(writer.drain(), LOCAL_TIMEOUT)
        consumed(len(piece))
        piece = await asyncio.wait_for(body.get(), LOCAL_TIMEOUT)
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await asyncio.wait_for(writer.drain(), LOCAL_TIMEOUT)


async def _next(conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Event:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event        # type: ignore[return-value]
        conn.receive_data(await asyncio.wait_for(reader.read(65536), LOCAL_TIMEOUT))


async def _relay_answer(end: DeviceEnd, sid: int, conn: h11.Connection,
                        reader: asyncio.StreamReader, answered: list[bool]) -> None:
    event = await _next(conn, reader)
    while isinstance(event, h11.InformationalResponse):
        event = await _next(conn, reader)
    if not isinstance(event, h11.Response):
        raise h11.RemoteProtocolError("no answer from the local listener")
    headers = [(b":status", str(event.status_code).encode())]
    headers += protocol.forwardable(list(event.headers))
    end.conn.send_headers(sid, headers)
    end.flush()
    answered.append(True)
    while True:
        event = await _next(conn, reader)
        if isinstance(event, h11.Data):
            await end.send_data(sid, bytes(event.data), False, SEND_TIMEOUT)
        elif isinstance(event, h11.EndOfMessage):
            await end.send_data(sid, b"", True, SEND_TIMEOUT)
            return
        else:
            raise h11.RemoteProtocolError("the local answer ended early")


def _fail(end: DeviceEnd, sid: int, answered: bool) -> None:
    """No answer to give: a 502 if nothing was sent yet, else the stream is reset."""
    if not answered and not end.closed.is_set():
        try:
            end.conn.send_headers(sid, [(b":status", b"502"),
                                        (b"content-type", b"application/json")])
            end.conn.send_data(sid, b'{"error_code": 502, "reason": "the box did not answer"}',
                               end_stream=True)
            end.flush()
            return
        except h2.exceptions.ProtocolError:
            pass
    end.reset(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
