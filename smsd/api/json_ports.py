"""The JSON API's per-SIM side of get_port_info / set_port_info (sections 10 and 11).

get_port_info's `remain_*` values come from the active SIM's budgets (svc.sims, smsd/budgets.py):
an amount with two decimals for the credits, whole minutes and calls for the call budgets, ""
where no limit is set. The document asks for three of them by one name and answers with another
(request `remain_daily_calltime`, answer `remain_daily_call_time`; `..._hourly_calltime`;
`remain_daily_connect` -> `remain_daily_connected`): both spellings are taken, the answer uses
the example's. `number` is the one set_port_info stored for that SIM, else the modem's own.
`blocked` (ours) says whether the active SIM is blocked.

set_port_info's `imei`, `number`, `block` and `unblock` go to svc.sims; the rest of the actions
stay with svc.ports.control.
"""
from __future__ import annotations

from typing import Any

from smsd.api import json_recovery
from smsd.model import PortInfo
from smsd.service import Service
from smsd.service.sims import SimView

# Asked-for name -> the key of the answer.
REMAIN_KEYS = {
    "remain_credit": "remain_credit",
    "remain_monthly_credit": "remain_monthly_credit",
    "remain_daily_credit": "remain_daily_credit",
    "remain_daily_calltime": "remain_daily_call_time",
    "remain_daily_call_time": "remain_daily_call_time",
    "remain_hourly_calltime": "remain_hourly_call_time",
    "remain_hourly_call_time": "remain_hourly_call_time",
    "remain_daily_connect": "remain_daily_connected",
    "remain_daily_connected": "remain_daily_connected",
}
EXTRA_INFO_KEYS = frozenset({*REMAIN_KEYS, "blocked", json_recovery.KEY})
SIM_ACTIONS = frozenset({"imei", "number", "block", "unblock"})


def _amount(value: float | int | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _whole(value: int | None) -> str:
    return "" if value is None else str(value)


def remain_value(view: SimView, answer_key: str) -> str:
    left = view.remaining
    return {
        "remain_credit": lambda: _amount(left.credit),
        "remain_monthly_credit": lambda: _amount(left.monthly),
        "remain_daily_credit": lambda: _amount(left.daily),
        "remain_daily_call_time": lambda: _whole(left.daily_call_minutes),
        "remain_hourly_call_time": lambda: _whole(left.hourly_call_minutes),
        "remain_daily_connected": lambda: _whole(left.daily_calls),
    }[answer_key]()


def port_info(svc: Service, info: PortInfo, keys: list[str]) -> dict[str, Any]:
    """One element of get_port_info's `info`, with exactly the keys asked for."""
    out: dict[str, Any] = {"port": info.port}
    view = svc.sims.view(info) if set(keys) & (EXTRA_INFO_KEYS | {"number"}) else None
    for key in keys:
        if view is not None and key in REMAIN_KEYS:
            out[REMAIN_KEYS[key]] = remain_value(view, REMAIN_KEYS[key])
        elif view is not None and key == "number":
            out[key] = view.number
        elif view is not None and key == "blocked":
            out[key] = view.blocked
        elif key == json_recovery.KEY:
            out[key] = json_recovery.recovery(info)
        else:
            out[key] = getattr(info, key)
    return out


def set_sim(svc: Service, port: int, action: str, param: str | None,
            user: str | None) -> None:
    """One of SIM_ACTIONS. The answer is the document's bare 200 (get_port_info shows the value
    read back); a write the modem refused or did not read back is a 500 with its reason."""
    # The service checks the permission first, then the param (a refusal tells nothing more).
    if action == "imei":
        svc.sims.set_imei(port, param or "", user=user)
    elif action == "number":
        svc.sims.set_number(port, param or "", user=user)
    else:
        svc.sims.set_blocked(port, action == "block", user=user)
