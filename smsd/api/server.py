"""The HTTP server: waitress, configured so that connection floods leave other clients served.

Why waitress, configured this way (rather than another server): it is Debian 12's WSGI server
(python3-waitress 2.1.2), it reads requests asynchronously in one event loop (a slow or idle
client costs a socket, not a worker thread) and it has the knobs a flood needs. Its defaults do
not survive a flood, so:

* `asyncore_use_poll=True`: the default select() loop dies at the first descriptor above 1023
  ("filedescriptor out of range in select()") and the server then answers nothing until a
  restart. poll() has no such limit.
* `connection_limit=CONNECTION_LIMIT`, well below the descriptor limit the daemon raises at start
  (and systemd's LimitNOFILE): past it waitress stops accepting instead of failing.
* At most PER_ADDRESS connections from one address (GuardedChannel): one host cannot take the
  whole connection limit; the next connection from it is closed at once. The box's own loopback
  address is exempt so the watchdog's probe always gets in.
* `channel_timeout=IDLE_TIMEOUT` checked every `cleanup_interval=CLEANUP_INTERVAL` seconds: an
  idle connection (keep-alive or silent half-sent headers) is closed; and a request must arrive
  whole within REQUEST_DEADLINE of its first byte, so a client trickling headers a byte at a time
  cannot hold a connection forever either. With more than CROWDED connections open the idle
  timeout drops to CROWDED_IDLE_TIMEOUT (each turn of the loop walks every connection).
* Tasks are served fairly across client addresses (FairQueue): 2,000 queued requests from a few
  addresses do not make a request from another address wait behind all of them.
* A listener accepts up to ACCEPT_BATCH connections each time it wakes (waitress: one), from an
  accept queue of BACKLOG (waitress: 1024): when a burst of connects overflows it, the kernel
  drops SYNs, and a newcomer caught in that waits a second for its retransmit.
* HTTPS (`tls_listen`) is served by the same listeners, channels, limits and event loop: a TLS
  listener wraps each accepted socket in the current SSL context (smsd.system.tls, swapped live
  when a certificate is installed) and TlsChannel does the handshake and the reads and writes
  without blocking (see there). Chosen over a TLS-terminating front forwarding to the HTTP port:
  a front would need its own connection limits, timeouts and poll loop, twice the descriptors
  per client, and a side channel to tell the app the client's address and the scheme (the login
  throttle counts per address); here the app sees both as for HTTP, with
  `wsgi.url_scheme == "https"` from the TLS listeners' own adjustments.
* Request bodies are capped per route (CappedParser, caps in smsd.web.uploads): 2 MiB, more
  for the console's upload forms, at most LARGE_BODIES of those arriving at once; a request over
  its cap gets a 413 in its route's format (an upload's body read and dropped first).
* Plain HTTP on an HTTPS listener is answered with a redirect to https:// (TlsChannel,
  smsd.api.https_redirect) instead of being closed.
* `/health` is answered from inside the WSGI stack, unauthenticated: 200 "ok", or 503 and the
  reasons when the daemon's `health` check (smsd/metrics/health.py) finds the box unable to
  send. The watchdog asks it too, so a wedged event loop or worker pool withholds the keep-alive.

Some of this overrides waitress 2.x internals (the listener's handle_accept and maintenance, the
channel class, the dispatcher's task queue); setup.cfg pins waitress below 3, and
tests/test_http_floods.py exercises each of them on a real socket.
"""
from __future__ import annotations

import collections
import logging
import resource
import socket
import ssl
import sys
import threading
import time
from typing import Any, Callable, Iterable

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import RequestEntityTooLarge

from smsd.web import uploads
from smsd.api import https_redirect
from smsd.api.front import HEALTH_PATH, Front, HealthCheck
from smsd.api.refusals import RefusalTask, RefusingParser

log = logging.getLogger("smsd.http")

