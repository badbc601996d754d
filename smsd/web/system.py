"""/system: version, uptime, storage, the last log lines, the audit log, backup and restore,
restart, reboot, factory reset, the HTTPS certificate and the signed package update.

Thin translators over `svc.system`, `svc.certificate`, `svc.audit` and smsd.update's
`stage_update` (the same checks as `smsd update`). Every action is audited after it succeeded.
Uploads pass the HTTP front's cap of their route first (smsd.web.uploads: 65 MiB for a package
or a backup, 1 MiB for a certificate), are copied in chunks to a file up to their own limit
(never whole in memory) and parsed strictly by the service; the dangerous actions need a ticked
confirmation box.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import IO, Any

import bottle

from smsd import update
from smsd.errors import ServiceError, UpdateRefused
from smsd.service.system import MAX_RESTORE
from smsd.system import tls
from smsd.system.logbuffer import LEVELS
from smsd.web.console import Console, PageRequest

MAX_CERT = 64 * 1024
MAX_SIG = update.MAX_SIGNATURE_BYTES
MAX_PACKAGE = min(update.MAX_PACKAGE_BYTES, 64 * 1024 * 1024)   # within the route's body cap
CHUNK = 256 * 1024
LOG_LINES = 200
AUDIT_LINES = 50
ACTIONS = {"restart": ("Restart the daemon", "system.restart"),
           "reboot": ("Reboot the box", "system.reboot"),
           "factory-reset": ("Factory reset", "system.reset")}


class UploadError(Exception):
    """An upload is missing or too large: shown next to its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/system", show)
    console.route(app, "/system/backup", download_backup, method="POST")
    console.route(app, "/system/restore", upload_restore, method="POST")
    console.route(app, "/system/restore/confirm", confirm_restore, method="POST")
    console.route(app, "/system/restore/cancel", cancel_restore, method="POST")
    console.route(app, "/system/certificate", upload_certificate, method="POST")
    console.route(app, "/system/update", upload_update, method="POST")
    for name in ACTIONS:
        console.route(app, f"/system/{name}", _power(name), method="POST")


def show(req: PageRequest, **values: Any) -> str:
    query = req.query()
    level = str(query.get("level", "INFO"))
    if level not in LEVELS:
        level = "INFO"
        req.errors.setdefault("level", "choose one of " + ", ".join(LEVELS))
    svc = req.svc
    certificate = None
    try:
        certificate = svc.certificate.info()
        cert_note = ""
    except ServiceError as exc:
        cert_note = str(exc)
    return req.render("system.tpl", info=svc.system.info(), level=level, levels=LEVELS,
                      logs=svc.system.logs(level=level, limit=LOG_LINES),
                      audit=svc.audit.entries(limit=AUDIT_LINES),
                      staged=svc.system.staged_restore(), certificate=certificate,
                      cert_note=cert_note, last_update=update.read_outcome(_spool(req)),
                      when=_when, size=_size, duration=_duration, problem=values.get("problem", ""))


# --- backup and restore -------------------------------------------------------------------------
def download_backup(req: PageRequest) -> Any:
    config_only = req.form().get("kind") == "config"
    path = req.svc.system.backup(config_only=config_only,
                                 certificate=_certificate_reference(req) if config_only else "")
    try:
        # Streamed, not read into memory (a database can be large for the box); unlinked at
        # once, the open file stays readable until the server closes it after sending.
        f = open(path, "rb")  # noqa: SIM115 - the server closes it
    finally:
        os.unlink(path)
    size = os.fstat(f.fileno()).st_size
    what = "configuration" if config_only else "backup"
    req.svc.audit.record(req.user, "system.backup",
                         f"{size} bytes" + (", configuration only" if config_only else ""))
    name = f"smsd-{what}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.db"
    bottle.response.content_type = "application/vnd.sqlite3"
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{name}"')
    bottle.response.set_header("Content-Length", str(size))
    return f


def upload_restore(req: PageRequest) -> str:
    try:
        with tempfile.TemporaryFile(dir=req.svc.system.state_dir) as f:
            _upload_to("backup", MAX_RESTORE, f)
            f.seek(0)
            info = req.svc.system.stage_restore_from(f)
    except UploadError as exc:
        return _refused(req, exc.field, str(exc))
    except ServiceError as exc:
        return _refused(req, "backup", str(exc))
    made = f" written by smsd {info.smsd}" if info.smsd else ""
    what = "configuration backup" if info.kind == "config" else "backup"
    return req.redirect("/system", f"The {what} (schema version {info.schema}{made}) is checked. "
                                   "Confirm below to restore it; the daemon restarts.")


