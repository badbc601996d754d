"""MultiModem iSMS HTTP API dialect (issue 4): filled in by the iSMS work."""
from __future__ import annotations

from typing import Any

import bottle


def mount(app: bottle.Bottle, svc: Any) -> None:
    """Add the iSMS routes (/sendmsg, /querymsg, /querycount, /recvmsg) to `app`."""