CONNECTION_LIMIT = 10_000
PER_ADDRESS = 256
IDLE_TIMEOUT = 30
CLEANUP_INTERVAL = 5
REQUEST_DEADLINE = 30.0
ACCEPT_BATCH = 512
CROWDED = 1000
CROWDED_IDLE_TIMEOUT = 5
SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005 (see prepare_process)
BACKLOG = 4096           # Linux caps it at net.core.somaxconn (4096 by default since 5.4)
LOG_EVERY = 10.0         # seconds between two log lines of one kind (see prepare_process)
SELF_ADDRESSES = frozenset({"127.0.0.1", "::1"})     # where the watchdog's probe comes from

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def create_server(app: Wsgi, listen: Iterable[str], threads: int, *,
                  tls_listen: Iterable[str] = (),
                  tls_context: Callable[[], ssl.SSLContext] | None = None,
                  health: HealthCheck | None = None) -> Any:
    """A waitress server for `app` on every listen address (HOST:PORT), and with HTTPS on every
    tls_listen address (each connection wrapped in what `tls_context()` returns then), bound and
    listening but not yet serving: call its run() in a thread, close() to stop. `health` answers
    /health (without it: always "ok")."""
    listen, tls_listen = list(listen), list(tls_listen)
    if tls_listen and tls_context is None:
        raise ValueError("tls_listen needs a tls_context")
    if not listen and not tls_listen:
        raise ValueError("no listen address")
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.queue = FairQueue()          # type: ignore[assignment]
    dispatcher.set_thread_count(threads)
    guard = AddressGuard(PER_ADDRESS)       # one count per address over HTTP and HTTPS
    channel = type("SmsdChannel", (GuardedChannel,), {"guard": guard})
    tls_channel = type("SmsdTlsChannel", (TlsChannel,), {"guard": guard})
    kinds: list[tuple[Adjustments, type]] = []
    if listen:
        kinds.append((_adjustments(listen, threads, "http"),
                      type("SmsdListener", (Listener,), {"channel_class": channel})))
    if tls_listen and tls_context is not None:
        kinds.append((_adjustments(tls_listen, threads, "https"),
                      type("SmsdTlsListener", (TlsListener,), {
                          "channel_class": tls_channel,
                          "tls_context": staticmethod(tls_context)})))
    adj = kinds[0][0]
    # The one WSGI layer: the forwarding headers waitress would drop in a layer of its own
    # (clear_untrusted_proxy_headers) are dropped there, with /health and the rest.
    front = with_health(app, health).stripping_forwarded()
    sockets: dict[int, Any] = {}
    listeners: list[Listener] = []
    try:
        for kind_adj, listener in kinds:
            for sockinfo in kind_adj.listen:
                listeners.append(listener(front, sockets,
                                          dispatcher=dispatcher, adj=kind_adj,
                                          sockinfo=sockinfo))
    except OSError:
        for done in listeners:
            done.close()
        dispatcher.shutdown()
        raise
    if len(listeners) == 1:
        return listeners[0]
    bound = [(s.effective_host, s.effective_port) for s in listeners]
    return MultiSocketServer(sockets, adj, bound, dispatcher, listeners[0].log_info)


def _adjustments(listen: list[str], threads: int, scheme: str) -> Adjustments:
    return Adjustments(listen=" ".join(listen), threads=threads, ident="smsd",
                       asyncore_use_poll=True, connection_limit=CONNECTION_LIMIT,
                       channel_timeout=IDLE_TIMEOUT, cleanup_interval=CLEANUP_INTERVAL,
                       backlog=BACKLOG,
                       # waitress reads a whole body (to a temporary file past 512 KiB) before
                       # the app sees it, up to 1 GiB by default: a few clients could fill the
                       # flash. Each route has its cap (smsd.web.uploads), applied by
                       # CappedParser; this one only bounds what a refused body may drain.
                       max_request_body_size=uploads.DRAIN_MAX + 1,
                       url_scheme=scheme,                    # wsgi.url_scheme of its requests
                       # No proxy in front of us: the Front drops the forwarding headers.
                       clear_untrusted_proxy_headers=False)


def listen_addresses(server: Any) -> list[tuple[str, int]]:
    """(host, port) of each listening socket, as bound (port 0 resolved)."""
    if isinstance(server, MultiSocketServer):
        return [(str(host), int(port)) for host, port in server.effective_listen]
    return [(str(server.effective_host), int(server.effective_port))]


