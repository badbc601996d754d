"""Ozeki NG connection ("driver") management: GSM modem ports and connections to providers.

    createdriver  type=<type> [name=<name>] [port=<n>]     -> the new connection
    deletedriver  name                                      -> gone (a port's back to defaults)
    startdriver / stopdriver  name (also the document's startuser / stopuser spellings)
    configdriver  name, then KEY=value pairs                -> stored and applied at once
    listdrivers                                             -> every connection with its settings

Types: GSMModem (one connection per modem port, svc.ports) and SMPP, HTTPClient, HTTPServer,
SMTP (svc.connections, docs/connections.md). The document's CIMD2, UCP, EAIF, MM7 and VoIP are
answered with the DRIVER_TYPE status: this box does not run them. Every key of a type's table
is accepted; a key the box does not act on (log files, COM ports, ...) is reported in
`noeffect` and the status message as "accepted, has no effect on this box". Nothing is stored
from a refused request.
"""
from __future__ import annotations

from typing import Callable, Mapping

from smsd.api import ozeki_xml as x
from smsd.api.ozeki_settings import TO_CORE, in_ozeki_words, to_core, to_ozeki
from smsd.api.ozeki_xml import Item, OzekiError, item
from smsd.portcfg import BadSetting
from smsd.service import Service
from smsd.service.connections import NO_EFFECT, ConnectionInfo

# Parameters of the request itself; everything else in a configdriver request is a setting.
NOT_SETTINGS = frozenset({"action", "username", "password", "name", "responseformat", "type",
                          "port"})


def _port_control(svc: Service, user: str) -> None:
    """Before the request is read further: the Service's rule (an admin or the ports
    permission), answered with the AUTH status code. The Service methods check it again."""
    svc.access.require_port_control(user, "connection management")


def _name(params: Mapping[str, str]) -> str:
    name = params.get("name", "").strip()
    if not name:
        raise OzekiError(x.BAD_PARAMETER, "name is required")
    return name


def report(svc: Service, port: int, message: str) -> Item:
    driver = next(d for d in svc.ports.connections() if d.port == port)
    return item("driver", statuscode=x.OK, statusmessage=message, name=driver.name,
                type="GSMModem", port=port, state="started" if driver.running else "stopped")


def provider_report(info: ConnectionInfo, message: str) -> Item:
    return item("driver", statuscode=x.OK, statusmessage=message, name=info.name,
                type=info.kind, state="started" if info.running else "stopped",
                connected="yes" if info.up else "no", detail=info.detail)


def create(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    kind = svc.connections.kind_of(params.get("type", ""))
    if kind is not None:
        info = svc.connections.create(kind, params.get("name", "").strip() or None, user=user)
        return [provider_report(info, "Connection created (stopped: configure it, then "
                                      "startdriver)")]
    raw_port = params.get("port", "").strip()
    if raw_port and not (raw_port.isascii() and raw_port.isdigit() and len(raw_port) <= 4):
        raise OzekiError(x.BAD_PARAMETER, "port must be a modem port number")
    driver = svc.ports.connection_create(params.get("type", ""),
                                         params.get("name", "").strip() or None,
                                         int(raw_port) if raw_port else None, user=user)
    return [report(svc, driver.port, "Connection created")]


def delete(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    name = _name(params)
    if svc.connections.exists(name):
        svc.connections.delete(name, user=user)
        return [item("driver", statuscode=x.OK, statusmessage="Connection deleted", name=name)]
    port = svc.ports.connection_delete(name, user=user)
    return [item("driver", statuscode=x.OK, statusmessage="Connection deleted", name=name,
                 port=port)]


def _run(svc: Service, params: Mapping[str, str], user: str, running: bool) -> list[Item]:
    _port_control(svc, user)
    name = _name(params)
    word = "started" if running else "stopped"
    if svc.connections.exists(name):
        return [provider_report(svc.connections.run(name, running, user=user),
                                f"Connection {word}")]
    port = svc.ports.connection_run(name, running, user=user)
    return [report(svc, port, f"Connection {word}")]


def start(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    return _run(svc, params, user, True)


def stop(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    return _run(svc, params, user, False)


def _configured(base: Item, values: Mapping[str, str], no_effect: list[str]) -> Item:
    message = "Connection configured"
    if no_effect:
        message += f"; {', '.join(no_effect)}: {NO_EFFECT}"
    fields = tuple((k, message if k == "statusmessage" else v) for k, v in base.fields)
    return Item(base.tag, fields + tuple((k.lower(), v) for k, v in values.items())
                + (("noeffect", ",".join(no_effect)),))


def config(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    values = {k.upper(): v for k, v in params.items() if k not in NOT_SETTINGS}
    name = _name(params)
    if svc.connections.exists(name) and "port" in params:
        values["PORT"] = params["port"]        # a provider's TCP port (no modem port here)
    if not values:
        raise OzekiError(x.BAD_PARAMETER, "configdriver needs KEY=value settings")
    if svc.connections.exists(name):
        done = svc.connections.configure(name, values, user=user)
        shown = {k: done.info.settings[k] for k in values}
        return [_configured(provider_report(done.info, ""), shown, sorted(done.no_effect))]
    no_effect = svc.connections.gsm_no_effect(list(values), frozenset(TO_CORE))
    for_port = {k: v for k, v in values.items() if k not in no_effect}
    try:
        port = (svc.ports.connection_config(name, to_core(for_port), user=user) if for_port
                else svc.ports.connection_port(name))
    except BadSetting as exc:
        raise in_ozeki_words(exc) from None
    settings = svc.ports.settings(port)
    shown = {k: settings[TO_CORE[k]] for k in for_port}
    shown.update({k: values[k] for k in no_effect})
    return [_configured(report(svc, port, ""), shown, no_effect)]


def listing(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    out = []
    for driver in svc.ports.connections(user=user):
        base = report(svc, driver.port, "OK")
        settings = to_ozeki(svc.ports.settings(driver.port))
        out.append(x.Item(base.tag, base.fields + tuple((k.lower(), v)
                                                        for k, v in settings.items())))
    for info in svc.connections.infos(user=user):
        base = provider_report(info, "OK")
        out.append(x.Item(base.tag, base.fields + tuple((k.lower(), v)
                                                        for k, v in info.settings.items())))
    return out


HANDLERS: dict[str, Callable[[Service, Mapping[str, str], str], list[Item]]] = {
    "createdriver": create, "deletedriver": delete, "startdriver": start, "stopdriver": stop,
    "startuser": start, "stopuser": stop, "configdriver": config, "listdrivers": listing}
