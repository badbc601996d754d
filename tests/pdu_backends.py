"""Codec backends for the PDU tests: every codec test runs once per backend.

Usage in a test module (tests/ is on sys.path when pytest runs):

    from pdu_backends import codec  # noqa: F401  (the fixture)

    def test_something(codec):
        codec.decode(...)

`BACKENDS` lists the importable backend modules (python always, c when the cffi extension
`smsd._pdu_c` is built); `PARAMS` is the same as pytest params where the C one is skipped, not
dropped, when the extension is missing, so a missing build shows up in the report.
"""
from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from smsd.pdu import _python


def _load_c() -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module("smsd.pdu._c"), ""
    except ImportError as exc:
        return None, str(exc)


C_BACKEND, C_MISSING = _load_c()
BACKENDS: list[ModuleType] = [_python] + ([C_BACKEND] if C_BACKEND is not None else [])
PARAMS = [
    pytest.param(_python, id="python"),
    pytest.param(C_BACKEND, id="c", marks=pytest.mark.skipif(
        C_BACKEND is None, reason=f"C codec extension not built: {C_MISSING}")),
]


@pytest.fixture(params=PARAMS)
def codec(request: pytest.FixtureRequest) -> ModuleType:
    """One codec backend module (smsd.pdu._python or smsd.pdu._c)."""
    return request.param  # type: ignore[no-any-return]