class Listener(TcpWSGIServer):   # type: ignore[misc]
    """A listening socket that accepts a batch of connections per wake-up. waitress accepts one
    per turn of its loop, and each turn walks every open connection: with thousands open, a
    burst of connects would make a newcomer wait behind the whole burst for seconds."""

    def handle_accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if len(self._map) >= self.adj.connection_limit:
                return                    # readable() stops listening until some close
            try:
                accepted = self.accept()
            except OSError:
                log.debug("accept() failed", exc_info=True)
                return
            if accepted is None:          # no more waiting
                return
            conn, addr = accepted
            self.set_socket_options(conn)
            conn = self.wrap_accepted(conn)
            if conn is not None:
                self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def wrap_accepted(self, conn: Any) -> Any:
        return conn

    def maintenance(self, now: float) -> None:
        """waitress closes connections idle for channel_timeout; with more than CROWDED open, the
        idle ones go after CROWDED_IDLE_TIMEOUT instead: every turn of the event loop walks every
        connection, so thousands of idle ones slow every request (about 25 ms at 5,000)."""
        crowded = len(self.active_channels) > CROWDED
        cutoff = now - (CROWDED_IDLE_TIMEOUT if crowded else self.adj.channel_timeout)
        for channel in list(self.active_channels.values()):
            if not channel.requests and channel.last_activity < cutoff:
                channel.will_close = True


def with_health(app: Wsgi, health: HealthCheck | None = None) -> Front:
    """`app` in the one front layer (smsd.api.front), answering /health (without `health`:
    always "ok")."""
    return Front.around(app).answering_health(health)


class AddressGuard:
    """Open connections per client address; the event loop and closing channels both call it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: collections.Counter[str] = collections.Counter()
        self._full: set[str] = set()          # addresses at the limit (logged once each time)
        self._lock = threading.Lock()

    def admit(self, address: str) -> bool:
        if address in SELF_ADDRESSES:
            return True
        with self._lock:
            if self._open[address] >= self.limit:
                if address not in self._full:
                    self._full.add(address)
                    log.warning("%s holds %d connections, the limit per address: closing its "
                                "new ones", address, self.limit)
                return False
            self._open[address] += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            left = self._open[address] - 1
            if left > 0:
                self._open[address] = left
            else:
                self._open.pop(address, None)
            if left < self.limit:
                self._full.discard(address)


class _Discard:
    """A body receiver that counts the bytes of a refused body and keeps none of them."""

    error = None

    def __init__(self, length: int) -> None:
        self.remain = length
        self.completed = length == 0

    def received(self, data: bytes) -> int:
        taken = min(len(data), self.remain)
        self.remain -= taken
        self.completed = self.remain == 0
        return taken

    def __len__(self) -> int:
        return 0


class Slots:
    """A count of things allowed at once, taken and given back from any thread."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._free <= 0:
                return False
            self._free -= 1
            return True

    def give(self) -> None:
        with self._lock:
            self._free += 1


# Bodies over the default cap being received at once (each spooled to a temporary file): an
# upload route's cap is checked before anyone signed in, so without this a few addresses could
# fill the disk with their connection allowance of 65 MiB bodies.
LARGE_BODIES = Slots(uploads.LARGE_BODIES_AT_ONCE)


