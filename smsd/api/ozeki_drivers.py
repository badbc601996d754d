"""Ozeki NG connection ("driver") management: one GSM modem connection per modem port.

    createdriver  type=GSMModem [name=<name>] [port=<n>]  -> the new connection's name and port
    deletedriver  name                                     -> its port back to defaults
    startdriver / stopdriver  name                         -> sending and receiving on / off
    configdriver  name, then KEY=value pairs               -> stored and applied at once
    listdrivers                                            -> every connection with its settings
Other connection types (SMPP, UCP, CIMD2, HTTP...) and keys a modem port cannot honour are
refused with a message that says so; nothing is stored from a refused request.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from smsd.api import ozeki_xml as x
from smsd.api.ozeki_settings import TO_CORE, in_ozeki_words, to_core, to_ozeki
from smsd.api.ozeki_xml import Item, OzekiError, item
from smsd.portcfg import BadSetting
from smsd.service import Service

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


def create(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    raw_port = params.get("port", "").strip()
    if raw_port and not raw_port.isdigit():
        raise OzekiError(x.BAD_PARAMETER, "port must be a modem port number")
    driver = svc.ports.connection_create(params.get("type", ""),
                                         params.get("name", "").strip() or None,
                                         int(raw_port) if raw_port else None, user=user)
    return [report(svc, driver.port, "Connection created")]


def delete(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    name = _name(params)
    port = svc.ports.connection_delete(name, user=user)
    return [item("driver", statuscode=x.OK, statusmessage="Connection deleted", name=name,
                 port=port)]


def start(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    port = svc.ports.connection_run(_name(params), True, user=user)
    return [report(svc, port, "Connection started")]


def stop(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    port = svc.ports.connection_run(_name(params), False, user=user)
    return [report(svc, port, "Connection stopped")]


def config(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    values = {k.upper(): v for k, v in params.items() if k not in NOT_SETTINGS}
    if not values:
        raise OzekiError(x.BAD_PARAMETER, "configdriver needs KEY=value settings")
    try:
        port = svc.ports.connection_config(_name(params), to_core(values), user=user)
    except BadSetting as exc:
        raise in_ozeki_words(exc) from None
    settings = svc.ports.settings(port)
    base = report(svc, port, "Connection configured")
    return [x.Item(base.tag, base.fields + tuple((k.lower(), settings[TO_CORE[k]])
                                                 for k in values))]


def listing(svc: Service, params: Mapping[str, str], user: str) -> list[Item]:
    _port_control(svc, user)
    out = []
    for driver in svc.ports.connections(user=user):
        base = report(svc, driver.port, "OK")
        settings = to_ozeki(svc.ports.settings(driver.port))
        out.append(x.Item(base.tag, base.fields + tuple((k.lower(), v)
                                                        for k, v in settings.items())))
    return out


HANDLERS: dict[str, Callable[[Service, Mapping[str, str], str], list[Item]]] = {
    "createdriver": create, "deletedriver": delete, "startdriver": start, "stopdriver": stop,
    "configdriver": config, "listdrivers": listing}
