"""gateway.php HTTP API dialect (issue 4): filled in by the gateway.php work."""
from __future__ import annotations

from typing import Any

import bottle


def mount(app: bottle.Bottle, svc: Any) -> None:
    """Add /module/gateway.php and /module/gatewayrapport.php to `app`."""