class CappedParser(RefusingParser):
    """RefusingParser with the body cap of the request's route (smsd.web.uploads), checked as
    soon as the headers are in. A body over it becomes the 413 stand-in: at once for an API
    request or a client waiting for `100 Continue`, else after the upload's bytes were read and
    dropped, so that the browser, done sending, reads the answer instead of a reset. A body over
    the default cap also needs one of LARGE_BODIES while it arrives (else 413 at once)."""

    body_rcv: Any                  # waitress's receiver of the body (None before its headers)
    _cap: int | None = None
    _draining = False
    _holding = False               # one of LARGE_BODIES, given back when the body is in

    def received(self, data: bytes) -> int:
        consumed = int(super().received(data))
        if self.refused is not None:
            return consumed
        if self._draining:
            if self.completed:
                self._refuse(f"the body is over {self._cap} bytes, the most {self.path} takes")
            return consumed
        if self.completed:
            self.release()
        elif self.body_rcv is not None and self._cap is None:
            self._cap = uploads.cap_for(str(self.command), str(self.path))
            self._check(self.content_length)
        elif self.body_rcv is not None and self.chunked:
            self._check(self.body_bytes_received)
        return consumed

    def release(self) -> None:
        """Give back the large body's slot (the body is in, or the connection closed)."""
        if self._holding:
            self._holding = False
            LARGE_BODIES.give()

    def _check(self, length: int) -> None:
        cap = self._cap if self._cap is not None else uploads.DEFAULT_CAP
        if length > cap:
            if self.chunked or self.expect_continue or not uploads.drains(str(self.path),
                                                                          length):
                self._refuse(f"the body is over {cap} bytes, the most {self.path} takes")
            else:
                self.body_rcv = _Discard(length)
                self._draining = True
        elif length > uploads.DEFAULT_CAP and not self._holding:
            if LARGE_BODIES.take():
                self._holding = True
            else:
                self._refuse(f"the box is receiving {uploads.LARGE_BODIES_AT_ONCE} other large "
                             "uploads: try again when they are done")

    def _refuse(self, why: str) -> None:
        self.release()
        self.error = RequestEntityTooLarge(why)
        self.completed = True
        self._stand_in()
        self.expect_continue = False


class GuardedChannel(HTTPChannel):   # type: ignore[misc]
    """waitress's channel with a per-address limit and a deadline for receiving a request."""

    guard: AddressGuard               # set per server by create_server
    # A request waitress refuses is answered by the app, in its dialect (smsd.api.refusals).
    parser_class = CappedParser
    task_class = RefusalTask
    _admitted = False
    _receiving_since: float | None = None

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self._peer = str(addr[0]) if isinstance(addr, tuple) and addr else ""
        if self.guard.admit(self._peer):
            self._admitted = self._peer not in SELF_ADDRESSES
        else:
            self.close()                  # before it costs more than the accept

    def del_channel(self, map: Any = None) -> None:
        super().del_channel(map)
        if isinstance(self.request, CappedParser):      # closed while a body was arriving
            self.request.release()
        if self._admitted:
            self._admitted = False
            self.guard.release(self._peer)

    def handle_read(self) -> None:
        super().handle_read()
        self._check_deadline()

    def _check_deadline(self) -> None:
        if self.request is None:              # nothing half-received
            self._receiving_since = None
        elif self._receiving_since is None:
            self._receiving_since = time.monotonic()
        else:
            allowed = REQUEST_DEADLINE + uploads.deadline_extra(
                int(getattr(self.request, "content_length", 0) or 0))
            if time.monotonic() - self._receiving_since > allowed:
                log.info("closing a connection from %s: request not complete after %g s",
                         self._peer, allowed)
                self.will_close = True


class TlsListener(Listener):
    """A listener whose connections speak TLS; `tls_context` gives the context of the moment
    (a certificate installed while running serves the next connection)."""

    tls_context: Callable[[], ssl.SSLContext]

    def wrap_accepted(self, conn: Any) -> Any:
        try:     # no handshake here: TlsChannel does it as the client's bytes arrive
            return self.tls_context().wrap_socket(conn, server_side=True,
                                                  do_handshake_on_connect=False)
        except (OSError, ValueError):
            log.debug("could not start TLS on an accepted connection", exc_info=True)
            conn.close()
            return None


