"""The scheduler: hands queued parts to modem workers and keeps track of them until they are sent.

Theory of operation. One thread. It sleeps on an Event until something may have changed (a
send_sms commit, a part result, a port change, stop_task) or until the next timed duty (a retry
coming due, a lease expiring); there is no polling loop. A part result, a port's change or a
setting (`kick`) runs a pass at once, so a freed port is refilled without delay. Intake's commit
(`work_arrived`) is cheaper: while every port that can send holds `depth` parts it does nothing
(the result that frees a place kicks the pass that reads the new messages), and otherwise its
pass waits up to COALESCE for the intakes that come meanwhile to share it. The settings asked
of every port on every pass are resolved once per change (portcfg.Rules, budgets.SimLimits).
Each pass fills every ready port up to
`depth` parts (default 2: one on the air, one waiting in the worker's job queue, so a worker never
idles between parts while the scheduler reacts to its last result). Ports with the fewest parts
in hand are served first, round by round, so work spreads over all ports.

Picking work for port P, in order:
  1. a queued part pinned to P (the remaining parts of a multipart message P started: the
     recipient's phone reassembles by originator, so one message stays on one SIM);
  2. any other due queued part P may take: retries (which avoid the port that failed them while
     another port could take them) and parts pinned to a port that can no longer send;
  3. the first waiting message P may send (task port list) in rank order -- higher priority
     first, oldest first within a priority: encode its PDUs now (concat reference from P's
     8-bit counter), store its parts pinned to P, lease the first. A message never goes out in
     more parts than it was counted (and charged) at intake: P builds it with its own settings
     (charset, national_languages), or, when its UCS2 preference would add parts, in the
     message's own alphabet choice; when even that needs more (P lost a national table since),
     P leaves the message to the other ports it may use, and it fails when none of them can.
Waiting messages come from the store a page at a time into a look-ahead buffer, read with a
(priority, id) cursor. A message accepted later with a higher priority than the cursor's ranks
before it: the store tells of such arrivals (take_new_priority) and the buffer is then dropped
and read again from the top, so the new message is next even while old ones wait.
A lease is a durable `leased` row plus an in-memory entry per port. The worker confirms with
part_starting (commits `on_air`, after which the part is never resent) and reports part_result.
A port that stops being able to send gets its not-yet-started parts back at once; a lease never
started within `lease_timeout` returns to the queue too (part_starting then answers False).

A graceful stop (`drain`) ends the dispatching: the loop stops, and part_starting answers False
from then on, so the parts waiting in the workers' queues stay leased and the next start's
recovery puts them back in the queue, pinned as they were. What was already on the air runs to
its +CMGS/+CMS answer; `wait_drained` returns once each such result is committed.

What the workers report comes through smsd.modem_events.ModemEventSink on their threads: the
fate of the parts handed out (part_starting, part_result) and each port's new state (update_port,
port_state_changed) reach the scheduler, which commits through the store and kicks its thread to
refill the port from the database state. Received SMS, reports and USSD never pass through here.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Collection, Iterable, Mapping, Protocol

from smsd.errors import CodecError
from smsd.model import ModemJob, PortInfo, SendResult
from smsd.modem.jobs import SendPart
from smsd.pdu import binary
from smsd.pdu.types import ENC_8BIT, SubmitPart
from smsd.portcfg import PortConfig
from smsd.rotation import SimWatch, sim_of
from smsd.budgets import SimLimits
from smsd.routing import Tiers, is_connection, tier_of
from smsd.store.db import Store
from smsd.store.outbox import QueuedPart, WaitingMessage
from smsd.store.subscriptions import TaskPayload

log = logging.getLogger("smsd.scheduler")

LOOKAHEAD = 4096          # waiting messages scanned for one whose port list fits a free port
IDLE_WAKE = 30.0          # seconds; a safety net, not the mechanism
COALESCE = 0.003          # seconds a pass woken by new messages alone waits for more of them
FLUSH_EVERY = 600.0       # seconds between looks for concatenated SMS missing parts


# How a port builds a text's parts: (what the alphabet "auto" means there: auto, or ucs2 under
# charset=UCS2; the national language ids national_languages allows there).
Profile = tuple[str, tuple[int, ...]]


def port_profiles(config: PortConfig, ports: Iterable[int]) -> list[Profile]:
    """The distinct ways `ports` build parts (most boxes have one)."""
    return config.profiles(ports)


class PartCounter(Protocol):
    """What counting needs of the PDU codec: smsd.pdu itself (either backend), or a stand-in."""

    def count_parts(self, text: str, encoding: str = ...,
                    languages: Collection[int] = ...) -> int: ...


class SubmitCodec(PartCounter, Protocol):
    """What dispatch needs of the PDU codec besides counting."""

    def choose_encoding(self, text: str, languages: Collection[int] = ...) -> str: ...
    def encode_submit(self, number: str, text: str, *, encoding: str = ...,
                      request_status_report: bool = ..., flash: bool = ..., concat_ref: int = ...,
                      languages: Collection[int] = ...) -> list[SubmitPart]: ...


def most_parts(codec: PartCounter, text: str, encoding: str, profiles: Iterable[Profile]) -> int:
    """The parts `text` takes in `encoding` on the port that needs the most of them. Counted at
    intake, it is what a message may go out in at most, whichever of these ports sends it."""
    return max(int(codec.count_parts(text, auto if encoding == "auto" else encoding,
                                     languages=languages)) for auto, languages in profiles)


def _names_connection(msg: WaitingMessage) -> bool:
    """The message's port list (its task's or its routing rule's) names a provider connection."""
    return msg.ports is not None and any(is_connection(p) for p in msg.ports)


