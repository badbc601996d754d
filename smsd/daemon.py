"""Composition root: config -> store -> board -> workers -> scheduler (and the sink of what the
modems report) -> service -> HTTP, push.

Start order matters for the "nothing accepted and then lost" promise: the store recovers what a
crash left in flight before any worker or HTTP request can touch it; the HTTP server starts last,
so nothing is accepted before the machinery that will send it exists. Stop order is the reverse,
after a drain: on SIGTERM/SIGINT the daemon takes no new connections and starts no new part, the
parts already on the air get their +CMGS/+CMS answer and their outcome is committed (at most
`drain_timeout` seconds; a second signal cuts the wait short), and only then do the workers stop.
What was queued stays queued for the next start. See docs/shutdown.md.
"""
from __future__ import annotations

import functools
import logging
import os
import secrets
import signal
import sqlite3
import sys
import threading
import time
from typing import Any

from smsd import pdu
from smsd.api import build_app
from smsd.api.auth import HttpAuth
from smsd.api.access_log import access_log
from smsd.api.closing import honour_connection_close
from smsd.api.serving import HttpService
from smsd.api.server import HEALTH_PATH, create_server, listen_addresses, prepare_process
from smsd.config import Config
from smsd.errors import ConfigError, SmsdError
from smsd.metrics.wiring import Monitoring
from smsd.modem.sink import WorkerSink
from smsd.modem.worker import ModemWorker
from smsd.modem_events import ModemEventSink
from smsd.push.worker import FORMATTERS, PushTarget, PushWorker
from smsd.rotation import sim_of
from smsd.system.box_identity import device_payload
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.service.book import ROUTE_GIVE_UP, route_matches
from smsd.store.db import Store
from smsd.store.migrate import SchemaError
from smsd.system.listen import ListenError, check_listen
from smsd.system.tls import TLS_PAIR_FILE, TlsCertificate
from smsd.system import logbuffer
from smsd.system.heap import tune_malloc
from smsd.system.memory import HeapTrimmer
from smsd.system.power import RESTART_EXIT, DaemonControls
from smsd.system.status import DeviceStatus
from smsd.system.watchdog import HealthProbe, HttpCheck, Watchdog
from smsd.web import WebSettings

log = logging.getLogger("smsd")

ADMIN_USER = "admin"
ADMIN_PASSWORD_FILE = "admin-password"
DB_FILE = "smsd.db"
# What the stop still needs after the drain (workers, push, store): systemd's stop timeout is
# extended to the drain's deadline plus this.
STOP_MARGIN = 15.0


def stdout_is_journal(env: dict[str, str] | None = None, fd: int | None = None) -> bool:
    """True when standard output is systemd's journal stream: systemd sets JOURNAL_STREAM to
    the stream's "<device>:<inode>" (systemd.exec(5)); a child that inherited the variable but
    writes elsewhere does not match."""
    stream = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(sys.stdout.fileno() if fd is None else fd)
    except (OSError, ValueError):
        return False
    return bool(stream) and stream == f"{st.st_dev}:{st.st_ino}"


def admin_created_message(password: str, saved: str, journal: bool) -> str:
    """The line announcing a new admin account. The password itself goes only to a terminal
    or a pipe (`make run`, tests): the journal would keep it for as long as it keeps logs, e.g.
    after a factory reset on the appliance, where the password file is what shows it."""
    if journal:
        return (f"admin account created: user '{ADMIN_USER}', password saved in {saved} "
                "(mode 0600)")
    return (f"admin account created: user '{ADMIN_USER}', password '{password}' "
            f"(saved in {saved}, mode 0600)")

