"""The relay's client port: HTTP/1.1 (h11) over TLS, section 19.3 of the gateway document.

`GET /doLogin?Username=..&password=..` makes a session (cookie DRPSESSION, or the header
X-DRP-Session); `GET /remoteWeb?Product_sns=SN` ties it to one of the account's devices; every
other request of the session goes to that device as one HTTP/2 stream and its answer comes back
as it arrives. The relay's own answers are small JSON objects: {"error_code": N, "reason": ...}.
"""
from __future__ import annotations

import asyncio
import http
import json
import logging
import secrets
import ssl
import time
import urllib.parse
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import h11

from smsd.drp import protocol
from smsd.drp.link import LinkClosed
from smsd.errors import Throttled
from smsd.throttle import FailureThrottle

from smsd.drp.relay import DeviceBusy

if TYPE_CHECKING:
    from smsd.drp.relay import DeviceLink, Relay

log = logging.getLogger("smsd.drp")

COOKIE = b"DRPSESSION"
SESSION_HEADER = b"x-drp-session"
IDLE_TIMEOUT = 60.0          # seconds a kept-alive client connection may stay silent
REQUEST_TIMEOUT = 30.0       # a request (headers and body) must arrive within this
ANSWER_TIMEOUT = 120.0       # the device's status line (a send waits for its commit)
BODY_IDLE_TIMEOUT = 60.0     # between two pieces of the device's answer
WRITE_TIMEOUT = 30.0         # a client that does not read its answer is dropped
LINGER_TIME = 5.0            # after refusing a body: how long the rest of it is read and dropped,
LINGER_IDLE = 1.0            # ... while it comes at least this often,
LINGER_BYTES = 8 << 20       # ... and how much of it at most
SESSION_IDLE = 30 * 60.0
MAX_SESSIONS = 10_000
MAX_SESSIONS_PER_ACCOUNT = 64
MAX_CONNECTIONS = 10_000     # client connections at once (each a descriptor and TLS state)


@dataclass
class Session:
    token: str
    account: str
    bucket: protocol.TokenBucket
    sn: str = ""
    used: float = field(default_factory=time.monotonic)


class _Closed(Exception):
    """Stop serving this client connection."""


class ClientFront:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.sessions: dict[str, Session] = {}
        self.throttle = FailureThrottle(time.monotonic)
        self._connections: set[asyncio.StreamWriter] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # scrypt takes 16 MiB for ~50 ms: two at a time, whatever the number of logins waiting,
        # so a burst of logins neither starves the loop nor grows the heap by 16 MiB apiece.
        self.hasher = ThreadPoolExecutor(2, thread_name_prefix="drp-login")

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep())

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for writer in list(self._connections):
            writer.close()
        self.hasher.shutdown(wait=False, cancel_futures=True)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(60)
            cutoff = time.monotonic() - SESSION_IDLE
            for token in [t for t, s in self.sessions.items() if s.used < cutoff]:
                del self.sessions[token]

    # --- one client connection ---------------------------------------------------------------
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= MAX_CONNECTIONS:
            writer.close()        # before it costs more than the handshake
            return
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=protocol.MAX_HEADER_BYTES)
        peer = writer.get_extra_info("peername")
        client = _Client(self, conn, reader, writer, str(peer[0]) if peer else "?")
        self._connections.add(writer)
        try:
            await client.run()
        except (_Closed, OSError, ssl.SSLError, asyncio.TimeoutError, LinkClosed):
            pass
        except h11.ProtocolError as exc:
            await client.refuse_malformed(exc)
        except asyncio.CancelledError:      # the relay is stopping
            pass
        except Exception:  # noqa: BLE001 - one client's surprise must not reach the others
            log.exception("client %s: unexpected failure; connection closed", client.peer)
        finally:
            self._connections.discard(writer)
            writer.close()

    # --- sessions ----------------------------------------------------------------------------
    def session_of(self, headers: Iterable[tuple[bytes, bytes]]) -> Session | None:
        token = b""
        for key, value in headers:
            if key == SESSION_HEADER:
                token = value.strip()
            elif key == b"cookie" and not token:
                for part in value.split(b";"):
                    name, _, val = part.strip().partition(b"=")
                    if name == COOKIE:
                        token = val.strip()
        session = self.sessions.get(token.decode("ascii", "replace")) if token else None
        if session is not None:
            session.used = time.monotonic()
        return session

    def new_session(self, account: str) -> Session:
        mine = sorted((s for s in self.sessions.values() if s.account == account),
                      key=lambda s: s.used)
        for old in mine[:max(0, len(mine) - MAX_SESSIONS_PER_ACCOUNT + 1)]:
            self.sessions.pop(old.token, None)
        if len(self.sessions) >= MAX_SESSIONS:
            oldest = min(self.sessions.values(), key=lambda s: s.used)
            self.sessions.pop(oldest.token, None)
        rate = self.relay.settings.session_rate
        session = Session(secrets.token_urlsafe(24), account, protocol.TokenBucket(rate, 2 * rate))
        self.sessions[session.token] = session
        return session


