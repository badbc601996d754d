"""The JSON gateway API's calls (sections 12 and 18): get_cdr, and call forwarding through
set_port_info (action CallForward / CheckCallForward) and get_port_info (info_type CallForward).

Translation only: svc.calls keeps the records and talks to the network through the port's worker.
"""
from __future__ import annotations

from typing import Any

from smsd.api.params import BadParam, Params
from smsd.service import Service

MAX_PORT = 31
CALL_FORWARD = "CallForward"                   # the get_port_info info_type
ACTIONS = frozenset({"callforward", "checkcallforward"})   # set_port_info actions, lower case


def _ok(svc: Service, **fields: Any) -> dict[str, Any]:
    return {"error_code": 200, "sn": svc.sn, **fields}


def get_cdr(svc: Service, p: Params) -> dict[str, Any]:
    ports = p.int_list("port", minimum=0, maximum=MAX_PORT)
    if ports == []:
        raise BadParam("'port' is an empty array: name at least one port, or leave it out "
                       "for every port")
    rows = svc.calls.cdr(ports, p.string("time_after"), p.string("time_before"), user=p.user)
    return _ok(svc, cdr=[row.vendor_item() for row in rows])


def asks_call_forward(keys: list[str]) -> bool:
    return any(k.lower() == CALL_FORWARD.lower() for k in keys)


def call_forward_info(svc: Service, p: Params, keys: list[str]) -> dict[str, Any]:
    """get_port_info?info_type=CallForward: what the network said when last asked."""
    if len(keys) != 1:
        raise BadParam(f"info_type {CALL_FORWARD} is asked alone (the other kinds of port "
                       "information come from the modem, this one from the network)")
    ports = p.int_list("port", minimum=0, maximum=MAX_PORT)
    if ports == []:
        raise BadParam("'port' is an empty array")
    found = svc.calls.forwarding(ports, user=p.user)
    return _ok(svc, info=[{"port": port, "CallForwarding": forwards}
                          for port, forwards in found])


def set_port_info(svc: Service, port: int, action: str, p: Params) -> dict[str, Any]:
    """action CallForward (param, number) or CheckCallForward: done on the network, then 200."""
    if action == "checkcallforward":
        svc.calls.check_forward(port, user=p.user)
    else:
        number = p.string("number", allow_int=True)
        svc.calls.set_forward(port, p.string("param") or "", number, user=p.user)
    return _ok(svc)