class TlsChannel(GuardedChannel):
    """GuardedChannel over an ssl.SSLSocket in non-blocking mode, in waitress's event loop.

    * The handshake runs in handle_read / handle_write as the socket allows, one step each
      wake-up; until it is done the channel reads no request and waits for what OpenSSL asked
      (readable or writable). Nothing renews last_activity before it completes, so a client
      that never finishes its handshake is closed by the idle timeout like an idle connection,
      and one that sends something else than TLS is closed at its first bytes; but plain HTTP
      (a first byte that is a letter, where a TLS record starts with 0x16) is read without TLS
      and answered with a redirect to https:// (smsd.api.https_redirect), then closed.
    * OpenSSL reads a whole record and hands it out in pieces: bytes it holds decrypted no
      longer show on the socket, so poll() would not wake us for them. handle_read therefore
      drains what it holds (ssl pending()) before returning.
    * "Would block" from OpenSSL is SSLWantRead/WantWriteError (not EWOULDBLOCK): send() says 0
      bytes sent, as waitress expects; it retries with the same bytes at the start of its buffer,
      which OpenSSL requires (Python sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
    * waitress writes from worker threads (write_soon) as well as from the loop thread, and
      OpenSSL's connection object is not safe to use from two threads at once: every handshake,
      read and write on it takes the channel's _tls_lock (each is non-blocking, so held briefly).
    """

    _handshaken = False
    _handshake_wants_write = False
    _sniffed = False                  # the first byte was seen: TLS (or garbage for it to refuse)
    _plain: bytes | None = None       # plain HTTP: the request head read so far

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        self._tls_lock = threading.Lock()
        super().__init__(server, sock, addr, adj, map)

    def readable(self) -> bool:
        if not self._handshaken:
            return not self.will_close and not self._handshake_wants_write
        return bool(super().readable())

    def writable(self) -> bool:
        if not self._handshaken:
            return bool(self.will_close or self._handshake_wants_write)
        return bool(super().writable())

    def handle_read(self) -> None:
        if not self._handshaken:
            if self._plain is not None or not self._sniffed:
                self._sniff()
            if self._sniffed:
                self._handshake()
            return
        data = self._read_records()
        if data is None:                      # OpenSSL wants more bytes for a whole record
            return
        if not data:                          # the client closed: as waitress's recv() does
            self.handle_close()               # (else poll() reports the EOF again and again)
            return
        self.last_activity = time.time()
        self.received(data)
        self._check_deadline()

    def handle_write(self) -> None:
        if not self._handshaken and not self.will_close:
            self._handshake()
            return
        super().handle_write()

    def _handshake(self) -> None:
        try:
            with self._tls_lock:
                self.socket.do_handshake()
        except ssl.SSLWantReadError:
            self._handshake_wants_write = False
        except ssl.SSLWantWriteError:
            self._handshake_wants_write = True
        except (OSError, ValueError) as exc:   # not TLS, refused by policy, reset
            log.debug("TLS handshake with %s failed: %s", self._peer, exc)
            self.handle_close()
        else:
            self._handshaken, self._handshake_wants_write = True, False
            self.last_activity = time.time()

    def _sniff(self) -> None:
        """Peek at the first byte (below TLS: socket.socket's own recv on the SSLSocket); plain
        HTTP is read and answered here, anything else goes on to the handshake."""
        try:
            if self._plain is None:
                first = socket.socket.recv(self.socket, 1, socket.MSG_PEEK)
                if first and not https_redirect.looks_like_plain_http(first):
                    self._sniffed = True
                    return
                self._plain = b""
            data = socket.socket.recv(self.socket, https_redirect.HEAD_MAX - len(self._plain))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("reading from %s failed: %s", self._peer, exc)
            self.handle_close()
            return
        self._plain += data
        if data and not https_redirect.complete(self._plain):
            return
        if data or self._plain:
            try:
                socket.socket.send(self.socket, https_redirect.answer(self._plain))
            except OSError as exc:
                log.debug("could not answer plain HTTP from %s: %s", self._peer, exc)
        self.handle_close()

    def _read_records(self) -> bytes | None:
        """Decrypted bytes, b"" at the end of the stream, None when none are ready yet."""
        chunks: list[bytes] = []
        want = self.adj.recv_bytes
        try:
            with self._tls_lock:
                while want > 0 or self.socket.pending():
                    chunk = self.socket.recv(max(want, self.socket.pending()))
                    if not chunk:
                        if not chunks:
                            return b""
                        break
                    chunks.append(chunk)
                    want -= len(chunk)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (OSError, ValueError) as exc:    # reset, or a TLS alert or error
            log.debug("TLS read from %s failed: %s", self._peer, exc)
            self.handle_close()
            return None
        return b"".join(chunks) if chunks else None

    def send(self, data: bytes, do_close: bool = True) -> int:
        try:
            with self._tls_lock:
                return int(self.socket.send(data))
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return 0
        except (OSError, ValueError) as exc:
            log.debug("TLS write to %s failed: %s", self._peer, exc)
            if do_close:
                self.handle_close()
            else:
                raise OSError(str(exc)) from None   # waitress's worker path: it closes
            return 0