class _Client:
    """One client connection: requests one after another (HTTP/1.1 keep-alive)."""

    def __init__(self, front: ClientFront, conn: h11.Connection, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, peer: str) -> None:
        self.front, self.conn, self.reader, self.writer, self.peer = (
            front, conn, reader, writer, peer)
        self.relay = front.relay

    async def run(self) -> None:
        while True:
            event = await self._next(IDLE_TIMEOUT)
            if isinstance(event, h11.ConnectionClosed):
                return
            if not isinstance(event, h11.Request):
                raise _Closed()
            body = await self._body(event)
            if body is not None:
                await self._dispatch(event, body)
            if self.conn.our_state is h11.MUST_CLOSE or self.conn.their_state is h11.MUST_CLOSE:
                return
            try:
                self.conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _next(self, timeout: float) -> h11.Event:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event     # type: ignore[return-value]
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            self.conn.receive_data(data)

    async def _body(self, request: h11.Request) -> bytes | None:
        """The whole body (bounded by max_body), or None after refusing it."""
        limit = self.relay.settings.max_body
        length = dict(request.headers).get(b"content-length")
        if length is not None and int(length) > limit:
            await self._refuse_body(limit)
            return None
        if self.conn.they_are_waiting_for_100_continue:
            self._send(h11.InformationalResponse(status_code=100, headers=[]))
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while True:
            event = await self._next(max(0.1, deadline - time.monotonic()))
            if isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            if not isinstance(event, h11.Data):
                raise _Closed()
            size += len(event.data)
            if size > limit:
                await self._refuse_body(limit)
                return None
            chunks.append(event.data)

    async def _refuse_body(self, limit: int) -> None:
        """413, then a lingering close: what the client still sends of its body is read and
        dropped for a while, so that its write ends and it reads the 413; closed at once, the
        connection fails the client's write instead (an EOF or a reset, no answer)."""
        await self._answer(413, f"request body over {limit} bytes", close=True)
        deadline, budget = time.monotonic() + LINGER_TIME, LINGER_BYTES
        while budget > 0:
            try:
                data = await asyncio.wait_for(self.reader.read(65536),
                                              min(LINGER_IDLE, deadline - time.monotonic()))
            except (asyncio.TimeoutError, OSError, ssl.SSLError):
                return
            if not data:
                return
            budget -= len(data)

    async def refuse_malformed(self, exc: h11.ProtocolError) -> None:
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        status = getattr(exc, "error_status_hint", 400)
        try:
            await self._answer(status if 400 <= status < 500 else 400,
                               f"malformed request: {exc}", close=True)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, h11.ProtocolError):
            pass

    # --- what the request asks -----------------------------------------------------------------
    async def _dispatch(self, request: h11.Request, body: bytes) -> None:
        target = request.target.decode("ascii", "replace")
        path, _, query = target.partition("?")
        params = _params(query, body if request.method == b"POST" else b"", request.headers)
        if path.lower() == "/dologin":
            return await self._login(params)
        session = self.front.session_of(request.headers)
        if session is None:
            return await self._answer(401, "log in first: /doLogin?Username=...&password=...")
        if path.lower() == "/remoteweb":
            return await self._choose(session, params)
        if not session.sn:
            return await self._answer(409, "choose a device first: /remoteWeb?Product_sns=SN")
        link = self.relay.links.get(session.sn)
        if link is None or link.owner != session.account:
            return await self._answer(404, f"device {session.sn} is offline")
        now = time.monotonic()
        if not session.bucket.take(now) or not link.bucket.take(now):
            return await self._answer(429, "too many requests: slow down", retry_after=True)
        await Forward(self, session, link).run(request, body)

    async def _login(self, params: dict[str, str]) -> None:
        name, password = params.get("username", ""), params.get("password", "")
        try:
            self.front.throttle.check(name, self.peer)
        except Throttled:
            return await self._answer(429, "too many failed logins: try again later",
                                      retry_after=True)
        loop = asyncio.get_running_loop()
        ok = bool(name) and await loop.run_in_executor(self.front.hasher, self.relay.state.login, name,
                                                       password)
        if not ok:
            self.front.throttle.failed(name, self.peer)
            log.info("client %s: failed login as %r", self.peer, name[:64])
            return await self._answer(401, "wrong user name or password")
        self.front.throttle.succeeded(name, self.peer)
        session = self.front.new_session(name)
        log.info("client %s logged in as %s", self.peer, name)
        cookie = (COOKIE + b"=" + session.token.encode() +
                  b"; Path=/; Secure; HttpOnly; SameSite=Strict")
        await self._answer(200, "OK", extra=[(b"set-cookie", cookie)],
                           fields={"session": session.token})

    async def _choose(self, session: Session, params: dict[str, str]) -> None:
        sn = protocol.normal_serial(params.get("product_sns", ""))
        self.relay.state.reload()
        device = self.relay.state.devices.get(sn or "")
        if sn is None or device is None or device.owner != session.account:
            # Another account's device is "unknown" too: its existence is not told.
            log.info("client %s (%s): no device %r for this account", self.peer,
                     session.account, params.get("product_sns", "")[:64])
            return await self._answer(404, "no such device for this account")
        session.sn = device.sn
        if device.sn not in self.relay.links:
            return await self._answer(404, f"device {device.sn} is offline")
        log.info("client %s (%s) chose device %s", self.peer, session.account, device.sn)
        await self._answer(200, "OK", fields={"device": device.sn})

    # --- writing -----------------------------------------------------------------------------
    def _send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)

    async def drain(self) -> None:
        await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT)

    async def _answer(self, status: int, reason: str, *, close: bool = False,
                      retry_after: bool = False, extra: protocol.Headers = (),  # type: ignore[assignment]
                      fields: dict[str, str] | None = None) -> None:
        body = json.dumps({"error_code": status, "reason": reason, **(fields or {})}).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode()), *extra]
        if retry_after:
            headers.append((b"retry-after", b"1"))
        if close:
            headers.append((b"connection", b"close"))
        self._send(h11.Response(status_code=status, headers=headers, reason=_phrase(status)))
        self._send(h11.Data(data=body))
        self._send(h11.EndOfMessage())
        await self.drain()


