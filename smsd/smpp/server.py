"""The SMPP listener: one accept thread, a reader thread per connection, a small pool that
commits submissions (so concurrent submits share group commits), one delivery thread per
receiving bind, and one feeder thread that turns events into queued deliveries.

Theory of operation, per connection:
- the reader takes whole frames: a command_length under 16 or over MAX_PDU cannot be resynced,
  so it is answered with generic_nack ESME_RINVCMDLEN and the connection is closed (5.1.1); an
  unknown command_id gets generic_nack ESME_RINVCMDID; a body that does not decode gets the
  command's own response with the error status; the session (session.py) says what each state
  takes;
- a submit_sm counts against the window until its submit_sm_resp is sent; beyond the window it is
  answered ESME_RTHROTTLED at once; the response is sent only after the message was committed;
- a receiving bind is sent the user's queued deliveries, at most a window of them unanswered;
  a queued row is deleted only by an ESME_ROK deliver_sm_resp, and one a bind never answered is
  sent again to the next bind;
- a half-closed or silent socket ends the connection (idle limit), its claims are given back.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable


from smpplib import consts
from smpplib.command import Command

from smsd.errors import (AuthError, Forbidden, InsufficientCredit, NoPortAvailable, NotFound,
                         ServiceError, TooLarge)
from smsd.model import MessageState
from smsd.service import Service
from smsd.service.smpp import SMPP_PERM, QueuedDelivery
from smsd.smpp import deliver, pdus, receipts, submit
from smsd.smpp.session import BINDS, Session

log = logging.getLogger("smsd.smpp")

WINDOW = 10
BIND_WAIT = 30.0              # seconds a connection may stay unbound
IDLE = 300.0                  # seconds without a PDU before the connection is dropped
ACK_WAIT = 30.0               # a deliver_sm unanswered this long is sent again later
FINISH_WAIT = 10.0            # after the peer's half-close: seconds its submits may take
RETRY_WAIT = 10.0             # a deliver_sm the ESME refused is offered again after this
JOIN_WAIT = 3.0               # seconds close() waits for each of our threads
MAX_CONNECTIONS = 64          # more are closed at once: each costs a thread
MAX_UNBOUND_PER_ADDRESS = 4   # connections one address may hold before they bind
FRAME_WAIT = 30.0             # seconds a bound peer has for the rest of a frame it began
SYSTEM_ID = "smsd"
PARTS_SYSTEM_TYPE = "parts"   # bind system_type asking for long SMS as UDH segments


@dataclass
class _Sent:
    item: QueuedDelivery
    left: int                          # deliver_sm PDUs of it still unanswered
    failed: bool = False
    at: float = field(default_factory=time.monotonic)


class SmppServer:
    def __init__(self, svc: Service, address: str, *, max_queue: int = 10_000,
                 window: int = WINDOW, pool: int = 8) -> None:
        host, _, port = address.rpartition(":")
        self.svc = svc
        self.address = (host or "0.0.0.0", int(port))
        self.max_queue = max_queue
        self.window = window
        self.pool = ThreadPoolExecutor(pool, thread_name_prefix="smpp-submit")
        self.assembler = submit.Assembler()
        self.stopping = threading.Event()
        self.changed = threading.Condition()          # the delivery queue gained rows
        self.claims: dict[str, dict[int, Connection]] = {}   # user -> queued id -> its sender
        self.claims_lock = threading.Lock()
        self.connections: set[Connection] = set()
        self.threads: list[threading.Thread] = []
        self.sock: socket.socket | None = None

    # --- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        sock = socket.create_server(self.address, reuse_port=False)
        sock.settimeout(0.5)
        self.sock = sock
        self.address = sock.getsockname()[:2]
        self.threads = [threading.Thread(target=self._accept, name="smpp-accept", daemon=True),
                        threading.Thread(target=self._feed, name="smpp-feed", daemon=True)]
        for thread in self.threads:
            thread.start()
        # A password changed, a user deleted or disabled on the console: their binds end.
        self.svc.users.on_password_change(self.drop_user)
        log.info("SMPP server listening on %s:%d", *self.address)

    def drop_user(self, name: str) -> None:
        for conn in list(self.connections):
            if conn.session.user == name:
                conn.close()

    def close(self) -> None:
        """Stop, and return only once no thread of ours can touch the store any more (the
        daemon closes it next): submissions in progress commit and are answered if they can."""
        self.stopping.set()
        if self.sock is not None:
            self.sock.close()
        conns = list(self.connections)
        for conn in conns:
            conn.close()
        self.pool.shutdown(wait=True, cancel_futures=False)
        with self.changed:
            self.changed.notify_all()
        for thread in self.threads + [t for conn in conns for t in conn.threads]:
            if thread is not threading.current_thread():
                thread.join(JOIN_WAIT)

    def _accept(self) -> None:
        assert self.sock is not None
        while not self.stopping.is_set():
            try:
                client, remote = self.sock.accept()
            except socket.timeout:
                self.assembler.expire()
                continue
            except OSError:
                return
            if len(self.connections) >= MAX_CONNECTIONS:
                log.warning("SMPP: %d connections already; %s refused", MAX_CONNECTIONS, remote[0])
                client.close()
                continue
            if self._unbound_from(remote[0]) >= MAX_UNBOUND_PER_ADDRESS:
                # A stranger holding connections open without binding would otherwise take
                # all MAX_CONNECTIONS from everyone (binds are quick: a client waits for none)
                log.warning("SMPP: %s holds %d connections not bound yet; one more refused",
                            remote[0], MAX_UNBOUND_PER_ADDRESS)
                client.close()
                continue
            conn = Connection(self, client, f"{remote[0]}:{remote[1]}")
            self.connections.add(conn)
            conn.spawn(conn.run, f"smpp-{remote[1]}")

    def _unbound_from(self, address: str) -> int:
        return sum(1 for c in list(self.connections)
                   if not c.session.bound and c.remote.rpartition(":")[0] == address)

    def _feed(self) -> None:
        """Events -> queued deliveries, then wake the receiving binds."""
        while not self.stopping.is_set():
            self.assembler.expire()     # here too: a busy accept loop may never time out
            try:
                read = self.svc.smpp.feed()
            except Exception:   # noqa: BLE001 - a store hiccup must not end deliveries for good
                if self.stopping.is_set():
                    return
                log.exception("SMPP delivery queue: feeding failed; retrying")
                read = 0
                self.stopping.wait(1.0)
            if read:
                with self.changed:
                    self.changed.notify_all()
                continue
            if not self.stopping.is_set():
                self.svc.smpp.wait_events(0.5)

    # --- claims: one bind sends a queued row at a time ----------------------------------------
    def claim(self, user: str, delivery_id: int, conn: Connection) -> bool:
        """False when another bind sends it, or `conn` is closed: a claim made after the
        connection's `release_all` would never be given back."""
        with self.claims_lock:
            mine = self.claims.setdefault(user, {})
            if delivery_id in mine or conn.closed.is_set():
                return False
            mine[delivery_id] = conn
            return True

    def release(self, user: str, delivery_id: int, conn: Connection) -> None:
        with self.claims_lock:
            if self.claims.get(user, {}).get(delivery_id) is conn:
                del self.claims[user][delivery_id]

    def release_all(self, user: str, conn: Connection) -> None:
        """Everything `conn` was sending goes back to the queue (call after closing it)."""
        with self.claims_lock:
            mine = self.claims.get(user, {})
            for delivery_id in [i for i, c in mine.items() if c is conn]:
                del mine[delivery_id]


