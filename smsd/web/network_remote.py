"""The Network page's "Remote connection" section: the tunnel to a DRP relay (docs/remote.md).

A thin translator over `svc.remote`: the form's fields become RemoteSettings, checked by the
same rules as the config file's `[remote]` section, saved, and the tunnel restarts with them at
once. The secret is never shown: left empty, the one in force is kept.
"""
from __future__ import annotations

import bottle

from smsd.drp.settings import RemoteSettings
from smsd.errors import ServiceError
from smsd.web.console import Console, PageRequest

MAX_FIELD = 512
FIELDS = ("remote_server", "remote_secret", "remote_fingerprint", "remote_ca_file",
          "remote_enabled")


def mount(console: Console, app: bottle.Bottle) -> None:
    console.route(app, "/network/remote", save, method="POST")


def view(req: PageRequest, values: dict[str, str] | None = None) -> dict[str, object]:
    """What the section shows: the settings in force (or the form as sent) and the status."""
    current = req.svc.remote.settings()
    if values is None:
        values = {"remote_server": current.server if current else "",
                  "remote_fingerprint": current.fingerprint if current else "",
                  "remote_ca_file": current.ca_file if current else "",
                  "remote_enabled": "on" if current is None or current.enabled else ""}
    return {"values": values, "has_secret": bool(current and current.secret),
            "source": req.svc.remote.source(), "status": req.svc.remote.status()}


def save(req: PageRequest) -> str:
    form = req.form()
    values = {name: str(form.get(name, ""))[:MAX_FIELD] for name in FIELDS}
    current = req.svc.remote.settings()
    secret = values.pop("remote_secret").strip() or (current.secret if current else "")
    settings = RemoteSettings(values["remote_server"].strip(), secret,
                              values["remote_fingerprint"], values["remote_ca_file"],
                              values["remote_enabled"] == "on")
    try:
        saved = req.svc.remote.save(settings)
    except ServiceError as exc:
        bottle.response.status = 400
        from smsd.web.network import show_with
        return show_with(req, remote_problem=str(exc), remote=view(req, values))
    req.svc.audit.record(req.user, "remote.save",
                         f"server {saved.server}, {'enabled' if saved.enabled else 'disabled'}, "
                         f"{'pinned certificate' if saved.fingerprint else 'CA file'}")
    return req.redirect("/network", "The remote connection settings are saved and in force.")
