"""The box's network settings, applied with confirm-or-rollback.

Only an appliance whose config says `[network] manage = yes` has a configurator; everywhere
else (a developer's machine, the simulator) these methods raise NetworkUnavailable, so pages can
show why the network form is missing instead of touching a machine smsd does not own.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

from smsd.system.network import NetworkBusError, NetworkSettings, NetworkUnavailable
from smsd.system.network_config import NetworkConfigurator, PendingChange

T = TypeVar("T")


class Network:
    def __init__(self, configurator: NetworkConfigurator | None = None) -> None:
        self._network = configurator

    def attach(self, configurator: NetworkConfigurator | None) -> None:
        self._network = configurator

    @property
    def managed(self) -> bool:
        return self._network is not None

    def settings(self) -> NetworkSettings:
        return self._call(lambda net: net.current())

    def apply(self, settings: NetworkSettings | Mapping[str, Any],
              confirm_within: float = 60.0) -> str:
        """Validate (InvalidNetworkSettings, nothing written), apply, return the change id that
        `confirm` must see within `confirm_within` seconds, else the change rolls back."""
        if not isinstance(settings, NetworkSettings):
            settings = NetworkSettings.from_mapping(settings)
        return self._call(lambda net: net.apply(settings, confirm_within))

    def confirm(self, change_id: str) -> None:
        """Keep the pending change; UnknownChange (NotFound) once it has rolled back."""
        self._call(lambda net: net.confirm(change_id))

    def pending(self) -> PendingChange | None:
        return self._call(lambda net: net.pending())

    def _call(self, fn: Callable[[NetworkConfigurator], T]) -> T:
        net = self._network
        if net is None:
            raise NetworkUnavailable("this box does not manage its network "
                                     "(set [network] manage = yes in the config file)")
        try:
            return fn(net)
        except (NetworkBusError, OSError) as exc:
            raise NetworkUnavailable(f"network configuration failed: {exc}") from exc
