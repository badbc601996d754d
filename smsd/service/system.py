"""The box itself, for the System page: version, uptime, storage, the last log lines, backup and
restore of the database, restart, reboot and factory reset.

The daemon runs unprivileged, so the actions that need more go the way the update does (a request
the daemon can make, carried out by someone allowed to): a restart or a factory reset is the
daemon stopping with an exit status systemd restarts it on (smsd.service, Restart=on-failure), a
reboot is a request file that smsd-reboot.path hands to root. The daemon attaches a `Controls`
that does these; without one (a test, a daemon not run by systemd) they raise
SystemUnavailable saying why, and nothing happens.

A backup is the whole database or, with `config_only`, its configuration (users, permissions,
address book, routing, port settings; smsd/store/backup.py), which restores onto another box
without its history. Restore is two steps, both checked: `stage_restore(data)` keeps an
uploaded backup aside after checking it is an smsd backup this version can migrate, and
`confirm_restore()` marks it for the next start and restarts: the database is replaced (or, for
a configuration backup, its configuration) before it is opened, through the same migrations an
upgrade runs, and the one replaced is kept as `smsd.db.pre-restore.bak`.
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Callable, Protocol

from smsd import __version__
from smsd.errors import BadRequest, NotFound, TooLarge
from smsd.store import backup as backups
from smsd.store.backup import BackupInfo
from smsd.store.db import Store
from smsd.store.migrate import SchemaError, load
from smsd.system.logbuffer import LogBuffer, LogLine
from smsd.system.power import SystemUnavailable

MAX_RESTORE = 64 * 1024 * 1024      # bytes of an uploaded backup
SQLITE_MAGIC = b"SQLite format 3\x00"
UPLOADED = "restore-upload.db"      # checked, waiting for the confirmation
PENDING = "restore-pending.db"      # confirmed: the next start restores it


class Controls(Protocol):
    """What the daemon does for restart, reboot and factory reset (each raises
    SystemUnavailable when it cannot)."""

    def restart(self) -> None: ...

    def reboot(self) -> None: ...

    def factory_reset(self) -> None: ...


@dataclass(frozen=True)
class Storage:
    path: str
    total: int
    used: int
    free: int
    database: int                   # bytes of the database with its WAL


@dataclass(frozen=True)
class SystemInfo:
    version: str
    uptime: float                   # seconds the daemon has run
    box_uptime: float | None        # seconds since the machine booted (None: unknown)
    storage: Storage


class System:
    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic,
                 logs: LogBuffer | None = None) -> None:
        self._store = store
        self._clock = clock
        self._started = clock()
        self._logs = logs
        self._controls: Controls | None = None
        self.state_dir = os.path.dirname(os.path.abspath(store.db.path))

    def attach(self, controls: Controls | None = None, logs: LogBuffer | None = None) -> None:
        self._controls = controls
        if logs is not None:
            self._logs = logs

    # --- what the page shows --------------------------------------------------------------------
    def info(self) -> SystemInfo:
        disk = shutil.disk_usage(self.state_dir)
        db = self._store.db.path
        size = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
        return SystemInfo(__version__, self._clock() - self._started, _box_uptime(),
                          Storage(self.state_dir, disk.total, disk.used, disk.free, size))

    def logs(self, level: str = "INFO", limit: int = 200) -> list[LogLine]:
        if self._logs is None:
            return []
        return self._logs.lines(level=level, limit=limit)

    # --- backup and restore ---------------------------------------------------------------------
    def backup(self, *, config_only: bool = False, certificate: str = "") -> str:
        """A backup file of the whole database, or with `config_only` of the configuration only
        (`certificate`: the one HTTPS serves, named in it); a temporary file in the state dir
        that the caller sends and deletes."""
        fd, path = tempfile.mkstemp(prefix=".backup-", suffix=".db", dir=self.state_dir)
        os.close(fd)
        os.unlink(path)
        self._store.backup(path, config_only=config_only, certificate=certificate)
        return path

    def stage_restore(self, data: bytes) -> BackupInfo:
        """Check an uploaded backup and keep it for `confirm_restore`; BadRequest saying why."""
        return self.stage_restore_from(io.BytesIO(data))

    def stage_restore_from(self, source: IO[bytes]) -> BackupInfo:
        """stage_restore of a file object, copied in chunks (a backup is tens of MiB)."""
        path = os.path.join(self.state_dir, UPLOADED)
        tmp = path + ".part"
        try:
            with open(tmp, "wb") as f:
                _copy_backup(source, f)
        except (BadRequest, TooLarge):
            os.unlink(tmp)
            raise
        try:
            info = backups.read_info(tmp)
            if info.schema > len(load()):
                raise SchemaError(f"the backup has schema version {info.schema}, newer than this "
                                  f"smsd {__version__} knows: restore it with that smsd")
        except SchemaError as exc:
            os.unlink(tmp)
            raise BadRequest(str(exc).replace(tmp, "the file")) from None
        os.replace(tmp, path)
        return info

    def staged_restore(self) -> BackupInfo | None:
        path = os.path.join(self.state_dir, UPLOADED)
        try:
            return backups.read_info(path) if os.path.exists(path) else None
        except SchemaError:
            return None

    def cancel_restore(self) -> None:
        _unlink(os.path.join(self.state_dir, UPLOADED))

    def confirm_restore(self) -> BackupInfo:
        """Restore the staged backup at the next start, and restart now."""
        info = self.staged_restore()
        if info is None:
            raise NotFound("no uploaded backup is waiting: upload it again")
        controls = self._need()
        os.replace(os.path.join(self.state_dir, UPLOADED), os.path.join(self.state_dir, PENDING))
        try:
            controls.restart()
        except SystemUnavailable:
            os.replace(os.path.join(self.state_dir, PENDING),
                       os.path.join(self.state_dir, UPLOADED))
            raise
        return info

    # --- power --------------------------------------------------------------------------------
    def restart(self) -> None:
        self._need().restart()

    def reboot(self) -> None:
        self._need().reboot()

    def factory_reset(self) -> None:
        self._need().factory_reset()

    def _need(self) -> Controls:
        if self._controls is None:
            raise SystemUnavailable("this daemon cannot restart itself here "
                                    "(it is not run by smsd.service)")
        return self._controls


def _copy_backup(source: IO[bytes], out: IO[bytes]) -> None:
    head = source.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise BadRequest("not an smsd backup file (not an SQLite database)")
    out.write(head)
    size = len(head)
    while chunk := source.read(256 * 1024):
        size += len(chunk)
        if size > MAX_RESTORE:
            raise TooLarge(f"a backup file of at most {MAX_RESTORE // (1024 * 1024)} MiB")
        out.write(chunk)


def restore_pending(state_dir: str, db_file: str) -> BackupInfo | None:
    """At start, before the database opens: restore a confirmed upload (then remove it)."""
    pending = os.path.join(state_dir, PENDING)
    if not os.path.exists(pending):
        return None
    try:
        return backups.restore(pending, os.path.join(state_dir, db_file))
    finally:
        _unlink(pending)


def _box_uptime() -> float | None:
    try:
        with open("/proc/uptime", encoding="ascii") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