class Forward:
    """One client request through a device's link, its answer streamed back."""

    def __init__(self, client: _Client, session: Session, link: DeviceLink) -> None:
        self.client, self.session, self.link = client, session, link
        self.status, self.sent = 0, 0

    async def run(self, request: h11.Request, body: bytes) -> None:
        headers = self._headers(request, body)
        try:
            sid, pending = self.link.open(headers, end=not body)
        except LinkClosed:
            return await self.client._answer(502, f"device {self.link.sn} went offline")
        except DeviceBusy as exc:
            return await self.client._answer(503, f"{exc}: try again", retry_after=True)
        finished = False
        try:
            if body:
                await self.link.send_data(sid, body, True, ANSWER_TIMEOUT)
            finished = await self._relay_answer(sid, pending)
        except (TimeoutError, asyncio.TimeoutError):
            if not self.status:
                await self.client._answer(504, f"device {self.link.sn} did not answer in time")
                finished = False
            else:
                raise
        except LinkClosed:
            if not self.status:
                await self.client._answer(502, f"device {self.link.sn} went offline")
            else:
                raise
        finally:
            self.link.forget(sid, finished)
            # The path only: a query may hold a password (gateway.php's clientpwd=...).
            path = request.target.partition(b"?")[0][:200].decode("ascii", "replace")
            log.info("client %s (%s) -> device %s: %s %s -> %s, %d bytes", self.client.peer,
                     self.session.account, self.link.sn, request.method.decode(), path,
                     self.status or "no answer", self.sent)

    def _headers(self, request: h11.Request, body: bytes) -> protocol.Headers:
        host = dict(request.headers).get(b"host", b"relay")
        headers = [(b":method", request.method), (b":scheme", b"https"), (b":authority", host),
                   (b":path", request.target)]
        kept = protocol.without_cookie(protocol.forwardable(list(request.headers)), COOKIE)
        headers += [(k, v) for k, v in kept if k not in (b"content-length", SESSION_HEADER)]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        return headers

    async def _relay_answer(self, sid: int, pending: object) -> bool:
        events = pending.events     # type: ignore[attr-defined]
        kind, value = await asyncio.wait_for(events.get(), ANSWER_TIMEOUT)
        if kind != "headers":
            raise LinkClosed(str(value))
        status = int(dict(value).get(b":status", b"502"))
        answer = [(k, v) for k, v in protocol.forwardable(value)]
        self.client._send(h11.Response(status_code=status, headers=answer,
                                      reason=_phrase(status)))
        self.status = status
        while True:
            kind, value = await asyncio.wait_for(events.get(), BODY_IDLE_TIMEOUT)
            if kind == "data":
                data, size = value
                self.client._send(h11.Data(data=data))
                await self.client.drain()
                self.sent += len(data)
                self.link.consumed(sid, size)
            elif kind == "end":
                self.client._send(h11.EndOfMessage())
                await self.client.drain()
                return True
            else:
                raise LinkClosed(str(value))


def _params(query: str, body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Query (and url-encoded form) parameters, names folded to lower case: 19.3 writes
    `Username` and `password`, `Product_sns`."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    ctype = dict(headers).get(b"content-type", b"")
    if body and ctype.startswith(b"application/x-www-form-urlencoded"):
        pairs += urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key.lower(), value)
    return out


def _phrase(status: int) -> bytes:
    """HTTP/2 carries no reason phrase; clients that print one get the standard one."""
    try:
        return http.HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""