class FairQueue:
    """waitress's task queue (a deque to it: append, popleft, len), served round-robin across
    client addresses, FIFO within one address."""

    def __init__(self) -> None:
        self._by_address: dict[str, collections.deque[Any]] = {}
        self._turns: collections.deque[str] = collections.deque()   # addresses with tasks
        self._len = 0

    def append(self, task: Any) -> None:
        address = _address_of(task)
        waiting = self._by_address.get(address)
        if waiting is None:
            waiting = self._by_address[address] = collections.deque()
            self._turns.append(address)
        waiting.append(task)
        self._len += 1

    def popleft(self) -> Any:
        if not self._turns:
            raise IndexError("pop from an empty FairQueue")
        address = self._turns.popleft()
        waiting = self._by_address[address]
        task = waiting.popleft()
        if waiting:
            self._turns.append(address)       # its next task waits for the other addresses
        else:
            del self._by_address[address]
        self._len -= 1
        return task

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0


def _address_of(task: Any) -> str:
    addr = getattr(task, "addr", None)       # a task is the channel itself in waitress 2
    return str(addr[0]) if isinstance(addr, tuple) and addr else ""


def prepare_process() -> None:
    """Process-wide settings the server needs, for the daemon to call once before serving."""
    raise_open_files_limit()
    # Under a flood waitress logs "Task queue depth is N" for every request queued, and we log
    # per refused connection or login: thousands of lines a second would make journald drop the
    # lines that matter. One line per kind every LOG_EVERY seconds, saying how many it skipped.
    for name in ("waitress.queue", "smsd.http", "smsd.auth"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePer) for f in logger.filters):
            logger.addFilter(OncePer(LOG_EVERY))
    # The event loop thread accepts, reads and closes for every client, and drops the GIL at
    # each socket call; with the default 5 ms switch interval each busy worker thread then keeps
    # it up to 5 ms before the loop gets it back, so under load the loop crawls and a newcomer
    # waits (conn_flood bench, 2,000 concurrent requests: worst good request ~1 s at 5 ms,
    # ~0.65 s at 1 ms or below).
    sys.setswitchinterval(SWITCH_INTERVAL)


class OncePer(logging.Filter):
    """Passes one record per `period` seconds for each message format (the text before its
    arguments), and tells how many of that kind it held back since the last one."""

    def __init__(self, period: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._period, self._clock = period, clock
        self._last: dict[str, float] = {}
        self._held: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind, now = str(record.msg), self._clock()
        with self._lock:
            if now - self._last.get(kind, -self._period) < self._period:
                self._held[kind] += 1
                return False
            self._last[kind] = now
            held = self._held.pop(kind, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last {self._period:g} s)"
        return True


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one (CONNECTION_LIMIT needs a descriptor per
    connection; a shell's soft default is often 1024). The systemd unit sets both with
    LimitNOFILE, so there this changes nothing (and its syscall filter would refuse it). The soft
    limit in force is returned."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    unlimited = resource.RLIM_INFINITY
    if soft != unlimited and (hard == unlimited or soft < hard):
        target = hard if hard != unlimited else max(soft, 4 * CONNECTION_LIMIT)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError) as exc:
            log.warning("could not raise the open files limit from %d to %d: %s", soft,
                        target, exc)
    if soft != unlimited and soft < CONNECTION_LIMIT + 100:
        log.warning("open files limit %d is below the %d connections the HTTP server accepts; "
                    "raise LimitNOFILE", soft, CONNECTION_LIMIT)
    return int(soft)
