"""Composition root: config -> store -> board -> workers -> scheduler -> service -> HTTP, push.

Start order matters for the "nothing accepted and then lost" promise: the store recovers what a
crash left in flight before any worker or HTTP request can touch it; the HTTP server starts last,
so nothing is accepted before the machinery that will send it exists. Stop order is the reverse.
"""
from __future__ import annotations

import functools
import logging
import os
import secrets
import signal
import sys
import threading
from typing import Any

import waitress

from smsd import pdu
from smsd.api import build_app
from smsd.api.auth import HttpAuth
from smsd.config import Config
from smsd.modem.worker import ModemWorker
from smsd.push.worker import PushTarget, PushWorker
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store.db import Store
from smsd.system.status import DeviceStatus
from smsd.system.watchdog import HealthProbe, Watchdog

log = logging.getLogger("smsd")

ADMIN_USER = "admin"
ADMIN_PASSWORD_FILE = "admin-password"
DB_FILE = "smsd.db"


class ApplianceService(Service):
    """The service plus what only the running appliance knows (its own machine's figures)."""

    def __init__(self, *args: Any, status: DeviceStatus, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._status = status

    def device_status(self) -> dict[str, str]:
        return self._status.performance()


class Daemon:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.stopping = threading.Event()
        self.board: Any = None
        self.workers: dict[int, ModemWorker] = {}
        self.server: Any = None
        self.push: PushWorker | None = None
        self.watchdog: Watchdog | None = None

    # --- start ----------------------------------------------------------------------------------
    def start(self) -> None:
        cfg = self.cfg
        os.makedirs(cfg.state_dir, mode=0o750, exist_ok=True)
        log.info("starting: %d port(s)%s, PDU codec backend %s", cfg.port_count,
                 " (simulated)" if cfg.simulate else "", pdu.backend_info())
        self.store = Store(os.path.join(cfg.state_dir, DB_FILE))
        self.store.recover_after_restart()
        self.admin_password = self._ensure_admin()
        devices = self._start_board()
        self.scheduler = Scheduler(self.store)
        hooks = self._gpio_hooks()
        settings = self.scheduler.port_config.worker_settings
        self.workers = {port: ModemWorker(port=port, device=dev, sink=self.scheduler, slots=slots,
                                          gpio_hooks=hooks,
                                          settings=functools.partial(settings, port))
                        for port, (dev, slots) in devices.items()}
        self.scheduler.attach(self.workers)
        self.service = ApplianceService(self.store, self.scheduler, self.workers,
                                        status=DeviceStatus(cfg.state_dir))
        self._create_push()      # cursors first, so events of the ports' first boot are pushed
        for worker in self.workers.values():
            worker.start()
        self.scheduler.start()
        if self.push is not None:
            self.push.start()
        self._start_http()
        # Last: READY=1 means the store, the ports and the HTTP server are all up.
        self.watchdog = Watchdog.from_environment(
            HealthProbe(self.workers, self.scheduler, self.store, self.push))
        self.watchdog.start()

    def _ensure_admin(self) -> str | None:
        """Create the admin account on a fresh state dir; return the password if we made it."""
        if self.store.user_exists(ADMIN_USER):
            return None
        password = self.cfg.admin_password or secrets.token_urlsafe(12)
        self.store.user_create(ADMIN_USER, password, admin=True)
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
            return {p: (self.board.device(p), cfg.slots) for p in range(cfg.simulate)}
        return {sp.port: (sp.device, sp.slots) for sp in cfg.serial_ports}

    def _gpio_hooks(self) -> dict[str, Any]:
        # The simulated board's power lines stand in for the GPIO power-key and power-enable
        # lines that a real board description provides (issue 6).
        if self.board is None:
            return {}
        return {"power_key": self.board.power_on, "power_enable": self.board.power_on}

    def _create_push(self) -> None:
        if not self.cfg.push_urls:
            return
        targets = [PushTarget(url) for url in self.cfg.push_urls]
        self.push = PushWorker(self.store, targets, self.service.sn)
        log.info("pushing events to %s", ", ".join(self.cfg.push_urls))

    def _start_http(self) -> None:
        auth = HttpAuth(self.service)
        app = build_app(self.service, auth, sim=self.board, admin_user=ADMIN_USER)
        self.server = waitress.create_server(app, listen=" ".join(self.cfg.listen),
                                             threads=self.cfg.http_threads, ident="smsd",
                                             channel_timeout=60, connection_limit=1000)
        threading.Thread(target=self.server.run, name="http", daemon=True).start()
        self._announce()

    def _announce(self) -> None:
        urls = ", ".join(f"http://{addr}/" for addr in self.cfg.listen)
        print(f"smsd ready: web UI and APIs at {urls}", flush=True)
        if self.admin_password and self.cfg.admin_password:
            print(f"admin account: user '{ADMIN_USER}' with the password given on the command line",
                  flush=True)
        elif self.admin_password:
            print(f"admin account created: user '{ADMIN_USER}', password '{self.admin_password}' "
                  f"(saved in {os.path.join(self.cfg.state_dir, ADMIN_PASSWORD_FILE)}, mode 0600)",
                  flush=True)

    # --- stop -----------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.server is not None:
            self.server.close()
        if self.push is not None:
            self.push.stop()
        if hasattr(self, "scheduler"):
            self.scheduler.stop()
        for worker in self.workers.values():
            worker.stop()
        if self.board is not None:
            self.board.stop()
        if hasattr(self, "store"):
            self.store.close()
        log.info("stopped")

    def run_forever(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        try:
            self.start()
        except Exception as exc:   # noqa: BLE001 - refuse to start half-configured, say why
            log.exception("start-up failed")
            print(f"smsd: start-up failed: {exc}", file=sys.stderr)
            self.stop()
            return 1
        self.stopping.wait()
        self.stop()
        return 0