class Connection:
    def __init__(self, server: SmppServer, sock: socket.socket, remote: str) -> None:
        self.server = server
        self.svc = server.svc
        self.sock = sock
        self.remote = remote
        self.session = Session()
        self.send_lock = threading.Lock()
        self.lock = threading.Lock()
        self.outstanding = 0                  # submit_sm not answered yet (the window)
        self.sent: dict[int, _Sent] = {}      # deliver_sm sequence -> what it carries
        self.refused: dict[int, float] = {}   # queued id -> when it may be offered again
        self.sequence = 0
        self.closed = threading.Event()
        self.opened = time.monotonic()
        self.allowed_at = self.opened                # when _still_allowed last asked
        self.threads: list[threading.Thread] = []    # its reader and delivery threads

    def spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    # --- reading --------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._read_loop()
            self._finish_submits()
        except OSError:
            pass
        except Exception:   # noqa: BLE001 - one bad connection never takes the server down
            log.exception("SMPP connection %s failed", self.remote)
        finally:
            self.close()

    def _finish_submits(self) -> None:
        """A peer that half-closed may still read: its submissions in progress get their
        answers (segments still waiting for the rest are refused when they expire)."""
        deadline = time.monotonic() + FINISH_WAIT
        while time.monotonic() < deadline and not self.closed.is_set():
            with self.lock:
                if self.outstanding <= self._held():
                    return
            time.sleep(0.01)

    def _held(self) -> int:
        return self.server.assembler.held(self)

    def _read_loop(self) -> None:
        # Deadlines for whole reads, not per recv: a peer trickling a byte now and then would
        # otherwise hold its connection (and thread) for ever, bound or not (slowloris).
        while not self.closed.is_set():
            unbound_until = self.opened + BIND_WAIT
            bound = self.session.bound
            try:
                head = self._recv(4, time.monotonic() + IDLE if bound else unbound_until)
                if head is None:
                    return
                length = int.from_bytes(head, "big")
                if not pdus.HEADER <= length <= pdus.MAX_PDU:
                    try:                             # its sequence, if it is there at all
                        rest = self._recv(12, time.monotonic() + 0.5) or b""
                    except socket.timeout:
                        rest = b""
                    seq = int.from_bytes(rest[8:12], "big") if len(rest) >= 12 else 0
                    self._nack(seq, consts.SMPP_ESME_RINVCMDLEN)
                    return                          # cannot find the next frame: drop (5.1.1)
                body = self._recv(length - 4, time.monotonic() + FRAME_WAIT if bound
                                  else unbound_until)
            except socket.timeout:
                return
            if body is None:
                return
            self._frame(head + body)

    def _recv(self, size: int, deadline: float) -> bytes | None:
        """`size` bytes by `deadline` (socket.timeout after it); None when the peer closed."""
        chunks, got = [], 0
        while got < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("the peer is too slow")
            self.sock.settimeout(left)
            chunk = self.sock.recv(size - got)
            if not chunk:
                return None                         # the peer closed (or half-closed)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _frame(self, frame: bytes) -> None:
        _, command_id, _, seq = pdus.header(frame)
        name = pdus.command_name(command_id)
        allowed = self.session.check(name or "")
        if name is None or allowed == consts.SMPP_ESME_RINVCMDID:
            self._nack(seq, consts.SMPP_ESME_RINVCMDID)
            return
        if allowed != consts.SMPP_ESME_ROK:
            self._refuse(name, seq, allowed)
            return
        try:
            pdu = pdus.decode(frame)
        except pdus.PduError as exc:
            log.info("SMPP %s: bad %s: %s", self.remote, name, exc)
            self._refuse(name, seq, exc.status)
            return
        getattr(self, f"_on_{name}")(pdu)

    def _refuse(self, name: str, seq: int, status: int) -> None:
        if name.endswith("_resp") or name == "generic_nack":
            return                                  # a response is never answered
        self.send(pdus.make(f"{name}_resp", sequence=seq, status=status))

    def _nack(self, seq: int, status: int) -> None:
        self.send(pdus.make("generic_nack", sequence=seq, status=status))

    # --- binds ----------------------------------------------------------------------------------
    def _on_bind(self, pdu: Command) -> None:
        name, password = pdus.text(pdu.system_id), pdus.text(pdu.password)
        status = consts.SMPP_ESME_ROK
        try:
            self.svc.smpp.authenticate(name, password, remote=self.remote.rpartition(":")[0])
        except Forbidden:
            status = consts.SMPP_ESME_RBINDFAIL
        except AuthError:                   # bad password, unknown user, throttled
            status = consts.SMPP_ESME_RINVPASWD
        resp = pdus.make(f"{pdu.command}_resp", sequence=pdu.sequence, status=status,
                         system_id=SYSTEM_ID)
        if status != consts.SMPP_ESME_ROK:
            log.info("SMPP %s: %s refused for %r (0x%02x)", self.remote, pdu.command, name, status)
            self.send(resp)
            self.close()
            return
        self.session.bind(pdu.command, name, pdus.text(pdu.system_type))
        self.send(resp)
        log.info("SMPP %s: %s as %r", self.remote, pdu.command, name)
        if self.session.receives:
            self.spawn(self._deliver_loop, f"smpp-deliver-{name}")

    _on_bind_transmitter = _on_bind_receiver = _on_bind_transceiver = _on_bind

    def _on_unbind(self, pdu: Command) -> None:
        self._finish_submits()                      # their answers first, then the unbind's
        self.send(pdus.make("unbind_resp", sequence=pdu.sequence))
        self.close()

    def _on_unbind_resp(self, pdu: Command) -> None:
        self.close()

    def _on_enquire_link(self, pdu: Command) -> None:
        self.send(pdus.make("enquire_link_resp", sequence=pdu.sequence))

    def _on_enquire_link_resp(self, pdu: Command) -> None:
        pass

    def _on_generic_nack(self, pdu: Command) -> None:
        self._on_deliver_sm_resp(pdu)         # a nack of one of our deliver_sm: not delivered

    # --- submissions ----------------------------------------------------------------------------
    def _on_submit_sm(self, pdu: Command) -> None:
        if not self._still_allowed():
            self._answer(pdu.sequence, consts.SMPP_ESME_RINVBNDSTS, "", counted=False)
            self.close()
            return
        try:
            piece = submit.piece(pdu, self.session.user)
        except pdus.PduError as exc:
            self._answer(pdu.sequence, exc.status, "", counted=False)
            return
        # A segment of a message whose other segments wait in the window is always taken:
        # refusing it would leave them all waiting for a segment that cannot come.
        joins = piece.total > 1 and self.server.assembler.waiting(piece.key)
        with self.lock:
            full = self.outstanding >= self.server.window and not joins
            if not full:
                self.outstanding += 1
        if full:
            self._answer(pdu.sequence, consts.SMPP_ESME_RTHROTTLED, "", counted=False)
            return
        try:
            self.server.pool.submit(self._submit, pdu, piece)
        except RuntimeError:                       # the pool is shut down: we are stopping
            self._answer(pdu.sequence, consts.SMPP_ESME_RSYSERR, "")

    def _answer(self, seq: int, status: int, message_id: str, counted: bool = True) -> None:
        if counted:
            with self.lock:
                self.outstanding -= 1
        fields = {"message_id": message_id} if status == consts.SMPP_ESME_ROK else {}
        self.send(pdus.make("submit_sm_resp", sequence=seq, status=status, **fields))

    def _submit(self, pdu: Command, piece: submit.Piece) -> None:
        seq = pdu.sequence

        def answer(status: int, message_id: str) -> None:
            self._answer(seq, status, message_id)

        whole = [(piece, pdu, answer)] if piece.total == 1 else \
            self.server.assembler.add(piece, pdu, answer, owner=self)
        if whole is not None:
            status, message_id = self._commit(whole[0][1], [p for p, _, _ in whole])
            for _, _, each in whole:
                each(status, message_id)

    def _commit(self, pdu: Command, pieces: list[submit.Piece]) -> tuple[int, str]:
        """(status, message id): the message committed, or why not."""
        try:
            request = submit.request(pdu, pieces)
            if self.svc.sending.in_queue() >= self.server.max_queue:
                return consts.SMPP_ESME_RTHROTTLED, ""
            accepted = self.svc.sending.send_sms(request, user=self.session.user)
        except pdus.PduError as exc:
            return exc.status, ""
        except ServiceError as exc:
            log.info("SMPP %s: submit_sm refused: %s", self.remote, exc)
            return _STATUS.get(type(exc), consts.SMPP_ESME_RSUBMITFAIL), ""
        return consts.SMPP_ESME_ROK, str(accepted.message_ids[0])

    def _on_query_sm(self, pdu: Command) -> None:
        state = self._message(pdu.message_id)
        if state is None:
            self._refuse("query_sm", pdu.sequence, consts.SMPP_ESME_RQUERYFAIL)
            return
        code = receipts.message_state(state.status, state.reason)
        final = "" if code == receipts.ENROUTE else receipts.smpp_final_date(time.time())
        self.send(pdus.make("query_sm_resp", sequence=pdu.sequence,
                            message_id=pdus.text(pdu.message_id), final_date=final,
                            message_state=code, error_code=state.dr_status or 0))

    def _on_cancel_sm(self, pdu: Command) -> None:
        state = self._message(pdu.message_id)
        status = consts.SMPP_ESME_RCANCELFAIL
        if state is not None and state.status == "SENDING":
            try:
                self.svc.sending.stop_task(state.task_id, user=self.session.user)
            except ServiceError:
                pass
            after = self._message(pdu.message_id)
            if after is not None and after.reason == receipts.STOPPED:
                status = consts.SMPP_ESME_ROK
        self.send(pdus.make("cancel_sm_resp", sequence=pdu.sequence, status=status))

    def _message(self, message_id: object) -> MessageState | None:
        text = pdus.text(message_id)
        if not (text.isascii() and text.isdigit()) or len(text) > 18:   # '²' isdigit()
            return None
        return self.svc.sending.message(int(text), user=self.session.user)

    # --- deliveries -----------------------------------------------------------------------------
    def _deliver_loop(self) -> None:
        try:
            self._deliveries()
        except Exception:   # noqa: BLE001 - the bind ends; what it held goes back to the queue
            if not self.closed.is_set():
                log.exception("SMPP %s: deliveries failed", self.remote)
            self.close()

    def _deliveries(self) -> None:
        user = self.session.user
        parts = self.session.system_type.lower() == PARTS_SYSTEM_TYPE
        while not self.closed.is_set():
            if not self._still_allowed():
                self.close()
                return
            self._resend_unanswered(user)
            sent = self._send_pending(user, parts)
            if not sent:
                with self.server.changed:
                    self.server.changed.wait(1.0)

    def _still_allowed(self) -> bool:
        """Is the bound user still enabled and granted smpp? Asked at most once a second, so a
        user disabled or stripped of the permission by `smsd user` (another process, which no
        listener hears) loses the bind too."""
        now = time.monotonic()
        if now - self.allowed_at < 1.0:
            return True
        self.allowed_at = now
        return self.svc.users.has_perm(self.session.user, SMPP_PERM)

    def _send_pending(self, user: str, parts: bool) -> int:
        room = self.server.window - len(self.sent)
        if room <= 0:
            return 0                              # an answer wakes the loop (server.changed)
        sent = 0
        for item in self.svc.smpp.pending(user, 0, limit=room + 50):
            if sent >= room:
                break
            if self.refused.get(item.id, 0.0) > time.monotonic():
                continue
            if not self.server.claim(user, item.id, self):
                continue
            if not self._still_queued(user, item.id):
                self.server.release(user, item.id, self)
                continue
            own = self._own_number(item)
            built = deliver.build(item, parts, own)
            record = _Sent(item, len(built))
            for pdu in built:
                with self.lock:
                    self.sequence = self.sequence % 0x7FFFFFFF + 1
                    pdu.sequence = self.sequence
                    self.sent[pdu.sequence] = record
                self.send(pdu)
            sent += 1
        return sent

    def _still_queued(self, user: str, delivery_id: int) -> bool:
        """Is the row still in the queue, now that it is claimed? The list it came from may
        predate its answer: the reader acks (deletes) a row, then gives its claim back, so a row
        read before the ack and claimed after it would go out twice (Kannel got receipts twice
        and took the second, which matched no message, for a received SMS)."""
        rows = self.svc.smpp.pending(user, delivery_id - 1, limit=1)
        return bool(rows) and rows[0].id == delivery_id

    def _own_number(self, item: QueuedDelivery) -> str:
        port = item.payload.get("port")
        if item.kind != "sms" or not isinstance(port, int):
            return ""
        try:
            infos = self.svc.ports.info([port])
        except NotFound:
            return ""
        return infos[0].number if infos else ""

    def _on_deliver_sm_resp(self, pdu: Command) -> None:
        with self.lock:
            record = self.sent.pop(pdu.sequence, None)
        if record is None:
            return
        record.failed = record.failed or pdu.status != consts.SMPP_ESME_ROK
        record.left -= 1
        if record.left > 0:
            return
        user = self.session.user
        if record.failed:
            self.refused[record.item.id] = time.monotonic() + RETRY_WAIT
        else:
            self.svc.smpp.ack(user, record.item.id)
            self.refused.pop(record.item.id, None)
        self.server.release(user, record.item.id, self)
        with self.server.changed:                 # room in the window: send the next one
            self.server.changed.notify_all()

    def _resend_unanswered(self, user: str) -> None:
        now = time.monotonic()
        with self.lock:
            stale = [seq for seq, r in self.sent.items() if now - r.at > ACK_WAIT]
            records = [self.sent.pop(seq) for seq in stale]
        for record in records:
            self.server.release(user, record.item.id, self)

    # --- writing and closing --------------------------------------------------------------------
    def send(self, pdu: Command) -> None:
        data = pdus.encode(pdu)
        with self.send_lock:
            if self.closed.is_set():
                return
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed.set()

    def close(self) -> None:
        if self.closed.is_set() and self not in self.server.connections:
            return
        self.closed.set()
        self.server.connections.discard(self)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            self.sent = {}
        self.server.release_all(self.session.user, self)
        self.session.close()


_STATUS: dict[type, int] = {
    TooLarge: consts.SMPP_ESME_RINVMSGLEN,
    NoPortAvailable: consts.SMPP_ESME_RTHROTTLED,
    InsufficientCredit: consts.SMPP_ESME_RSUBMITFAIL,
    Forbidden: consts.SMPP_ESME_RSUBMITFAIL,
}