class Daemon:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.stopping = threading.Event()
        self.hurry = threading.Event()    # a second signal: stop now, without waiting any more
        self.stopped_summary = ""         # "stopped: N sent, M left queued" after a drain
        self.board: Any = None         # the simulated modem board in simulate mode
        self.gpio: Any = None          # smsd.board.Board: lines, LEDs, button (if described)
        self.factory_reset = False
        self.restart = False           # a restart asked for on the System page
        self.restored: Any = None      # the BackupInfo of a restore done at this start
        self.workers: dict[int, ModemWorker] = {}
        self.server: Any = None
        self.http: HttpService | None = None
        self.push: PushWorker | None = None
        self.watchdog: Watchdog | None = None
        self.trimmer = HeapTrimmer()
        self.network: Any = None       # smsd.system.network_config.NetworkConfigurator if managed
        self.tls: TlsCertificate | None = None   # HTTPS certificate, with tls_listen
        self.smpp: Any = None          # smsd.smpp.server.SmppServer with [smpp] listen
        self.connections: Any = None   # smsd.connections.manager.ConnectionManager

    # --- start ----------------------------------------------------------------------------------
    def start(self) -> None:
        cfg = self.cfg
        tune_malloc()      # before the threads: fixed mmap threshold, few arenas (peak RSS)
        os.umask(0o077)    # the database, its WAL, backups, the admin password: owner only
        os.makedirs(cfg.state_dir, mode=0o750, exist_ok=True)
        logs = logbuffer.install()    # first: the System page shows the start-up lines too
        log.info("starting: %d port(s)%s, PDU codec backend %s", cfg.port_count,
                 " (simulated)" if cfg.simulate else "", pdu.backend_info())
        self._restore_pending()   # a restore confirmed on the System page, before the open
        self.store = Store(os.path.join(cfg.state_dir, DB_FILE))
        self.store.outbox.recover_after_restart()
        # /metrics, /health and their counters (issue 19): the workers' sink is wrapped below
        self.monitoring = Monitoring(self.store, open_on_loopback=cfg.metrics_open_on_loopback)
        self.admin_password = self._ensure_admin()
        devices = self._start_board()
        self.scheduler = Scheduler(self.store)
        self.store.outbox.slot_of = self._slot_of       # the log's "sent" lines (docs/logs.md)
        sink = self._worker_sink()
        settings = self._sim_settings
        self.workers = {port: ModemWorker(port=port, device=dev, sink=sink, slots=slots,
                                          gpio_hooks=self._gpio_hooks(port),
                                          sim_mux=self._sim_mux(port),
                                          timing=cfg.modem_timing,
                                          settings=functools.partial(settings, port))
                        for port, (dev, slots) in devices.items()}
        self.scheduler.attach(self.workers)
        self.service = Service(self.store, self.scheduler, self.workers,
                               device_status=DeviceStatus(cfg.state_dir).performance)
        self.service.system.attach(DaemonControls(cfg.state_dir, simulate=bool(cfg.simulate),
                                                  stop=self._stop_for),
                                   logs=logs)
        if self.restored is not None:     # in the restored database's own audit log
            made = self.restored.smsd or "a database file"
            self.service.audit.record(None, "system.restore", "restored at start: backup of "
                                      f"schema version {self.restored.schema} ({made})")
        self._start_network()    # before HTTP: an unconfirmed change is rolled back first
        self._create_push()      # cursors first, so events of the ports' first boot are pushed
        self._device_event("power_on")
        for worker in self.workers.values():
            worker.start()
        self.scheduler.start()
        self.service.forwarding.start()
        self._start_connections()
        if self.push is not None:
            self.push.start()
        self._start_http()
        self._start_smpp()       # [smpp] listen: beside HTTP, as another front end
        self._start_remote()     # after HTTP: the tunnel hands its requests to our listener
        self.trimmer.start()
        # Last: READY=1 means the store, the ports and the HTTP server are all up.
        self.watchdog = Watchdog.from_environment(
            HealthProbe(self.workers, self.scheduler, self.store, self.push,
                        http=HttpCheck(*listen_addresses(self.server)[0], HEALTH_PATH,
                                       tls=not self.cfg.listen)))   # HTTP's come first
        self.watchdog.start()

    def _ensure_admin(self) -> str | None:
        """Create the admin account on a fresh state dir; return the password if we made it."""
        if self.store.users.exists(ADMIN_USER):
            return None
        password = self.cfg.admin_password or secrets.token_urlsafe(12)
        self.store.users.create(ADMIN_USER, password, admin=True)
        if not self.cfg.admin_password:
            path = os.path.join(self.cfg.state_dir, ADMIN_PASSWORD_FILE)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(password + "\n")
        return password

    def _start_board(self) -> dict[int, tuple[str, int]]:
        cfg = self.cfg
        if cfg.simulate:
            from smsd.sim import SimBoard
            self.board = SimBoard(ports=cfg.simulate, slots=cfg.slots, latency=cfg.sim_latency,
                                  journal=cfg.sim_journal)
            self.board.start()
            # The simulated modules hang on mock pins, driven by the same Board code.
            from smsd.sim.gpio import simulated_board
            self.gpio, _ = simulated_board(self.board, cfg.slots, cfg.board_description,
                                           on_factory_reset=self._request_factory_reset)
            return {p: (self.board.device(p), cfg.slots) for p in range(cfg.simulate)}
        if cfg.board_description is not None:
            from smsd.board.board import Board
            self.gpio = Board(cfg.board_description, on_factory_reset=self._request_factory_reset)
        return {sp.port: (sp.device, sp.slots) for sp in cfg.serial_ports}

    def _gpio_hooks(self, port: int) -> dict[str, Any]:
        return self.gpio.hooks(port) if self.gpio is not None else {}

    def _sim_mux(self, port: int) -> Any:
        # Ports with SIM-mux lines switch SIMs through them; the rest use the AT slot command.
        return self.gpio.sim_mux_for(port) if self.gpio is not None else None

    def _slot_of(self, port: int) -> int | None:
        info = self.scheduler.last_info(port)
        return None if info is None else info.slot

    def _sim_settings(self, port: int) -> dict[str, str]:
        """A worker's settings: its port's, with the active SIM's own PIN and SMSC."""
        base = self.scheduler.port_config.worker_settings(port)
        info = self.scheduler.last_info(port)
        return base if info is None else self.scheduler.sims.limits.worker_settings(
            port, sim_of(info), base)

    def _device_event(self, status: str) -> None:
        """The JSON API's `device` push: the box started (power_on) or is stopping."""
        try:
            self.store.sim_slots.emit("device", device_payload(len(self.workers) or
                                                               self.cfg.port_count, status),
                                      time.time())
        except Exception:       # noqa: BLE001 - a push must never stop a start or a stop
            log.exception("device %s event not stored", status)

    def _push_power_off(self, timeout: float = 2.0) -> None:
        """Store the power_off event and give the push targets a moment to hear of it (the
        next start delivers it otherwise)."""
        if self.push is None or not hasattr(self, "store"):
            return
        self._device_event("power_off")
        last, deadline = self.store.events.last_event_id(), time.monotonic() + timeout
        while time.monotonic() < deadline and any(
                (self.store.events.push_cursor(t.key) or 0) < last for t in self.push.targets):
            self.push.wake()
            time.sleep(0.05)

    def _worker_sink(self) -> WorkerSink:
        sink = ModemEventSink(self.store, self.scheduler)
        if self.gpio is None:
            return self.monitoring.sink(sink)
        from smsd.board.sink import LedSink
        return self.monitoring.sink(LedSink(sink, self.gpio))

    def _request_factory_reset(self) -> None:
        # Called from the button's thread: only ask; run_forever wipes once everything stopped.
        self.factory_reset = True
        self.stopping.set()

    def _stop_for(self, reason: str) -> None:
        # From an HTTP thread: only ask; run_forever stops everything, after_stop says how.
        if reason == "factory_reset":
            self.factory_reset = True
        else:
            self.restart = True
        self.stopping.set()

    def _restore_pending(self) -> None:
        from smsd.service.system import restore_pending
        try:
            info = restore_pending(self.cfg.state_dir, DB_FILE)
        except (SchemaError, OSError, sqlite3.Error) as exc:
            # Checked at upload, so rare (a full disk): start on the database as it was.
            log.error("restoring the backup confirmed on the System page failed (%s); the "
                      "database is unchanged", exc)
            return
        if info is not None:
            self.restored = info
            log.warning("restored the backup confirmed on the System page (schema version %d); "
                        "the replaced database is %s.pre-restore.bak", info.schema, DB_FILE)

    def _start_network(self) -> None:
        """[network] manage = yes: smsd owns the box's network settings. A change the previous
        run applied and nobody confirmed is rolled back now (see smsd/system/network_config.py)."""
        if not self.cfg.network_manage:
            return
        from smsd.system.network import NetworkBusError
        from smsd.system.network_config import NetworkConfigurator
        self.network = NetworkConfigurator(self.cfg.state_dir, directory=self.cfg.network_dir,
                                           interface=self.cfg.network_interface)
        try:
            self.network.recover()
        except (NetworkBusError, OSError) as exc:
            log.error("rolling back an unconfirmed network change failed (%s); the next start "
                      "or change retries", exc)
        self.service.network.attach(self.network)

    def _create_push(self) -> None:
        # Always running: routing rules (forwarding of received SMS) can be added at run time.
        targets = [PushTarget(url) for url in self.cfg.push_urls]
        self.push = PushWorker(self.store.events, targets, self.service.sn,
                               dynamic=self._route_targets, failures=self.store.push_failed)
        if targets:
            log.info("pushing events to %s", ", ".join(self.cfg.push_urls))

    def _route_targets(self) -> list[PushTarget]:
        return [PushTarget(r.url, dialect=r.protocol, name=f"route:{r.id}",
                           match=functools.partial(route_matches, r),
                           retry=self._push_retry(r.protocol), give_up=ROUTE_GIVE_UP)
                for r in self.service.routes.all() if r.protocol in FORMATTERS]

    def _push_retry(self, protocol: str) -> float | None:
        """Setting `push_retry.<protocol>` (seconds): a fixed retry interval for new targets of
        that protocol, e.g. shorter than IntelliSoftware's 5 minutes on a test bench."""
        value = self.store.settings.get(f"push_retry.{protocol}")
        try:
            return None if value is None else max(0.1, float(value))
        except ValueError:
            log.warning("setting push_retry.%s=%r is not a number of seconds", protocol, value)
            return None

    def _start_http(self) -> None:
        auth = HttpAuth(self.service.users)
        # Legacy dialects ask for `Connection: close`; the middleware tells waitress.
        web = WebSettings(session_idle=self.cfg.web_session_idle)
        app = self.monitoring.serve(build_app(self.service, auth, sim=self.board, web=web),
                                    self.service, auth, lambda: self.push)   # /metrics
        # Outermost: it finds waitress's task through the start_response waitress hands it.
        app = honour_connection_close(access_log(app))     # access_log: docs/logs.md
        # Waitress set up to survive connection floods, and the process settings that needs:
        # see smsd/api/server.py for why each one.
        prepare_process()
        if self.cfg.tls_listen:   # made (self-signed) or loaded before anything listens
            self.tls = TlsCertificate(self.cfg.state_dir, cert_path=self.cfg.tls_cert,
                                      key_path=self.cfg.tls_key, addresses=self.cfg.tls_listen)
            self.tls.load()
            self.service.certificate.attach(self.tls)
        self.server = create_server(app, self.cfg.listen, self.cfg.http_threads,
                                    tls_listen=self.cfg.tls_listen,
                                    tls_context=self.tls.context if self.tls else None,
                                    health=self.monitoring.health(self.scheduler, self.service))
        self.http = HttpService(self.server)     # a stop without tracebacks (api/serving.py)
        self.http.start()
        self._announce()

    def _start_remote(self) -> None:
        from smsd.service.remote import LazyTunnel
        self.service.remote.attach(LazyTunnel(self._remote_tunnel), self.cfg.remote)

    def _remote_tunnel(self) -> Any:
        """The real tunnel, made on its first start (smsd/service/remote.py, LazyTunnel, says why)."""
        from smsd.drp.device import RemoteTunnel
        from smsd.drp.device_stream import LocalTarget
        local = LocalTarget.of(self.cfg.listen, self.cfg.tls_listen)
        return RemoteTunnel(self.service.sn, local)

    def _start_connections(self) -> None:
        """Connections to providers (smsd/connections): the scheduler asks them whether they
        can take a message, the service hands them their settings and takes what they receive."""
        from smsd.connections.manager import ConnectionManager
        self.connections = ConnectionManager(self.service.connections.rows,
                                             self.service.connections,
                                             on_unable=self.scheduler.reread)
        self.service.connections.attach(self.connections)
        self.scheduler.connection_able = self.connections.able
        self.connections.start()

    def _start_smpp(self) -> None:
        if self.cfg.smpp_listen:
            from smsd.smpp.server import SmppServer
            self.smpp = SmppServer(self.service, self.cfg.smpp_listen,
                                   max_queue=self.cfg.smpp_max_queue)
            self.smpp.start()

    def _announce(self) -> None:
        urls = ", ".join([f"http://{addr}/" for addr in self.cfg.listen]
                         + [f"https://{addr}/" for addr in self.cfg.tls_listen])
        print(f"smsd ready: web UI and APIs at {urls}", flush=True)
        if self.admin_password and self.cfg.admin_password:
            print(f"admin account: user '{ADMIN_USER}' with the password given on the command line",
                  flush=True)
        elif self.admin_password:
            saved = os.path.join(self.cfg.state_dir, ADMIN_PASSWORD_FILE)
            print(admin_created_message(self.admin_password, saved, stdout_is_journal()),
                  flush=True)

    # --- stop -----------------------------------------------------------------------------------
    def drain(self) -> None:
        """Graceful stop, first half: nothing new starts, what is on the air finishes."""
        if not hasattr(self, "scheduler"):
            return
        if self.watchdog is not None:
            self.watchdog.stop()            # STOPPING=1; keep_alive speaks from here on
        if self.http is not None:
            self.http.stop_listening()      # no new connections
        if self.smpp is not None:
            self.smpp.close()               # no new binds; submits in progress commit
            self.server = None
        timeout = self.cfg.drain_timeout
        in_flight = self.scheduler.drain()
        log.info("stopping: %d parts in flight, waiting up to %g s", in_flight, timeout)
        done = self._wait_drained(time.monotonic() + timeout)
        self._log_drain(done, timeout)

    def _log_drain(self, done: bool, timeout: float) -> None:
        report = self.scheduler.drain_report()
        if not done:
            why = "a second signal" if self.hurry.is_set() else f"the drain timeout ({timeout:g} s)"
            log.warning("stopping: %s cut the wait short; %d part(s) abandoned, outcome unknown "
                        "after the restart: %s", why, len(report.abandoned),
                        ", ".join(f"port {p} part {pid}" for p, pid in report.abandoned))
        if report.refused:
            log.info("stopping: %d part(s) refused by the network while stopping (retried or "
                     "failed as usual)", report.refused)
        # Logged last by stop(), once everything is closed.
        self.stopped_summary = (f"stopped: {report.sent} sent, {self.store.outbox.left_queued()} "
                                "left queued")

    def _wait_drained(self, deadline: float) -> bool:
        """Wait for the parts on the air, telling systemd why the stop takes time."""
        while True:
            left = deadline - time.monotonic()
            if self.hurry.is_set() or left <= 0:
                return self.scheduler.wait_drained(0)
            if self.watchdog is not None:
                self.watchdog.keep_alive(f"stopping: {self.scheduler.in_flight()} parts in flight",
                                         left + STOP_MARGIN)
            if self.scheduler.wait_drained(min(1.0, left)):
                return True

    def stop(self) -> None:
        self.trimmer.stop()
        if self.smpp is not None:
            self.smpp.close()
        if hasattr(self, "service"):
            self.service.remote.close()
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.http is not None:
            self.http.close()
        if self.network is not None:
            self.network.close()
        self._push_power_off()
        if self.push is not None:
            self.push.stop()
        if hasattr(self, "service"):
            self.service.forwarding.stop()
        if self.connections is not None:
            self.connections.stop()
        if hasattr(self, "scheduler"):
            self.scheduler.stop()
        for worker in self.workers.values():
            worker.request_stop()
        for worker in self.workers.values():
            worker.stop()
        if self.gpio is not None:
            self.gpio.close()
        if self.board is not None:
            self.board.stop()
        if hasattr(self, "store"):
            self.store.close()
        log.info("%s", self.stopped_summary or "stopped")

    def run_forever(self) -> int:
        try:
            # Before anything opens: "cannot listen on HOST:PORT: Address already in use", one
            # line, where waitress, binding last, would fail with an errno naming no address.
            check_listen(self.cfg.listen + self.cfg.tls_listen
                         + ((self.cfg.smpp_listen,) if self.cfg.smpp_listen else ()))
        except ListenError as exc:
            print(f"smsd: start-up failed: {exc}", file=sys.stderr)
            return 1
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        try:
            self.start()
        except SchemaError as exc:   # the database's schema: one line says why, no traceback
            print(f"smsd: {exc}", file=sys.stderr, flush=True)
            self.stop()
            return 2                 # a restart would only repeat it
        except Exception as exc:   # noqa: BLE001 - refuse to start half-configured, say why
            if not isinstance(exc, SmsdError):    # ours say all in one line; a bug needs more
                log.exception("start-up failed")
            print(f"smsd: start-up failed: {exc}", file=sys.stderr)
            self.stop()
            # 2, like a broken config file: e.g. board lines gpiozero cannot claim; a restart
            # loop would not mend them (systemd: RestartPreventExitStatus=2).
            return 2 if isinstance(exc, ConfigError) else 1
        self.stopping.wait()
        self.drain()
        self.stop()
        return self.after_stop()

    def _on_signal(self, *_: Any) -> None:
        if self.stopping.is_set():
            self.hurry.set()            # e.g. a second Ctrl-C: do not wait for the network
        self.stopping.set()

    def after_stop(self) -> int:
        """The exit status; a confirmed factory reset wipes the state first (store closed)."""
        if not self.factory_reset:
            return RESTART_EXIT if self.restart else 0
        from smsd.board.factory_reset import FACTORY_RESET_EXIT, wipe_state
        from smsd.service.system import PENDING, UPLOADED
        # The HTTPS key goes too (an uploaded one is a secret); the next start makes a new one.
        # So does a backup uploaded for a restore: it holds the old users and messages.
        wipe_state(self.cfg.state_dir, DB_FILE,
                   (ADMIN_PASSWORD_FILE, TLS_PAIR_FILE, UPLOADED, PENDING))
        return FACTORY_RESET_EXIT     # systemd restarts us on a fresh state
