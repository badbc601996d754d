"""One root exception; a base per subsystem; leaves also inherit the matching builtin.

Modem errors carry the +CME/+CMS code; API-facing errors know their vendor error code.
"""
from __future__ import annotations

import math


class SmsdError(Exception):
    """Root of every error smsd raises on purpose."""


# --- configuration -----------------------------------------------------------------------------
class ConfigError(SmsdError, ValueError):
    """A config file, board description or command-line value is invalid."""


# --- codec --------------------------------------------------------------------------------------
class CodecError(SmsdError, ValueError):
    """A PDU or text could not be encoded or decoded (truncated, lying lengths, non-hex...)."""


class EncodingError(CodecError):
    """Text cannot be represented in the requested alphabet."""


# --- package updates ---------------------------------------------------------------------------
class UpdateRefused(SmsdError, ValueError):
    """A package update is refused before anything is installed: signature, package name,
    architecture or version (smsd/update.py)."""


# --- AT / modem ---------------------------------------------------------------------------------
class ModemError(SmsdError):
    """Base of modem-side failures."""


class AtError(ModemError):
    """The modem answered a command with ERROR, +CME ERROR or +CMS ERROR."""

    def __init__(self, command: str, *, cme: int | None = None, cms: int | None = None,
                 text: str = "ERROR") -> None:
        self.command = command
        self.cme = cme
        self.cms = cms
        self.text = text
        super().__init__(f"{command!r} -> {text}")


class AtTimeout(ModemError, TimeoutError):
    """The modem did not answer a command within its timeout."""


class PortUnavailable(ModemError, OSError):
    """The serial port could not be opened or went away."""


# --- store / service ----------------------------------------------------------------------------
class StoreError(SmsdError):
    """Base of durable-state failures."""


class ServiceError(SmsdError):
    """Base of errors the service layer reports to API dialects.

    `reason` is a short machine word every dialect maps to its own vendor code; `field`, when
    set, names the request field at fault by the service's own word ("number", "name",
    "members", "text", "recipients", ...), so a form shows the error next to it.
    """

    reason = "error"
    field: str | None = None

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        if field is not None:
            self.field = field


class BadRequest(ServiceError, ValueError):
    reason = "bad_request"


class TooLarge(ServiceError, ValueError):
    reason = "too_large"


class UnknownRecipient(BadRequest):
    """A recipient that is neither a number nor a contact or group name."""

    reason = "recipient"


class TooManyParts(TooLarge):
    """A message needs more parts than the request's max_parts allows."""

    reason = "too_many_parts"


class NotFound(ServiceError, LookupError):
    reason = "not_found"


class NoPortAvailable(ServiceError):
    reason = "no_port"


class AuthError(ServiceError, PermissionError):
    reason = "auth"


class Throttled(AuthError):
    """Refused without looking at the password: too many recent failed logins for this address or
    user (smsd/throttle.py). Dialects answer their own auth error (`reason` stays "auth"); web
    pages answer `http_status` with a Retry-After of `retry_after` seconds."""

    http_status = 429

    def __init__(self, retry_after: float, scope: str) -> None:
        self.retry_after = retry_after
        self.scope = scope            # "addr", "user" or "pair": which count blocked it
        super().__init__(f"too many failed logins ({scope}); retry in {self.retry_seconds} s")

    @property
    def retry_seconds(self) -> int:
        """For a Retry-After header: whole seconds, at least 1."""
        return max(1, math.ceil(self.retry_after))


class InsufficientCredit(ServiceError):
    reason = "credit"


class Forbidden(AuthError):
    """Good credentials, but the user lacks the permission the request needs."""

    reason = "forbidden"