def confirm_restore(req: PageRequest) -> str:
    if req.form().get("confirm") != "yes":
        return _refused(req, "restore_confirm", "tick the box to confirm: the database will be "
                                                "replaced by the backup")
    try:
        info = req.svc.system.confirm_restore()
    except ServiceError as exc:
        return _refused(req, "restore_confirm", str(exc), status=409)
    req.svc.audit.record(req.user, "system.restore", f"backup of schema version {info.schema}"
                                                     f" ({info.smsd or 'a database file'})")
    return req.render("restarting.tpl", what="The backup is restored at the restart")


def cancel_restore(req: PageRequest) -> str:
    req.svc.system.cancel_restore()
    return req.redirect("/system", "The uploaded backup was discarded.")


def _certificate_reference(req: PageRequest) -> str:
    try:
        return tls.reference(req.svc.certificate.info())
    except ServiceError:             # no HTTPS here
        return ""


# --- restart, reboot, factory reset -------------------------------------------------------------
def _power(name: str) -> Any:
    title, action = ACTIONS[name]

    def handler(req: PageRequest) -> str:
        field = name.replace("-", "_") + "_confirm"
        if req.form().get("confirm") != "yes":
            return _refused(req, field, f"{title}: tick the box to confirm")
        try:
            getattr(req.svc.system, name.replace("-", "_"))()
        except ServiceError as exc:
            return _refused(req, field, str(exc), status=409)
        req.svc.audit.record(req.user, action)
        return req.render("restarting.tpl", what=title)
    return handler


# --- certificate and update ---------------------------------------------------------------------
def upload_certificate(req: PageRequest) -> str:
    try:
        cert = _upload("certificate", MAX_CERT)
        key = _upload("key", MAX_CERT)
        info = req.svc.certificate.install(cert, key)
    except UploadError as exc:
        return _refused(req, exc.field, str(exc))
    except ServiceError as exc:
        return _refused(req, "certificate", str(exc))
    req.svc.audit.record(req.user, "system.certificate", f"{info.subject}, SHA-256 {info.sha256}")
    return req.redirect("/system", "The certificate is installed: new HTTPS connections use it.")


def upload_update(req: PageRequest) -> str:
    with tempfile.TemporaryDirectory(prefix="smsd-upload-",
                                     dir=req.svc.system.state_dir) as work:
        deb = os.path.join(work, "smsd.deb")
        try:
            for field, path, limit in (("package", deb, MAX_PACKAGE),
                                       ("signature", deb + ".sig", MAX_SIG)):
                with open(path, "wb") as f:
                    _upload_to(field, limit, f)
        except UploadError as exc:
            return _refused(req, exc.field, str(exc))
        try:
            staged = update.stage_update(deb, spool=_spool(req))
        except (UpdateRefused, OSError) as exc:
            return _refused(req, "package", str(exc).replace(work + "/", ""))
    req.svc.audit.record(req.user, "system.update", f"smsd {staged.from_version} -> "
                                                    f"{staged.version} staged")
    return req.render("restarting.tpl", what=f"smsd {staged.version} is signed and staged; "
                                             "it is being installed")


# --- helpers ------------------------------------------------------------------------------------
def _spool(req: PageRequest) -> str:
    return os.path.join(req.svc.system.state_dir, update.SPOOL_NAME)


def _upload(field: str, limit: int) -> bytes:
    """A small upload (a certificate, a key) as bytes."""
    upload = _file(field)
    data = upload.read(limit + 1)
    _check_size(field, len(data), limit)
    return bytes(data)


def _upload_to(field: str, limit: int, out: IO[bytes]) -> int:
    """Copy an upload into `out` in chunks, up to `limit` bytes; its size."""
    upload, size = _file(field), 0
    while True:
        chunk = upload.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            break
        out.write(chunk)
    _check_size(field, size, limit)
    out.flush()
    return size


def _file(field: str) -> IO[bytes]:
    upload = bottle.request.files.get(field)
    if upload is None or not getattr(upload, "filename", ""):
        raise UploadError(field, "choose a file")
    return upload.file  # type: ignore[no-any-return]


def _check_size(field: str, size: int, limit: int) -> None:
    if size > limit:
        raise UploadError(field, f"the file is larger than {_size(limit)}")
    if not size:
        raise UploadError(field, "the file is empty")


def _refused(req: PageRequest, field: str, message: str, status: int = 400) -> str:
    bottle.response.status = status
    req.errors[field] = message
    return show(req)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return (f"{days} d " if days else "") + f"{hours:02d}:{minutes:02d}:{s:02d}"
