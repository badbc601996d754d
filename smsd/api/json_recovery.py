"""get_port_info's `recovery` (ours; the document lets info_type name what to return): what the
port's worker did about its modem lately (docs/recovery.md)."""
from __future__ import annotations

from typing import Any

from smsd.model import PortInfo

KEY = "recovery"


def recovery(info: PortInfo) -> dict[str, Any]:
    """state: the worker's (ready, init, recovering, quarantined, power_off); step: the rung it
    is on ("" when none); reason: why the last recovery began; recovered_by: the rung that
    ended it ("quarantine" when none did); count: recoveries since the daemon started."""
    return {"state": info.state, "step": info.recovery_step, "reason": info.recovery_reason,
            "recovered_by": info.recovered_by, "count": info.recoveries}
