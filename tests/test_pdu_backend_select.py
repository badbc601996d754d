"""SMSD_PDU_BACKEND policy of smsd.pdu (python only: it runs fresh interpreters)."""
from __future__ import annotations

import os
import subprocess
import sys

from pdu_backends import C_BACKEND

PROBE = "import smsd.pdu as p; print(p.BACKEND, '|', p.backend_info(), '|', p.decode.__module__)"


def run(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SMSD_PDU_BACKEND"}
    if value is not None:
        env["SMSD_PDU_BACKEND"] = value
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          timeout=60)


def test_python_forced() -> None:
    out = run("python")
    assert out.stdout.split() == ["python", "|", "python", "|", "smsd.pdu._python"]


def test_auto_prefers_c_when_built() -> None:
    for value in (None, "auto"):
        out = run(value)
        expected = "c" if C_BACKEND is not None else "python"
        assert out.stdout.split("|")[0].strip() == expected, out.stderr


def test_c_forced() -> None:
    out = run("c")
    if C_BACKEND is None:
        assert out.returncode != 0 and "SMSD_PDU_BACKEND=c" in out.stderr
    else:
        assert out.stdout.split("|")[:2] == ["c ", " c (smsd._pdu_c) "]


def test_unknown_value_is_refused() -> None:
    out = run("fortran")
    assert out.returncode != 0 and "SMSD_PDU_BACKEND" in out.stderr
