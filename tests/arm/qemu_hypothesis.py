"""pytest plugin for the codec tests under qemu-user (tests/arm/run.sh loads it with -p).

Emulated, the code runs 10-20 times slower than natively, and more so on a loaded machine, so
Hypothesis' timing checks (the per-example deadline, the "data generation too slow" health
check) would measure the emulator, not the codec, and fail at random. They are switched off
here, for the profile and for tests that bring their own settings; every example still runs
and every other check stays.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("qemu", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("qemu")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # An explicit @settings replaces the profile's suppress list, so widen each one.
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if own is None or (own.deadline is None and HealthCheck.too_slow in own.suppress_health_check):
            continue
        test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
            own, deadline=None,
            suppress_health_check=[*own.suppress_health_check, HealthCheck.too_slow])