class WorkerHandle(Protocol):
    @property
    def info(self) -> PortInfo: ...
    def submit(self, job: ModemJob) -> None: ...


def _default_codec() -> SubmitCodec:
    from smsd import pdu
    return pdu


@dataclass(frozen=True)
class DrainReport:
    """What became of the parts that were on the air when a graceful stop began."""

    sent: int                                   # the network took them (+CMGS)
    refused: int                                # a +CMS error: queued again or failed, as always
    abandoned: tuple[tuple[int, int], ...]      # (port, part id) still without an answer


class Scheduler:
    def __init__(self, store: Store, workers: Mapping[int, WorkerHandle] | None = None, *,
                 depth: int = 2, max_attempts: int = 3, backoff: float = 10.0,
                 lease_timeout: float = 300.0, inbound_max_age: float = 3600.0, codec: SubmitCodec | None = None,
                 clock: Callable[[], float] = time.time,
                 port_config: PortConfig | None = None) -> None:
        self._store = store
        # Per-port settings (smsd.portcfg): send/running, max_parts_per_minute, status_reports,
        # charset.
        self.port_config = (port_config if port_config is not None
                            else PortConfig(store.port_settings, clock=clock))
        # Per-SIM budgets and the rotation of multi-SIM ports (smsd/rotation.py).
        self.sims = SimWatch(SimLimits(store.sim_slots, self.port_config.get, clock=clock),
                             store.sim_slots, self.submit, clock=clock)
        self._codec = codec if codec is not None else _default_codec()
        self._clock = clock
        self.depth, self.max_attempts, self.backoff = depth, max_attempts, backoff
        self.lease_timeout = lease_timeout
        self.inbound_max_age = inbound_max_age
        self._last_flush = 0.0
        self._workers: dict[int, WorkerHandle] = {}
        self._infos: dict[int, PortInfo] = {}
        self._held: dict[int, dict[int, float | None]] = {}   # port -> part -> lease time, None = on air
        self._refs: dict[int, int] = {}
        self._oldest_lease: float | None = None    # see _note_oldest_lease (None: no lease)
        self._senders: tuple[int, ...] = ()          # see _note_senders
        self._lock = threading.Lock()
        self._wake = threading.Event()
        # Set by every kick but the intake's (work_arrived): a result, a port's change, a
        # setting. A pass woken without it waits COALESCE for more intakes to share it.
        self._urgent = threading.Event()
        # Every port that can send holds `depth` parts: set by _hungry, read by work_arrived.
        # Why it can be trusted between passes: a place frees (a part leaves `_held`) or a port
        # becomes able to send (`_infos`) only under the lock and is always followed by a kick,
        # which clears `_full`; _hungry computes and stores it under the same lock, so such a
        # change either shows in its computation or clears the flag after it.
        self._full = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Graceful stop: no part starts once _draining is set; _starting counts part_starting
        # calls past that check, so a part cannot slip on the air unseen by wait_drained.
        self._draining = False
        self._starting = 0
        self._drain_sent = 0
        self._drain_refused = 0
        self._settled = threading.Condition(self._lock)
        self.heartbeat = time.monotonic()     # last turn of the loop, read by the watchdog
        self._waiting: list[WaitingMessage] = []
        # Some message in _waiting may name a provider connection (only then may the tier of
        # one be a connection's, so only then must each pass look for them). Set when such a
        # message is read; cleared by the look that finds none left.
        self._naming_connections = False
        self._unfit: dict[int, set[int]] = {}     # message -> ports that would need more parts
        self._cursor: tuple[int, int] | None = None       # rank of the last message read
        self._exhausted = False
        self._tiers_this_pass: dict[Tiers, tuple[int, ...]] = {}     # routing's, per pass
        self._payload: tuple[int, TaskPayload | None] = (0, None)    # see _payload_of
        if workers:
            self.attach(workers)

    # --- life cycle -----------------------------------------------------------------------------
    def attach(self, workers: Mapping[int, WorkerHandle]) -> None:
        with self._lock:
            for port, worker in workers.items():
                self._workers[port] = worker
                self._infos.setdefault(port, worker.info)
                self._held.setdefault(port, {})
                self._refs.setdefault(port, random.randrange(256))
            self._note_senders()
        self.kick()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def kick(self) -> None:
        """Something may have changed: run a pass now."""
        with self._lock:
            self._full = False
        self._urgent.set()
        self._wake.set()

    def work_arrived(self) -> None:
        """Intake committed new messages. While every port that can send holds `depth` parts
        there is nothing a pass could give them, so nothing is done: the kick of the result
        that frees a place (or of the port's change that makes it able) runs the pass that
        reads these messages. Otherwise a pass runs within COALESCE, shared by the intakes
        that come meanwhile."""
        if not self._full:
            self._wake.set()

    # --- graceful stop --------------------------------------------------------------------------
    def drain(self) -> int:
        """Stop handing out parts; the parts on the air finish. Returns how many are on the air."""
        with self._lock:
            self._draining = True
        self.stop()
        return self.in_flight()

    def in_flight(self) -> int:
        """Parts on the air (or being marked so) whose result is not committed yet."""
        with self._lock:
            return self._starting + len(self._on_air())

    def wait_drained(self, timeout: float) -> bool:
        """Wait up to `timeout` s until every part on the air has its result committed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._starting or self._on_air():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._settled.wait(left)
        return True

    def drain_report(self) -> DrainReport:
        with self._lock:
            return DrainReport(self._drain_sent, self._drain_refused, tuple(self._on_air()))

    def _on_air(self) -> list[tuple[int, int]]:
        """(port, part id) of the parts on the air; call with the lock held."""
        return sorted((port, pid) for port, held in self._held.items()
                      for pid, leased in held.items() if leased is None)

    def _run(self) -> None:
        # Everything this thread writes can be redone if lost (leases, parts of a message not
        # yet started), so its commits skip the fsync; the next durable commit of any thread
        # (part_starting, results, intake) carries them to disk in WAL order.
        self._store.db.relax_this_thread()
        while not self._stopping.is_set():
            self.heartbeat = time.monotonic()
            self._wake.clear()
            self._urgent.clear()
            try:
                delay = self.dispatch_once()
            except Exception:   # noqa: BLE001 - the dispatcher must outlive one bad pass
                log.exception("dispatch pass failed")
                delay = 1.0
            if self._wake.wait(delay) and not self._urgent.is_set():
                self._urgent.wait(COALESCE)     # new messages only: let more intakes join

    # --- ports ----------------------------------------------------------------------------------
    @property
    def ports(self) -> list[int]:
        return sorted(self._workers)

    def info(self, port: int) -> PortInfo:
        with self._lock:
            return self._infos[port]

    def infos(self) -> dict[int, PortInfo]:
        with self._lock:
            return dict(self._infos)

    def submit(self, port: int, job: ModemJob) -> None:
        """Hand a non-SMS job (USSD, slot switch, reset...) to a port's worker."""
        self._workers[port].submit(job)

    def held(self, port: int) -> int:
        with self._lock:
            return len(self._held.get(port, {}))

    def _ready(self, port: int, asked: dict[int, bool]) -> bool:
        """Can `port` send now (its SIM's budget included)? `asked` keeps the answers of one
        pick, so each port is asked at most once in it."""
        found = asked.get(port)
        if found is None:
            with self._lock:
                info = self._infos.get(port)
                found = info is not None and info.can_send and port in self._workers
            found = asked[port] = found and self.port_config.sending_enabled(port) and \
                self._sim_ok(port, self._clock())
        return found

    def _sim_ok(self, port: int, now: float) -> bool:
        """The port's active SIM has budget (else a multi-SIM port rotates to one that has)."""
        with self._lock:
            info = self._infos.get(port)
        return info is not None and self.sims.usable(port, info, now)

    def _hungry(self) -> list[int]:
        """Ports that can send and have room, least loaded first."""
        with self._lock:
            held, depth = self._held, self.depth
            free = [p for p in self._senders if len(held[p]) < depth]
            self._full = not free
        now = self._clock()
        free = [p for p in free if self.port_config.may_send(p, now) and self._sim_ok(p, now)]
        with self._lock:
            return sorted(free, key=lambda p: (len(self._held[p]), p))

    # A connection to a provider (smsd/connections) in a routing tier: its own dispatcher sends
    # its messages; the daemon sets this to ask whether it can take one now.
    connection_able: Callable[[int], bool] = staticmethod(lambda number: False)
    _reread = False           # set by `reread`: read the waiting messages from the top again

    def reread(self) -> None:
        """A connection can no longer send: its messages, forgotten while it sent them, are read
        again at the next pass, so the ports of their next tier take them."""
        self._reread = True
        self.kick()

    def able(self, port: int) -> bool:
        """Can `port` send at all now: registered and ready, sending on, its day and month
        limits not reached? A per-minute rate only delays a port: it stays able."""
        if is_connection(port):
            return self.connection_able(port)
        with self._lock:
            info = self._infos.get(port)
        config = self.port_config
        if info is None or not info.can_send or not config.sending_enabled(port):
            return False
        now = self._clock()
        if not self._sim_ok(port, now):          # its SIM's budget is spent
            return False
        counts = config.period_counts(port, now)
        return config.may_send(port, now) or all(
            count < int(config.get(port, key)) for key, count in counts.items())

    def route_tier(self, tiers: Tiers) -> tuple[int, ...]:
        """The ports of a routing rule's fall-back order that may take its message now
        (smsd/routing.py: the first tier with a port that is `able`)."""
        return tier_of(tiers, self.able)

    def _tier_now(self, tiers: Tiers) -> tuple[int, ...]:
        """route_tier, once per fall-back order and dispatch pass: a pass may scan thousands of
        waiting messages routed alike, and a port's ability does not change within it."""
        found = self._tiers_this_pass.get(tiers)
        if found is None:
            found = self._tiers_this_pass[tiers] = self.route_tier(tiers)
        return found

    # --- dispatch -------------------------------------------------------------------------------
    def dispatch_once(self) -> float:
        """One filling pass; returns seconds until the next timed duty."""
        now = self._clock()
        self._tiers_this_pass.clear()
        self._expire_leases(now)
        if now - self._last_flush >= min(FLUSH_EVERY, self.inbound_max_age):
            self._last_flush = now
            self._store.inbox.flush_stale_inbound(now, self.inbound_max_age)
        queued = self._store.outbox.queued_parts()
        self._exhausted = False
        self._rerank(self._store.outbox.take_new_priority())
        self._leave_to_connections()
        progress = True
        while progress:
            progress = False
            for port in self._hungry():
                progress |= self._give_one(port, queued, now)
        return self._next_delay(queued, now)

    def _give_one(self, port: int, queued: list[QueuedPart], now: float) -> bool:
        part = self._pick_queued(port, queued, now)
        if part is None:
            return self._start_message(port, queued, now)
        queued.remove(part)
        if self._store.outbox.lease(part.id, port, now):
            self._hand(port, part.id, part.pdu, part.tpdu_len, now)
        return True

    def _pick_queued(self, port: int, queued: list[QueuedPart], now: float) -> QueuedPart | None:
        asked: dict[int, bool] = {}         # which ports are ready, asked only if needed
        best: QueuedPart | None = None
        for part in queued:
            if part.next_try > now or (part.ports is not None and port not in part.ports):
                continue
            if part.pref_port == port:
                return part
            if part.tiers and port not in self._tier_now(part.tiers):
                continue
            if part.pref_port is None and part.avoid_port != port:
                best = best or part
                continue
            if part.pref_port is not None and self._ready(part.pref_port, asked):
                continue
            if part.avoid_port == port and self._has_alternative(part, asked):
                continue
            best = best or part
        return best

    def _has_alternative(self, part: QueuedPart, asked: dict[int, bool]) -> bool:
        return any(p != part.avoid_port and (part.ports is None or p in part.ports)
                   and self._ready(p, asked) for p in self.ports)

    def _start_message(self, port: int, queued: list[QueuedPart], now: float) -> bool:
        msg = self._next_waiting(port)          # still in the look-ahead buffer
        if msg is None:
            return False
        try:
            built = self._encode(msg, port)
        except (CodecError, ValueError) as exc:
            log.warning("message %d cannot be encoded: %s", msg.id, exc)
            self._done_waiting(msg)
            self._store.outbox.fail_message(msg.id, f"encoding: {exc}", now)
            return True
        if built is None:
            return self._pass_over(msg, port, now)
        self._done_waiting(msg)
        parts, encoding = built
        rows = [(p.seq, p.total, p.hex, p.tpdu_len) for p in parts]
        ids = self._store.outbox.materialize(msg.id, port, rows, now, encoding)
        if ids is None:
            return True
        self._hand(port, ids[0], parts[0].hex, parts[0].tpdu_len, now)
        queued.extend(QueuedPart(pid, msg.id, port, None, msg.ports, p.hex, p.tpdu_len, 0.0,
                                 msg.tiers) for pid, p in zip(ids[1:], parts[1:]))
        return True

    def _done_waiting(self, msg: WaitingMessage) -> None:
        self._waiting.remove(msg)
        self._unfit.pop(msg.id, None)

    def _encode(self, msg: WaitingMessage, port: int) -> tuple[list[SubmitPart], str] | None:
        """(the message's SMS-SUBMIT parts, their alphabet) as `port` builds them; flash and
        binary tasks (issue 5) as stored on the task. None: more parts than it was counted."""
        srr = self.port_config.status_reports(port, msg.srr)
        payload = self._payload_of(msg.task_id)
        if payload is not None and payload.data is not None:
            return binary.encode_submit(msg.number, payload.data, udh=payload.udh,
                                        flash=payload.flash, request_status_report=srr,
                                        concat_ref=self._next_ref(port)), ENC_8BIT
        flash = {"flash": True} if payload is not None and payload.flash else {}
        languages = self.port_config.languages(port)
        preferred = self.port_config.encoding(port, msg.encoding)
        for encoding in dict.fromkeys((preferred, msg.encoding)):
            # The port's UCS2 preference yields to the count the client was charged.
            parts = list(self._codec.encode_submit(
                msg.number, msg.text, encoding=encoding, request_status_report=srr,
                concat_ref=self._next_ref(port), languages=languages, **flash))
            if len(parts) <= msg.count:
                return parts, self._alphabet(msg.text, encoding, languages)
        return None

    def _payload_of(self, task_id: int) -> TaskPayload | None:
        """The task's payload kind (None: plain text). A task's flash, data and UDH are written
        once, at intake, and task ids are never reused (AUTOINCREMENT), so the answer kept for
        the last task asked stays true; a task's messages come one after another, so most
        messages are of that task."""
        kept_id, kept = self._payload
        if kept_id != task_id:
            kept = self._store.payloads.of_task(task_id)
            self._payload = (task_id, kept)
        return kept

    def _alphabet(self, text: str, encoding: str, languages: tuple[int, ...]) -> str:
        if encoding != "auto":
            return encoding
        return str(self._codec.choose_encoding(text, languages=languages))

    def _pass_over(self, msg: WaitingMessage, port: int, now: float) -> bool:
        """`port` would send `msg` in more parts than it was counted (its national tables were
        taken away after intake): the message waits for another port it may use whose settings
        fit, and fails, with the reason, when there is none."""
        unfit = self._unfit.setdefault(msg.id, set())
        unfit.add(port)
        others = [p for p in (msg.ports if msg.ports is not None else self.ports) if p not in unfit]
        fits = [p for p in others if self._codec.count_parts(
            msg.text, msg.encoding, languages=self.port_config.languages(p)) <= msg.count]
        if fits:
            log.info("message %d: port %d would need more than its %d part(s); left to port(s) %s",
                     msg.id, port, msg.count, ", ".join(map(str, fits)))
            return True
        self._done_waiting(msg)
        reason = (f"encoding: needs more than the {msg.count} part(s) it was counted on every "
                  "port it may use (their national language tables changed since)")
        log.warning("message %d fails: %s", msg.id, reason)
        self._store.outbox.fail_message(msg.id, reason, now)
        return True

    def _rerank(self, new_priority: int | None) -> None:
        """Read the waiting messages from the top again when new ones rank before the cursor."""
        if new_priority is not None and self._cursor is not None and new_priority > self._cursor[0]:
            self._waiting.clear()
            self._cursor = None

    def _leave_to_connections(self) -> None:
        """Forget the waiting messages whose tier now is a provider connection's: its own
        dispatcher claims them (smsd/connections), and they must not fill the look-ahead."""
        if self._reread:
            self._reread = False
            self._waiting.clear()
            self._cursor = None
        if not self._naming_connections:
            return          # no buffered message may go to a connection: nothing to scan
        self._waiting = [m for m in self._waiting if not self._for_connection(m)]
        self._naming_connections = any(map(_names_connection, self._waiting))

    def _for_connection(self, msg: WaitingMessage) -> bool:
        if msg.ports is None or not _names_connection(msg):
            return False
        tier = self._tier_now(msg.tiers) if msg.tiers else msg.ports
        return any(is_connection(p) for p in tier)

    def _next_waiting(self, port: int) -> WaitingMessage | None:
        while True:
            for msg in self._waiting:
                if msg.ports is not None and port not in msg.ports:
                    continue
                if msg.tiers and port not in self._tier_now(msg.tiers):
                    continue
                if port not in self._unfit.get(msg.id, ()):
                    return msg
            if len(self._waiting) >= LOOKAHEAD or self._exhausted:
                return None
            more = self._read_waiting()
            if not more:
                self._exhausted = True          # don't ask again for each port in this pass
                return None
            self._waiting.extend(more)
            self._naming_connections = self._naming_connections or any(
                map(_names_connection, more))
            self._cursor = more[-1].rank

    def _read_waiting(self) -> list[WaitingMessage]:
        if self._cursor is None:
            return self._store.outbox.waiting(0, 256)
        priority, after_id = self._cursor
        return self._store.outbox.waiting(after_id, 256, after_priority=priority)

    def _next_ref(self, port: int) -> int:
        with self._lock:
            self._refs[port] = ref = (self._refs[port] + 1) % 256
        return ref

    def _hand(self, port: int, part_id: int, pdu: str, tpdu_len: int, now: float) -> None:
        with self._lock:
            self._held[port][part_id] = now
            if self._oldest_lease is None or now < self._oldest_lease:
                self._oldest_lease = now
        self.port_config.note_handed(port, now)
        self.sims.limits.note_handed(port, sim_of(self._infos[port]), now)
        self._workers[port].submit(SendPart(part_id, pdu, tpdu_len))

    def _expire_leases(self, now: float) -> None:
        with self._lock:
            if self._oldest_lease is None or self._oldest_lease >= now - self.lease_timeout:
                return          # not even the oldest lease can be stale: nothing to look at
            stale = [(p, pid) for p, held in self._held.items() for pid, t in held.items()
                     if t is not None and t < now - self.lease_timeout]
            if not stale:
                self._note_oldest_lease()
                return
        back = set(self._store.outbox.unlease(pid for _, pid in stale))
        with self._lock:
            for port, pid in stale:
                if pid in back:
                    self._held[port].pop(pid, None)
                elif pid in self._held[port]:
                    self._held[port][pid] = None      # it went on the air meanwhile
            self._note_oldest_lease()
        log.warning("%d lease(s) expired and returned to the queue", len(back))

    def _note_oldest_lease(self) -> None:
        """The time of the oldest lease not yet started, exactly; call with the lock held.
        Between two such counts `_oldest_lease` may be older than any lease left (the part
        started, or came back), never newer: _hand lowers it, nothing else adds a lease."""
        self._oldest_lease = min((t for held in self._held.values() for t in held.values()
                                  if t is not None), default=None)

    def _next_delay(self, queued: list[QueuedPart], now: float) -> float:
        times = [p.next_try for p in queued if p.next_try > now]
        with self._lock:
            if self._oldest_lease is not None:      # no lease expires before this one could
                times.append(self._oldest_lease + self.lease_timeout)
        if queued or self._waiting or not self._exhausted:
            # A rate-limited port takes its next part when its minute window frees a place;
            # only a port with a rate, day or month limit set can be waiting for one.
            for port in self.port_config.limited_ports() & self._workers.keys():
                free = self.port_config.next_free(port, now)
                if free is not None:
                    times.append(free)
        return max(0.01, min([IDLE_WAKE] + [t - now for t in times]))

    def port_settings_changed(self, port: int) -> None:
        """A port's settings changed: a port that may no longer send gives back its parts."""
        if not self.port_config.sending_enabled(port):
            self._reclaim(port)
        self.kick()

    def _reclaim(self, port: int) -> None:
        """Take back parts leased to a port that can no longer send and has not started them."""
        with self._lock:
            leased = [pid for pid, t in self._held.get(port, {}).items() if t is not None]
        back = self._store.outbox.unlease(leased)
        with self._lock:
            for pid in back:
                self._held[port].pop(pid, None)
        if back:
            log.info("port %d: %d queued part(s) taken back", port, len(back))

    # --- what the workers report about the parts handed to them (through smsd.modem_events) ---
    def part_starting(self, port: int, part_id: int) -> bool:
        with self._lock:
            if self._draining:
                # Stopping: the part stays leased; the next start puts it back in the queue.
                self._held.get(port, {}).pop(part_id, None)
                return False
            self._starting += 1
        ok = False
        try:
            ok = self._store.outbox.part_starting(port, part_id, self._clock())
        finally:
            with self._lock:
                self._starting -= 1
                held = self._held.setdefault(port, {})
                if ok:
                    held[part_id] = None
                else:
                    held.pop(part_id, None)
                self._settled.notify_all()
        if not ok:
            self.kick()
        return ok

    def part_result(self, port: int, result: SendResult) -> None:
        # The worker does not wait for the disk: its next part_starting joins the same group
        # commit. The port's slot frees only once the result is durable.
        def settled(_: bool | None, error: BaseException | None) -> None:
            if error is not None:
                log.error("port %d: result of part %d not recorded: %s", port, result.part_id,
                          error)
            with self._lock:
                was_on_air = self._held.get(port, {}).pop(result.part_id, 0) is None
                if self._draining and was_on_air:
                    self._count_drained(result.ok and error is None)
                self._settled.notify_all()
            self.kick()

        imsi = self._infos[port].imsi if port in self._infos else ""
        self._store.outbox.part_result_nowait(port, result, imsi=imsi, now=self._clock(),
                                              max_attempts=self.max_attempts, backoff=self.backoff,
                                              then=settled)

    def _count_drained(self, sent: bool) -> None:
        if sent:
            self._drain_sent += 1
        else:
            self._drain_refused += 1

    # --- the ports' state, as their workers report it (through smsd.modem_events) ------------
    def last_info(self, port: int) -> PortInfo | None:
        with self._lock:
            return self._infos.get(port)

    def update_port(self, info: PortInfo) -> PortInfo | None:
        """Take a port's new state; returns the one it replaces. Call port_state_changed next."""
        with self._lock:
            old = self._infos.get(info.port)
            self._infos[info.port] = info
            self._full = False      # it may send now: intake wakes the pass even before the kick
            if old is None or old.can_send != info.can_send:
                self._note_senders()
        return old

    def _note_senders(self) -> None:
        """The ports that can send, in the workers' order; call with the lock held."""
        self._senders = tuple(p for p in self._workers if self._infos[p].can_send)

    def port_state_changed(self, old: PortInfo | None, info: PortInfo) -> None:
        """A port that can no longer send gives back the parts it has not started."""
        if old is not None and old.can_send and not info.can_send:
            self._reclaim(info.port)
        self.kick()
